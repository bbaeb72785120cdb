/**
 * The transform runner: runs `transforms/cleanup.sql` (leftovers of a failed transform), loads
 * the config's accounts and groups into temp tables with bound parameters, then:
 *  * build: `transforms/NNN_<name>.sql` in order, each statement committing on its own. They
 *    write temporary tables and `<name>_next` tables that no reader uses, and event rows that
 *    stay invisible until their snapshots are recorded;
 *  * audit: every `transforms/audits/*.sql`, on what was built;
 *  * publish: the files whose header says `-- phase: publish` (they come last), in ONE short
 *    transaction: renames `<name>_next` to `<name>` and records the new event snapshots.
 * Everything runs inside {@link Warehouse.withScratch}: after success and failure alike the
 * temporary work (input and temp tables) is dropped, so a connection the caller keeps does not
 * carry it into later steps.
 * Any failure before publishing (a statement, or an audit returning a row) runs cleanup.sql and
 * leaves the previous derived tables (`suppressions`, `rejects`, `discrepancies`,
 * `group_status`, `discrepancy_summary`, `suppression_events`, …) in place.
 * Building outside the transaction is for scale: DuckDB keeps a large transaction's own writes
 * pinned in memory and reads them several times slower, so 10 million rows per account could
 * not spill and failed.
 *
 * The SQL files hold no values: what varies (run id, clock, zones, groups) arrives through the
 * temp tables `transform_params`, `cfg_accounts`, `cfg_groups` and `cfg_group_members`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UnsubReconError } from '../extractors/core/errors.js';
import { locateSource } from '../extractors/core/source-files.js';
import { configuredMemoryLimit, type Warehouse } from '../extractors/core/warehouse.js';

/** The time formats 020_source_rows.sql knows (DuckDB's strptime wants a constant format). */
export const SUPPORTED_TIME_FORMATS: readonly string[] = [
  '%Y-%m-%d %H:%M:%S',
  '%Y-%m-%d',
  'epoch-seconds',
  'iso8601',
];

/** 060_discrepancies.sql keeps one bit per member in a BIGINT. */
export const MAX_GROUP_MEMBERS = 62;

