// `runs` with counts and run directories, and `prune` / `runs --keep`: old run directories go, the
// warehouse's rows never do.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../extractors/core/config.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { RunDirectory } from '../../pipelines/run-dir.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
let config: Config;
const cli = (args: string[]) => runCli(['--config', sandbox.configFile, ...args], { env: sandbox.env });
const nightlies: string[] = [];
let extractRun: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rows: 100, seed: 3, dir: mkdtempSync(path.join(tmpdir(), 'unsub-runs-')) });
  config = loadConfig(sandbox.configFile, { env: { ...process.env, ...sandbox.env } });
  for (let i = 0; i < 2; i++) {
    const result = await cli(['nightly', '--json']);
    expect(result.code, result.stderr).toBe(0);
    nightlies.push(JSON.parse(result.stdout).run_id);
  }
  const extracted = await cli(['extract', '--json']);
  expect(extracted.code, extracted.stderr).toBe(0);
  extractRun = JSON.parse(extracted.stdout).run_id;
});
afterAll(async () => {
  await sandbox?.close();
});

async function count(sql: string): Promise<string> {
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'test' });
  try {
    return (await warehouse.allJson<{ n: string }>(sql))[0]!.n;
  } finally {
    await warehouse.close();
  }
}

describe('runs', () => {
  it('lists every run newest first with status, counts and its run directory', async () => {
    const { code, stdout } = await cli(['runs', '--json']);
    expect(code).toBe(0);
    const runs = JSON.parse(stdout).runs;
    expect(runs.map((r: { run_id: string }) => r.run_id)).toEqual([extractRun, nightlies[1], nightlies[0]]);
    const accounts = sandbox.scenario.accounts.length;
    const [extract, second, first] = runs;
    expect(extract).toMatchObject({ command: 'extract', status: 'succeeded', dir: null, outcome: null });
    expect(Number(extract.accounts)).toBe(accounts);
    expect(first).toMatchObject({
      command: 'nightly',
      status: 'succeeded',
      outcome: 'succeeded',
      sealed: true,
      dir: path.join(config.outDir, nightlies[0]!),
      new_suppressions: Number(await count('SELECT count(*)::VARCHAR AS n FROM suppressions')),
      patch_files: expect.any(Number),
    });
    expect(Number(first.accounts_complete)).toBe(accounts);
    expect(Number(first.rows)).toBeGreaterThan(Number(second.rows)); // full, then incremental
    expect(first.discrepancies).toBe(Number(await count('SELECT count(*)::VARCHAR AS n FROM discrepancies')));
    expect(second).toMatchObject({ outcome: 'succeeded', new_suppressions: 0 });

    const table = await cli(['runs', '--limit', '2']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/run_id\s+command\s+status\s+started_at\s+seconds\s+accounts\s+rows/);
    expect(table.stdout).toContain(`${nightlies[1]}  nightly`);
    expect(table.stdout).toContain(`${accounts}/${accounts}`);
    expect(table.stdout).not.toContain(nightlies[0]);
  });
});

describe('prune and runs --keep', () => {
  it('--dry-run names what would go and removes nothing', async () => {
    const { code, stdout } = await cli(['prune', '--keep', '1', '--dry-run', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ dry_run: true, keep: 1, kept: [nightlies[1]] });
    expect(result.removed.map((r: { run_id: string }) => r.run_id)).toEqual([nightlies[0]]);
    expect(existsSync(path.join(config.outDir, nightlies[0]!))).toBe(true);
  });

  it('runs --keep removes old run directories and lists the runs, without touching a warehouse row', async () => {
    const rowsBefore = await count('SELECT count(*)::VARCHAR AS n FROM stage_raw_rows');
    const { code, stdout } = await cli(['runs', '--keep', '1', '--json']);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout);
    expect(listed.pruned.kept).toEqual([nightlies[1]]);
    expect(listed.pruned.removed.map((r: { run_id: string }) => r.run_id)).toEqual([nightlies[0]]);
    expect(existsSync(path.join(config.outDir, nightlies[0]!))).toBe(false);
    // The run and its rows are still in the warehouse; only its directory went.
    const first = listed.runs.find((r: { run_id: string }) => r.run_id === nightlies[0]);
    expect(first).toMatchObject({ status: 'succeeded', dir: null });
    expect(Number(first.rows)).toBeGreaterThan(0);
    expect(await count('SELECT count(*)::VARCHAR AS n FROM stage_raw_rows')).toBe(rowsBefore);
  });

  it('never removes the directory of a run in progress, even with --keep 0', async () => {
    // A run in progress in another process's place: the warehouse is held, its directory has no manifest.
    const holder = await Warehouse.open(config.warehouse, { mode: 'write', command: 'test-holder' });
    const running = await holder.beginRun({ command: 'nightly' });
    RunDirectory.create(config.outDir, running, (s) => s).log('nightly-start');
    try {
      const pruned = await cli(['prune', '--keep', '0', '--json']);
      expect(pruned.code, pruned.stderr).toBe(0);
      const result = JSON.parse(pruned.stdout);
      expect(result.kept).toEqual([running]);
      expect(result.removed.map((r: { run_id: string }) => r.run_id)).toEqual([nightlies[1]]);
    } finally {
      await holder.finishRun(running, 'failed', 'test');
      await holder.close();
    }
    expect(existsSync(path.join(config.outDir, running))).toBe(true);
    expect(existsSync(path.join(config.outDir, nightlies[1]!))).toBe(false);

    const again = await cli(['prune', '--keep', '1']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to prune/);
  });
});
