// `unsub-recon extract` end to end: the real CLI process against the sandbox's simulators, a real
// DuckDB file, and `kill -9` at several points followed by a clean re-run.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
const warehouseIn = (name: string) => path.join(sandbox.dir, `${name}.duckdb`);
const extract = (warehouse: string, args: string[] = [], env: Record<string, string> = sandbox.env) =>
  runCli(['--config', sandbox.configFile, '--warehouse', warehouse, 'extract', '--json', ...args], { env });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 300,
    seed: 21,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-extract-')),
  });
});
afterAll(async () => {
  await sandbox?.close();
});

async function committedRows(file: string) {
  const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
  try {
    return await warehouse.allJson<{
      account_id: string;
      raw_email: string;
      raw_time: string | null;
      scope: string;
      n: string;
    }>(
      `SELECT account_id, raw_email, raw_time, scope, count(*)::VARCHAR AS n FROM raw_rows
        GROUP BY ALL ORDER BY ALL`,
    );
  } finally {
    await warehouse.close();
  }
}

describe('extract', () => {
  const reference = () => warehouseIn('reference');

  it('extracts every account completely, with a summary per account', async () => {
    const { code, stdout, stderr } = await extract(reference());
    expect(stderr).not.toMatch(/INTERNAL/);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.status).toBe('succeeded');
    expect(
      summary.accounts.map((a: { account: string; status: string; mode: string }) => [
        a.account,
        a.status,
        a.mode,
      ]),
    ).toEqual(sandbox.scenario.accounts.map((a) => [a.id, 'complete', 'full']));
    const rows = await committedRows(reference());
    for (const account of sandbox.scenario.accounts) {
      const staged = rows.filter((r) => r.account_id === account.id).reduce((n, r) => n + Number(r.n), 0);
      expect(staged).toBe(summary.accounts.find((a: { account: string }) => a.account === account.id).rows);
      expect(staged).toBeGreaterThanOrEqual(account.size);
    }
    for (const secret of Object.values(sandbox.env)) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  });

  it('a second run is incremental, makes the minimum of requests and adds no new address', async () => {
    const before = await committedRows(reference());
    const { code, stdout } = await extract(reference());
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    for (const account of summary.accounts) {
      expect(account.mode).toBe('incremental');
      expect(account.retries).toBe(0);
      expect(account.requests).toBeLessThanOrEqual(account.windows * 2);
    }
    const after = await committedRows(reference());
    const addresses = (rows: typeof before) => new Set(rows.map((r) => `${r.account_id}|${r.raw_email}`));
    expect(addresses(after)).toEqual(addresses(before));
  });

  it('goes on with the other accounts when one has bad credentials, and exits 1 naming it', async () => {
    const env = { ...sandbox.env, SANDBOX_SC_MAIN_APIKEY: 'not-the-key' };
    const { code, stdout, stderr } = await extract(warehouseIn('badcreds'), [], env);
    expect(code).toBe(1);
    const summary = JSON.parse(stdout);
    expect(summary.status).toBe('partial');
    const byId = Object.fromEntries(
      summary.accounts.map((a: { account: string; status: string }) => [a.account, a.status]),
    );
    expect(byId).toEqual({
      'sg-reseller': 'complete',
      'sg-sub': 'complete',
      'sc-main': 'failed',
      'wc-main': 'complete',
      'bh-main': 'complete',
      'sg-v3': 'complete',
    });
    expect(stderr).toMatch(/EXTRACT_INCOMPLETE: 1 of 6 account\(s\) not complete.*sc-main failed/);
    const rows = await committedRows(warehouseIn('badcreds'));
    expect(rows.some((r) => r.account_id === 'sc-main')).toBe(false);
    expect(rows.some((r) => r.account_id === 'bh-main')).toBe(true);
  });

  it.each([
    [['--from', '2024-05-01', '--to', '2024-04-01'], /--from 2024-05-01 is not before --to 2024-04-01/],
    [['--from', '2024-02-30'], /--from: .*2024-02-30/],
    [['--full', '--from', '2024-01-01'], /--full and --from exclude each other/],
    [['--account', 'nope'], /--account nope: no such account/],
  ])('refuses %j with exit 2', async (args, message) => {
    const { code, stderr } = await extract(warehouseIn('usage'), args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('after kill -9 at several points, the next run equals an uninterrupted one', async () => {
    const file = warehouseIn('killed');
    // Slow every answer (each account then needs several seconds) so every kill lands mid-extraction.
    const setFaults = (faults: string) => {
      for (const account of sandbox.scenario.accounts)
        sandbox.simulators.get(account.id)!.setFaults(account.key, faults);
    };
    setFaults('latency/200');
    try {
      for (const delayMs of [150, 400, 800, 1300, 2000]) {
        const child = spawn(
          process.execPath,
          [BIN, '--config', sandbox.configFile, '--warehouse', file, 'extract', '--quiet'],
          {
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), ...sandbox.env },
            stdio: 'ignore',
          },
        );
        await new Promise((r) => setTimeout(r, delayMs));
        child.kill('SIGKILL');
        await new Promise((r) => child.on('exit', r));
      }
    } finally {
      setFaults('');
    }
    const { code, stdout } = await extract(file);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).accounts.every((a: { mode: string }) => a.mode === 'full')).toBe(true);
    const reference1 = await Warehouse.open(reference(), { mode: 'read', command: 'test' });
    const firstRunId = (
      await reference1.allJson<{ run_id: string }>('SELECT run_id FROM runs ORDER BY run_id LIMIT 1')
    )[0]!.run_id;
    const firstRun = await reference1.allJson<{
      account_id: string;
      raw_email: string;
      raw_time: string | null;
      scope: string;
      n: string;
    }>(
      'SELECT account_id, raw_email, raw_time, scope, count(*)::VARCHAR AS n FROM raw_rows WHERE run_id = $1 GROUP BY ALL ORDER BY ALL',
      [firstRunId],
    );
    await reference1.close();
    expect(firstRun.length).toBeGreaterThan(0);
    expect(await committedRows(file)).toEqual(firstRun);

    const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
    try {
      const runs = await warehouse.allJson<{ status: string; n: string }>(
        'SELECT status, count(*)::VARCHAR AS n FROM runs GROUP BY status ORDER BY status',
      );
      expect(runs.find((r) => r.status === 'running')).toBeUndefined();
      expect(runs.find((r) => r.status === 'succeeded')?.n).toBe('1');
    } finally {
      await warehouse.close();
    }
  });
});
