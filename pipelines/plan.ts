/**
 * `unsub-recon plan --group ID… [--target ACCOUNT]… [--delete-foreign] [--force GROUP]…`: patch
 * files for each group's policy, from the last `transform` (DESIGN.md "Patch files", "Groups").
 *
 *  - union groups: adds only (every member lacking an address another member holds);
 *  - mirror groups: adds to the targets, and deletes in separate files — by default only of
 *    entries unsub-recon itself added (found in `replay_log`) that the source no longer holds
 *    (the tracked-mirror rule); `--delete-foreign` widens that to every entry the source lacks;
 *  - a target whose provider cannot undo an opt-out safely (capabilities.canDelete false:
 *    WhatCounts, BlueHornet) gets no delete file: its rows go to `<target>.manual.csv` with why;
 *  - delete safety: a group is refused (nothing written, exit 1, the numbers in the message) when
 *    a target's deletes exceed `maxDeleteFraction` of its list or `maxDeletes`, or when the
 *    source lost more than `maxDeleteFraction` of its list since its previous full snapshot —
 *    unless `--force` names the group.
 *
 * {@link planPatches} is the flow's core, run inside a caller's run (`plan`, `nightly`,
 * `migrate`); the files go to `<outDir>/<run_id>/patches/<group>/`, written in a hidden folder
 * and renamed into place, so a failed plan leaves no half-written patch and an earlier
 * directory is never rewritten.
 *
 * Memory does not grow with the rows: a group's numbers (and so its refusals) come from
 * aggregate queries before anything is written; then each op's rows stream from DuckDB a chunk
 * at a time, ordered by target, and are written, hashed and counted as they pass. Both read the
 * same candidate definitions (temp macros, pipelines/sql/plan/*_candidates.sql), and every file
 * must hold exactly the rows counted.
 */
