// `unsub-recon nightly` end to end: the real CLI against the sandbox's simulators, a real DuckDB
// file and real run directories. Three runs in a row (first, nothing new, one new unsubscribe),
// then one with a provider's credentials wrong.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../extractors/core/config.js';
import { HttpEngine } from '../../extractors/core/http.js';
import { groundTruth } from '../../extractors/core/scenario/truth.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { PROVIDERS } from '../../extractors/registry.js';
import type { NightlySummary } from '../../pipelines/nightly.js';
import { checkManifest } from '../../pipelines/run-dir.js';
import { envName, type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
let config: Config;
const nightly = (args: string[] = [], env: Record<string, string> = sandbox.env) =>
  runCli(['--config', sandbox.configFile, 'nightly', '--json', ...args], { env });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 200,
    seed: 11,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-nightly-')),
  });
  config = loadConfig(sandbox.configFile, { env: { ...process.env, ...sandbox.env } });
});
afterAll(async () => {
  await sandbox?.close();
});

async function read<T>(sql: string, params?: unknown[]): Promise<T[]> {
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'test' });
  try {
    return await warehouse.allJson<T>(sql, params as never);
  } finally {
    await warehouse.close();
  }
}

interface DiscrepancyRow {
  group_id: string;
  email_norm: string;
  kind: string;
  present_in: string[];
  missing_from: string[];
}
const discrepancies = () =>
  read<DiscrepancyRow>(
    'SELECT group_id, email_norm, kind, present_in, missing_from FROM discrepancies ORDER BY ALL',
  );
const keyOf = (d: DiscrepancyRow) => `${d.group_id} ${d.kind} ${d.email_norm}`;

function parse(result: { stdout: string; stderr: string }): NightlySummary {
  try {
    return JSON.parse(result.stdout) as NightlySummary;
  } catch {
    throw new Error(`nightly printed no JSON; stderr:\n${result.stderr}`);
  }
}

