/**
 * Issue "Proof of trust", section Scale: `nightly` end to end on the sandbox, as cron runs it,
 * at growing sizes (env BENCH_SCALE_SIZES, rows per account, default 1,000,000 and 5,000,000),
 * each stage against its limit measured in the same run on the same data.
 *
 * Per size:
 *  1. the sandbox's simulators (`startSandbox`, scenario `mixed`) in THIS process, and a config of
 *     five of its six accounts (sendgrid-v3 left out: its simulated 600 requests/minute budget
 *     would make its extraction a fixed wait; scale-markdown.ts says so in the results);
 *  2. the compiled CLI in a child process, `node bin/unsub-recon.js --config FILE nightly --full
 *     --json` on an empty warehouse (every account read in full), credentials in its environment as
 *     the sandbox's env file has them; wall time, the child's peak RSS (VmHWM) and RSS per step
 *     (bench/scale-process.ts), the steps' own times from run.log (the summary's `steps`);
 *  3. the limits, after the nightly finished:
 *     - extraction: a bare undici loop in its own process sending the very requests the nightly
 *       sent, with the same concurrency, discarding the answers (bench/scale-fetch.ts);
 *     - staging: DuckDB's `read_json` loading the very rows the nightly staged (exported to NDJSON,
 *       not timed) into a scratch warehouse's `stage_raw_rows`; the extract stage interleaves
 *       fetching and staging, so it is compared with fetch + load as well as with fetch alone;
 *     - diff: one hand-written statement over the nightly's staged rows (bench/scale-diff.sql),
 *       under the transform's memory limit, checked row for row against the `discrepancies` view;
 *  4. `export --format parquet` of the warehouse (the hand-over to a distributed engine), timed.
 * A size whose nightly fails (a step failed, or the process died: out of memory) is a figure too:
 * its steps, peak RSS and the failure are reported, its limits are not measured.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, loadConfig } from '../extractors/core/config.js';
import { configuredMemoryLimit, Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import type { NightlySummary } from '../pipelines/nightly.js';
import { type Sandbox, startSandbox } from '../pipelines/sandbox.js';
import { sizeOnDisk, writeSection } from './results.js';
import type { FetchResult } from './scale-fetch.js';
import { scaleMarkdown } from './scale-markdown.js';
import { type MeasuredProcess, runMeasured } from './scale-process.js';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000000,5000000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
/**
 * Rounds at every size (env BENCH_SCALE_ROUNDS): a single nightly varies by up to a third between
 * runs, and a stage by more than its growth's distance from linear. Every size runs the same
 * number, the sizes taking turns, and each stage and limit is judged by its fastest round, so
 * growth compares the fastest with the fastest (the fastest of three at 1M against one run at 5M
 * overstated it by the noise; the stages of the round with the fastest total still carried the
 * other stages' noise).
 */
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  throw new Error(
    `BENCH_SCALE_ROUNDS "${process.env.BENCH_SCALE_ROUNDS}": expected a whole number of rounds, 1 or more`,
  );
}
const SEED = 1;
const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'bin', 'unsub-recon.js');
const FETCH_SCRIPT = fileURLToPath(new URL('./scale-fetch.ts', import.meta.url));
const sql = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
const DIFF_SQL = sql('scale-diff.sql');
const COMPARE_SQL = sql('scale-compare.sql');
const EXPORT_ROWS_SQL = sql('scale-rows-export.sql');
const LOAD_ROWS_SQL = sql('scale-rows-load.sql');

/** The sandbox's sixth account, left out of the five. */
const LEFT_OUT = 'sendgrid-v3';
/**
 * Per account: the sandbox's concurrency; a request rate the simulators (which set no limit)
 * never reach, so what is measured is the pipeline, not a pacing we chose (the sandbox's 200/s
 * keeps its demo polite; real providers' limits are discussed in the results).
 */
const RATE_LIMIT = { requestsPerSecond: 10_000, concurrency: 4 };
/** The heavy steps' DuckDB memory limit (extract, transform, plan), given to the child and to the diff limit alike. */
const MEMORY_LIMIT = configuredMemoryLimit();

