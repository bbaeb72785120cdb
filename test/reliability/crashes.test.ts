// `kill -9` of the real CLI process at seeded random points of extract, transform, report and
// replay; then the same command again must finish exactly as a run that was never interrupted:
// the same committed rows and derived tables, the same report files, the same writes to the
// providers (none twice, none lost), and the warehouse lock taken over without help.
//
// Where the points come from (seeded, the seed printed; RELIABILITY_SEED=N repeats a run):
//  - extract:   the N-th provider request seen in the simulators' journals (N random in the
//               reference run's request count), so the kill lands mid-extraction;
//  - transform, report: a random delay within the reference run's duration (they send no
//               request to count);
//  - replay:    the UNSUB_RECON_CRASH_AT hook (pipelines/replay/crash.ts), a random point and
//               occurrence among those the reference run passes.
// `make test` runs 3 points per flow; RELIABILITY_FULL=1 runs 20 per flow and writes
// results/crashes.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { CRASH_ENV, CRASH_POINTS } from '../../pipelines/replay/crash.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';
import { configWithGroups, copyWarehouse, simulatorState, writeJournal } from '../helpers/replay.js';
import {
  RELIABILITY_FULL,
  type ResultRow,
  seededRandom,
  suiteSeed,
  writeSuiteResults,
} from './suite-results.js';

const POINTS_PER_FLOW = RELIABILITY_FULL ? 20 : 3;
const SCENARIO_SEED = 23;
const ROWS = 150;
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const MIRROR = {
  id: 'crash-mirror',
  accounts: ['sg-reseller', 'sc-main', 'sg-sub', 'wc-main'],
  policy: 'mirror' as const,
  source: 'sg-reseller',
};
const REPLAY_ACCOUNTS = MIRROR.accounts;

const seed = suiteSeed('crashes', 1);
const random = seededRandom(seed);

const results: ResultRow[] = [];
const sandboxes: Sandbox[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'unsub-crashes-'));

async function newSandbox(name: string) {
  const s = await startSandbox({
    rows: ROWS,
    seed: SCENARIO_SEED,
    now: NOW,
    dir: mkdtempSync(path.join(dir, `${name}-`)),
  });
  sandboxes.push(s);
  return { sandbox: s, config: configWithGroups(s, [MIRROR]) };
}

const cli = (config: string, warehouse: string, env: Record<string, string>, args: string[]) =>
  runCli(['--config', config, '--warehouse', warehouse, ...args], { env, timeoutMs: 120_000 });

async function ok(config: string, warehouse: string, env: Record<string, string>, args: string[]) {
  const started = Date.now();
  const result = await cli(config, warehouse, env, args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return { ...result, ms: Date.now() - started };
}

/**
 * Starts the command and SIGKILLs it when `trigger` fires (polled every 2 ms). Resolves with
 * whether the kill landed (false: the process finished first).
 */
function runAndKill(
  config: string,
  warehouse: string,
  env: Record<string, string>,
  args: string[],
  trigger: (child: ChildProcess, startedAt: number) => boolean,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--config', config, '--warehouse', warehouse, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(), ...env },
      stdio: 'ignore',
    });
    const startedAt = Date.now();
    const timer = setInterval(() => {
      if (trigger(child, startedAt)) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 2);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

async function query<T = Record<string, unknown>>(file: string, sql: string): Promise<T[]> {
  const w = await Warehouse.open(file, { mode: 'read', command: 'test' });
  try {
    return await w.allJson<T>(sql);
  } finally {
    await w.close();
  }
}

/** Commands and statuses of the runs, oldest first. */
async function runStatuses(file: string): Promise<string[]> {
  const rows = await query<{ s: string }>(
    file,
    `SELECT command || ':' || status AS s FROM runs ORDER BY started_at, run_id`,
  );
  return rows.map((r) => r.s);
}

/** Tables as sorted JSON lines, with the given run ids replaced by a placeholder (they differ by design). */
async function tables(
  file: string,
  names: readonly string[],
  runIds: readonly string[],
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of names) {
    const rows = await query(file, `SELECT * FROM ${name}`);
    out[name] = rows
      .map((r) => runIds.reduce((text, id) => text.replaceAll(id, '<run>'), JSON.stringify(r)))
      .sort();
  }
  return out;
}

const lastRunId = async (file: string, command: string) =>
  (
    await query<{ run_id: string }>(
      file,
      `SELECT run_id FROM runs WHERE command = '${command}' ORDER BY started_at DESC LIMIT 1`,
    )
  )[0]!.run_id;