/** The run directory is whole: sealed, every file hashed, run.log JSON lines, summary = stdout. */
function expectSealedRunDirectory(summary: NightlySummary) {
  expect(summary.runDir).toBe(path.join(config.outDir, summary.run_id));
  expect(checkManifest(summary.runDir)).toEqual({ status: 'ok', problems: [] });
  expect(JSON.parse(readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8'))).toEqual(summary);
  const log = readFileSync(path.join(summary.runDir, 'run.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(log[0]).toMatchObject({ event: 'nightly-start', run_id: summary.run_id });
  expect(log.at(-1)).toMatchObject({ event: 'nightly-done', exit_code: summary.exit_code });
  return log as Array<Record<string, unknown>>;
}

const secrets = () => Object.values(sandbox.env);

describe('nightly', () => {
  const truth = () => groundTruth(sandbox.scenario);
  let afterSecond: DiscrepancyRow[] = [];
  const runIds: string[] = [];

  it('first run: extracts every account in full, reconciles, reports, in one run id', async () => {
    const result = await nightly();
    expect(result.code, result.stderr).toBe(0);
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary).toMatchObject({ command: 'nightly', status: 'succeeded', exit_code: 0, problems: [] });
    expect(summary.accounts_extracted).toBe(sandbox.scenario.accounts.length);
    expect(summary.accounts_complete).toBe(sandbox.scenario.accounts.length);
    expect(summary.accounts.every((a) => a.mode === 'full' && a.status === 'complete')).toBe(true);
    expect(summary.new_suppressions).toBe(truth().suppressions.length);
    expect(summary.discrepancies).toBe(truth().discrepancies.length);
    expect(summary.new_discrepancies).toBe(summary.discrepancies);
    for (const group of sandbox.scenario.groups) {
      const reported = summary.groups.find((g) => g.group_id === group.id)!;
      expect(reported.status).toBe('complete');
      expect(reported.discrepancies).toBe(truth().discrepancies.filter((d) => d.groupId === group.id).length);
    }
    expect(summary.steps.map((s) => [s.step, s.status])).toEqual(
      expect.arrayContaining([
        ['extract', 'ok'],
        ['transform', 'ok'],
        ['report', 'ok'],
      ]),
    );
    for (const step of summary.steps) expect(step.seconds).toBeGreaterThanOrEqual(0);

    // One run id for every step: the warehouse's run, the discrepancies, the directory.
    const [run] = await read<{ command: string; status: string }>(
      'SELECT command, status FROM runs WHERE run_id = $1',
      [summary.run_id],
    );
    expect(run).toEqual({ command: 'nightly', status: 'succeeded' });
    expect(await read('SELECT DISTINCT run_id FROM discrepancies')).toEqual([{ run_id: summary.run_id }]);
    expect(await read('SELECT DISTINCT run_id FROM extractions')).toEqual([{ run_id: summary.run_id }]);

    const log = expectSealedRunDirectory(summary);
    expect(log.filter((l) => l.event === 'step-done').map((l) => l.step)).toEqual(
      summary.steps.filter((s) => s.status !== 'skipped').map((s) => s.step),
    );
    expect(summary.reportDir).toBe(path.join(summary.runDir, 'report'));
    expect(existsSync(summary.report!.index)).toBe(true);
    for (const csv of summary.report!.csv) expect(existsSync(csv)).toBe(true);
    for (const secret of secrets()) {
      expect(result.stdout + result.stderr).not.toContain(secret);
      expect(readFileSync(path.join(summary.runDir, 'run.log'), 'utf8')).not.toContain(secret);
    }
  });

  it('second run finds nothing new, with one request per window the provider limits require', async () => {
    const result = await nightly();
    expect(result.code, result.stderr).toBe(0);
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary.new_suppressions).toBe(0);
    expect(summary.new_discrepancies).toBe(0);
    expect(summary.groups.every((g) => g.new === 0 && g.resolved === 0)).toBe(true);
    expect(summary.discrepancies).toBe(truth().discrepancies.length);

    const ranges = await read<{ account_id: string; mode: string; range_from: string; range_to: string }>(
      'SELECT account_id, mode, range_from, range_to FROM extractions WHERE run_id = $1',
      [summary.run_id],
    );
    for (const account of summary.accounts) {
      const range = ranges.find((r) => r.account_id === account.account)!;
      expect(range.mode).toBe('incremental');
      const accountConfig = config.accounts.find((a) => a.id === account.account)!;
      const to = Date.parse(range.range_to);
      const planned = PROVIDERS[accountConfig.provider].planWindows(
        { from: Date.parse(range.range_from), to },
        { account: accountConfig, now: to },
      );
      // The minimum: the windows the provider's limits require for the lookback range, one
      // request each (one page, no retry).
      expect({ account: account.account, windows: account.windows, requests: account.requests }).toEqual({
        account: account.account,
        windows: planned.length,
        requests: planned.length,
      });
      expect(account.retries).toBe(0);
      expect(account.new_suppressions).toBe(0);
    }
    afterSecond = await discrepancies();
    expect(afterSecond.length).toBe(truth().discrepancies.length);
  });

  it('third run, after a new unsubscribe at one provider, reports exactly that discrepancy', async () => {
    const mirrored = new Set(
      sandbox.scenario.groups.filter((g) => g.policy === 'mirror').flatMap((g) => g.accounts),
    );
    const target = config.accounts.find((a) => a.provider === 'sendgrid-subuser')!;
    expect(mirrored.has(target.id)).toBe(false); // so the new address is a discrepancy in union groups only
    const address = 'Night.Owl+fresh@Example.org';
    const http = new HttpEngine({ redact: (s) => s });
    try {
      const written = await PROVIDERS[target.provider].createClient(target, http).add([address]);
      expect(written.map((w) => w.outcome)).toEqual(['applied']);
    } finally {
      await http.close();
    }

    const result = await nightly(['--fail-on-discrepancy']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain('DISCREPANCIES_FOUND');
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary.exit_code).toBe(3);
    expect(summary.status).toBe('succeeded');
    expect(summary.new_suppressions).toBe(1);
    expect(summary.accounts.filter((a) => a.new_suppressions > 0).map((a) => a.account)).toEqual([target.id]);

    const now = await discrepancies();
    const before = new Set(afterSecond.map(keyOf));
    const added = now.filter((d) => !before.has(keyOf(d)));
    const unionGroups = sandbox.scenario.groups.filter(
      (g) => g.policy === 'union' && g.accounts.includes(target.id),
    );
    expect(added).toEqual(
      unionGroups.map((g) => ({
        group_id: g.id,
        email_norm: 'night.owl+fresh@example.org',
        kind: 'missing',
        present_in: [target.id],
        missing_from: g.accounts.filter((id) => id !== target.id),
      })),
    );
    expect(now.length).toBe(afterSecond.length + added.length); // nothing resolved either
    for (const g of summary.groups) {
      expect([g.group_id, g.new, g.resolved]).toEqual([
        g.group_id,
        unionGroups.some((u) => u.id === g.group_id) ? 1 : 0,
        0,
      ]);
    }
    expect(summary.new_discrepancies).toBe(unionGroups.length);
    expect(readFileSync(path.join(summary.reportDir!, 'discrepancies.csv'), 'utf8')).toContain(
      'night.owl+fresh@example.org',
    );
    expectSealedRunDirectory(summary);
  });

  it('one account with wrong credentials: the others go on, its groups are incomplete, exit 1', async () => {
    const victim = sandbox.scenario.accounts.find(
      (a) => !sandbox.scenario.groups.some((g) => g.policy === 'mirror' && g.accounts.includes(a.id)),
    )!;
    const prefix = envName(victim.id, '');
    const env = Object.fromEntries(
      Object.entries(sandbox.env).map(([name, value]) => [
        name,
        name.startsWith(prefix) ? `${value}-wrong` : value,
      ]),
    );
    const result = await nightly([], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NIGHTLY_NOT_CLEAN');
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary.status).toBe('partial');
    expect(summary.accounts_complete).toBe(sandbox.scenario.accounts.length - 1);
    expect(summary.accounts.find((a) => a.account === victim.id)!.status).toBe('failed');
    for (const group of sandbox.scenario.groups) {
      const reported = summary.groups.find((g) => g.group_id === group.id)!;
      const hit = group.accounts.includes(victim.id);
      expect([group.id, reported.status]).toEqual([group.id, hit ? 'incomplete' : 'complete']);
      if (hit) expect(reported.incomplete_accounts).toEqual([victim.id]);
    }
    expect(summary.problems.some((p) => p.startsWith(`account ${victim.id} failed`))).toBe(true);
    expect(summary.steps.find((s) => s.step === 'report')!.status).toBe('ok');
    const [run] = await read<{ status: string }>('SELECT status FROM runs WHERE run_id = $1', [
      summary.run_id,
    ]);
    expect(run!.status).toBe('partial'); // the complete accounts were committed
    expectSealedRunDirectory(summary);
    for (const secret of Object.values(env)) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('--apply-adds sends the planned adds (never a delete) and verifies that the lists converged', async () => {
    const writesBefore = new Map(
      [...sandbox.simulators].map(([id, sim]) => [id, sim.journal.writes().length]),
    );
    const result = await nightly(['--apply-adds', '--fail-on-discrepancy']);
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary.steps.find((s) => s.step === 'replay')).toMatchObject({ status: 'ok' });
    expect(summary.replay!.converged, JSON.stringify(summary.replay!.problems)).toBe(true);
    const planned = summary.patches.files.filter((f) => f.op === 'add');
    const sent = summary.replay!.groups.flatMap((g) => g.targets);
    expect(sent.reduce((n, t) => n + t.succeeded + t.already, 0)).toBe(
      planned.reduce((n, f) => n + f.rows, 0),
    );
    expect(sent.every((t) => t.failed === 0 && t.converged !== false)).toBe(true);

    // The union group spans every account, so once its adds are in, every list holds every
    // address: the mirror's extras are gone too, and --fail-on-discrepancy has nothing to fail on.
    expect(summary.discrepancies).toBeGreaterThan(0);
    expect(await discrepancies()).toEqual([]);
    expect(summary.discrepancies_remaining).toBe(0);
    expect(result.code, result.stderr).toBe(0);
    for (const [id, sim] of sandbox.simulators) {
      const writes = sim.journal.writes().slice(writesBefore.get(id));
      const text = JSON.stringify(writes.map((w) => [w.path, w.params]));
      expect([id, /delete|remove|resubscribe/i.test(text)]).toEqual([id, false]);
    }
    const journal = await read<{ op: string; n: string }>(
      'SELECT op, count(*)::VARCHAR AS n FROM replay_log WHERE run_id = $1 GROUP BY op',
      [summary.run_id],
    );
    expect(journal.map((j) => j.op)).toEqual(['add']);
    expectSealedRunDirectory(summary);
  });

  it('--full re-reads every account from its `since`: the same rows again, nothing new', async () => {
    const before = await discrepancies();
    const result = await nightly(['--full']);
    expect(result.code, result.stderr).toBe(0);
    const summary = parse(result);
    runIds.push(summary.run_id);
    expect(summary.options.full).toBe(true);
    expect(summary.accounts.map((a) => [a.account, a.mode, a.status])).toEqual(
      config.accounts.map((a) => [a.id, 'full', 'complete']),
    );
    // From `since` in the account's zone: the same range start as the first run's full read.
    const starts = (runId: string) =>
      read<{ account_id: string; mode: string; range_from: string }>(
        'SELECT account_id, mode, range_from FROM extractions WHERE run_id = $1 ORDER BY account_id',
        [runId],
      );
    const first = await starts(runIds[0]!);
    expect(first.length).toBe(config.accounts.length);
    expect(await starts(summary.run_id)).toEqual(first);
    expect(summary.new_suppressions).toBe(0);
    expect(summary.new_discrepancies).toBe(0);
    expect(await discrepancies()).toEqual(before);
    expectSealedRunDirectory(summary);
  });

  it('every run wrote its own directory and none was rewritten', () => {
    expect(new Set(runIds).size).toBe(6);
    const dirs = readdirSync(config.outDir).filter((d) => runIds.includes(d));
    expect(dirs.sort()).toEqual([...runIds].sort());
    for (const id of runIds) expect(checkManifest(path.join(config.outDir, id)).status).toBe('ok');
  });
});