export interface StepFigure {
  step: string;
  /** As run.log records it; `crashed` when the step started and the process died in it. */
  status: 'ok' | 'failed' | 'skipped' | 'crashed';
  seconds: number;
  /** Highest VmRSS sampled while the step ran (RSS does not shrink between steps). */
  peakRss: number | null;
  /** CPU time the process used while the step ran (all threads), from the samples inside it. */
  cpuSeconds: number | null;
  /** When the step started, epoch ms. */
  startedAt: number | null;
}

export interface NightlyFigures {
  process: MeasuredProcess;
  steps: StepFigure[];
  /** What `--json` printed; null when the process died before printing it. */
  summary: NightlySummary | null;
  /** Why the run was not clean, or how the process died; null when it exited 0. */
  failure: string | null;
  warehouseBytes: number;
  reportBytes: number;
}

export interface CompareRow {
  group_id: string;
  kind: string;
  ours: bigint;
  hand: bigint;
  only_ours: bigint;
  only_hand: bigint;
}

export interface LimitFigures {
  /** Bytes of the answers the nightly read (its completeness records). */
  pipelineBytes: number;
  fetch: FetchResult;
  load: { seconds: number; rows: number; fileBytes: number };
  diff: { seconds: number; rows: number; byKind: CompareRow[] };
  parquet: { seconds: number; bytes: number; rawRowsFiles: number };
}

export interface SizeFigures {
  rowsPerAccount: number;
  accounts: string[];
  nightly: NightlyFigures;
  /** Null when the nightly failed. */
  limits: LimitFigures | null;
  /** Total wall time of every round run at this size, in order; these figures are the fastest's. */
  roundTotals: number[];
  /** Every finished round's figures, in order: each stage and limit is judged by its fastest round. */
  rounds: RoundSeconds;
}

/**
 * Seconds of every finished round (nightly clean, limits measured), per step (wall and CPU) and
 * per limit, in round order.
 */
export interface RoundSeconds {
  steps: Record<string, number[]>;
  cpu: Record<string, number[]>;
  fetch: number[];
  load: number[];
  diff: number[];
}

interface ConfigFile {
  accounts: Array<{ id: string; provider: string; rateLimit?: unknown }>;
  groups: Array<{ id: string; accounts: string[]; source?: string }>;
}

const note = (text: string) => process.stderr.write(`scale: ${text}\n`);

/** The sandbox's config, five accounts, paced by RATE_LIMIT; returns its path. */
function writeScaleConfig(sandbox: Sandbox): string {
  const config = JSON.parse(readFileSync(sandbox.configFile, 'utf8')) as ConfigFile;
  config.accounts = config.accounts
    .filter((a) => a.provider !== LEFT_OUT)
    .map((a) => ({ ...a, rateLimit: RATE_LIMIT }));
  const kept = new Set(config.accounts.map((a) => a.id));
  config.groups = config.groups
    .map((g) => ({ ...g, accounts: g.accounts.filter((id) => kept.has(id)) }))
    .filter((g) => g.accounts.length >= 2 && (g.source === undefined || kept.has(g.source)));
  const file = path.join(sandbox.dir, 'scale.config.json');
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** The only run folder under outDir (the warehouse is new for each size). */
function runDirOf(config: Config): string | null {
  if (!existsSync(config.outDir)) return null;
  const [dir] = readdirSync(config.outDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  return dir ? path.join(config.outDir, dir.name) : null;
}

/** The steps as run.log records them, with the RSS sampled while each ran. */
function stepsOf(runDir: string | null, run: MeasuredProcess): StepFigure[] {
  const log = runDir ? path.join(runDir, 'run.log') : null;
  if (!log || !existsSync(log)) return [];
  const steps: StepFigure[] = [];
  const ends = new Map<string, number>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as {
      at: string;
      event: string;
      step?: string;
      status?: 'ok' | 'failed';
      seconds?: number;
    };
    if (!entry.step) continue;
    const at = Date.parse(entry.at);
    if (entry.event === 'step-start') {
      steps.push({
        step: entry.step,
        status: 'crashed',
        seconds: 0,
        peakRss: null,
        cpuSeconds: null,
        startedAt: at,
      });
    } else if (entry.event === 'step-done') {
      const step = steps.find((s) => s.step === entry.step)!;
      step.status = entry.status ?? 'ok';
      step.seconds = entry.seconds ?? 0;
      ends.set(entry.step, at);
    } else if (entry.event === 'step-skipped') {
      steps.push({
        step: entry.step,
        status: 'skipped',
        seconds: 0,
        peakRss: null,
        cpuSeconds: null,
        startedAt: null,
      });
    }
  }
  for (const step of steps) {
    if (step.startedAt === null) continue;
    const end = ends.get(step.step) ?? run.endedAt;
    if (step.status === 'crashed') step.seconds = (end - step.startedAt) / 1000;
    const inside = run.samples.filter((r) => r.at >= step.startedAt! && r.at <= end);
    step.peakRss = inside.length > 0 ? Math.max(...inside.map((r) => r.bytes)) : null;
    step.cpuSeconds = inside.length > 1 ? inside.at(-1)!.cpuSeconds - inside[0]!.cpuSeconds : null;
  }
  return steps;
}

/** Why a nightly was not clean: its problems, or how the process died (last lines of stderr). */
function failureOf(run: MeasuredProcess, summary: NightlySummary | null): string | null {
  if (run.code === 0) return null;
  if (summary) return summary.problems.join('; ') || `exit ${run.code}`;
  const lines = run.stderr.trim().split('\n');
  const fatal = lines.find((l) => /FATAL ERROR|out of memory|Error:/i.test(l));
  return `the process ended with ${run.code !== null ? `exit code ${run.code}` : `signal ${run.signal}`}: ${(fatal ?? lines.at(-1) ?? '').trim()}`;
}

function oneLine(text: string | null, max = 400): string | null {
  if (text === null) return null;
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function parseSummary(stdout: string): NightlySummary | null {
  try {
    return JSON.parse(stdout) as NightlySummary;
  } catch {
    return null;
  }
}

function childEnv(sandbox: Sandbox): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: tmpdir(),
    UNSUB_RECON_MEMORY_LIMIT: MEMORY_LIMIT,
    ...sandbox.env,
  };
}

