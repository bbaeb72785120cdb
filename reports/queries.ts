/**
 * The report's inputs, read from the warehouse with the SQL in `reports/*.sql` (one file per
 * query, each with a header). The values that vary, the group to report on and how many rows
 * the HTML page embeds, are bound parameters (`$group`, NULL for every group; `$limit`).
 *
 * What the page needs is read whole but bounded: the counts, the summary, and only the first
 * `htmlLimit` discrepancies and rejects with their evidence. The CSVs' rows, however many, are
 * streamed a DuckDB chunk at a time ({@link ReportSession}).
 *
 * Rows come back through `Warehouse.allJson`: timestamps as ISO 8601 UTC strings, BIGINT as
 * strings, lists as arrays, JSON columns parsed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UnsubReconError } from '../extractors/core/errors.js';
import { locateSource } from '../extractors/core/source-files.js';
import type { Warehouse } from '../extractors/core/warehouse.js';
import { type DISCREPANCY_COLUMNS, LIST_SEPARATOR } from './csv.js';

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
  /**
   * Index of the address's entry in the evidence blocks (the page's addresses in email_norm
   * order); -1 for a row past the page's rows, which has no evidence in the page.
   */
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

/**
 * Rows of each table (discrepancies, rejects) the HTML page embeds at most: the size the report
 * benchmark (bench/report.ts) shows a browser renders in under 1.5 s. The CSVs hold every row.
 */
export const HTML_DISCREPANCY_LIMIT = 100_000;

/** How many rows the CSVs hold, counted in SQL (reports/totals.sql). */
export interface ReportTotals {
  discrepancies: number;
  /** Per group and kind, for the groups' figures. */
  byGroupKind: Array<{ group_id: string; kind: string; discrepancies: number }>;
  rejects: number;
}

/** Everything a report shows, as read from the warehouse. */
export interface ReportInputs {
  /** Every account the report mentions, numbered: the config's first, in config order. */
  accounts: string[];
  transformRun: TransformRunRow;
  groups: GroupStatusRow[];
  /** The first `htmlLimit` discrepancies in the CSV's order (all of them when fewer). */
  discrepancies: DiscrepancyRow[];
  summary: SummaryRow[];
  accountCounts: AccountCountRow[];
  /** The first `htmlLimit` rejects in the CSV's order. */
  rejects: RejectRow[];
  completeness: CompletenessRow[];
  /** Evidence of the addresses of `discrepancies` only. */
  evidence: EvidenceJson;
  totals: ReportTotals;
}

export interface ReportQueryOptions {
  /** Rows of each table the page embeds (default {@link HTML_DISCREPANCY_LIMIT}). */
  htmlLimit?: number;
}

/**
 * The temp objects of one report on the connection, and what reads through them. The streams
 * must each be read to the end (or abandoned) before the next query: DuckDB runs one query at a
 * time per connection.
 */
export interface ReportSession {
  inputs: ReportInputs;
  /** Every discrepancy in the CSV's order, a DuckDB chunk (2,048 rows) at a time. */
  discrepancyBatches(): AsyncGenerator<DiscrepancyRow[]>;
  /** Every reject in the CSV's order, a chunk at a time. */
  rejectBatches(): AsyncGenerator<RejectRow[]>;
}

