/**
 * `unsub-recon demo` (and `make demo`): the first thing a new user runs. In one process: starts
 * the sandbox (every provider simulator with a generated scenario), runs `nightly` into a fresh
 * warehouse, a dry-run `replay` of the add patches it planned, and an `audit` of one interesting
 * address; prints where the HTML report and the CSVs are and what to try next; stops the
 * simulators.
 *
 * Exit codes: 0 when every step did what it should; 1 when one did not (the nightly was not
 * clean, the dry-run failed, or the audited address was not found).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../extractors/core/config.js';
import { isUnsubReconError, UnsubReconError } from '../extractors/core/errors.js';
import { createRedactor } from '../extractors/core/redact.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { type AuditRow, auditAddresses } from './audit.js';
import { type NightlySummary, renderSummary, runNightly } from './nightly.js';
import { formatTable, Output } from './output.js';
import { replayCommand } from './replay.js';
import { startSandbox } from './sandbox.js';
import { sqlFile } from './sql/files.js';

export interface DemoOptions {
  dir: string;
  rows: number;
}

/** A step of the demo did not do what it should. */
export class DemoFailedError extends UnsubReconError {
  readonly code = 'DEMO_FAILED';
}

export interface DemoResult {
  status: 'succeeded' | 'failed';
  dir: string;
  config: string;
  envFile: string;
  nightly: NightlySummary;
  /** The dry-run replay of one add patch: its JSON result with --json, else its text. */
  replay: { patchDir: string; result: unknown } | null;
  audit: { email: string; why: string; rows: AuditRow[] } | null;
  next: string[];
  problems: string[];
}

export async function demoCommand(options: DemoOptions, out: Output): Promise<void> {
  const dir = path.resolve(options.dir);
  // A demo always starts from an empty warehouse, so it shows a first (full) extraction.
  for (const file of ['warehouse.duckdb', 'warehouse.duckdb.wal'])
    rmSync(path.join(dir, file), { force: true });
  const sandbox = await startSandbox({ dir, rows: options.rows });
  let result: DemoResult;
  try {
    out.note(
      `demo: ${sandbox.simulators.size} provider simulators on 127.0.0.1, ${options.rows} rows per account, in ${dir}`,
    );
    const config = loadConfig(sandbox.configFile, { env: { ...process.env, ...sandbox.env } });
    const redact = createRedactor(config.secrets);
    const nightly = await runNightly(config, {}, out);
    const problems = [...nightly.problems];

    const replay = await dryRunReplay(config, nightly, out);
    if (replay.problem) problems.push(replay.problem);

    let audit: DemoResult['audit'] = null;
    try {
      audit = await auditInteresting(config);
      if (audit === null) problems.push('audit: no discrepancy to audit');
      else if (!audit.rows.some((r) => r.present)) problems.push(`audit: ${audit.email} not found`);
    } catch (error) {
      // Reported with the rest of the demo's output rather than instead of it.
      const code = isUnsubReconError(error) ? error.code : 'INTERNAL';
      problems.push(`audit failed: ${code}: ${redact((error as Error).message)}`);
    }

    result = {
      status: problems.length === 0 ? 'succeeded' : 'failed',
      dir,
      config: sandbox.configFile,
      envFile: sandbox.envFile,
      nightly,
      replay: replay.shown,
      audit,
      next: nextSteps(dir, nightly, audit?.email),
      problems,
    };
  } finally {
    await sandbox.close();
  }
  out.result(result as unknown as Record<string, unknown>, () => renderResult(result));
  if (result.status !== 'succeeded') throw new DemoFailedError(`demo: ${result.problems.join('; ')}`);
}

/**
 * `replay PATCH_DIR` (a dry run: sends nothing) on the first patch folder with adds, through the
 * command itself so the demo shows exactly what a user would see.
 */
