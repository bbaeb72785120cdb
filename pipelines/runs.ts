/**
 * `unsub-recon runs [--limit N] [--keep N]` and `unsub-recon prune --keep N [--dry-run]`.
 *
 * `runs` lists the runs recorded in the warehouse, newest first, with what each did: accounts
 * extracted and complete and rows staged (from the warehouse), and for runs that wrote a run
 * directory (`nightly`) the outcome, discrepancies, new suppressions and patch files from its
 * `summary.json`. `--keep N` prunes first.
 *
 * Pruning removes whole run directories under `outDir` (reports, patches, logs) beyond the newest
 * N. It never touches the warehouse: raw rows, request logs and the `runs` table stay, so every
 * number in a pruned report can be recomputed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../extractors/core/config.js';
import { WarehouseLockedError } from '../extractors/core/errors.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import type { CommandContext } from './cli.js';
import { formatTable } from './output.js';
import {
  listRunDirectories,
  MANIFEST,
  type PruneResult,
  pruneRunDirectories,
  readSummary,
} from './run-dir.js';
import { sqlFile } from './sql/files.js';

export interface RunsOptions {
  limit: number;
  /** Prune run directories beyond the newest `keep` before listing. */
  keep?: number;
}

export interface PruneOptions {
  keep: number;
  dryRun?: boolean;
}

/** What a run directory's summary.json says, as far as `runs` shows it. */
interface RunDirSummary {
  status?: string;
  seconds?: number;
  exit_code?: number;
  new_suppressions?: number;
  discrepancies?: number;
  patches?: { files?: unknown[] };
  problems?: string[];
}

export async function listRuns(ctx: CommandContext, options: RunsOptions): Promise<void> {
  const config = ctx.config();
  const pruned = options.keep === undefined ? undefined : await prune(config, { keep: options.keep });
  if (!existsSync(config.warehouse)) {
    ctx.out.result(
      {
        status: 'ok',
        warehouse: config.warehouse,
        runs: [],
        ...(pruned ? { pruned: prunedJson(pruned) } : {}),
      },
      () => `${pruned ? pruneText(pruned, false) : ''}no runs yet: ${config.warehouse} does not exist\n`,
    );
    return;
  }
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'runs' });
  let rows: Array<Record<string, unknown> & { run_id: string }>;
  try {
    rows = await warehouse.allJson(sqlFile('runs', 'list'), { limit: options.limit });
  } finally {
    await warehouse.close();
  }
  const runs = rows.map((row) => withRunDirectory(config, row));
  ctx.out.result(
    { status: 'ok', warehouse: config.warehouse, runs, ...(pruned ? { pruned: prunedJson(pruned) } : {}) },
    () =>
      (pruned ? pruneText(pruned, false) : '') +
      (runs.length === 0
        ? `no runs yet in ${config.warehouse}\n`
        : formatTable(
            runs.map((r) => ({
              ...r,
              // A nightly's warehouse status covers its extraction; its outcome covers every step.
              status: r.outcome ?? r.status,
              seconds: r.seconds ?? seconds(r.started_at, r.finished_at),
              accounts: Number(r.accounts) > 0 ? `${r.accounts_complete}/${r.accounts}` : '',
              error: r.outcome_error || r.error,
            })),
            [
              'run_id',
              'command',
              'status',
              'started_at',
              'seconds',
              'accounts',
              'rows',
              'new_suppressions',
              'discrepancies',
              'patch_files',
              'dir',
              'error',
            ],
          )),
  );
}

/** The run's row plus what its run directory says (nothing for runs that wrote none). */
function withRunDirectory<T extends Record<string, unknown> & { run_id: string }>(config: Config, row: T) {
  const dir = path.join(config.outDir, row.run_id);
  if (!existsSync(dir)) {
    return { ...row, dir: null, sealed: null, outcome: null, outcome_error: null, ...emptyCounts };
  }
  let summary: RunDirSummary | undefined;
  let unreadable: string | null = null;
  try {
    summary = readSummary<RunDirSummary>(dir);
  } catch (error) {
    // One damaged folder must not hide the list of runs: it is shown on its own row.
    unreadable = (error as Error).message;
  }
  return {
    ...row,
    dir,
    sealed: existsSync(path.join(dir, MANIFEST)),
    outcome: summary?.status ?? null,
    outcome_error:
      unreadable ??
      (summary === undefined && row.command === 'nightly'
        ? 'no summary.json: the run ended before it finished'
        : summary?.problems?.length
          ? summary.problems.join('; ')
          : null),
    // A nightly's own duration: the warehouse's finished_at is its extraction's commit.
    seconds: summary?.seconds ?? null,
    new_suppressions: summary?.new_suppressions ?? null,
    discrepancies: summary?.discrepancies ?? null,
    patch_files: summary?.patches?.files?.length ?? null,
  };
}

const emptyCounts = { seconds: null, new_suppressions: null, discrepancies: null, patch_files: null };

export async function pruneCommand(ctx: CommandContext, options: PruneOptions): Promise<void> {
  const config = ctx.config();
  const result = await prune(config, options);
  ctx.out.result(
    {
      status: 'ok',
      outDir: config.outDir,
      dry_run: options.dryRun ?? false,
      keep: options.keep,
      ...prunedJson(result),
    },
    () => pruneText(result, options.dryRun ?? false) || `nothing to prune in ${config.outDir}\n`,
  );
}

async function prune(config: Config, options: PruneOptions): Promise<PruneResult> {
  const protect = await runsInProgress(config);
  return pruneRunDirectories(config.outDir, options.keep, {
    protect,
    ...(options.dryRun ? { dryRun: true } : {}),
  });
}

/**
 * Run ids whose directories a running process may still be writing. The writer holds the
 * warehouse, so a read-only open is refused and the refusal names its run; when it cannot be
 * named, every directory without a manifest (a run not yet finished) is kept.
 */
async function runsInProgress(config: Config): Promise<Set<string>> {
  if (!existsSync(config.warehouse)) return new Set();
  try {
    const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'prune' });
    try {
      const running = await warehouse.allJson<{ run_id: string }>(sqlFile('runs', 'running'));
      return new Set(running.map((r) => r.run_id));
    } finally {
      await warehouse.close();
    }
  } catch (error) {
    if (!(error instanceof WarehouseLockedError)) throw error;
    if (error.holder.runId !== 'unknown') return new Set([error.holder.runId]);
    return new Set(
      listRunDirectories(config.outDir)
        .filter((d) => !existsSync(path.join(d.dir, MANIFEST)))
        .map((d) => d.runId),
    );
  }
}

function prunedJson(result: PruneResult) {
  return {
    kept: result.kept,
    removed: result.removed.map((r) => ({ run_id: r.runId, dir: r.dir, bytes: r.bytes })),
  };
}

function pruneText(result: PruneResult, dryRun: boolean): string {
  if (result.removed.length === 0) return '';
  const bytes = result.removed.reduce((n, r) => n + r.bytes, 0);
  return (
    `${dryRun ? 'would remove' : 'removed'} ${result.removed.length} run director${result.removed.length === 1 ? 'y' : 'ies'} ` +
    `(${(bytes / 1024 / 1024).toFixed(1)} MiB), kept ${result.kept.length}; the warehouse is untouched\n` +
    result.removed.map((r) => `  ${r.dir}\n`).join('')
  );
}

function seconds(startedAt: unknown, finishedAt: unknown): string {
  if (typeof startedAt !== 'string' || typeof finishedAt !== 'string') return '';
  return ((Date.parse(finishedAt) - Date.parse(startedAt)) / 1000).toFixed(1);
}
