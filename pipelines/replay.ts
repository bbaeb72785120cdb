/**
 * `unsub-recon replay PATH [--apply] [--allow-deletes] [--concurrency N] [--max-ops N]`: sends a
 * patch folder written by `plan` (PATH is the folder holding manifest.json, or the manifest).
 *
 *  - The whole manifest is refused, nothing sent, when any file's sha256 or row count differs
 *    from the manifest, or a target account is not in the config (patch/format.ts loadPatch).
 *  - Dry run by default: the same code path as --apply up to the network call, which it never
 *    makes; it prints the counts per target and op and the first rows.
 *  - --apply sends through the providers' clients, rate-limited and concurrent within each
 *    account's limits, journaling every item in `replay_log` before it is sent and after the
 *    answer; deletes need --allow-deletes too. A second run of the same command sends only what
 *    the first did not finish (in-doubt items are re-read first), so a crash or kill -9 loses
 *    nothing and applies nothing twice.
 *  - Then verify: a targeted re-extraction and re-diff; converged or not per target.
 *
 * Exit codes (cli.ts): 0 everything sent or already so, and converged; 1 some row failed, a
 * target stopped, or a target did not converge; 1 PATCH_INVALID for a refused manifest.
 */
import type { Dispatcher } from 'undici';
import type { Config } from '../extractors/core/config.js';
import { UnsubReconError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { formatTable, type Output } from './output.js';
import { type LoadedPatch, loadPatch } from './patch/format.js';
import { applyPatch, type SkipReason, type TargetResult } from './replay/apply.js';
import { crashPoint } from './replay/crash.js';
import { DryRunJournal, priorStates, WarehouseJournal } from './replay/journal.js';
import { type Verification, verifyReplay } from './replay/verify.js';

/** Rows shown per target and op in a dry run. */
const PREVIEW_ROWS = 5;
/** Failures listed per target. */
const SHOWN_FAILURES = 20;

/** Some row failed, a target stopped, or verify found a target not converged: exit 1. */
export class ReplayIncompleteError extends UnsubReconError {
  readonly code = 'REPLAY_INCOMPLETE';
}

export interface ReplayFlags {
  apply?: boolean;
  allowDeletes?: boolean;
  concurrency?: number;
  maxOps?: number;
}

export interface ReplayInRunOptions extends ReplayFlags {
  warehouse: Warehouse;
  runId: string;
  config: Config;
  patch: LoadedPatch;
  out: Output;
  /** Default true with --apply. Benchmarks measure sending alone. */
  verify?: boolean;
  dispatcher?: Dispatcher;
}

export interface ReplayResult {
  run_id: string;
  mode: 'dry-run' | 'apply';
  patch: LoadedPatch;
  targets: TargetResult[];
  verification: Verification | null;
  /** True when every row went through (or was already so) and every target converged. */
  ok: boolean;
  /** What is wrong when not ok, in words (redacted). */
  problems: string[];
}

/** Replays a loaded patch inside the caller's run (`replay`, `migrate`). */
export async function replayInRun(options: ReplayInRunOptions): Promise<ReplayResult> {
  const { warehouse, runId, config, patch } = options;
  const apply = options.apply ?? false;
  const redact = createRedactor(config.secrets);
  const targets = await applyPatch({
    patch,
    config,
    journal: apply ? new WarehouseJournal(warehouse, runId, patch) : new DryRunJournal(),
    prior: await priorStates(warehouse, patch),
    apply,
    allowDeletes: options.allowDeletes ?? false,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.maxOps !== undefined ? { maxOps: options.maxOps } : {}),
    redact,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const verification =
    apply && (options.verify ?? true)
      ? await verifyReplay({
          warehouse,
          config,
          patch,
          results: targets,
          out: options.out,
          via: `replay ${runId}`,
        })
      : null;
  const problems: string[] = [];
  for (const t of targets) {
    if (t.failed > 0) problems.push(`${t.target}: ${t.failed} row(s) failed`);
    if (t.stopped !== null) problems.push(`${t.target}: stopped: ${t.stopped}`);
  }
  for (const v of verification?.targets ?? []) {
    if (!v.converged) {
      problems.push(
        `${v.target}: not converged (${v.in_state}/${v.expected} rows in state${v.problem ? `; ${v.problem}` : ''})`,
      );
    }
  }
  return {
    run_id: runId,
    mode: apply ? 'apply' : 'dry-run',
    patch,
    targets,
    verification,
    ok: problems.length === 0,
    problems: problems.map(redact),
  };
}

export async function replayCommand(
  config: Config,
  location: string,
  flags: ReplayFlags,
  out: Output,
): Promise<void> {
  const patch = loadPatch(location, config);
  const redact = createRedactor(config.secrets);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'replay' });
  let result: ReplayResult;
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({
      command: 'replay',
      args: { path: patch.dir, manifest_sha256: patch.manifestSha256, ...flags },
    });
    crashPoint('begun');
    try {
      result = await replayInRun({ warehouse, runId, config, patch, out, ...flags });
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', redact((error as Error).message));
      throw error;
    }
    await warehouse.finishRun(
      runId,
      result.ok ? 'succeeded' : 'partial',
      result.ok ? undefined : result.problems.join('; '),
    );
  } finally {
    await warehouse.close();
  }
  out.result(replaySummary(result), () => replayText(result));
  if (!result.ok) throw new ReplayIncompleteError(result.problems.join('; '));
}

