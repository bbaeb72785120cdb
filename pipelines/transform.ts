/**
 * `unsub-recon transform`: rebuilds the derived tables (`suppressions`, `rejects`, `discrepancies`,
 * `group_status`, `discrepancy_summary`, …) from committed runs (transforms/run.ts builds, audits, then publishes in one transaction). A group with a member whose latest
 * extraction is not complete is not diffed; the command finishes everything else, names the
 * account and window, and exits 1 — unless `--allow-incomplete`.
 */
import type { Config } from '../extractors/core/config.js';
import { IncompleteDataError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { configuredMemoryLimit, Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import { runTransforms, type TransformOutcome } from '../transforms/run.js';
import { formatTable, type Output } from './output.js';

export interface TransformCommandOptions {
  allowIncomplete?: boolean;
}

export interface TransformRunResult {
  runId: string;
  status: 'succeeded' | 'partial';
  outcome: TransformOutcome;
}

/** Runs the transforms inside an already begun run (the `transform` command; `nightly` may reuse it). */
export async function transformInRun(
  warehouse: Warehouse,
  runId: string,
  config: Config,
  options: TransformCommandOptions,
): Promise<TransformOutcome> {
  return runTransforms(warehouse, {
    runId,
    now: new Date(),
    allowIncomplete: options.allowIncomplete ?? false,
    memoryLimit: configuredMemoryLimit(),
    accounts: config.accounts.map((a) => ({
      id: a.id,
      provider: a.provider,
      timezone: a.timezone,
      timeFormat: PROVIDERS[a.provider]?.capabilities.timeFormat ?? null,
    })),
    groups: config.groups.map((g) => ({
      id: g.id,
      accounts: g.accounts,
      policy: g.policy,
      source: g.source,
      scope: g.scope,
    })),
  });
}

export async function runTransform(
  config: Config,
  options: TransformCommandOptions,
  out: Output,
): Promise<TransformRunResult> {
  const redact = createRedactor(config.secrets);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'transform' });
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({ command: 'transform', args: { ...options } });
    let outcome: TransformOutcome;
    try {
      outcome = await transformInRun(warehouse, runId, config, options);
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', redact((error as Error).message));
      throw error;
    }
    const blocked = outcome.groups.filter((g) => !g.diffed);
    const status = blocked.length > 0 ? 'partial' : 'succeeded';
    await warehouse.finishRun(
      runId,
      status,
      blocked.length > 0 ? redact(blockedMessage(outcome)) : undefined,
    );
    return { runId, status, outcome };
  } finally {
    await warehouse.close();
  }
}

function blockedMessage(outcome: TransformOutcome): string {
  const blocked = outcome.groups.filter((g) => !g.diffed);
  const accounts = outcome.incomplete.filter((a) => blocked.some((g) => g.blocked_by.includes(a.account_id)));
  return (
    `group(s) ${blocked.map((g) => g.group_id).join(', ')} not diffed: ` +
    `${accounts.map((a) => a.detail).join('; ')} (run \`extract\` again, or pass --allow-incomplete)`
  );
}

export async function transformCommand(
  config: Config,
  options: TransformCommandOptions,
  out: Output,
): Promise<void> {
  const { runId, status, outcome } = await runTransform(config, options, out);
  const redact = createRedactor(config.secrets);
  const groups = outcome.groups.map((g) => ({
    group_id: g.group_id,
    diffed: g.diffed,
    allowed_incomplete: g.allowed_incomplete,
    blocked_by: g.blocked_by,
    discrepancies: g.discrepancies,
    by_kind: g.by_kind,
  }));
  out.result(
    {
      run_id: runId,
      status,
      warehouse: config.warehouse,
      suppressions: outcome.suppressions,
      rejects: outcome.rejects,
      groups,
      incomplete: outcome.incomplete.map((a) => ({
        ...a,
        error: a.error === null ? null : redact(a.error),
        detail: redact(a.detail),
      })),
    },
    () =>
      [
        `run ${runId}: ${status} (${outcome.suppressions} suppressions, ${outcome.rejects} rejects)`,
        formatTable(
          groups.map((g) => ({
            group: g.group_id,
            diffed: g.diffed,
            discrepancies: g.discrepancies,
            missing: g.by_kind.missing ?? 0,
            extra: g.by_kind.extra ?? 0,
          })),
          ['group', 'diffed', 'discrepancies', 'missing', 'extra'],
        ),
      ].join('\n'),
  );
  if (options.allowIncomplete && outcome.incomplete.length > 0) {
    out.note(
      `unsub-recon: --allow-incomplete: diffed despite ${outcome.incomplete.map((a) => redact(a.detail)).join('; ')}`,
    );
  }
  if (status === 'partial') throw new IncompleteDataError(redact(blockedMessage(outcome)));
}
