/**
 * The report's inputs, read from the warehouse with the SQL in `reports/*.sql` (one file per
 * query, each with a header). The only value that varies, the group to report on, is a bound
 * parameter (`$group`, NULL for every group).
 *
 * Rows come back through `Warehouse.allJson`: timestamps as ISO 8601 UTC strings, BIGINT as
 * strings, lists as arrays, JSON columns parsed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnsubReconError, WarehouseError } from '../extractors/core/errors.js';
import type { Warehouse } from '../extractors/core/warehouse.js';
import { DISCREPANCY_COLUMNS, LIST_SEPARATOR } from './csv.js';

/** The warehouse holds nothing to report yet (no `transform` has run), or a report input is unreadable. */
export class ReportError extends UnsubReconError {
  readonly code = 'REPORT_FAILED';
}

/** Tables and views the report reads that `transform` creates; the rest are contract views from migrations. */
export const TRANSFORM_TABLES = [
  'group_status',
  'discrepancies',
  'discrepancy_summary',
  'suppressions',
  'suppression_sources',
  'rejects',
] as const;

export interface TransformRunRow {
  run_id: string;
  command: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  args: unknown;
}

export interface GroupStatusRow {
  run_id: string;
  group_id: string;
  policy: 'union' | 'mirror';
  members: string[];
  diffed: boolean;
  allowed_incomplete: boolean;
  incomplete_accounts: string[];
  detail: string | null;
}

export interface DiscrepancyRow {
  run_id: string;
  group_id: string;
  policy: string;
  kind: string;
  email_norm: string;
  present_in: string[];
  missing_from: string[];
  first_unsubscribed_at: string | null;
  /** Index of the address's entry in the evidence block (addresses in email_norm order). */
  evidence_idx: number;
}

export interface SummaryRow {
  run_id: string;
  group_id: string;
  policy: string;
  kind: string;
  present_account: string;
  missing_account: string;
  addresses: string;
  present_total: string;
  pct_of_present: number;
}

export interface AccountCountRow {
  group_id: string;
  kind: string;
  account_id: string;
  missing_here: string;
  held_here: string;
}

export interface RejectRow {
  run_id: string;
  account_id: string;
  raw_value: string;
  reason: string;
}

export interface CompletenessRow {
  account_id: string;
  provider: string;
  run_id: string;
  mode: string;
  status: string;
  range_from: string;
  range_to: string;
  windows: number;
  windows_failed: number;
  windows_complete: string;
  requests: number;
  retries: number;
  rows: string;
  provider_total: string | null;
  coverage_ok: boolean;
  error: string | null;
  started_at: string;
  finished_at: string;
  failed_windows: string[];
  full_run_id: string | null;
  full_finished_at: string | null;
}

/** The evidence blocks as JSON text, built in SQL (layout: reports/evidence_build.sql). */
export interface EvidenceJson {
  /** `{"runs": [...], "requests": [...]}`. */
  index: string;
  /** Holder lists of EVIDENCE_CHUNK addresses each, in address order. */
  chunks: string[];
}

/** Addresses per evidence block: opening an address parses one block of about this many. */
export const EVIDENCE_CHUNK = 1000;

/** Everything a report shows, as read from the warehouse. */
export interface ReportInputs {
  /** Every account the report mentions, numbered: the config's first, in config order. */
  accounts: string[];
  transformRun: TransformRunRow;
  groups: GroupStatusRow[];
  discrepancies: DiscrepancyRow[];
  summary: SummaryRow[];
  accountCounts: AccountCountRow[];
  rejects: RejectRow[];
  completeness: CompletenessRow[];
  evidence: EvidenceJson;
}

/** tsc does not copy `.sql` files: the compiled module reads them from the source tree. */
export function reportsSourceDir(): string {
  const candidates = [new URL('./', import.meta.url), new URL('../../reports/', import.meta.url)].map((u) =>
    fileURLToPath(u),
  );
  const found = candidates.find((dir) => existsSync(`${dir}/discrepancies.sql`));
  if (found === undefined) {
    throw new ReportError(`report SQL not found; looked in ${candidates.join(', ')}`);
  }
  return found;
}

const sqlCache = new Map<string, string>();

function reportSql(name: string): string {
  let sql = sqlCache.get(name);
  if (sql === undefined) {
    sql = readFileSync(`${reportsSourceDir()}/${name}.sql`, 'utf8');
    sqlCache.set(name, sql);
  }
  return sql;
}

/** The diff's fixed vocabulary (transforms/060_discrepancies.sql), in display order. */
export const KINDS = ['missing', 'extra'] as const;