function childFailed(what: string, run: MeasuredProcess): Error {
  const tail = run.stderr.trim().split('\n').slice(-8).join('\n');
  return new Error(`${what} exited ${run.code ?? run.signal}: ${tail}`);
}

/** The staging limit: DuckDB's reader loading the run's rows into a scratch stage_raw_rows. */
async function loadLimit(warehouseFile: string, runId: string, dir: string): Promise<LimitFigures['load']> {
  const file = path.join(dir, 'rows.ndjson');
  const scratchFile = path.join(dir, 'load.duckdb');
  try {
    const warehouse = await Warehouse.open(warehouseFile, { mode: 'read', command: 'bench' });
    try {
      await warehouse.run(EXPORT_ROWS_SQL, { run_id: runId, file });
    } finally {
      await warehouse.close();
    }
    const scratch = await Warehouse.open(scratchFile, { mode: 'write', command: 'bench' });
    try {
      const started = performance.now();
      await scratch.run(LOAD_ROWS_SQL, { file });
      const seconds = (performance.now() - started) / 1000;
      const [count] = await scratch.all<{ n: bigint }>('SELECT count(*) AS n FROM stage_raw_rows');
      return { seconds, rows: Number(count!.n), fileBytes: statSync(file).size };
    } finally {
      await scratch.close();
    }
  } finally {
    for (const f of [file, scratchFile, `${scratchFile}.wal`, `${scratchFile}.lock`])
      rmSync(f, { force: true });
  }
}

/** The diff limit: the hand-written statement, timed, then compared with `discrepancies`. */
async function diffLimit(config: Config, runId: string, now: Date): Promise<LimitFigures['diff']> {
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'bench' });
  try {
    await warehouse.run(
      `CREATE OR REPLACE TEMP TABLE scale_members (group_id VARCHAR, policy VARCHAR, source VARCHAR,
         scope VARCHAR, account_id VARCHAR, position INTEGER, timezone VARCHAR, time_format VARCHAR)`,
    );
    for (const group of config.groups) {
      for (const [position, id] of group.accounts.entries()) {
        const account = config.accounts.find((a) => a.id === id)!;
        await warehouse.run('INSERT INTO scale_members VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          group.id,
          group.policy,
          group.source ?? null,
          group.scope,
          id,
          position,
          account.timezone,
          PROVIDERS[account.provider].capabilities.timeFormat,
        ]);
      }
    }
    const started = performance.now();
    // The same settings the transform runs with.
    await warehouse.withSettings({ memoryLimit: MEMORY_LIMIT, preserveInsertionOrder: false }, () =>
      warehouse.run(DIFF_SQL, { run_id: runId, now }),
    );
    const seconds = (performance.now() - started) / 1000;
    const byKind = await warehouse.all<CompareRow>(COMPARE_SQL);
    const wrong = byKind.filter((k) => k.only_ours !== 0n || k.only_hand !== 0n);
    if (wrong.length > 0) {
      const what = wrong.map(
        (k) => `${k.group_id}/${k.kind}: ${k.only_ours} only in the view, ${k.only_hand} only in the limit`,
      );
      throw new Error(`the hand-written diff differs from the discrepancies view: ${what.join('; ')}`);
    }
    return { seconds, rows: byKind.reduce((sum, k) => sum + Number(k.hand), 0), byKind };
  } finally {
    await warehouse.close();
  }
}

