// `make demo` runs pipelines/demo.sh → `unsub-recon demo`: sandbox → nightly → a dry-run replay →
// an audit of one interesting address → where the report is and what to try next.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { checkManifest } from '../../pipelines/run-dir.js';
import { REPO_ROOT } from '../helpers/cli.js';

describe('demo', () => {
  it('runs the whole job on the simulators and says where everything is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unsub-demo-'));
    const run = spawnSync('bash', ['pipelines/demo.sh', '--rows', '150', '--dir', dir], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir() },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const stdout = run.stdout;

    // nightly: every simulated account extracted and complete, groups reconciled
    const nightly = /nightly (\S+): succeeded \(exit 0\)/.exec(stdout);
    expect(nightly, stdout).not.toBeNull();
    const runDir = path.join(dir, 'runs', nightly![1]!);
    const summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    expect(summary.accounts_complete).toBe(summary.accounts_extracted);
    expect(summary.accounts_extracted).toBeGreaterThanOrEqual(5);
    expect(summary.discrepancies).toBeGreaterThan(0);
    expect(checkManifest(runDir).status).toBe('ok');

    // where the HTML report and the CSVs are, and that they exist
    const html = /^HTML report: (.+)$/m.exec(stdout)?.[1];
    expect(html).toBe(path.join(runDir, 'report', 'index.html'));
    expect(existsSync(html!)).toBe(true);
    const csvs = [...stdout.matchAll(/^CSV: +(.+)$/gm)].map((m) => m[1]!);
    expect(csvs.map((c) => path.basename(c)).sort()).toEqual([
      'discrepancies.csv',
      'rejects.csv',
      'summary.csv',
    ]);
    for (const csv of csvs) expect(existsSync(csv)).toBe(true);

    // the dry-run replay of an add patch sent nothing: no journal row
    expect(stdout).toMatch(/\$ unsub-recon replay .*patches\/[^/\s]+ +# a dry run/);
    expect(stdout).toContain('DRY RUN — nothing was sent');
    // the audit of one address held under several spellings and missing somewhere
    const audit = /\$ unsub-recon audit "([^"]+)" +# held by (\d+) account\(s\)/.exec(stdout);
    expect(audit, stdout).not.toBeNull();
    expect(stdout).toMatch(/^next:$/m);
    expect(stdout).toContain(`--config ${dir}/unsub-recon.config.json runs`);

    const warehouse = await Warehouse.open(path.join(dir, 'warehouse.duckdb'), {
      mode: 'read',
      command: 'test',
    });
    try {
      expect(await warehouse.allJson('SELECT count(*)::VARCHAR AS n FROM stage_replay_log')).toEqual([
        { n: '0' },
      ]);
      const held = await warehouse.allJson<{ account_id: string }>(
        'SELECT DISTINCT account_id FROM suppressions WHERE email_norm = $1 AND active',
        [audit![1]!],
      );
      expect(held.length).toBe(Number(audit![2]));
      const missing = await warehouse.allJson(
        "SELECT 1 FROM discrepancies WHERE email_norm = $1 AND kind = 'missing'",
        [audit![1]!],
      );
      expect(missing.length).toBeGreaterThan(0);
    } finally {
      await warehouse.close();
    }
  });
});
