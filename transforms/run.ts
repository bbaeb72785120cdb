/**
 * The transform runner: loads the config's accounts and groups into temp tables with bound
 * parameters, runs `transforms/NNN_<name>.sql` in order and then every `transforms/audits/*.sql`,
 * all inside ONE transaction. Any failure (a statement, or an audit returning a row) rolls the
 * whole thing back, so the previous `suppressions`, `rejects` and `discrepancies` stay in place.
 *
 * The SQL files hold no values: what varies (run id, clock, zones, groups) arrives through the
 * temp tables `transform_params`, `cfg_accounts`, `cfg_groups` and `cfg_group_members`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnsubReconError } from '../extractors/core/errors.js';
import type { Warehouse } from '../extractors/core/warehouse.js';

/** The time formats 020_source_rows.sql knows (DuckDB's strptime wants a constant format). */
export const SUPPORTED_TIME_FORMATS: readonly string[] = ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d', 'epoch-seconds'];

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
}

export interface GroupOutcome {
  group_id: string;
  diffed: boolean;
  blocked_by: string[];
  discrepancies: number;
  by_kind: Record<string, number>;
}

export interface TransformOutcome {
  files: string[];
  audits: string[];
  groups: GroupOutcome[];
  /** Accounts whose latest extraction is not complete (whether or not a group was blocked). */
  incomplete: BlockedAccount[];
  suppressions: number;
  rejects: number;
}

interface SqlFile {
  name: string;
  sql: string;
}

/** tsc does not copy `.sql` files: the compiled runner reads them from the source tree. */
function transformsDir(): string {
  const candidates = [new URL('./', import.meta.url), new URL('../../transforms/', import.meta.url)].map(
    (u) => fileURLToPath(u),
  );
  const found = candidates.find((dir) => existsSync(`${dir}/010_extraction_status.sql`));
  if (found === undefined) {
    throw new TransformError(
      'TRANSFORM_FAILED',
      `transform SQL not found; looked in ${candidates.join(', ')}`,
    );
  }
  return found;
}

function readSql(dir: string, pattern: RegExp): SqlFile[] {
  return readdirSync(dir)
    .filter((file) => pattern.test(file))
    .sort()
    .map((name) => ({ name, sql: readFileSync(`${dir}/${name}`, 'utf8') }));
}

/** The transform files in run order and the audits. */
export function loadTransforms(): { transforms: SqlFile[]; audits: SqlFile[] } {
  const dir = transformsDir();
  return { transforms: readSql(dir, /^\d{3}_[a-z0-9_]+\.sql$/), audits: readSql(`${dir}/audits`, /\.sql$/) };
}

/**
 * Runs every transform and audit in one transaction.
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
  const { transforms, audits } = loadTransforms();
  await warehouse.transaction(async (w) => {
    await loadInputs(w, inputs);
    for (const file of transforms) {
      try {
        await w.run(file.sql);
      } catch (error) {
        throw new TransformError('TRANSFORM_FAILED', `transforms/${file.name}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    for (const audit of audits) {
      const bad = await w.allJson(`SELECT * FROM (${stripTrailingSemicolon(audit.sql)}) LIMIT 5`);
      if (bad.length > 0) {
        throw new TransformError(
          'AUDIT_FAILED',
          `audit ${audit.name} found violating rows; nothing was changed. First rows: ${JSON.stringify(bad)}`,
        );
      }
    }
  });
  return outcome(warehouse, transforms, audits);
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
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_accounts (account_id VARCHAR PRIMARY KEY, provider VARCHAR, timezone VARCHAR, time_format VARCHAR)`,
  );
  for (const a of inputs.accounts) {
    await w.run('INSERT INTO cfg_accounts VALUES ($1, $2, $3, $4)', [
      a.id,
      a.provider,
      a.timezone,
      a.timeFormat,
    ]);
  }
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_groups (group_id VARCHAR PRIMARY KEY, policy VARCHAR, source VARCHAR, scope VARCHAR)`,
  );
  await w.run(
    `CREATE OR REPLACE TEMP TABLE cfg_group_members (group_id VARCHAR, account_id VARCHAR, position INTEGER)`,
  );
  for (const g of inputs.groups) {
    await w.run('INSERT INTO cfg_groups VALUES ($1, $2, $3, $4)', [
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

async function outcome(w: Warehouse, transforms: SqlFile[], audits: SqlFile[]): Promise<TransformOutcome> {
  const groups = await w.allJson<{
    group_id: string;
    diffed: boolean;
    blocked_by: string[] | null;
    discrepancies: string;
    missing: string;
    extra: string;
  }>(
    `SELECT g.group_id, gate.diffed, gate.blocked_by,
            count(d.email_norm)::VARCHAR AS discrepancies,
            count(d.email_norm) FILTER (WHERE d.kind = 'missing')::VARCHAR AS missing,
            count(d.email_norm) FILTER (WHERE d.kind = 'extra')::VARCHAR AS extra
       FROM cfg_groups g
       JOIN t_group_gate gate USING (group_id)
       LEFT JOIN discrepancies d USING (group_id)
      GROUP BY ALL`,
  );
  const order = new Map(
    (await w.allJson<{ group_id: string }>('SELECT group_id FROM cfg_groups')).map((g, i) => [g.group_id, i]),
  );
  groups.sort((a, b) => (order.get(a.group_id) ?? 0) - (order.get(b.group_id) ?? 0));
  const incomplete = await w.allJson<BlockedAccount>(
    `SELECT account_id, latest_run_id AS run_id, latest_status AS status,
            latest_range_from AS range_from, latest_range_to AS range_to, failed_windows, latest_error AS error
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
      blocked_by: g.blocked_by ?? [],
      discrepancies: Number(g.discrepancies),
      by_kind: { missing: Number(g.missing), extra: Number(g.extra) },
    })),
    incomplete,
    suppressions: Number(counts[0]?.suppressions ?? 0),
    rejects: Number(counts[0]?.rejects ?? 0),
  };
}