/** Bytes of the answers the nightly read, from its completeness records. */
async function answerBytes(warehouseFile: string, runId: string): Promise<number> {
  const warehouse = await Warehouse.open(warehouseFile, { mode: 'read', command: 'bench' });
  try {
    const [row] = await warehouse.all<{ n: bigint }>(
      'SELECT sum(bytes) AS n FROM stage_extractions WHERE run_id = $1',
      [runId],
    );
    return Number(row!.n);
  } finally {
    await warehouse.close();
  }
}

/** Every limit of one size, on the data of its finished nightly; the simulators still up. */
async function measureLimits(
  sandbox: Sandbox,
  configFile: string,
  config: Config,
  summary: NightlySummary,
  transformStartedAt: number,
  dir: string,
): Promise<LimitFigures> {
  const env = childEnv(sandbox);
  note('extraction limit (bare fetch of the same requests)…');
  const fetchRun = await runMeasured(
    ['--import', 'tsx', FETCH_SCRIPT, configFile, config.warehouse, summary.run_id],
    { cwd: REPO, env },
  );
  if (fetchRun.code !== 0) throw childFailed('scale-fetch', fetchRun);
  const fetch = JSON.parse(fetchRun.stdout) as FetchResult;

  note('staging limit (DuckDB read_json of the same rows)…');
  const load = await loadLimit(config.warehouse, summary.run_id, dir);
  if (load.rows !== summary.rows) {
    throw new Error(`read_json loaded ${load.rows} rows; the nightly staged ${summary.rows}`);
  }

  note('diff limit (hand-written statement)…');
  const diff = await diffLimit(config, summary.run_id, new Date(transformStartedAt));

  note('export --format parquet…');
  const parquetDir = path.join(dir, 'parquet');
  const exported = await runMeasured(
    [BIN, '--config', configFile, 'export', '--format', 'parquet', '--out', parquetDir, '--json'],
    { cwd: REPO, env },
  );
  if (exported.code !== 0) throw childFailed('export', exported);
  return {
    pipelineBytes: await answerBytes(config.warehouse, summary.run_id),
    fetch,
    load,
    diff,
    parquet: {
      seconds: exported.seconds,
      bytes: sizeOnDisk(parquetDir),
      rawRowsFiles: readdirSync(path.join(parquetDir, 'raw_rows')).length,
    },
  };
}

