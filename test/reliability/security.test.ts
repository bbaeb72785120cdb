// Security: one whole flow through the real CLI — nightly with --apply-adds (extract, transform,
// report, plan, replay, verify), a dry-run replay, audit, sql and export — then every byte it left
// is searched for the configured secret values, raw and in the encodings a request could carry
// them (URL-encoded, base64 alone or as a Basic-auth `user:key` pair): stdout, stderr, the run
// folders (logs, reports, patches, summaries), the export and the warehouse (its file bytes, and
// every column of every table read back through SQL, since DuckDB compresses strings on disk).
// The other security promises are proved where they live; their rows name those tests.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { type ResultRow, writeSuiteResults } from './suite-results.js';

let sandbox: Sandbox;
const outputs: { step: string; result: CliResult }[] = [];
const results: ResultRow[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 200,
    seed: 77,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-security-')),
  });
  const cli = async (step: string, args: string[]) => {
    const result = await runCli(['--config', sandbox.configFile, ...args], {
      env: sandbox.env,
      timeoutMs: 180_000,
    });
    outputs.push({ step, result });
    return result;
  };
  const nightly = await cli('nightly --apply-adds', ['nightly', '--apply-adds', '--json']);
  if (nightly.code === null || nightly.code > 1)
    throw new Error(`nightly exited ${nightly.code}: ${nightly.stderr}`);
  const summary = JSON.parse(nightly.stdout) as { patchDir: string };
  // An address the plan says some account holds: the first row of the first add file.
  const patchDir = path.join(summary.patchDir, 'all-brands');
  await cli('replay (dry run)', ['replay', patchDir]);
  const addFile = readdirSync(patchDir).find((f) => f.endsWith('.add.csv'))!;
  const firstRow = readFileSync(path.join(patchDir, addFile), 'utf8').split('\n')[1]!;
  await cli('audit', [
    'audit',
    firstRow.startsWith('"') ? firstRow.slice(1, firstRow.indexOf('"', 1)) : firstRow.split(',')[0]!,
    '--json',
  ]);
  await cli('sql', ['sql', 'SELECT * FROM requests LIMIT 50', '--format', 'csv']);
  await cli('export', ['export', '--format', 'parquet', '--out', path.join(sandbox.dir, 'export')]);
  await cli('runs', ['runs', '--json']);
}, 600_000);

afterAll(async () => {
  await sandbox?.close();
  writeSuiteResults(
    'security',
    'make reliability (RELIABILITY_FULL=1 npx vitest run test/reliability/security.test.ts)',
    results,
  );
});

/** Every form in which a secret could leave: raw, URL-encoded, base64 alone and as Basic-auth pairs. */
function secretForms(env: Record<string, string>): { form: string; bytes: Buffer }[] {
  const values = Object.values(env);
  const forms = new Map<string, string>();
  for (const value of values) {
    forms.set(`raw ${value}`, value);
    forms.set(`url-encoded ${value}`, encodeURIComponent(value));
    forms.set(`base64 ${value}`, Buffer.from(value).toString('base64').replace(/=+$/, ''));
  }
  // A Basic-auth header is base64("user:secret") of two credentials of the same account.
  const byAccount = new Map<string, string[]>();
  for (const [name, value] of Object.entries(env)) {
    const account = name.split('_').slice(0, -1).join('_');
    byAccount.set(account, [...(byAccount.get(account) ?? []), value]);
  }
  for (const pair of byAccount.values()) {
    for (const a of pair)
      for (const b of pair)
        if (a !== b)
          forms.set(`basic ${a}:${b}`, Buffer.from(`${a}:${b}`).toString('base64').replace(/=+$/, ''));
  }
  return [...forms].map(([form, text]) => ({ form, bytes: Buffer.from(text) }));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile());
}

function record(row: ResultRow): void {
  results.push(row);
}