/** The `--json` shape (also `migrate`'s `replay` field). */
export function replaySummary(result: ReplayResult) {
  return {
    run_id: result.run_id,
    status: result.ok ? 'ok' : 'incomplete',
    mode: result.mode,
    patchDir: result.patch.dir,
    manifest_sha256: result.patch.manifestSha256,
    group: result.patch.manifest.group,
    plan_run_id: result.patch.manifest.run_id,
    targets: result.targets.map((t) => ({
      target: t.target,
      provider: t.provider,
      rows: t.rows,
      sent: t.sent,
      succeeded: t.succeeded,
      already: t.already,
      failed: t.failed,
      skipped: t.skipped,
      skipped_by_reason: t.skipped_by_reason,
      rechecked: t.rechecked,
      write_calls: t.write_calls,
      requests: t.requests,
      stopped: t.stopped,
      ops: opCounts(t),
      failures: t.items
        .filter((i) => i.outcome === 'failed' || i.outcome === 'error')
        .slice(0, SHOWN_FAILURES)
        .map((i) => ({
          email: i.item.row.email,
          op: i.item.file.entry.op,
          outcome: i.outcome,
          message: i.message,
        })),
      ...(result.mode === 'dry-run' ? { preview: preview(t) } : {}),
    })),
    manual: result.patch.manual.map((m) => ({ target: m.target, rows: m.rows, path: m.path })),
    verify: result.verification,
    problems: result.problems,
  };
}

function opCounts(t: TargetResult) {
  const ops: Record<string, { rows: number; send: number; skipped: number }> = {};
  for (const i of t.items) {
    const op = i.item.file.entry.op;
    ops[op] ??= { rows: 0, send: 0, skipped: 0 };
    ops[op].rows += 1;
    if (i.outcome === 'skipped') ops[op].skipped += 1;
    else if (i.outcome !== 'confirmed') ops[op].send += 1;
  }
  return ops;
}

function preview(t: TargetResult) {
  const byOp = new Map<string, { op: string; email: string; rechecked: boolean }[]>();
  for (const i of t.items) {
    if (i.outcome !== 'would-send') continue;
    const list = byOp.get(i.item.file.entry.op) ?? [];
    if (list.length < PREVIEW_ROWS)
      list.push({ op: i.item.file.entry.op, email: i.item.row.email, rechecked: i.rechecked });
    byOp.set(i.item.file.entry.op, list);
  }
  return [...byOp.values()].flat();
}

const SKIP_WORDS: Record<SkipReason, string> = {
  'done-earlier': 'done in an earlier run',
  'deletes-not-allowed': 'deletes need --allow-deletes',
  'over-max-ops': 'over --max-ops',
  'target-stopped': 'target stopped',
};

export function replayText(result: ReplayResult): string {
  const dry = result.mode === 'dry-run';
  const lines = [
    `run ${result.run_id}: ${dry ? 'DRY RUN — nothing was sent (add --apply to send)' : result.ok ? 'done' : 'INCOMPLETE'}; ` +
      `patch ${result.patch.dir} (group ${result.patch.manifest.group}, plan run ${result.patch.manifest.run_id})`,
    formatTable(
      result.targets.flatMap((t) =>
        Object.entries(opCounts(t)).map(([op, c]) => ({
          target: t.target,
          op,
          rows: c.rows,
          [dry ? 'would_send' : 'sent']: c.send,
          ...(dry
            ? {}
            : {
                succeeded: t.items.filter(
                  (i) =>
                    i.item.file.entry.op === op && (i.outcome === 'applied' || i.outcome === 'confirmed'),
                ).length,
                already: t.items.filter((i) => i.item.file.entry.op === op && i.outcome === 'already').length,
                failed: t.items.filter(
                  (i) => i.item.file.entry.op === op && (i.outcome === 'failed' || i.outcome === 'error'),
                ).length,
              }),
          skipped: c.skipped,
        })),
      ),
    ).trimEnd(),
  ];
  for (const t of result.targets) {
    const reasons = Object.entries(t.skipped_by_reason)
      .map(([reason, n]) => `${n} ${SKIP_WORDS[reason as SkipReason]}`)
      .join(', ');
    if (reasons) lines.push(`${t.target}: skipped ${reasons}`);
    if (t.stopped) lines.push(`${t.target}: STOPPED: ${t.stopped}`);
    for (const f of t.items
      .filter((i) => i.outcome === 'failed' || i.outcome === 'error')
      .slice(0, SHOWN_FAILURES))
      lines.push(`${t.target}: ${f.item.file.entry.op} ${f.item.row.email} ${f.outcome}: ${f.message}`);
    if (dry)
      for (const p of preview(t))
        lines.push(
          `  would ${p.op} ${t.target} ${JSON.stringify(p.email)}${p.rechecked ? ' (re-read first)' : ''}`,
        );
  }
  for (const m of result.patch.manual)
    lines.push(`${m.target}: ${m.rows} manual row(s) in ${m.path}, not replayed`);
  const v = result.verification;
  if (v) {
    lines.push(`verify: re-extract run ${v.extract_run_id ?? '-'}, re-diff run ${v.transform_run_id ?? '-'}`);
    for (const t of v.targets) {
      lines.push(
        `  ${t.target}: ${t.converged ? 'converged' : 'NOT converged'} (${t.in_state}/${t.expected} rows in state` +
          `${t.not_attempted ? `, ${t.not_attempted} not attempted` : ''}` +
          `${t.missing_left !== null ? `, ${t.missing_left} missing left in the group` : ''})` +
          `${t.not_in_state.length ? `: ${t.not_in_state.map((e) => JSON.stringify(e)).join(', ')}` : ''}` +
          `${t.problem ? `; ${t.problem}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}