async function measureSize(rowsPerAccount: number): Promise<SizeFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-scale-'));
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await startSandbox({ rows: rowsPerAccount, seed: SEED, dir: path.join(dir, 'sandbox') });
    const configFile = writeScaleConfig(sandbox);
    const config = loadConfig(configFile, { env: childEnv(sandbox) });

    note(`${rowsPerAccount.toLocaleString('en-US')} rows per account: nightly…`);
    const run = await runMeasured([BIN, '--config', configFile, 'nightly', '--full', '--json'], {
      cwd: REPO,
      env: childEnv(sandbox),
    });
    const summary = parseSummary(run.stdout);
    const runDir = summary?.runDir ?? runDirOf(config);
    const nightly: NightlyFigures = {
      process: run,
      steps: stepsOf(runDir, run),
      summary,
      // One line for the table, without the temporary folder's name.
      failure: oneLine(failureOf(run, summary)?.replaceAll(dir, '<tmp>') ?? null),
      warehouseBytes: sizeOnDisk(config.warehouse) + sizeOnDisk(`${config.warehouse}.wal`),
      reportBytes: summary?.report ? sizeOnDisk(summary.report.index) : 0,
    };
    const accounts = config.accounts.map((a) => a.id);
    if (nightly.failure !== null || !summary) {
      note(`nightly failed: ${nightly.failure}`);
      return { rowsPerAccount, accounts, nightly, limits: null, ...oneRound(nightly, null) };
    }
    if (summary.accounts.some((a) => a.mode !== 'full')) {
      throw new Error('nightly --full did not read every account in full');
    }
    const transformStartedAt = nightly.steps.find((s) => s.step === 'transform')?.startedAt;
    if (!transformStartedAt) throw new Error(`${runDir}/run.log: no transform step`);
    const limits = await measureLimits(sandbox, configFile, config, summary, transformStartedAt, dir);
    return { rowsPerAccount, accounts, nightly, limits, ...oneRound(nightly, limits) };
  } finally {
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One round's own figures in the shape of several rounds' (a failed round has no seconds). */
function oneRound(
  nightly: NightlyFigures,
  limits: LimitFigures | null,
): Pick<SizeFigures, 'roundTotals' | 'rounds'> {
  const rounds: RoundSeconds = { steps: {}, cpu: {}, fetch: [], load: [], diff: [] };
  if (limits !== null) {
    for (const step of nightly.steps) {
      rounds.steps[step.step] = [step.seconds];
      if (step.cpuSeconds !== null) rounds.cpu[step.step] = [step.cpuSeconds];
    }
    rounds.fetch.push(limits.fetch.seconds);
    rounds.load.push(limits.load.seconds);
    rounds.diff.push(limits.diff.seconds);
  }
  return { roundTotals: [nightly.process.seconds], rounds };
}

/**
 * The rounds of one size as one figure: the round whose nightly finished fastest (any finished one
 * beats a failed one) for the whole-run figures (memory, per account, discrepancies), and every
 * round's seconds, so that each stage and limit can be judged by its own fastest round.
 */
function combineRounds(rounds: readonly SizeFigures[]): SizeFigures {
  const finished = rounds.filter((r) => r.limits !== null);
  const candidates = finished.length > 0 ? finished : rounds;
  const fastest = candidates.reduce((a, b) =>
    b.nightly.process.seconds < a.nightly.process.seconds ? b : a,
  );
  const concat = (pick: (r: RoundSeconds) => Record<string, number[]>) => {
    const all: Record<string, number[]> = {};
    for (const round of finished) {
      for (const [key, seconds] of Object.entries(pick(round.rounds))) {
        all[key] = [...(all[key] ?? []), ...seconds];
      }
    }
    return all;
  };
  return {
    ...fastest,
    roundTotals: rounds.map((r) => r.nightly.process.seconds),
    rounds: {
      steps: concat((r) => r.steps),
      cpu: concat((r) => r.cpu),
      fetch: finished.flatMap((r) => r.rounds.fetch),
      load: finished.flatMap((r) => r.rounds.load),
      diff: finished.flatMap((r) => r.rounds.diff),
    },
  };
}

export async function scale(): Promise<string> {
  if (SIZES.length === 0)
    throw new Error('BENCH_SCALE_SIZES: expected rows per account, e.g. 1000000,5000000');
  if (!existsSync(path.join(REPO, 'dist', 'pipelines', 'cli.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (make bench does) before the scale benchmark');
  }
  // Rounds go size after size (1M, 5M, 1M, 5M…), not all of one size first: the machine's speed
  // drifts over the hour the benchmark takes (other work on the host, its page cache), and drift
  // between the sizes would read as growth.
  const rounds: SizeFigures[][] = SIZES.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, rows] of SIZES.entries()) {
      if (ROUNDS > 1) note(`${rows.toLocaleString('en-US')} rows per account: round ${round} of ${ROUNDS}`);
      rounds[i]!.push(await measureSize(rows));
    }
  }
  const sizes = rounds.map(combineRounds);
  const text = scaleMarkdown(sizes, {
    seed: SEED,
    leftOut: LEFT_OUT,
    rateLimit: RATE_LIMIT,
    memoryLimit: MEMORY_LIMIT,
  });
  writeSection('scale', text);
  return text;
}
