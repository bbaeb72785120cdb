/**
 * `unsub-recon nightly [--fail-on-discrepancy] [--apply-adds]`: the unattended job, in ONE run id.
 *
 *   extract (incremental, every account) → transform → report → plan [→ replay adds → verify]
 *
 * Commit points. The extraction commits like `extract` does (complete accounts keep their rows,
 * the run is `partial` when some did not complete) because the transform reads committed runs
 * only; the transform then rebuilds the derived tables in one transaction; report and plan write
 * files into the run directory. A step that fails leaves what earlier steps committed, and the
 * steps that depend on it are skipped; the run is not clean and exits 1.
 *
 * Every run writes `<outDir>/<run_id>/`: `run.log` (JSON lines, redacted), the report and patch
 * files, `summary.json` (what `--json` prints) and, last, `manifest.json` with the sha256 of every
 * other file. With `notify.webhook` in the config the summary is POSTed there before the
 * manifest is written.
 *
 * Exit codes (through cli.ts): 0 clean; 1 any step failed, any account not complete (its groups
 * are reported incomplete), a replay did not converge, or the webhook refused; 3 with
 * `--fail-on-discrepancy` when the run was otherwise clean and discrepancies remain.
 */

import path from 'node:path';
import type { Config } from '../extractors/core/config.js';
import { isUnsubReconError, UnsubReconError } from '../extractors/core/errors.js';
import type { AccountExtraction } from '../extractors/core/extract.js';
import { createRedactor, type Redactor } from '../extractors/core/redact.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { writeReport } from '../reports/index.js';
import type { TransformOutcome } from '../transforms/run.js';
import { EXIT } from './cli.js';
import { extractInRun } from './extract.js';
import { NotifyError, type NotifyResult, postSummary } from './notify.js';
import { formatTable, type Output } from './output.js';
import { loadPatch } from './patch/format.js';
import { type PlanResult, planPatches } from './plan.js';
import type { TargetResult } from './replay/apply.js';
import { replayInRun } from './replay.js';
import { RunDirectory, SUMMARY } from './run-dir.js';
import { sqlFile } from './sql/files.js';
import { transformInRun } from './transform.js';

export interface NightlyOptions {
  failOnDiscrepancy?: boolean;
  applyAdds?: boolean;
  /** Re-read every account's whole history from its `since` instead of from its watermark. */
  full?: boolean;
}

export type StepName = 'extract' | 'transform' | 'report' | 'plan' | 'replay' | 'notify';

export interface StepRecord {
  step: StepName;
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  /** `CODE: message`, redacted, when failed; why, when skipped. */
  error: string | null;
}

export interface AccountSummary {
  account: string;
  provider: string;
  mode: string;
  status: AccountExtraction['status'];
  windows: number;
  requests: number;
  retries: number;
  rows: number;
  new_suppressions: number;
  seconds: number;
  error: string | null;
}

export interface GroupSummary {
  group_id: string;
  policy: string;
  /** complete: diffed with every member complete; incomplete: not diffed (a member is not complete). */
  status: 'complete' | 'incomplete';
  incomplete_accounts: string[];
  detail: string | null;
  discrepancies: number;
  missing: number;
  extra: number;
  /** Discrepancies not present after the previous transform. */
  new: number;
  /** Discrepancies present after the previous transform and gone now. */
  resolved: number;
}

export interface NightlySummary {
  command: 'nightly';
  run_id: string;
  status: 'succeeded' | 'partial' | 'failed';
  exit_code: number;
  started_at: string;
  finished_at: string;
  seconds: number;
  options: { fail_on_discrepancy: boolean; apply_adds: boolean; full: boolean };
  warehouse: string;
  runDir: string;
  reportDir: string | null;
  patchDir: string | null;
  steps: StepRecord[];
  accounts_extracted: number;
  accounts_complete: number;
  rows: number;
  new_suppressions: number;
  accounts: AccountSummary[];
  groups: GroupSummary[];
  discrepancies: number;
  /** After --apply-adds and its verification: the discrepancies left; else equal to `discrepancies`. */
  discrepancies_remaining: number;
  new_discrepancies: number;
  patches: { files: PatchFileSummary[]; rows: number };
  /** `html_truncated`: index.html embeds only the first rows of a table; the CSVs hold them all. */
  report: { dir: string; index: string; csv: string[]; html_truncated: boolean } | null;
  /** With --apply-adds: what was sent per group and target, and the re-read that verified it. */
  replay: ReplaySummary | null;
  notify: NotifyResult | null;
  /** Why the run is not clean, one line each (redacted). Empty when clean. */
  problems: string[];
}