import path from 'node:path';
import { type DuckDBListValue, listValue } from '@duckdb/node-api';
import type { Config, GroupConfig } from '../extractors/core/config.js';
import { PatchError, UnsubReconError, UsageError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import type { ProviderId } from '../extractors/core/types.js';
import { configuredMemoryLimit, type SqlValue, Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import { formatTable, type Output } from './output.js';
import {
  createPatchFolder,
  type PatchFileEntry,
  type PatchFileWriter,
  type PatchManifest,
  type PatchOp,
  type PatchRow,
  patchFileName,
  type TargetCheck,
} from './patch/format.js';
import { sqlFile } from './sql/files.js';

/** Planning cannot start: no transform yet, or its tables are unreadable. */
export class PlanError extends UnsubReconError {
  readonly code = 'PLAN_FAILED';
}

/** Some group was refused (delete safety, or a diff that cannot be trusted); exit 1. */
export class PlanRefusedError extends UnsubReconError {
  readonly code = 'PLAN_REFUSED';
}

const TRANSFORM_TABLES = ['discrepancies', 'suppressions', 'group_status', 'suppression_events'];

export interface PlanOptions {
  /** Open for reading at least; planning only reads it. */
  warehouse: Warehouse;
  /** The caller's run: the patches go to `<outDir>/<runId>/patches/`. */
  runId: string;
  config: Config;
  /** Groups to plan (config objects: `migrate` passes one that is not in the config). */
  groups: readonly GroupConfig[];
  /** Only these members (default: every member but a mirror's source). */
  targets?: readonly string[];
  /** Mirror deletes of entries unsub-recon did not add (default false: the tracked-mirror rule). */
  deleteForeign?: boolean;
  /** Group ids allowed past the delete-safety refusals. */
  force?: readonly string[];
  /** No deletes at all, whatever the policy (`migrate`). */
  addsOnly?: boolean;
  /** Default config.outDir. */
  outDir?: string;
  /** Default new Date(). */
  now?: Date;
}

export interface TargetPlan {
  target: string;
  provider: ProviderId;
  adds: number;
  deletes: number;
  manual: number;
  list_size: number;
}

export interface SourceShrink {
  account: string;
  previous_size: number;
  removed: number;
  fraction: number;
}

export interface GroupPlan {
  group_id: string;
  policy: 'union' | 'mirror';
  status: 'planned' | 'refused';
  /** The transform run whose discrepancies were planned from. */
  diff_run_id: string | null;
  /** Absolute path of the patch folder (holding manifest.json), null when refused. */
  patchDir: string | null;
  files: PatchFileEntry[];
  targets: TargetPlan[];
  source_shrink: SourceShrink | null;
  /** Why the group was refused, each with its numbers; empty when planned. */
  refusals: string[];
  /** Set when the refusals were overridden by --force. */
  forced: boolean;
  /** Notes for the user (allowed_incomplete diff, --delete-foreign on a union group, …). */
  notes: string[];
}

export interface PlanResult {
  run_id: string;
  /** `<outDir>/<run_id>/patches`. */
  patchRoot: string;
  groups: GroupPlan[];
}

/** A row of plan/adds.sql: one address to add to one target. */
interface AddCandidate {
  target_account: string;
  email: string;
  present_in: string[];
  first_unsubscribed_at: string | null;
  diff_run_id: string;
}

/** A row of plan/deletes.sql: one planned delete at one target. */
interface DeleteCandidate {
  target_account: string;
  email: string;
  diff_run_id: string;
  tracked: boolean;
  added_by_run: string | null;
  added_by_patch: string | null;
}

/** What the SQL of one group's candidates is given (plan/add_candidates.sql, delete_candidates.sql). */
interface CandidateParams {
  group: string;
  scope: string;
  source: string | null;
  targets: DuckDBListValue;
  [name: string]: SqlValue;
}

/**
 * Plans every given group and writes the patch folders of those not refused.
 * @throws PlanError when no transform has run yet; UsageError for a target that is no group's
 *   member; WarehouseError for query failures.
 */
export async function planPatches(options: PlanOptions): Promise<PlanResult> {
  const { warehouse, config, runId } = options;
  const now = options.now ?? new Date();
  const patchRoot = path.resolve(options.outDir ?? config.outDir, runId, 'patches');
  await requireTransformTables(warehouse);
  // The candidate macros are dropped when planning ends: a caller may keep the connection.
  return warehouse.withScratch(async () => {
    await warehouse.run(sqlFile('plan', 'add_candidates'));
    await warehouse.run(sqlFile('plan', 'delete_candidates'));
    // The candidates' ORDER BY is DuckDB's to buffer: under the heavy steps' limit it spills.
    return warehouse.withSettings({ memoryLimit: configuredMemoryLimit() }, async () => {
      const groups: GroupPlan[] = [];
      for (const group of options.groups) {
        const plan = await planGroup(warehouse, config, group, options);
        if (plan.result.status === 'planned') {
          plan.result.patchDir = await writeGroupFolder(warehouse, patchRoot, runId, now, group, plan);
        }
        groups.push(plan.result);
      }
      return { run_id: runId, patchRoot, groups };
    });
  });
}

async function requireTransformTables(warehouse: Warehouse): Promise<void> {
  const found = await warehouse.all<{ table_name: string }>(sqlFile('plan', 'transform_tables'), {
    tables: listValue(TRANSFORM_TABLES),
  });
  const missing = TRANSFORM_TABLES.filter((t) => !found.some((f) => f.table_name === t));
  if (missing.length > 0) {
    throw new PlanError(
      `warehouse ${warehouse.file} has no ${missing.join(', ')}: run \`unsub-recon extract\` and \`unsub-recon transform\` before planning`,
    );
  }
}

interface GroupWork {
  result: GroupPlan;
  checks: TargetCheck[];
  deleteRule: PatchManifest['delete_rule'];
  params: CandidateParams;
}

/** Candidates of one target, counted before any row is read (plan/add_counts.sql, delete_counts.sql). */
interface TargetCounts {
  adds: number;
  tracked: number;
  untracked: number;
  listSize: number;
}

async function planGroup(
  warehouse: Warehouse,
  config: Config,
  group: GroupConfig,
  options: PlanOptions,
): Promise<GroupWork> {
  const source = group.policy === 'mirror' ? (group.source ?? null) : null;
  const targets = group.accounts.filter(
    (id) => id !== source && (options.targets === undefined || options.targets.includes(id)),
  );
  const deletesPlanned = group.policy === 'mirror' && !options.addsOnly;
  const result: GroupPlan = {
    group_id: group.id,
    policy: group.policy,
    status: 'planned',
    diff_run_id: null,
    patchDir: null,
    files: [],
    targets: [],
    source_shrink: null,
    refusals: [],
    forced: false,
    notes: [],
  };
  const work: GroupWork = {
    result,
    checks: [],
    deleteRule: !deletesPlanned ? 'none' : options.deleteForeign ? 'foreign' : 'tracked',
    params: { group: group.id, scope: group.scope, source, targets: listValue(targets) },
  };
  if (options.deleteForeign && group.policy === 'union') {
    result.notes.push(`--delete-foreign has no effect on union group ${group.id}: union groups only add`);
  }

  const [state] = await warehouse.allJson<{
    run_id: string;
    members: string[];
    diffed: boolean;
    allowed_incomplete: boolean;
    detail: string | null;
  }>(sqlFile('plan', 'group_state'), { group: group.id });
  if (state === undefined) {
    return refuse(
      work,
      `the last transform did not diff group ${group.id}: run \`unsub-recon transform\` first`,
    );
  }
  result.diff_run_id = state.run_id;
  if (state.members.join(',') !== group.accounts.join(',')) {
    return refuse(
      work,
      `the last transform (run ${state.run_id}) diffed group ${group.id} with members ${state.members.join(', ')}, ` +
        `the config now lists ${group.accounts.join(', ')}: run \`unsub-recon transform\` again`,
    );
  }
  if (!state.diffed) {
    return refuse(
      work,
      `the last transform (run ${state.run_id}) did not diff group ${group.id}: ${state.detail ?? 'a member is incomplete'}; run \`unsub-recon extract\` and \`transform\` again`,
    );
  }
  if (state.allowed_incomplete) {
    result.notes.push(
      `group ${group.id} was diffed with --allow-incomplete (${state.detail ?? 'a member is incomplete'}): the plan may miss rows`,
    );
  }
  if (group.scope !== 'global') {
    return refuse(
      work,
      `group ${group.id} compares scope ${group.scope}; replay writes global suppressions only, so a ${group.scope} patch could never converge`,
    );
  }

  const counts = await countCandidates(warehouse, work.params, deletesPlanned);
  for (const target of targets) {
    const provider = config.accounts.find((a) => a.id === target)!.provider;
    planTarget(work, group, target, provider, counts(target), options);
  }
  const deleteCandidates = result.targets.reduce((n, t) => n + t.deletes + t.manual, 0);
  if (deletesPlanned && source !== null && deleteCandidates > 0) {
    await checkSourceShrink(warehouse, work, group, source);
  }
  if (result.refusals.length === 0) return work;
  if (options.force?.includes(group.id)) {
    result.forced = true;
    result.notes.push(`--force ${group.id}: planned despite: ${result.refusals.join('; ')}`);
    result.refusals = [];
    return work;
  }
  result.status = 'refused';
  result.refusals = result.refusals.map((r) => `group ${group.id}: ${r}`);
  result.refusals.push(
    `group ${group.id}: nothing written; re-run with --force ${group.id} if this is intended`,
  );
  return work;
}

/**
 * Every planned target's counts: adds, delete candidates tracked or not (only when deletes are
 * planned), list size. Aggregates only, so nothing grows with the rows.
 */
async function countCandidates(
  warehouse: Warehouse,
  params: CandidateParams,
  deletesPlanned: boolean,
): Promise<(target: string) => TargetCounts> {
  const adds = await warehouse.allJson<{ target_account: string; adds: string }>(
    sqlFile('plan', 'add_counts'),
    params,
  );
  const deletes = deletesPlanned
    ? await warehouse.allJson<{ target_account: string; tracked: string; untracked: string }>(
        sqlFile('plan', 'delete_counts'),
        params,
      )
    : [];
  const sizes = await warehouse.allJson<{ account_id: string; list_size: string }>(
    sqlFile('plan', 'list_sizes'),
    { scope: params.scope, targets: params.targets },
  );
  return (target) => {
    const deleteRow = deletes.find((d) => d.target_account === target);
    return {
      adds: Number(adds.find((a) => a.target_account === target)?.adds ?? 0),
      tracked: Number(deleteRow?.tracked ?? 0),
      untracked: Number(deleteRow?.untracked ?? 0),
      listSize: Number(sizes.find((r) => r.account_id === target)?.list_size ?? 0),
    };
  };
}

/**
 * One target's numbers (adds; deletes, or manual rows where it cannot delete), its delete check
 * and the tracked-mirror note, from its counts; the rows are read when the files are written.
 */
function planTarget(
  work: GroupWork,
  group: GroupConfig,
  target: string,
  provider: ProviderId,
  counts: TargetCounts,
  options: PlanOptions,
): void {
  const capabilities = PROVIDERS[provider].capabilities;
  const planned = counts.tracked + (options.deleteForeign ? counts.untracked : 0);
  const kept = counts.untracked;
  if (!options.deleteForeign && kept > 0) {
    const one = kept === 1;
    work.result.notes.push(
      `${target}: ${kept} entr${one ? 'y' : 'ies'} the source lacks ${one ? 'was' : 'were'} not added by unsub-recon and ${one ? 'is' : 'are'} kept (tracked-mirror rule; --delete-foreign would plan ${one ? 'it' : 'them'})`,
    );
  }
  const deletes = capabilities.canDelete ? planned : 0;
  const manual = capabilities.canDelete ? 0 : planned;
  const listSize = counts.listSize;
  work.result.targets.push({ target, provider, adds: counts.adds, deletes, manual, list_size: listSize });
  const check: TargetCheck = {
    target,
    list_size: listSize,
    deletes,
    manual,
    delete_fraction: listSize === 0 ? (deletes === 0 ? 0 : null) : deletes / listSize,
    max_delete_fraction: group.maxDeleteFraction,
    max_deletes: group.maxDeletes ?? null,
  };
  work.checks.push(check);
  if (deletes > 0) work.result.refusals.push(...deleteLimitProblems(group, check));
}

/** The sudden-shrink guard: refuses when the source lost more than maxDeleteFraction of its list. */
async function checkSourceShrink(
  warehouse: Warehouse,
  work: GroupWork,
  group: GroupConfig,
  source: string,
): Promise<void> {
  const [shrink] = await warehouse.allJson<{
    latest_run_id: string;
    previous_run_id: string;
    previous_size: string;
    removed: string;
  }>(sqlFile('plan', 'source_shrink'), { source, scope: group.scope });
  if (shrink === undefined) return;
  const previous = Number(shrink.previous_size);
  const removed = Number(shrink.removed);
  const fraction = previous === 0 ? 0 : removed / previous;
  work.result.source_shrink = { account: source, previous_size: previous, removed, fraction };
  if (fraction > group.maxDeleteFraction) {
    work.result.refusals.push(
      `source ${source} lost ${removed} of the ${previous} addresses of its previous full snapshot (run ${shrink.previous_run_id}) ` +
        `in its latest (run ${shrink.latest_run_id}): ${percent(fraction)}, above maxDeleteFraction ${group.maxDeleteFraction} ` +
        `(${percent(group.maxDeleteFraction)}) — a sudden shrink looks like a broken read, and mirroring it would delete opt-outs`,
    );
  }
}

function refuse(work: GroupWork, why: string): GroupWork {
  work.result.status = 'refused';
  work.result.refusals.push(`group ${work.result.group_id}: ${why}`);
  return work;
}

function deleteLimitProblems(group: GroupConfig, check: TargetCheck): string[] {
  const problems: string[] = [];
  const allowedByFraction = Math.floor(group.maxDeleteFraction * check.list_size);
  if (check.delete_fraction === null || check.delete_fraction > group.maxDeleteFraction) {
    problems.push(
      `${check.deletes} deletes planned for ${check.target}, ${
        check.delete_fraction === null
          ? 'which holds no active suppression'
          : `${percent(check.delete_fraction)} of its ${check.list_size} active suppressions`
      }, above maxDeleteFraction ${group.maxDeleteFraction} (at most ${allowedByFraction} deletes)`,
    );
  }
  if (group.maxDeletes !== undefined && check.deletes > group.maxDeletes) {
    problems.push(
      `${check.deletes} deletes planned for ${check.target}, above maxDeletes ${group.maxDeletes}`,
    );
  }
  return problems;
}

/**
 * Writes a planned group's folder: each op's rows are streamed from the warehouse in one query,
 * ordered by target, and cut into one file per target as the target changes; the manifest lists
 * the files by target, then add, delete, manual. Every file must hold exactly the rows counted
 * when the group was planned (its numbers and checks are already in the manifest).
 */
async function writeGroupFolder(
  warehouse: Warehouse,
  patchRoot: string,
  runId: string,
  now: Date,
  group: GroupConfig,
  work: GroupWork,
): Promise<string> {
  const final = path.join(patchRoot, group.id);
  const source = group.policy === 'mirror' ? (group.source ?? null) : null;
  const memberLabel = `group ${group.id}, ${group.policy}${source ? `, source ${source}` : ''}`;
  const targets = new Map(work.result.targets.map((t) => [t.target, t]));
  const planOf = (target: string, op: PatchOp): TargetPlan => {
    const plan = targets.get(target);
    if (plan === undefined || rowsPlanned(plan, op) === 0) {
      throw new PlanError(
        `group ${group.id}: the warehouse returned ${op} rows for ${target}, for which none were counted; nothing written`,
      );
    }
    return plan;
  };

  const writeFiles = async (writeFile: PatchFileWriter): Promise<PatchFileEntry[]> => {
    const written = new Map<string, PatchFileEntry>();
    if (work.result.targets.some((t) => t.adds > 0)) {
      const adds = warehouse.streamJson<AddCandidate>(sqlFile('plan', 'adds'), work.params);
      for await (const [target, batches] of runsByTarget(adds)) {
        const plan = planOf(target, 'add');
        const toRow = (a: AddCandidate): PatchRow => ({
          email: a.email,
          op: 'add',
          target_account: target,
          reason: `missing from ${target}; held by ${a.present_in.join(', ')} (${memberLabel}; diff run ${a.diff_run_id})`,
          source_accounts: a.present_in.join(';'),
          source_unsubscribed_at: isoSeconds(a.first_unsubscribed_at),
        });
        const entry = await writeFile({
          target,
          provider: plan.provider,
          op: 'add',
          rows: mapBatches(batches, toRow),
        });
        written.set(entry.path, entry);
      }
    }
    if (work.result.targets.some((t) => t.deletes + t.manual > 0)) {
      // --delete-foreign: deletes.sql also returns the entries unsub-recon did not add.
      const deletes = warehouse.streamJson<DeleteCandidate>(sqlFile('plan', 'deletes'), {
        ...work.params,
        foreign: work.deleteRule === 'foreign',
      });
      for await (const [target, batches] of runsByTarget(deletes)) {
        const counted = targets.get(target);
        const op = counted && !PROVIDERS[counted.provider].capabilities.canDelete ? 'manual' : 'delete';
        const plan = planOf(target, op);
        const { capabilities } = PROVIDERS[plan.provider];
        const toRow = (d: DeleteCandidate): PatchRow => {
          const reason = d.tracked
            ? `extra: source ${source} no longer holds it; unsub-recon added it to ${target} (replay run ${d.added_by_run}, patch ${d.added_by_patch}; diff run ${d.diff_run_id})`
            : `extra: source ${source} does not hold it; not added by unsub-recon, planned because of --delete-foreign (diff run ${d.diff_run_id})`;
          return {
            email: d.email,
            op,
            target_account: target,
            reason:
              op === 'manual'
                ? `manual, not replayed: ${reason}. ${plan.provider} cannot delete it safely: ${capabilities.deleteCaveat ?? 'no safe delete'}`
                : reason,
            source_accounts: source ?? '',
            source_unsubscribed_at: '',
          };
        };
        const entry = await writeFile({
          target,
          provider: plan.provider,
          op,
          rows: mapBatches(batches, toRow),
          ...(op === 'manual' ? { why: capabilities.deleteCaveat ?? '' } : {}),
        });
        written.set(entry.path, entry);
      }
    }
    return work.result.targets.flatMap((plan) =>
      PATCH_OPS.flatMap((op) => {
        const expected = rowsPlanned(plan, op);
        const entry = written.get(patchFileName(plan.target, op));
        if ((entry?.rows ?? 0) !== expected) {
          throw new PlanError(
            `group ${group.id}: ${patchFileName(plan.target, op)} got ${entry?.rows ?? 0} rows, ${expected} were counted; nothing written`,
          );
        }
        return entry === undefined ? [] : [entry];
      }),
    );
  };

  try {
    work.result.files = await createPatchFolder(
      final,
      {
        run_id: runId,
        created_at: now.toISOString(),
        group: group.id,
        policy: group.policy,
        source,
        scope: group.scope,
        members: [...group.accounts],
        diff_run_id: work.result.diff_run_id,
        delete_rule: work.deleteRule,
        forced: work.result.forced,
        source_shrink: work.result.source_shrink,
        checks: work.checks,
      },
      writeFiles,
    );
  } catch (error) {
    if (error instanceof PatchError) throw new PlanError(error.message, { cause: error });
    throw error;
  }
  return final;
}

/** The manifest's order of a target's files. */
const PATCH_OPS = ['add', 'delete', 'manual'] as const satisfies readonly PatchOp[];

function rowsPlanned(plan: TargetPlan, op: PatchOp): number {
  return op === 'add' ? plan.adds : op === 'delete' ? plan.deletes : plan.manual;
}

/**
 * Cuts a stream of row batches ordered by target into one run per target: yields the target and
 * that run's batches, to be consumed before the next run is asked for (what the consumer leaves
 * is skipped). Only a batch that holds the end of a run is sliced.
 * @throws PlanError when a target's rows are not contiguous (the query's ORDER BY is missing).
 */
async function* runsByTarget<T extends { target_account: string }>(
  batches: AsyncIterable<T[]>,
): AsyncGenerator<[string, AsyncGenerator<T[]>]> {
  const source = batches[Symbol.asyncIterator]();
  let pending: T[] = [];
  let exhausted = false;
  const fill = async (): Promise<boolean> => {
    while (pending.length === 0 && !exhausted) {
      const next = await source.next();
      if (next.done) exhausted = true;
      else pending = next.value;
    }
    return pending.length > 0;
  };
  async function* run(target: string): AsyncGenerator<T[]> {
    while (await fill()) {
      if (pending.at(-1)!.target_account === target) {
        const whole = pending;
        pending = [];
        yield whole;
        continue;
      }
      const end = pending.findIndex((row) => row.target_account !== target);
      const head = pending.slice(0, end);
      pending = pending.slice(end);
      if (head.length > 0) yield head;
      return;
    }
  }
  const seen = new Set<string>();
  try {
    while (await fill()) {
      const target = pending[0]!.target_account;
      if (seen.has(target))
        throw new PlanError(`the rows of ${target} are not contiguous; expected them ordered by target`);
      seen.add(target);
      const rows = run(target);
      yield [target, rows];
      for await (const _skipped of rows);
    }
  } finally {
    await source.return?.();
  }
}

async function* mapBatches<T>(
  batches: AsyncIterable<readonly T[]>,
  toRow: (row: T) => PatchRow,
): AsyncGenerator<PatchRow[]> {
  for await (const batch of batches) yield batch.map(toRow);
}

/** `2024-05-01T10:00:00Z` from an ISO string with or without milliseconds; '' for null. */
function isoSeconds(value: string | null): string {
  return value === null ? '' : new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

// ---------------------------------------------------------------------------------------------
// The `plan` command

export interface PlanCommandOptions {
  group: string[];
  target?: string[];
  deleteForeign?: boolean;
  force?: string[];
}

/** Resolves and checks the command line against the config. @throws UsageError */
export function planSelection(
  config: Config,
  options: PlanCommandOptions,
): { groups: GroupConfig[]; targets?: string[] } {
  const groups = options.group.map((id) => {
    const group = config.groups.find((g) => g.id === id);
    if (!group) {
      throw new UsageError(
        `--group ${id}: no such group; expected one of ${config.groups.map((g) => g.id).join(', ') || '(the config defines none)'}`,
      );
    }
    return group;
  });
  for (const id of options.force ?? []) {
    if (!groups.some((g) => g.id === id)) {
      throw new UsageError(
        `--force ${id}: not a group being planned (--group ${options.group.join(' --group ')})`,
      );
    }
  }
  for (const target of options.target ?? []) {
    const member = groups.filter((g) => g.accounts.includes(target));
    if (member.length === 0) {
      throw new UsageError(`--target ${target}: not a member of ${groups.map((g) => g.id).join(', ')}`);
    }
    if (member.every((g) => g.policy === 'mirror' && g.source === target)) {
      throw new UsageError(
        `--target ${target}: it is the source of ${member.map((g) => g.id).join(', ')}, never a target`,
      );
    }
  }
  return { groups, ...(options.target && options.target.length > 0 ? { targets: options.target } : {}) };
}

export async function planCommand(config: Config, options: PlanCommandOptions, out: Output): Promise<void> {
  const selection = planSelection(config, options);
  const redact = createRedactor(config.secrets);
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'plan' });
  let result: PlanResult;
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({ command: 'plan', args: { ...options } });
    try {
      result = await planPatches({
        warehouse,
        runId,
        config,
        groups: selection.groups,
        ...(selection.targets ? { targets: selection.targets } : {}),
        deleteForeign: options.deleteForeign ?? false,
        force: options.force ?? [],
      });
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', redact((error as Error).message));
      throw error;
    }
    const refused = result.groups.filter((g) => g.status === 'refused');
    await warehouse.finishRun(
      runId,
      refused.length === 0 ? 'succeeded' : refused.length === result.groups.length ? 'failed' : 'partial',
      refused.length > 0 ? redact(refused.flatMap((g) => g.refusals).join('; ')) : undefined,
    );
  } finally {
    await warehouse.close();
  }
  printPlan(result, out);
  const refusals = result.groups.flatMap((g) => g.refusals);
  if (refusals.length > 0) throw new PlanRefusedError(redact(refusals.join('; ')));
}