/** A transform or an audit failed; the transaction was rolled back and nothing changed. */
export class TransformError extends UnsubReconError {
  readonly code: 'TRANSFORM_FAILED' | 'AUDIT_FAILED';
  constructor(code: 'TRANSFORM_FAILED' | 'AUDIT_FAILED', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface TransformAccount {
  id: string;
  provider: string;
  timezone: string;
  /** The provider's `capabilities.timeFormat`: one of SUPPORTED_TIME_FORMATS, or null (no time). */
  timeFormat: string | null;
}

export interface TransformGroup {
  id: string;
  accounts: readonly string[];
  policy: 'union' | 'mirror';
  source?: string | undefined;
  scope: string;
}

export interface TransformInputs {
  /** The transform's own run id: `discrepancies.run_id`. */
  runId: string;
  /** Expiries at or before this instant are inactive. */
  now: Date;
  allowIncomplete: boolean;
  accounts: readonly TransformAccount[];
  groups: readonly TransformGroup[];
  /**
   * DuckDB `memory_limit` while the transforms run (default {@link configuredMemoryLimit}: the heavy steps' one limit):
   * what does not fit spills to DuckDB's temp directory (`<warehouse>.tmp`) instead of failing.
   */
  memoryLimit?: string | undefined;
  /**
   * Leave the temporary work (cfg_*, t_*) in the connection instead of dropping it: the audit
   * tests run the audits again on what a real transform built. Default false.
   */
  keepWorkTables?: boolean | undefined;
}

/** An account whose latest extraction is not complete, and why. */
export interface BlockedAccount {
  account_id: string;
  run_id: string | null;
  status: string | null;
  range_from: string | null;
  range_to: string | null;
  failed_windows: string[];
  error: string | null;
  /** In words: which run, window or range, and the error (`group_status.detail` joins these). */
  detail: string;
}

export interface GroupOutcome {
  group_id: string;
  diffed: boolean;
  /** Diffed although a member is incomplete (--allow-incomplete). */
  allowed_incomplete: boolean;
  /** Members whose latest extraction is not complete, in config order. */
  blocked_by: string[];
  /** Which account, run and window is incomplete; null when every member is complete. */
  detail: string | null;
  discrepancies: number;
  by_kind: Record<string, number>;
}

export interface StepTiming {
  name: string;
  seconds: number;
  cpuSeconds: number;
}

export interface TransformOutcome {
  files: string[];
  audits: string[];
  /** Each transform file and audit in run order: wall and process CPU seconds (the benchmark's breakdown). */
  timings: StepTiming[];
  groups: GroupOutcome[];
  /** Accounts whose latest extraction is not complete (whether or not a group was blocked). */
  incomplete: BlockedAccount[];
  suppressions: number;
  rejects: number;
}

export interface SqlFile {
  name: string;
  sql: string;
  /** Publishes what the others built: runs last, in the transaction (header `-- phase: publish`). */
  publish: boolean;
}

const PUBLISH_PHASE = /^-- phase: publish\b/m;

function transformsDir(): string {
  const { found, candidates } = locateSource(import.meta.url, './010_extraction_status.sql');
  if (found === undefined) {
    throw new TransformError(
      'TRANSFORM_FAILED',
      `transform SQL not found; looked in ${candidates.join(', ')}`,
    );
  }
  return path.dirname(found);
}

function readSql(dir: string, pattern: RegExp): SqlFile[] {
  return readdirSync(dir)
    .filter((file) => pattern.test(file))
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}`, 'utf8');
      return { name, sql, publish: PUBLISH_PHASE.test(sql) };
    });
}

/** The transform files in run order, the audits, and the cleanup. */
export function loadTransforms(): { transforms: SqlFile[]; audits: SqlFile[]; cleanup: SqlFile } {
  const dir = transformsDir();
  const transforms = readSql(dir, /^\d{3}_[a-z0-9_]+\.sql$/);
  const firstPublish = transforms.findIndex((f) => f.publish);
  const late = transforms.find((f, i) => !f.publish && firstPublish !== -1 && i > firstPublish);
  if (late !== undefined) {
    throw new TransformError(
      'TRANSFORM_FAILED',
      `transforms/${late.name} comes after a publish file; publish files must come last`,
    );
  }
  const [cleanup] = readSql(dir, /^cleanup\.sql$/);
  if (cleanup === undefined)
    throw new TransformError('TRANSFORM_FAILED', `transforms/cleanup.sql not found in ${dir}`);
  return { transforms, audits: readSql(`${dir}/audits`, /\.sql$/), cleanup };
}

/**
 * Builds, audits and publishes (see the module comment); only the publishing is one transaction.
 * @throws TransformError a provider's time format is unsupported, a statement failed, or an
 *   audit returned rows; the warehouse is left as it was.
 */
export async function runTransforms(
  warehouse: Warehouse,
  inputs: TransformInputs,
): Promise<TransformOutcome> {
  for (const account of inputs.accounts) {
    if (account.timeFormat !== null && !SUPPORTED_TIME_FORMATS.includes(account.timeFormat)) {
      throw new TransformError(
        'TRANSFORM_FAILED',
        `account ${account.id}: provider ${account.provider} has time format "${account.timeFormat}"; ` +
          `expected one of ${SUPPORTED_TIME_FORMATS.join(', ')} (add it to transforms/020_source_rows.sql)`,
      );
    }
  }
  for (const group of inputs.groups) {
    if (group.accounts.length > MAX_GROUP_MEMBERS) {
      throw new TransformError(
        'TRANSFORM_FAILED',
        `group ${group.id}: ${group.accounts.length} accounts; at most ${MAX_GROUP_MEMBERS} are supported ` +
          '(split it into smaller groups)',
      );
    }
  }
  const memoryLimit = inputs.memoryLimit ?? configuredMemoryLimit();
  const { transforms, audits, cleanup } = loadTransforms();
  const timings: StepTiming[] = [];
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const value = await work();
    const used = process.cpuUsage(cpu);
    timings.push({
      name,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
    });
    return value;
  };
  const transform = async (): Promise<TransformOutcome> => {
    // Insertion order means nothing for these tables; not keeping it lets DuckDB write in parallel.
    await warehouse.withSettings({ memoryLimit, preserveInsertionOrder: false }, () =>
      buildAuditPublish(warehouse, inputs, { transforms, audits, cleanup }, timed),
    );
    return { ...(await outcome(warehouse, transforms, audits)), timings };
  };
  return inputs.keepWorkTables ? transform() : warehouse.withScratch(transform);
}

async function buildAuditPublish(
  warehouse: Warehouse,
  inputs: TransformInputs,
  files: { transforms: SqlFile[]; audits: SqlFile[]; cleanup: SqlFile },
  timed: <T>(name: string, work: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const runStep = async (w: Warehouse, file: SqlFile) => {
    try {
      await timed(file.name, () => runFile(w, file));
    } catch (error) {
      throw new TransformError('TRANSFORM_FAILED', `transforms/${file.name}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  await runStep(warehouse, files.cleanup);
  try {
    await loadInputs(warehouse, inputs);
    for (const file of files.transforms.filter((f) => !f.publish)) await runStep(warehouse, file);
    for (const audit of files.audits) {
      const bad = await timed(`audits/${audit.name}`, () => auditViolations(warehouse, audit));
      if (bad.length > 0) {
        throw new TransformError(
          'AUDIT_FAILED',
          `audit ${audit.name} found violating rows; nothing was changed. First rows: ${JSON.stringify(bad)}`,
        );
      }
    }
    await warehouse.transaction(async (w) => {
      for (const file of files.transforms.filter((f) => f.publish)) await runStep(w, file);
    });
  } catch (error) {
    // Best effort: the next transform runs the cleanup again before anything else.
    await warehouse.run(files.cleanup.sql).catch(() => undefined);
    throw error;
  }
}

/**
 * Runs one transform file. A file that uses the parameter `$account_no` holds one statement and
 * runs once per account, with `$account_no` and (when used) the account's `$zone` bound: one
 * account's rows at a time keeps an aggregation's working set to one account as accounts grow,
 * and DuckDB converts times ~10× faster with a constant zone than with a zone read from a column.
 */
async function runFile(w: Warehouse, file: SqlFile): Promise<void> {
  if (!ACCOUNT_PARAMETER.test(file.sql)) {
    await w.run(file.sql);
    return;
  }
  const accounts = await w.allJson<{ account_no: number; timezone: string }>(
    'SELECT account_no, timezone FROM cfg_accounts ORDER BY account_no',
  );
  const usesZone = ZONE_PARAMETER.test(file.sql);
  for (const { account_no, timezone } of accounts) {
    await w.run(file.sql, usesZone ? { account_no, zone: timezone } : { account_no });
  }
}

const ACCOUNT_PARAMETER = /\$account_no\b/;
const ZONE_PARAMETER = /\$zone\b/;

/** The first violating rows an audit selects (none: it passes). */
export function auditViolations(w: Warehouse, audit: SqlFile, limit = 5): Promise<Record<string, unknown>[]> {
  return w.allJson(`SELECT * FROM (\n${stripTrailingSemicolon(audit.sql)}\n) LIMIT ${Math.trunc(limit)}`);
}

/** Comments and the final `;` removed, so the audit can be wrapped as a subquery. */
function stripTrailingSemicolon(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '');
}