export interface PatchFileSummary {
  group_id: string;
  target: string;
  op: string;
  rows: number;
  path: string;
}

/** The nightly finished but was not clean (a step failed, an account or group incomplete). */
export class NightlyNotCleanError extends UnsubReconError {
  readonly code = 'NIGHTLY_NOT_CLEAN';
}

/** `--fail-on-discrepancy` and discrepancies remain: exit 3. */
export class DiscrepanciesFoundError extends UnsubReconError {
  readonly code = 'DISCREPANCIES_FOUND';
  readonly exitCode = EXIT.discrepancies;
}

/** Times steps, records them in the summary and run.log, and turns a thrown error into data. */
class Steps {
  readonly records: StepRecord[] = [];

  constructor(
    private readonly runDir: RunDirectory,
    private readonly redact: Redactor,
    private readonly out: Output,
  ) {}

  /** Runs `fn` as step `step`; returns its value, or undefined when it threw (recorded as failed). */
  async run<T>(step: StepName, fn: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    this.runDir.log('step-start', { step });
    this.out.note(`nightly: ${step}…`);
    try {
      const value = await fn();
      this.finish(step, 'ok', started, null);
      return value;
    } catch (error) {
      const code = isUnsubReconError(error) ? error.code : 'INTERNAL';
      this.finish(step, 'failed', started, this.redact(`${code}: ${(error as Error).message ?? error}`));
      return undefined;
    }
  }

  skip(step: StepName, why: string): void {
    this.records.push({ step, status: 'skipped', seconds: 0, error: why });
    this.runDir.log('step-skipped', { step, reason: why });
  }

  get failed(): StepRecord[] {
    return this.records.filter((s) => s.status === 'failed');
  }

  private finish(step: StepName, status: 'ok' | 'failed', started: number, error: string | null): void {
    const seconds = round((performance.now() - started) / 1000);
    this.records.push({ step, status, seconds, error });
    this.runDir.log('step-done', { step, status, seconds, error }, status === 'ok' ? 'info' : 'error');
    if (error) this.out.error(`nightly: ${step} failed: ${error}`);
  }
}

/** What the extract + transform part (one warehouse session) hands to the later steps. */
interface WarehouseSteps {
  accounts: AccountSummary[];
  transform: TransformOutcome | undefined;
  groups: GroupSummary[];
  newDiscrepancies: number;
}

/** What the steps inside the warehouse session produced. */
interface SessionResult {
  runDir: RunDirectory;
  steps: Steps;
  ws: WarehouseSteps;
  report: NightlySummary['report'];
  plan: PlanResult | undefined;
  replay: NightlySummary['replay'];
}

/**
 * Runs the whole job and returns its summary (also written to the run directory). Throws only
 * when no run could be started (warehouse busy or unreadable, run directory not creatable).
 */