/** What a flow's result is compared by. */
const DERIVED = ['suppressions', 'rejects', 'discrepancies', 'group_status', 'suppression_events'];

afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  const file = writeSuiteResults(
    'crashes',
    'make reliability (RELIABILITY_FULL=1 npx vitest run test/reliability/crashes.test.ts)',
    results,
  );
  if (file) console.log(`crashes: ${results.length} rows written to ${file}`);
});

/** Runs one case and records its row, pass or fail. */
async function recorded(name: string, expected: string, body: () => Promise<string>) {
  try {
    const detail = await body();
    results.push({ case: name, expected, outcome: 'pass', detail });
  } catch (error) {
    results.push({ case: name, expected, outcome: 'fail', detail: (error as Error).message.slice(0, 400) });
    throw error;
  }
}

describe(`crashes: kill -9 at ${POINTS_PER_FLOW} seeded points per flow (seed ${seed})`, () => {
  let shared: Awaited<ReturnType<typeof newSandbox>>;
  const empty = () => path.join(mkdtempSync(path.join(dir, 'w-')), 'w.duckdb');
  const reference = {
    extract: { rows: [] as string[], requests: 0 },
    transform: { file: '', tables: {} as Record<string, string[]>, ms: 0 },
    report: { files: {} as Record<string, string>, ms: 0 },
  };
  let extracted = ''; // a warehouse after `extract` (transform's starting point)
  let transformed = ''; // after `extract` and `transform` (report's starting point)

  const rawRows = async (file: string) =>
    (
      await query<{ r: string }>(
        file,
        `SELECT concat_ws('|', account_id, raw_email, coalesce(raw_time, ''), scope, raw::VARCHAR) AS r FROM raw_rows`,
      )
    )
      .map((r) => r.r)
      .sort();
  const totalRequests = (s: Sandbox) =>
    [...s.simulators.values()].reduce((n, sim) => n + sim.journal.size, 0);

  beforeAll(async () => {
    shared = await newSandbox('shared');
    const { sandbox: s, config } = shared;
    extracted = empty();
    const before = totalRequests(s);
    await ok(config, extracted, s.env, ['extract']);
    reference.extract = { rows: await rawRows(extracted), requests: totalRequests(s) - before };
    expect(reference.extract.requests).toBeGreaterThan(5);
    transformed = path.join(path.dirname(extracted), 't.duckdb');
    copyWarehouse(extracted, transformed);
    const t = await ok(config, transformed, s.env, ['transform']);
    reference.transform = {
      file: transformed,
      tables: await tables(transformed, DERIVED, [await lastRunId(transformed, 'transform')]),
      ms: t.ms,
    };
    const r = await ok(config, transformed, s.env, [
      'report',
      '--out',
      path.join(dir, 'report-ref'),
      '--json',
    ]);
    reference.report = {
      files: reportFiles(JSON.parse(r.stdout).reportDir, await lastRunId(transformed, 'report')),
      ms: r.ms,
    };
  }, 240_000);

  /** The CSVs of a report folder (the HTML carries its generation time), run id masked. */
  function reportFiles(reportDir: string, runId: string): Record<string, string> {
    return Object.fromEntries(
      readdirSync(reportDir)
        .filter((f) => f.endsWith('.csv'))
        .map((f) => [f, readFileSync(path.join(reportDir, f), 'utf8').replaceAll(runId, '<run>')]),
    );
  }

  const extractPoints = Array.from({ length: POINTS_PER_FLOW }, () => random());
  it.each(extractPoints.map((r, i) => ({ r, n: i + 1 })))(
    'extract killed at seeded point $n',
    async ({ r, n }) => {
      const { sandbox: s, config } = shared;
      const at = 1 + Math.floor(r * (reference.extract.requests - 1));
      const name = `extract #${n}: killed at its request ${at} of ${reference.extract.requests}`;
      await recorded(
        name,
        'next `extract` exits 0; committed raw rows = uninterrupted run, none twice; lock taken over',
        async () => {
          const file = empty();
          const start = totalRequests(s);
          const killed = await runAndKill(
            config,
            file,
            s.env,
            ['extract'],
            () => totalRequests(s) - start >= at,
          );
          expect(killed, 'the kill landed before the process finished').toBe(true);
          const again = await ok(config, file, s.env, ['extract']);
          expect(await rawRows(file)).toEqual(reference.extract.rows);
          expect(await runStatuses(file)).toEqual(['extract:failed', 'extract:succeeded']);
          // The next writer cleaned up what the killed run had staged, not merely hid it.
          const [orphans] = await query<{ n: string }>(
            file,
            `SELECT count(*)::VARCHAR AS n FROM stage_raw_rows
           WHERE run_id NOT IN (SELECT run_id FROM runs WHERE status IN ('succeeded', 'partial'))`,
          );
          expect(orphans!.n).toBe('0');
          expect(existsSync(`${file}.lock`)).toBe(false);
          return `killed run recorded failed, rerun committed ${reference.extract.rows.length} rows (= reference)${/stale|abandon|recover/i.test(again.stderr) ? '; recovery noted' : ''}`;
        },
      );
    },
  );

  /**
   * Kills `args` after a seeded delay within the reference duration. When the process finished
   * first, the starting state is restored (`reset`) and the kill retried with half the delay.
   */
  async function killAfterDelay(
    config: string,
    file: string,
    env: Record<string, string>,
    args: string[],
    r: number,
    ms: number,
    reset: () => void,
  ) {
    let delay = Math.round(150 + r * ms * 0.9);
    for (;;) {
      reset();
      const killed = await runAndKill(
        config,
        file,
        env,
        args,
        (_c, startedAt) => Date.now() - startedAt >= delay,
      );
      if (killed) return delay;
      delay = Math.floor(delay / 2);
      if (delay < 20) throw new Error(`${args[0]} finished before every delay tried`);
    }
  }

  /** Puts a copy of `from` at `to`, dropping whatever an earlier attempt left there. */
  function restore(from: string, to: string, extra: readonly string[] = []) {
    for (const f of [to, `${to}.wal`, `${to}.lock`, ...extra]) rmSync(f, { recursive: true, force: true });
    copyWarehouse(from, to);
  }

  const transformPoints = Array.from({ length: POINTS_PER_FLOW }, () => random());
  it.each(transformPoints.map((r, i) => ({ r, n: i + 1 })))(
    'transform killed at seeded point $n',
    async ({ r, n }) => {
      const { sandbox: s, config } = shared;
      const file = empty();
      await recorded(
        `transform #${n}: killed after a seeded delay (r=${r.toFixed(3)})`,
        'next `transform` exits 0; derived tables and suppression events = uninterrupted run, none twice',
        async () => {
          const delay = await killAfterDelay(
            config,
            file,
            s.env,
            ['transform'],
            r,
            reference.transform.ms,
            () => restore(extracted, file),
          );
          await ok(config, file, s.env, ['transform']);
          const statuses = await runStatuses(file);
          // Killed before its run was recorded: no row; after the commit (closing, printing): succeeded.
          expect(statuses[0]).toBe('extract:succeeded');
          expect(statuses.at(-1)).toBe('transform:succeeded');
          expect(statuses.slice(1, -1)).toEqual(
            statuses.length === 3 ? [expect.stringMatching(/^transform:(failed|succeeded)$/)] : [],
          );
          expect(await tables(file, DERIVED, [await lastRunId(file, 'transform')])).toEqual(
            reference.transform.tables,
          );
          expect(existsSync(`${file}.lock`)).toBe(false);
          return `killed after ${delay} ms of ~${reference.transform.ms} ms; the killed run ${statuses.length === 2 ? 'had not begun' : statuses[1]!.endsWith('failed') ? 'recovered as failed' : 'had already committed'}; rerun = reference`;
        },
      );
    },
  );

  const reportPoints = Array.from({ length: POINTS_PER_FLOW }, () => random());
  it.each(reportPoints.map((r, i) => ({ r, n: i + 1 })))(
    'report killed at seeded point $n',
    async ({ r, n }) => {
      const { sandbox: s, config } = shared;
      const file = empty();
      const out = path.join(path.dirname(file), 'out');
      await recorded(
        `report #${n}: killed after a seeded delay (r=${r.toFixed(3)})`,
        'next `report` exits 0 with the same CSVs; no half-written report folder',
        async () => {
          const delay = await killAfterDelay(
            config,
            file,
            s.env,
            ['report', '--out', out],
            r,
            reference.report.ms,
            () => restore(transformed, file, [out]),
          );
          const again = await ok(config, file, s.env, ['report', '--out', out, '--json']);
          const runId = await lastRunId(file, 'report');
          expect(reportFiles(JSON.parse(again.stdout).reportDir, runId)).toEqual(reference.report.files);
          // A report folder is visible only whole (written hidden, renamed into place): the killed
          // run left either no `report/` or a complete one; at most its hidden staging folder.
          let staging = 0;
          for (const run of readdirSync(out)) {
            const entries = readdirSync(path.join(out, run));
            staging += entries.filter((e) => e.startsWith('.report-')).length;
            if (entries.includes('report'))
              expect(readdirSync(path.join(out, run, 'report')).sort()).toEqual(
                [...Object.keys(reference.report.files), 'index.html'].sort(),
              );
          }
          expect(existsSync(`${file}.lock`)).toBe(false);
          return `killed after ${delay} ms of ~${reference.report.ms} ms; rerun's CSVs equal the reference; ${staging} hidden staging folder(s) left by the kill`;
        },
      );
    },
  );

  describe('replay --apply', () => {
    let patchDir: string;
    let planned: string;
    let expected: { state: Record<string, string[]>; writes: Record<string, string[]> };
    const passes = new Map<string, number>();
    const apply = () => ['replay', patchDir, '--apply', '--allow-deletes', '--json'];

    beforeAll(async () => {
      const { sandbox: s, config } = await newSandbox('replay-base');
      planned = empty();
      for (const args of [
        ['extract'],
        ['transform'],
        ['plan', '--group', MIRROR.id, '--delete-foreign', '--force', MIRROR.id, '--json'],
      ]) {
        const result = await ok(config, planned, s.env, args);
        if (args[0] === 'plan') patchDir = JSON.parse(result.stdout).groups[0].patchDir;
      }
      const ref = await newSandbox('replay-ref');
      const file = empty();
      copyWarehouse(planned, file);
      const result = await ok(ref.config, file, ref.sandbox.env, apply());
      expect(JSON.parse(result.stdout).verify.converged).toBe(true);
      expected = {
        state: simulatorState(ref.sandbox, REPLAY_ACCOUNTS),
        writes: writeJournal(ref.sandbox, REPLAY_ACCOUNTS),
      };
      expect(Object.values(expected.writes).flat().length).toBeGreaterThan(0);
      // How often the reference passes each hook point bounds where a kill can land.
      const [journal] = await query<{ batches: string }>(
        file,
        `SELECT count(DISTINCT (patch_id, batch_no))::VARCHAR AS batches FROM stage_replay_log WHERE outcome = 'sending'`,
      );
      const batches = Number(journal?.batches ?? 0);
      for (const point of CRASH_POINTS)
        passes.set(
          point,
          point === 'rechecked' ? 0 : point === 'begun' || point === 'verify' ? 1 : Math.max(1, batches),
        );
    }, 240_000);

    const replayPoints = Array.from({ length: POINTS_PER_FLOW }, () => [random(), random()] as const);
    it.each(replayPoints.map((r, i) => ({ r, n: i + 1 })))(
      'replay killed at seeded point $n',
      async ({ r, n }) => {
        const usable = CRASH_POINTS.filter((p) => (passes.get(p) ?? 0) > 0);
        const point = usable[Math.floor(r[0] * usable.length)]!;
        const nth = 1 + Math.floor(r[1] * (passes.get(point) ?? 1));
        const hook = `${point}:${nth}`;
        await recorded(
          `replay #${n}: killed at ${CRASH_ENV}=${hook}`,
          'next `replay --apply` exits 0, converged; providers hold exactly the reference state and received exactly its writes',
          async () => {
            const { sandbox: s, config } = await newSandbox('replay-kill');
            const file = empty();
            copyWarehouse(planned, file);
            const killed = await runAndKill(
              config,
              file,
              { ...s.env, [CRASH_ENV]: hook },
              apply(),
              () => false,
            );
            expect(killed, `the process reached ${hook}`).toBe(true);
            const again = await ok(config, file, s.env, apply());
            expect(JSON.parse(again.stdout).verify.converged).toBe(true);
            expect(simulatorState(s, REPLAY_ACCOUNTS)).toEqual(expected.state);
            expect(writeJournal(s, REPLAY_ACCOUNTS)).toEqual(expected.writes);
            expect(await runStatuses(file)).toContain('replay:failed');
            expect(existsSync(`${file}.lock`)).toBe(false);
            return `same state and the same ${Object.values(expected.writes).flat().length} writes as the reference`;
          },
        );
      },
    );
  });
});