async function loadInputs(w: Warehouse, inputs: TransformInputs): Promise<void> {
  await w.run(
    `CREATE OR REPLACE TEMP TABLE transform_params (run_id VARCHAR, now TIMESTAMPTZ, allow_incomplete BOOLEAN)`,
  );
  await w.run('INSERT INTO transform_params VALUES ($1, $2, $3)', [
    inputs.runId,
    inputs.now,
    inputs.allowIncomplete,
  ]);
  // account_no: the small number the big derived tables store instead of the account's name.
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_accounts (account_no SMALLINT, account_id VARCHAR PRIMARY KEY, provider VARCHAR, timezone VARCHAR, time_format VARCHAR)`,
  );
  for (const [index, a] of inputs.accounts.entries()) {
    await w.run('INSERT INTO cfg_accounts VALUES ($1, $2, $3, $4, $5)', [
      index + 1,
      a.id,
      a.provider,
      a.timezone,
      a.timeFormat,
    ]);
  }
  // group_no: what 060 groups millions of addresses by (a small number hashes and compares faster
  // than the group's name: the diff at 10M rows per account took 28 % less time).
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_groups (group_no SMALLINT, group_id VARCHAR PRIMARY KEY, policy VARCHAR, source VARCHAR, scope VARCHAR)`,
  );
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_group_members (group_id VARCHAR, account_id VARCHAR, position INTEGER)`,
  );
  for (const [index, g] of inputs.groups.entries()) {
    await w.run('INSERT INTO cfg_groups VALUES ($1, $2, $3, $4, $5)', [
      index + 1,
      g.id,
      g.policy,
      g.source ?? null,
      g.scope,
    ]);
    for (const [position, accountId] of g.accounts.entries()) {
      await w.run('INSERT INTO cfg_group_members VALUES ($1, $2, $3)', [g.id, accountId, position]);
    }
  }
}

async function outcome(
  w: Warehouse,
  transforms: SqlFile[],
  audits: SqlFile[],
): Promise<Omit<TransformOutcome, 'timings'>> {
  const groups = await w.allJson<{
    group_id: string;
    diffed: boolean;
    allowed_incomplete: boolean;
    incomplete_accounts: string[];
    detail: string | null;
    discrepancies: string;
    missing: string;
    extra: string;
  }>(
    `SELECT st.group_id, st.diffed, st.allowed_incomplete, st.incomplete_accounts, st.detail,
            count(d.email_norm)::VARCHAR AS discrepancies,
            count(d.email_norm) FILTER (WHERE d.kind = 'missing')::VARCHAR AS missing,
            count(d.email_norm) FILTER (WHERE d.kind = 'extra')::VARCHAR AS extra
       FROM group_status st
       LEFT JOIN discrepancies d USING (group_id)
      GROUP BY ALL`,
  );
  const order = new Map(
    (await w.allJson<{ group_id: string }>('SELECT group_id FROM cfg_groups')).map((g, i) => [g.group_id, i]),
  );
  groups.sort((a, b) => (order.get(a.group_id) ?? 0) - (order.get(b.group_id) ?? 0));
  const incomplete = await w.allJson<BlockedAccount>(
    `SELECT account_id, latest_run_id AS run_id, latest_status AS status,
            latest_range_from AS range_from, latest_range_to AS range_to, failed_windows, latest_error AS error,
            incomplete_detail AS detail
       FROM t_extraction_status s JOIN cfg_accounts a USING (account_id)
      WHERE NOT s.complete
      ORDER BY account_id`,
  );
  const counts = await w.allJson<{ suppressions: string; rejects: string }>(
    `SELECT (SELECT count(*) FROM suppressions)::VARCHAR AS suppressions, (SELECT count(*) FROM rejects)::VARCHAR AS rejects`,
  );
  return {
    files: transforms.map((f) => f.name),
    audits: audits.map((f) => f.name),
    groups: groups.map((g) => ({
      group_id: g.group_id,
      diffed: g.diffed,
      allowed_incomplete: g.allowed_incomplete,
      blocked_by: g.incomplete_accounts,
      detail: g.detail,
      discrepancies: Number(g.discrepancies),
      by_kind: { missing: Number(g.missing), extra: Number(g.extra) },
    })),
    incomplete,
    suppressions: Number(counts[0]?.suppressions ?? 0),
    rejects: Number(counts[0]?.rejects ?? 0),
  };
}