export async function runNightly(
  config: Config,
  options: NightlyOptions,
  out: Output,
): Promise<NightlySummary> {
  const redact = createRedactor(config.secrets);
  const startedAt = new Date();
  const flags = {
    fail_on_discrepancy: options.failOnDiscrepancy ?? false,
    apply_adds: options.applyAdds ?? false,
    full: options.full ?? false,
  };
  const { runDir, steps, ws, report, plan, replay } = await inWarehouse(config, flags, redact, out);

  const problems: string[] = [];
  for (const a of ws.accounts.filter((a) => a.status !== 'complete')) {
    problems.push(`account ${a.account} ${a.status}: ${a.error ?? 'no detail'}`);
  }
  for (const g of ws.groups.filter((g) => g.status !== 'complete')) {
    problems.push(
      `group ${g.group_id} incomplete (not diffed): ${g.detail ?? g.incomplete_accounts.join(', ')}`,
    );
  }
  for (const g of plan?.groups ?? []) {
    if (g.status === 'refused') problems.push(`plan refused: ${redact(g.refusals.join('; '))}`);
  }
  const patches = patchSummary(plan);
  if (replay) problems.push(...replay.problems.map((p) => `replay: ${p}`));

  for (const s of steps.failed) problems.push(`step ${s.step} failed: ${s.error}`);
  const discrepancies = ws.groups.reduce((n, g) => n + g.discrepancies, 0);
  const finishedAt = new Date();
  const summary: NightlySummary = {
    command: 'nightly',
    run_id: runDir.runId,
    status: 'succeeded',
    exit_code: EXIT.ok,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    seconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    options: flags,
    warehouse: config.warehouse,
    runDir: runDir.dir,
    reportDir: report?.dir ?? null,
    patchDir:
      patches.files.length > 0 || plan?.groups.some((g) => g.patchDir) ? (plan?.patchRoot ?? null) : null,
    steps: [...steps.records],
    accounts_extracted: ws.accounts.length,
    accounts_complete: ws.accounts.filter((a) => a.status === 'complete').length,
    rows: ws.accounts.reduce((n, a) => n + a.rows, 0),
    new_suppressions: ws.accounts.reduce((n, a) => n + a.new_suppressions, 0),
    accounts: ws.accounts,
    groups: ws.groups,
    discrepancies,
    discrepancies_remaining: replay?.remaining ?? discrepancies,
    new_discrepancies: ws.newDiscrepancies,
    patches,
    report,
    replay,
    notify: null,
    problems,
  };
  settle(summary, ws.transform !== undefined);

  if (config.notify?.webhook) {
    const webhook = config.notify.webhook;
    // What the receiver gets: the run before notifying, through the redactor like every file.
    const posted = JSON.parse(redact(JSON.stringify(summary))) as NightlySummary;
    let sent: NotifyResult | undefined;
    const result = await steps.run('notify', async () => {
      sent = await postSummary(webhook, posted as unknown as Record<string, unknown>, { redact });
      runDir.log('notify', { ...sent }, sent.status === 'sent' ? 'info' : 'error');
      if (sent.status === 'failed') {
        throw new NotifyError(
          `webhook ${sent.target} refused the summary after ${sent.attempts} attempt(s): ${sent.error}`,
        );
      }
      return sent;
    });
    summary.notify = result ?? sent ?? null;
    summary.steps = [...steps.records];
    if (result === undefined) summary.problems.push(`step notify failed: ${steps.records.at(-1)!.error}`);
    settle(summary, ws.transform !== undefined);
  }

  runDir.writeJson(SUMMARY, summary);
  runDir.log('nightly-done', {
    status: summary.status,
    exit_code: summary.exit_code,
    seconds: summary.seconds,
    problems: summary.problems,
  });
  runDir.seal();
  return summary;
}

/** Status and exit code from the problems: any problem is exit 1; else 3 or 0 by the flag. */
function settle(summary: NightlySummary, reconciled: boolean): void {
  const clean = summary.problems.length === 0;
  summary.status = clean ? 'succeeded' : reconciled ? 'partial' : 'failed';
  summary.exit_code = !clean
    ? EXIT.failure
    : summary.options.fail_on_discrepancy && summary.discrepancies_remaining > 0
      ? EXIT.discrepancies
      : EXIT.ok;
}