/**
 * Reads every report input for one group (or all when `groupId` is undefined). Creates temp
 * objects prefixed `report_` on the connection (works on a read-only warehouse too).
 * @param configAccounts the config's account ids, numbered first and in this order.
 * @throws ReportError no `transform` has run in this warehouse yet.
 * @throws WarehouseError a query failed.
 */
export async function readReportInputs(
  warehouse: Warehouse,
  configAccounts: readonly string[],
  groupId?: string,
): Promise<ReportInputs> {
  const present = new Set(
    (
      await warehouse.allJson<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
      )
    ).map((t) => t.table_name),
  );
  const missing = TRANSFORM_TABLES.filter((t) => !present.has(t));
  if (missing.length > 0) {
    throw new ReportError(
      `warehouse ${warehouse.file} has no ${missing.join(', ')} yet: run \`unsub-recon transform\` first`,
    );
  }
  const [transformRun] = await warehouse.allJson<TransformRunRow>(reportSql('transform_run'));
  if (transformRun === undefined) {
    throw new ReportError(
      `warehouse ${warehouse.file}: group_status names no recorded transform run: run \`unsub-recon transform\` first`,
    );
  }

  await warehouse.run(reportSql('setup'));
  try {
    await warehouse.run('INSERT INTO report_params VALUES ($1)', [groupId ?? null]);
    for (const [idx, id] of configAccounts.entries()) {
      await warehouse.run('INSERT INTO report_accounts VALUES ($1, $2)', [id, idx]);
    }
    await warehouse.run(reportSql('accounts'));
    await warehouse.run(reportSql('evidence_build'));
    const params = { group: groupId ?? null };
    return {
      accounts: (
        await warehouse.allJson<{ account_id: string }>('SELECT account_id FROM report_accounts ORDER BY idx')
      ).map((a) => a.account_id),
      transformRun,
      groups: await warehouse.allJson<GroupStatusRow>(reportSql('group_status'), params),
      discrepancies: await readDiscrepancies(warehouse, params),
      summary: await warehouse.allJson<SummaryRow>(reportSql('summary'), params),
      accountCounts: await warehouse.allJson<AccountCountRow>(reportSql('account_counts'), params),
      rejects: await warehouse.allJson<RejectRow>(reportSql('rejects'), params),
      completeness: await warehouse.allJson<CompletenessRow>(reportSql('completeness'), params),
      evidence: await readEvidence(warehouse),
    };
  } finally {
    await warehouse.run(reportSql('teardown'));
  }
}

async function readEvidence(warehouse: Warehouse): Promise<EvidenceJson> {
  const blocks = await warehouse.allJson<{ part: 'index' | 'entries'; chunk: string | null; json: string }>(
    reportSql('evidence'),
    { chunk_size: EVIDENCE_CHUNK },
  );
  return {
    index: blocks.find((b) => b.part === 'index')?.json ?? '{"runs":[],"requests":[]}',
    chunks: blocks.filter((b) => b.part === 'entries').map((b) => b.json),
  };
}

/**
 * The discrepancy rows, read column by column as text (the fastest path out of DuckDB for
 * 100,000s of rows); account lists arrive joined with ';' and are split here.
 */
async function readDiscrepancies(
  warehouse: Warehouse,
  params: { group: string | null },
): Promise<DiscrepancyRow[]> {
  let reader: Awaited<ReturnType<typeof warehouse.connection.runAndReadAll>>;
  try {
    reader = await warehouse.connection.runAndReadAll(reportSql('discrepancies'), params);
  } catch (error) {
    throw new WarehouseError(
      `warehouse ${warehouse.file}: reports/discrepancies.sql: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const columns = reader.getColumnsJS() as Array<Array<string | null>>;
  const column = (name: string) => columns[reader.columnNames().indexOf(name)]!;
  const [runId, groupId, policy, kind, email, present, missingFrom, first, evidenceIdx] = [
    ...DISCREPANCY_COLUMNS,
    'evidence_idx',
  ].map(column) as Array<Array<string | null>>;
  const list = (text: string | null | undefined) => (text ? text.split(LIST_SEPARATOR) : []);
  return Array.from({ length: reader.currentRowCount }, (_, i) => ({
    run_id: runId![i]!,
    group_id: groupId![i]!,
    policy: policy![i]!,
    kind: kind![i]!,
    email_norm: email![i]!,
    present_in: list(present![i]),
    missing_from: list(missingFrom![i]),
    first_unsubscribed_at: first![i] ?? null,
    evidence_idx: Number(evidenceIdx![i]),
  }));
}