/** The folder of the report's SQL and assets (beside this module, or in the source tree of a dist build). */
export function reportsSourceDir(): string {
  const { found, candidates } = locateSource(import.meta.url, './discrepancies.sql');
  if (found === undefined) {
    throw new ReportError(`report SQL not found; looked in ${candidates.join(', ')}`);
  }
  return path.dirname(found);
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
 * Reads every report input for one group (or all when `groupId` is undefined), the page's tables
 * cut at `htmlLimit` rows. Creates temp objects prefixed `report_` on the connection (works on a
 * read-only warehouse too) and drops them before returning.
 * @param configAccounts the config's account ids, numbered first and in this order.
 * @throws ReportError no `transform` has run in this warehouse yet.
 * @throws WarehouseError a query failed.
 */
export async function readReportInputs(
  warehouse: Warehouse,
  configAccounts: readonly string[],
  groupId?: string,
  options: ReportQueryOptions = {},
): Promise<ReportInputs> {
  return withReportSession(warehouse, configAccounts, groupId, options, async (session) => session.inputs);
}

/**
 * Reads the report inputs as {@link readReportInputs} does and runs `fn` while the temp objects
 * exist, so it can stream the CSVs' rows; drops them afterwards, whatever `fn` does.
 * @throws ReportError, WarehouseError as {@link readReportInputs}, and whatever `fn` throws.
 */
export async function withReportSession<T>(
  warehouse: Warehouse,
  configAccounts: readonly string[],
  groupId: string | undefined,
  options: ReportQueryOptions,
  fn: (session: ReportSession) => Promise<T>,
): Promise<T> {
  const htmlLimit = options.htmlLimit ?? HTML_DISCREPANCY_LIMIT;
  if (!Number.isSafeInteger(htmlLimit) || htmlLimit < 0) {
    throw new ReportError(`HTML row limit ${htmlLimit}: expected a whole number of rows, 0 or more`);
  }
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

  return warehouse.withScratch(async () => {
    await warehouse.run(reportSql('setup'));
    await warehouse.run('INSERT INTO report_params VALUES ($1, $2)', [groupId ?? null, htmlLimit]);
    for (const [idx, id] of configAccounts.entries()) {
      await warehouse.run('INSERT INTO report_accounts VALUES ($1, $2)', [id, idx]);
    }
    await warehouse.run(reportSql('addresses'));
    await warehouse.run(reportSql('accounts'));
    await warehouse.run(reportSql('evidence_build'));
    const group = groupId ?? null;
    const params = { group };
    const page = { group, limit: htmlLimit };
    const all = { group, limit: null };
    const inputs: ReportInputs = {
      accounts: (
        await warehouse.allJson<{ account_id: string }>('SELECT account_id FROM report_accounts ORDER BY idx')
      ).map((a) => a.account_id),
      transformRun,
      groups: await warehouse.allJson<GroupStatusRow>(reportSql('group_status'), params),
      discrepancies: await collect(streamDiscrepancies(warehouse, page)),
      summary: await warehouse.allJson<SummaryRow>(reportSql('summary'), params),
      accountCounts: await warehouse.allJson<AccountCountRow>(reportSql('account_counts'), params),
      rejects: await warehouse.allJson<RejectRow>(reportSql('rejects'), page),
      completeness: await warehouse.allJson<CompletenessRow>(reportSql('completeness'), params),
      evidence: await readEvidence(warehouse),
      totals: await readTotals(warehouse, params),
    };
    return fn({
      inputs,
      discrepancyBatches: () => streamDiscrepancies(warehouse, all),
      rejectBatches: () => warehouse.streamJson<RejectRow>(reportSql('rejects'), all),
    });
  });
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

async function readTotals(warehouse: Warehouse, params: { group: string | null }): Promise<ReportTotals> {
  const rows = await warehouse.allJson<{
    what: string;
    group_id: string | null;
    kind: string | null;
    n: string;
  }>(reportSql('totals'), params);
  const byGroupKind = rows
    .filter((r) => r.what === 'discrepancies')
    .map((r) => ({ group_id: r.group_id!, kind: r.kind!, discrepancies: Number(r.n) }));
  return {
    discrepancies: byGroupKind.reduce((sum, r) => sum + r.discrepancies, 0),
    byGroupKind,
    rejects: Number(rows.find((r) => r.what === 'rejects')?.n ?? 0),
  };
}

/** Discrepancy rows as reports/discrepancies.sql streams them; account lists arrive joined with ';'. */
async function* streamDiscrepancies(
  warehouse: Warehouse,
  params: { group: string | null; limit: number | null },
): AsyncGenerator<DiscrepancyRow[]> {
  type Text = Record<(typeof DISCREPANCY_COLUMNS)[number] | 'evidence_idx', string | null>;
  const list = (text: string | null) => (text ? text.split(LIST_SEPARATOR) : []);
  for await (const batch of warehouse.streamJson<Text>(reportSql('discrepancies'), params)) {
    yield batch.map((r) => ({
      run_id: r.run_id!,
      group_id: r.group_id!,
      policy: r.policy!,
      kind: r.kind!,
      email_norm: r.email_norm!,
      present_in: list(r.present_in),
      missing_from: list(r.missing_from),
      first_unsubscribed_at: r.first_unsubscribed_at ?? null,
      evidence_idx: r.evidence_idx === null ? -1 : Number(r.evidence_idx),
    }));
  }
}

async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of batches) for (const item of batch) all.push(item);
  return all;
}