export function planSummary(result: PlanResult) {
  return {
    run_id: result.run_id,
    status: result.groups.every((g) => g.status === 'planned')
      ? 'planned'
      : result.groups.some((g) => g.status === 'planned')
        ? 'partial'
        : 'refused',
    patchRoot: result.patchRoot,
    groups: result.groups.map((g) => ({
      group_id: g.group_id,
      policy: g.policy,
      status: g.status,
      patchDir: g.patchDir,
      diff_run_id: g.diff_run_id,
      forced: g.forced,
      targets: g.targets,
      files: g.files,
      source_shrink: g.source_shrink,
      refusals: g.refusals,
      notes: g.notes,
    })),
  };
}

function printPlan(result: PlanResult, out: Output): void {
  const summary = planSummary(result);
  for (const group of result.groups) for (const note of group.notes) out.note(`unsub-recon: ${note}`);
  out.result(summary, () =>
    [
      `run ${result.run_id}: ${summary.status}`,
      ...result.groups.flatMap((g) => [
        '',
        `group ${g.group_id} (${g.policy}): ${g.status}${g.patchDir ? ` → ${g.patchDir}` : ''}`,
        formatTable(
          g.targets.map((t) => ({ ...t })),
          ['target', 'provider', 'adds', 'deletes', 'manual', 'list_size'],
        ),
        ...g.refusals.map((r) => `refused: ${r}`),
      ]),
    ].join('\n'),
  );
}