/** The steps that need the warehouse, in one writer session: extract, transform, report, plan. */
async function inWarehouse(
  config: Config,
  flags: NightlySummary['options'],
  redact: Redactor,
  out: Output,
): Promise<SessionResult> {
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'nightly' });
  try {
    for (const note of warehouse.notes) out.note(`unsub-recon: ${note}`);
    const runId = await warehouse.beginRun({ command: 'nightly', args: flags });
    let runDir: RunDirectory;
    try {
      runDir = RunDirectory.create(config.outDir, runId, redact);
    } catch (error) {
      await warehouse.finishRun(runId, 'failed', redact((error as Error).message));
      throw error;
    }
    runDir.log('nightly-start', {
      options: flags,
      config: config.file,
      warehouse: config.warehouse,
      accounts: config.accounts.map((a) => a.id),
      groups: config.groups.map((g) => g.id),
      pid: process.pid,
    });
    out.note(`nightly: run ${runId}, ${config.accounts.length} account(s), ${config.groups.length} group(s)`);
    const steps = new Steps(runDir, redact, out);
    const ws = await extractAndTransform(warehouse, runId, config, flags.full, steps, runDir, out);
    if (ws.transform === undefined) {
      for (const step of ['report', 'plan'] as const) steps.skip(step, 'no transform results for this run');
      return { runDir, steps, ws, report: null, plan: undefined, replay: null };
    }

    const written = await steps.run('report', () =>
      writeReport({ warehouse, runId, outDir: config.outDir, config }),
    );
    const report = written
      ? {
          dir: written.reportDir,
          index: written.files.html,
          csv: [written.files.discrepancies, written.files.summary, written.files.rejects],
          html_truncated: written.counts.htmlTruncated,
        }
      : null;
    if (written) runDir.log('report', { ...report, counts: written.counts });

    // Only diffed groups: a group the gate held back has no trustworthy diff to patch from.
    const diffed = config.groups.filter((g) =>
      ws.groups.some((s) => s.group_id === g.id && s.status === 'complete'),
    );
    let plan: PlanResult | undefined;
    if (diffed.length === 0) steps.skip('plan', 'no group was diffed');
    else {
      plan = await steps.run('plan', () =>
        planPatches({ warehouse, runId, config, groups: diffed, outDir: config.outDir }),
      );
      for (const g of plan?.groups ?? []) {
        runDir.log(
          'plan',
          {
            group: g.group_id,
            status: g.status,
            patch_dir: g.patchDir,
            files: g.files,
            refusals: g.refusals,
            notes: g.notes,
          },
          g.status === 'planned' ? 'info' : 'error',
        );
      }
    }
    let replay: NightlySummary['replay'] = null;
    if (flags.apply_adds) {
      const withAdds = (plan?.groups ?? []).filter(
        (g) => g.patchDir !== null && g.files.some((f) => f.op === 'add' && f.rows > 0),
      );
      if (withAdds.length === 0) steps.skip('replay', 'no add patch to replay');
      else {
        replay =
          (await steps.run('replay', () => replayAdds(warehouse, runId, config, withAdds, out))) ?? null;
        if (replay) runDir.log('replay', { ...replay }, replay.converged ? 'info' : 'error');
      }
    }
    return { runDir, steps, ws, report, plan, replay };
  } finally {
    await warehouse.close();
  }
}

export interface ReplaySummary {
  converged: boolean;
  /** Discrepancies left in every group after the verification's re-diff. */
  remaining: number;
  groups: Array<{
    group_id: string;
    patchDir: string;
    replay_run_id: string;
    verify_runs: { extract: string | null; transform: string | null };
    targets: Array<
      Pick<TargetResult, 'target' | 'rows' | 'sent' | 'succeeded' | 'already' | 'failed' | 'skipped'> & {
        converged: boolean | null;
      }
    >;
  }>;
  problems: string[];
}

/**
 * `--apply-adds`: replays each group's add files (deletes are skipped: replay without
 * --allow-deletes never sends one) and verifies them with a re-read and re-diff
 * (pipelines/replay.ts). The journal rows carry this run's id.
 */
async function replayAdds(
  warehouse: Warehouse,
  runId: string,
  config: Config,
  groups: PlanResult['groups'],
  out: Output,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { converged: true, remaining: 0, groups: [], problems: [] };
  for (const group of groups) {
    const patch = loadPatch(group.patchDir!, config);
    const result = await replayInRun({
      warehouse,
      runId,
      config,
      patch,
      out,
      apply: true,
      allowDeletes: false,
    });
    const verified = new Map((result.verification?.targets ?? []).map((t) => [t.target, t.converged]));
    summary.groups.push({
      group_id: group.group_id,
      patchDir: patch.dir,
      replay_run_id: runId,
      verify_runs: {
        extract: result.verification?.extract_run_id ?? null,
        transform: result.verification?.transform_run_id ?? null,
      },
      targets: result.targets.map((t) => ({
        target: t.target,
        rows: t.rows,
        sent: t.sent,
        succeeded: t.succeeded,
        already: t.already,
        failed: t.failed,
        skipped: t.skipped,
        converged: verified.get(t.target) ?? null,
      })),
    });
    summary.problems.push(...result.problems.map((p) => `group ${group.group_id}: ${p}`));
    if (!result.ok) summary.converged = false;
  }
  const [left] = await warehouse.allJson<{ n: string }>(sqlFile('nightly', 'discrepancies_left'));
  summary.remaining = Number(left?.n ?? 0);
  return summary;
}

