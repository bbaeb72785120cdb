/**
 * `unsub-recon migrate --from ACCOUNT --to ACCOUNT [--apply] [--concurrency N]`: a one-off move of
 * one account's opt-outs to another, possibly of another provider:
 *
 *   full extract of both (an `extract` run) → diff (a `transform` run, with a mirror group
 *   `migrate-<from>-to-<to>` of the two added to the config's groups) → plan adds for the
 *   target → replay them (dry run unless --apply) → verify (re-read the target, re-diff).
 *
 * Only adds: a migration never deletes anything from either side. Works for any provider pair
 * through the registry; the patch and the replay journal are those of `plan` and `replay`, kept
 * under this command's run id (`<outDir>/<run_id>/patches/migrate-<from>-to-<to>/`).
 *
 * Exit codes: 0 (dry run shown, or applied and converged); 1 an extraction incomplete, a row
 * failed or the target did not converge; 2 bad arguments.
 */
import type { Config, GroupConfig } from '../extractors/core/config.js';
import { UnsubReconError, UsageError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { extractInRun } from './extract.js';
import type { Output } from './output.js';
import { loadPatch } from './patch/format.js';
import { planPatches } from './plan.js';
import { type ReplayResult, replayInRun, replaySummary, replayText } from './replay.js';
import { transformInRun } from './transform.js';

/** The migration could not be carried out, or did not converge: exit 1. */
export class MigrateError extends UnsubReconError {
  readonly code = 'MIGRATE_FAILED';
}

export interface MigrateOptions {
  from: string;
  to: string;
  apply?: boolean;
  concurrency?: number;
}

/** The diff group a migration plans from: the target mirrors the source. */
export function migrationGroup(from: string, to: string): GroupConfig {
  return {
    id: `migrate-${from}-to-${to}`,
    accounts: [from, to],
    policy: 'mirror',
    source: from,
    scope: 'global',
    maxDeleteFraction: 0,
    maxDeletes: 0,
  };
}

interface MigrateResult {
  run_id: string;
  extract_run_id: string;
  transform_run_id: string;
  patchDir: string | null;
  adds: number;
  replay: ReplayResult;
}

export async function migrateCommand(config: Config, options: MigrateOptions, out: Output): Promise<void> {
  for (const [flag, id] of [
    ['--from', options.from],
    ['--to', options.to],
  ] as const) {
    if (!config.accounts.some((a) => a.id === id)) {
      throw new UsageError(
        `${flag} ${id}: no such account; expected one of ${config.accounts.map((a) => a.id).join(', ')}`,
      );
    }
  }
  if (options.from === options.to) throw new UsageError(`--from and --to are both ${options.from}`);
  const group = migrationGroup(options.from, options.to);
  const diffConfig: Config = {
    ...config,
    groups: [...config.groups.filter((g) => g.id !== group.id), group],
  };
  const redact = createRedactor(config.secrets);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'migrate' });
  let result: MigrateResult;
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({ command: 'migrate', args: { ...options } });
    try {
      result = await migrateInRun(warehouse, runId, diffConfig, group, options, out);
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', redact((error as Error).message));
      throw error;
    }
    await warehouse.finishRun(
      runId,
      result.replay.ok ? 'succeeded' : 'partial',
      result.replay.ok ? undefined : result.replay.problems.join('; '),
    );
  } finally {
    await warehouse.close();
  }
  out.result(
    {
      run_id: result.run_id,
      status: result.replay.ok ? 'ok' : 'incomplete',
      mode: result.replay.mode,
      from: options.from,
      to: options.to,
      extract_run_id: result.extract_run_id,
      transform_run_id: result.transform_run_id,
      patchDir: result.patchDir,
      adds: result.adds,
      replay: replaySummary(result.replay),
    },
    () =>
      [
        `migrate ${options.from} → ${options.to}, run ${result.run_id}: ${result.adds} address(es) to add ` +
          `(extract run ${result.extract_run_id}, diff run ${result.transform_run_id})`,
        replayText(result.replay),
      ].join('\n'),
  );
  if (!result.replay.ok) throw new MigrateError(result.replay.problems.join('; '));
}

async function migrateInRun(
  warehouse: Warehouse,
  runId: string,
  config: Config,
  group: GroupConfig,
  options: MigrateOptions,
  out: Output,
): Promise<MigrateResult> {
  const via = `migrate ${runId}`;
  const accounts = [options.from, options.to].map((id) => config.accounts.find((a) => a.id === id)!);
  const extractRunId = await warehouse.beginRun({
    command: 'extract',
    args: { account: accounts.map((a) => a.id), full: true, via },
  });
  const extractions = await extractInRun(warehouse, extractRunId, config, accounts, { mode: 'full' }, out);
  const incomplete = extractions.filter((e) => e.status !== 'complete');
  await warehouse.finishRun(
    extractRunId,
    incomplete.length === 0 ? 'succeeded' : incomplete.length === extractions.length ? 'failed' : 'partial',
  );
  if (incomplete.length > 0) {
    throw new MigrateError(
      `full extraction not complete, nothing planned: ${incomplete.map((e) => `${e.accountId} ${e.status}: ${e.error}`).join('; ')}`,
    );
  }

  const transformRunId = await warehouse.beginRun({ command: 'transform', args: { via } });
  const outcome = await transformInRun(warehouse, transformRunId, config, { allowIncomplete: false });
  await warehouse.finishRun(transformRunId, outcome.groups.every((g) => g.diffed) ? 'succeeded' : 'partial');

  const plan = await planPatches({ warehouse, runId, config, groups: [group], addsOnly: true });
  const planned = plan.groups[0]!;
  if (planned.status !== 'planned' || planned.patchDir === null) {
    throw new MigrateError(`planning refused: ${planned.refusals.join('; ')}`);
  }
  // Read back through the same checks `replay PATH` applies: what is sent is what was written.
  const patch = loadPatch(planned.patchDir, config);
  const replay = await replayInRun({
    warehouse,
    runId,
    config,
    patch,
    out,
    apply: options.apply ?? false,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
  });
  return {
    run_id: runId,
    extract_run_id: extractRunId,
    transform_run_id: transformRunId,
    patchDir: planned.patchDir,
    adds: planned.targets.reduce((n, t) => n + t.adds, 0),
    replay,
  };
}