describe('security', () => {
  it('the whole flow ran', () => {
    const failed = outputs.filter(({ step, result }) =>
      step.startsWith('nightly') ? (result.code ?? 9) > 1 : result.code !== 0,
    );
    record({
      case: 'flow: nightly --apply-adds, replay dry run, audit, sql, export, runs',
      expected: 'every step exits as documented',
      outcome: failed.length === 0 ? 'pass' : 'fail',
      detail: outputs.map(({ step, result }) => `${step} → ${result.code}`).join(', '),
    });
    expect(
      failed.map(({ step, result }) => `${step}: ${result.code} ${result.stderr.slice(0, 300)}`),
    ).toEqual([]);
  });

  it('no secret, in any form, in stdout, stderr or any file the flow wrote (the env file aside)', () => {
    const forms = secretForms(sandbox.env);
    const files = filesUnder(sandbox.dir).filter((file) => file !== sandbox.envFile);
    const sources = [
      ...outputs.flatMap(({ step, result }) => [
        { where: `${step} stdout`, bytes: Buffer.from(result.stdout) },
        { where: `${step} stderr`, bytes: Buffer.from(result.stderr) },
      ]),
      ...files.map((file) => ({ where: path.relative(sandbox.dir, file), bytes: readFileSync(file) })),
    ];
    const leaks = sources.flatMap(({ where, bytes }) =>
      forms.filter(({ bytes: secret }) => bytes.includes(secret)).map(({ form }) => `${where}: ${form}`),
    );
    const kinds = (prefix: string) =>
      files.filter((f) => path.relative(sandbox.dir, f).startsWith(prefix)).length;
    const scanned = `${sources.length} outputs (${files.length} files: ${kinds('runs')} in run folders, ${kinds('export')} exported, warehouse ${files.filter((f) => f.includes('.duckdb')).length}) × ${forms.length} secret forms`;
    record({
      case: 'secrets in every output byte',
      expected: 'zero occurrences',
      outcome: leaks.length === 0 && files.length > 10 ? 'pass' : 'fail',
      detail: leaks.length === 0 ? scanned : leaks.slice(0, 5).join('; '),
    });
    expect(files.some((f) => f.endsWith('index.html'))).toBe(true);
    expect(files.some((f) => f.endsWith('.add.csv'))).toBe(true);
    expect(files.some((f) => f.endsWith('run.log'))).toBe(true);
    expect(files.some((f) => f.endsWith('.parquet'))).toBe(true);
    expect(leaks).toEqual([]);
  });

  it('no secret in any column of any warehouse table, read back through SQL', async () => {
    const warehouse = await Warehouse.open(path.join(sandbox.dir, 'warehouse.duckdb'), {
      mode: 'read',
      command: 'test',
    });
    const hits: string[] = [];
    let columns = 0;
    try {
      const tables = await warehouse.allJson<{ name: string }>(
        'SELECT table_name AS name FROM duckdb_tables() WHERE NOT internal AND NOT temporary ORDER BY name',
      );
      const secrets = Object.values(sandbox.env);
      for (const { name } of tables) {
        const cols = await warehouse.allJson<{ column_name: string }>(
          'SELECT column_name FROM duckdb_columns() WHERE table_name = $name',
          { name },
        );
        for (const { column_name } of cols) {
          columns++;
          for (const secret of secrets) {
            const [row] = await warehouse.allJson<{ n: string }>(
              `SELECT count(*)::VARCHAR AS n FROM ${quoteIdent(name)} WHERE contains(CAST(${quoteIdent(column_name)} AS VARCHAR), $secret)`,
              { secret },
            );
            if (row!.n !== '0') hits.push(`${name}.${column_name}`);
          }
        }
      }
    } finally {
      await warehouse.close();
    }
    record({
      case: 'secrets in warehouse columns (SQL)',
      expected: 'zero rows in every column',
      outcome: hits.length === 0 && columns > 20 ? 'pass' : 'fail',
      detail:
        hits.length === 0
          ? `${columns} columns × ${Object.keys(sandbox.env).length} secrets searched`
          : hits.join(', '),
    });
    expect(columns).toBeGreaterThan(20);
    expect(hits).toEqual([]);
  });

  it('names the tests that prove the other security promises', () => {
    const coveredBy: [string, string, string][] = [
      [
        'second concurrent writer refused',
        'WAREHOUSE_LOCKED, exit 1, holder named',
        'test/e2e/warehouse-lock.test.ts "turns a second writer and a reader away with exit 1, naming the holder"',
      ],
      [
        'HTML report: no script from data runs, CSP present',
        'in Chromium',
        'test/browser/report.test.ts "shows an address with HTML-dangerous characters as text and runs no script from data"; CSP: test/unit/reports/html.test.ts',
      ],
      [
        'human CSVs neutralise formulas',
        "leading = + - @ prefixed with '",
        'test/unit/reports/csv.test.ts; test/e2e/report.test.ts "discrepancies.csv holds the ground truth … formulas neutralised"',
      ],
      [
        'output paths cannot escape outDir',
        'ids ../x, a/b, . refused by config validation',
        'test/reliability/bad-input.test.ts config rows; test/unit/extractors/core/config.test.ts',
      ],
      [
        'sql cannot write or read files',
        'SQL_READ_ONLY, exit 2',
        'test/reliability/bad-input.test.ts sql rows',
      ],
    ];
    for (const [what, expected, where] of coveredBy)
      record({ case: what, expected, outcome: 'n/a', detail: `covered by ${where}` });
    expect(coveredBy.length).toBe(5);
  });
});