function patchSummary(plan: PlanResult | undefined): NightlySummary['patches'] {
  const files = (plan?.groups ?? []).flatMap((g) =>
    g.patchDir === null
      ? []
      : g.files.map((f) => ({
          group_id: g.group_id,
          target: f.target,
          op: f.op,
          rows: f.rows,
          path: path.join(g.patchDir!, f.path),
        })),
  );
  return { files, rows: files.reduce((n, f) => n + f.rows, 0) };
}

/** What run.log and the summary both say of one account's extraction. */
function extractionCounts(r: AccountExtraction) {
  return {
    account: r.accountId,
    provider: r.provider,
    mode: r.mode,
    status: r.status,
    windows: r.windows,
    requests: r.requests,
    retries: r.retries,
    rows: r.rows,
  };
}

async function extractAndTransform(
  warehouse: Warehouse,
  runId: string,
  config: Config,
  full: boolean,
  steps: Steps,
  runDir: RunDirectory,
  out: Output,
): Promise<WarehouseSteps> {
  const redact = createRedactor(config.secrets);
  let committed = false;
  const extracted = await steps.run('extract', async () => {
    const results = await extractInRun(
      warehouse,
      runId,
      config,
      config.accounts,
      { mode: full ? 'full' : 'incremental' },
      out,
    );
    const complete = results.filter((r) => r.status === 'complete').length;
    const notComplete = results.filter((r) => r.status !== 'complete');
    // The commit point of the extraction: the transform reads committed runs only.
    await warehouse.finishRun(
      runId,
      complete === results.length ? 'succeeded' : complete === 0 ? 'failed' : 'partial',
      notComplete.length > 0 ? notComplete.map((r) => `${r.accountId}: ${r.error}`).join('; ') : undefined,
    );
    committed = true;
    for (const r of results) {
      runDir.log(
        'account',
        { ...extractionCounts(r), ms: r.durationMs, error: r.error },
        r.status === 'complete' ? 'info' : 'error',
      );
    }
    return results;
  });
  if (extracted === undefined) {
    // The warehouse failed under the extraction: nothing to build on. If the run is still open,
    // close it as failed (its rows are purged); if that fails too, Warehouse.close() does it.
    if (!committed) {
      try {
        await warehouse.finishRun(runId, 'failed', steps.failed[0]?.error ?? 'extract failed');
      } catch (error) {
        runDir.log('finish-run-failed', { error: redact((error as Error).message) }, 'error');
      }
    }
    steps.skip('transform', 'the extraction failed');
    return { accounts: [], transform: undefined, groups: [], newDiscrepancies: 0 };
  }

  const { transform, newByAccount, delta } = await warehouse.withScratch(() =>
    transformWithDelta(warehouse, runId, config, steps),
  );

  const accounts: AccountSummary[] = extracted.map((r) => ({
    ...extractionCounts(r),
    new_suppressions: newByAccount.get(r.accountId) ?? 0,
    seconds: round(r.durationMs / 1000),
    error: r.error === null ? null : redact(r.error),
  }));
  const groups: GroupSummary[] = (transform?.groups ?? []).map((g) => ({
    group_id: g.group_id,
    policy: config.groups.find((c) => c.id === g.group_id)?.policy ?? 'union',
    status: g.diffed && g.blocked_by.length === 0 ? 'complete' : 'incomplete',
    incomplete_accounts: g.blocked_by,
    detail: g.detail === null ? null : redact(g.detail),
    discrepancies: g.discrepancies,
    missing: g.by_kind.missing ?? 0,
    extra: g.by_kind.extra ?? 0,
    new: delta.get(g.group_id)?.new ?? 0,
    resolved: delta.get(g.group_id)?.resolved ?? 0,
  }));
  for (const g of groups) runDir.log('group', { ...g });
  return {
    accounts,
    transform,
    groups,
    newDiscrepancies: groups.reduce((n, g) => n + g.new, 0),
  };
}

/**
 * The transform step, with what the summary needs besides it: per account the suppressions that
 * are new tonight, per group the discrepancies new and resolved since the previous transform (read
 * against temp copies of the previous results, taken first; the caller's withScratch drops them).
 */