async function dryRunReplay(
  config: Config,
  nightly: NightlySummary,
  out: Output,
): Promise<{ shown: DemoResult['replay']; problem: string | null }> {
  const add = nightly.patches.files.find((f) => f.op === 'add' && f.rows > 0);
  if (add === undefined) return { shown: null, problem: 'replay: the nightly planned no add patch' };
  const patchDir = path.dirname(add.path);
  const sink = new TextSink();
  const sub = new Output({ json: out.json, quiet: out.quiet, stdout: sink });
  try {
    await replayCommand(config, patchDir, {}, sub);
  } catch (error) {
    const code = isUnsubReconError(error) ? error.code : 'INTERNAL';
    return {
      shown: { patchDir, result: sink.text },
      problem: `replay (dry run) failed: ${code}: ${createRedactor(config.secrets)((error as Error).message)}`,
    };
  }
  return { shown: { patchDir, result: out.json ? JSON.parse(sink.text) : sink.text }, problem: null };
}

/** Collects what a command writes to its stdout. */
class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void) {
    this.text += chunk.toString();
    done();
  }
}

/**
 * An address worth auditing: one that some accounts hold under different spellings (case,
 * spaces, Unicode forms) and that is still missing from another member of a group.
 */
async function auditInteresting(config: Config): Promise<DemoResult['audit']> {
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'demo' });
  try {
    const [pick] = await warehouse.allJson<{ email_norm: string; spellings: string; holders: string }>(
      sqlFile('demo', 'interesting_address'),
    );
    if (pick === undefined) return null;
    const rows = await auditAddresses(
      warehouse,
      config.accounts.map((a) => ({ id: a.id, provider: a.provider })),
      [pick.email_norm],
    );
    return {
      email: pick.email_norm,
      why: `held by ${pick.holders} account(s) in ${pick.spellings} spelling(s), missing from others`,
      rows,
    };
  } finally {
    await warehouse.close();
  }
}

function renderAudit(rows: AuditRow[]): string {
  return formatTable(
    rows.map((r) => ({ ...r, evidence: `${r.evidence.length} raw row(s)` })),
    ['account_id', 'provider', 'present', 'unsubscribed_at', 'raw_time', 'first_seen_run', 'evidence'],
  );
}

/** A path relative to the working directory when it is below it, else absolute. */
function rel(p: string): string {
  const relative = path.relative(process.cwd(), p);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? p : relative;
}

function nextSteps(dir: string, nightly: NightlySummary, email: string | undefined): string[] {
  const cli = `node bin/unsub-recon.js --config ${rel(path.join(dir, 'unsub-recon.config.json'))}`;
  return [
    ...(nightly.report ? [`open ${rel(nightly.report.index)}              # the report, in a browser`] : []),
    `source ${rel(path.join(dir, 'sandbox.env'))}                # the simulators' credentials, for the commands below`,
    `${cli} runs`,
    ...(email ? [`${cli} audit "${email}" --format json`] : []),
    `${cli} sql "SELECT group_id, kind, count(*) AS n FROM discrepancies GROUP BY ALL"`,
    ...(nightly.patchDir
      ? [`ls ${rel(nightly.patchDir)}/*/          # patch files and their manifest.json`]
      : []),
    `node bin/unsub-recon.js sandbox --dir ${rel(dir)}   # keep simulators running; then, in another shell:`,
    `${cli} nightly                # incremental: finds only what is new`,
  ];
}

function renderResult(result: DemoResult): string {
  const n = result.nightly;
  const lines = [`$ unsub-recon nightly`, renderSummary(n)];
  if (result.replay) {
    lines.push('', `$ unsub-recon replay ${rel(result.replay.patchDir)}    # a dry run: nothing is sent`);
    lines.push(String(result.replay.result).trimEnd());
  }
  if (result.audit) {
    lines.push(
      '',
      `$ unsub-recon audit "${result.audit.email}"    # ${result.audit.why}`,
      renderAudit(result.audit.rows),
    );
  }
  lines.push(
    '',
    `demo ${result.status}: nightly run ${n.run_id} — ${n.accounts_complete}/${n.accounts_extracted} accounts complete, ` +
      `${n.rows} rows, ${n.discrepancies} discrepancies in ${n.groups.length} group(s)`,
  );
  if (n.report) {
    lines.push(`HTML report: ${n.report.index}`, ...n.report.csv.map((csv) => `CSV:         ${csv}`));
  }
  if (n.patchDir) lines.push(`patches:     ${n.patchDir}`);
  lines.push(`run folder:  ${n.runDir}   (run.log, summary.json, manifest.json)`, '', 'next:');
  lines.push(...result.next.map((step) => `  ${step}`));
  if (result.problems.length > 0) lines.push('', 'problems:', ...result.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