async function transformWithDelta(warehouse: Warehouse, runId: string, config: Config, steps: Steps) {
  const hadDiscrepancies = await relationExists(warehouse, 'discrepancies');
  await warehouse.run(
    sqlFile('nightly', hadDiscrepancies ? 'previous_discrepancies' : 'no_previous_discrepancies'),
  );
  if (await relationExists(warehouse, 'suppressions')) {
    await warehouse.run(sqlFile('nightly', 'previous_suppressions'), { run_id: runId });
  } else {
    await warehouse.run(sqlFile('nightly', 'no_previous_suppressions'));
  }
  const transform = await steps.run('transform', () => transformInRun(warehouse, runId, config, {}));
  const newByAccount = new Map<string, number>();
  const delta = new Map<string, { new: number; resolved: number }>();
  if (transform !== undefined) {
    const fresh = await warehouse.allJson<{ account_id: string; n: string }>(
      sqlFile('nightly', 'new_suppressions'),
      { run_id: runId },
    );
    for (const row of fresh) newByAccount.set(row.account_id, Number(row.n));
    const rows = await warehouse.allJson<{ group_id: string; new: string; resolved: string }>(
      sqlFile('nightly', 'discrepancy_delta'),
    );
    for (const row of rows) delta.set(row.group_id, { new: Number(row.new), resolved: Number(row.resolved) });
  }
  return { transform, newByAccount, delta };
}

async function relationExists(warehouse: Warehouse, name: string): Promise<boolean> {
  const rows = await warehouse.allJson<{ n: string }>(sqlFile('nightly', 'relation_exists'), { name });
  return rows[0]?.n === '1';
}

function round(seconds: number): number {
  return Number(seconds.toFixed(2));
}

/** `unsub-recon nightly`: runs the job, prints the summary, and signals the exit code. */
export async function nightlyCommand(config: Config, options: NightlyOptions, out: Output): Promise<void> {
  const summary = await runNightly(config, options, out);
  out.result(summary as unknown as Record<string, unknown>, () => renderSummary(summary));
  if (summary.exit_code === EXIT.failure) {
    throw new NightlyNotCleanError(
      `run ${summary.run_id} is ${summary.status}: ${summary.problems.join('; ')} (details in ${summary.runDir}/run.log)`,
    );
  }
  if (summary.exit_code === EXIT.discrepancies) {
    throw new DiscrepanciesFoundError(
      `${summary.discrepancies} discrepancies remain (--fail-on-discrepancy); report in ${summary.reportDir ?? summary.runDir}`,
    );
  }
}

export function renderSummary(s: NightlySummary): string {
  const lines = [
    `nightly ${s.run_id}: ${s.status} (exit ${s.exit_code}) in ${s.seconds}s`,
    `steps: ${s.steps.map((st) => `${st.step} ${st.status === 'ok' ? `${st.seconds}s` : st.status}`).join(' · ')}`,
    `accounts: ${s.accounts_extracted} extracted, ${s.accounts_complete} complete; ${s.rows} rows; ${s.new_suppressions} new suppressions`,
    formatTable(
      s.accounts.map((a) => ({ ...a })),
      [
        'account',
        'provider',
        'mode',
        'windows',
        'requests',
        'retries',
        'rows',
        'new_suppressions',
        'seconds',
        'status',
      ],
    ),
    `groups: ${s.discrepancies} discrepancies, ${s.new_discrepancies} new since the previous transform`,
    formatTable(
      s.groups.map((g) => ({ group: g.group_id, ...g })),
      ['group', 'policy', 'status', 'discrepancies', 'missing', 'extra', 'new', 'resolved'],
    ),
  ];
  if (s.patches.files.length > 0) {
    lines.push(`patches: ${s.patches.files.length} file(s), ${s.patches.rows} row(s) in ${s.patchDir}`);
  }
  if (s.replay) {
    const sent = s.replay.groups.flatMap((g) => g.targets).reduce((n, t) => n + t.sent, 0);
    lines.push(
      `replay (--apply-adds): ${sent} sent, ${s.replay.converged ? 'converged' : 'NOT converged'}; ${s.discrepancies_remaining} discrepancies remain`,
    );
  }
  if (s.report?.index) lines.push(`report: ${s.report.index}`, ...s.report.csv.map((c) => `        ${c}`));
  if (s.report?.html_truncated)
    lines.push('        (the page shows the first rows only; the CSVs hold every row)');
  lines.push(`run directory: ${s.runDir}`);
  if (s.problems.length > 0) lines.push('not clean:', ...s.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
