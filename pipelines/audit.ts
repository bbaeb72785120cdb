/**
 * `unsub-recon audit EMAIL… [--format table|csv|json]`: where does an address stand, account by
 * account, and why. Each given address is normalised as extraction normalises it
 * (extractors/core/email.ts), then looked up in `suppressions` for every configured account:
 * one row per account and scope where it is held, one `present: false` row per account where it
 * is not. Held rows carry their evidence (the raw rows and the requests that delivered them,
 * URLs redacted at the HTTP boundary) and the `suppression_events` observed for the address.
 *
 * `present` is what the diff uses: an active suppression (an expired SendCloud entry is shown
 * with its evidence but `present: false`). The warehouse is opened read-only.
 *
 * The queries are `pipelines/sql/audit/*.sql`, the address bound as a parameter.
 *
 * Exit: 0 when some account holds some given address; {@link AuditNotFoundError}
 * (`AUDIT_NOT_FOUND`, exit 1) when none does — the rows are still printed.
 */
import { listValue } from '@duckdb/node-api';
import type { Config } from '../extractors/core/config.js';
import { normaliseEmail } from '../extractors/core/email.js';
import { UnsubReconError, UsageError, WarehouseError } from '../extractors/core/errors.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { formatTable, jsonReplacer, type Output } from './output.js';
import { sqlFile } from './sql/files.js';
import { type SqlFormat, sqlFormat, toCsv } from './sql.js';

/** No configured account holds any of the given addresses. */
export class AuditNotFoundError extends UnsubReconError {
  readonly code = 'AUDIT_NOT_FOUND';
}

export interface AuditCommandOptions {
  format?: string;
}

export interface AuditEvidence {
  run_id: string;
  request_seq: number;
  page: number | null;
  row_no: number;
  fetched_at: string;
  raw_email: string | null;
  raw_time: string | null;
  raw: unknown;
  request: {
    method: string | null;
    url_redacted: string | null;
    status: number | null;
    window_from: string | null;
    window_to: string | null;
    page: number | null;
  };
}

export interface AuditEvent {
  event: 'added' | 'removed';
  observed_at: string;
  run_id: string;
}

export interface AuditRow {
  account_id: string;
  provider: string;
  email_norm: string;
  scope: string | null;
  present: boolean;
  unsubscribed_at: string | null;
  raw_time: string | null;
  first_seen_run: string | null;
  last_seen_run: string | null;
  evidence: AuditEvidence[];
  events: AuditEvent[];
}

export const AUDIT_COLUMNS = [
  'account_id',
  'provider',
  'email_norm',
  'scope',
  'present',
  'unsubscribed_at',
  'raw_time',
  'first_seen_run',
  'last_seen_run',
  'evidence',
  'events',
] as const;

interface SuppressionRow {
  account_id: string;
  scope: string;
  active: boolean;
  unsubscribed_at: string | null;
  first_seen_run: string;
  last_seen_run: string;
}

/** One evidence row as the SQL returns it: the evidence with its request's columns flattened. */
interface EvidenceRow extends Omit<AuditEvidence, 'request'> {
  account_id: string;
  scope: string;
  method: string | null;
  url_redacted: string | null;
  status: number | null;
  window_from: string | null;
  window_to: string | null;
  request_page: number | null;
}

interface EventRow extends AuditEvent {
  account_id: string;
  scope: string;
}

/** What `transform` must have built before an address can be audited. */
const TRANSFORM_RELATIONS = ['suppressions', 'suppression_source_runs', 'suppression_events'];

/** Looks every address up in every configured account. */
export async function auditAddresses(
  warehouse: Warehouse,
  accounts: ReadonlyArray<{ id: string; provider: string }>,
  emails: readonly string[],
): Promise<AuditRow[]> {
  const found = await warehouse.allJson<{ table_name: string }>(sqlFile('audit', 'relations'), {
    names: listValue(TRANSFORM_RELATIONS),
  });
  const missing = TRANSFORM_RELATIONS.filter((name) => !found.some((f) => f.table_name === name));
  if (missing.length > 0) {
    throw new WarehouseError(
      `the warehouse has no ${missing.join(', ')} yet: run \`unsub-recon transform\` first`,
    );
  }
  const rows: AuditRow[] = [];
  for (const emailNorm of [...new Set(emails.map(normaliseEmail))]) {
    const params = { email_norm: emailNorm };
    const held = await warehouse.allJson<SuppressionRow>(sqlFile('audit', 'suppressions'), params);
    const evidence = await warehouse.allJson<EvidenceRow>(sqlFile('audit', 'evidence'), params);
    const events = await warehouse.allJson<EventRow>(sqlFile('audit', 'events'), params);
    for (const account of accounts) {
      const mine = held.filter((s) => s.account_id === account.id);
      const eventsOf = (scope: string | null) =>
        events
          .filter((e) => e.account_id === account.id && (scope === null || e.scope === scope))
          .map(({ event, observed_at, run_id }) => ({ event, observed_at, run_id }));
      if (mine.length === 0) {
        rows.push({
          account_id: account.id,
          provider: account.provider,
          email_norm: emailNorm,
          scope: null,
          present: false,
          unsubscribed_at: null,
          raw_time: null,
          first_seen_run: null,
          last_seen_run: null,
          evidence: [],
          events: eventsOf(null),
        });
        continue;
      }
      for (const s of mine) {
        const rowsOf = evidence
          .filter((e) => e.account_id === account.id && e.scope === s.scope)
          .map(toEvidence);
        rows.push({
          account_id: account.id,
          provider: account.provider,
          email_norm: emailNorm,
          scope: s.scope,
          present: s.active,
          unsubscribed_at: s.unsubscribed_at,
          raw_time: rowsOf.find((e) => e.raw_time !== null)?.raw_time ?? null,
          first_seen_run: s.first_seen_run,
          last_seen_run: s.last_seen_run,
          evidence: rowsOf,
          events: eventsOf(s.scope),
        });
      }
    }
  }
  return rows;
}

function toEvidence(r: EvidenceRow): AuditEvidence {
  return {
    run_id: r.run_id,
    request_seq: r.request_seq,
    page: r.page,
    row_no: r.row_no,
    fetched_at: r.fetched_at,
    raw_email: r.raw_email,
    raw_time: r.raw_time,
    raw: r.raw,
    request: {
      method: r.method,
      url_redacted: r.url_redacted,
      status: r.status,
      window_from: r.window_from,
      window_to: r.window_to,
      page: r.request_page,
    },
  };
}

export async function auditCommand(
  config: Config,
  emails: readonly string[],
  options: AuditCommandOptions,
  out: Output,
): Promise<void> {
  const format = sqlFormat(options.format, out.json);
  if (emails.length === 0) throw new UsageError('audit: give at least one address');
  const warehouse = await Warehouse.open(config.warehouse, { mode: 'read', command: 'audit' });
  let rows: AuditRow[];
  try {
    rows = await auditAddresses(
      warehouse,
      config.accounts.map((a) => ({ id: a.id, provider: a.provider })),
      emails,
    );
  } finally {
    await warehouse.close();
  }
  out.result(rows, () => render(rows, format));
  if (!rows.some((r) => r.present)) {
    const norms = [...new Set(rows.map((r) => r.email_norm))];
    throw new AuditNotFoundError(
      `no configured account holds ${norms.map((n) => `"${n}"`).join(', ')} ` +
        `(looked in ${config.accounts.length} account(s) after \`transform\`; run \`extract\` and \`transform\` if the data is stale)`,
    );
  }
}

function render(rows: AuditRow[], format: SqlFormat): string {
  const columns = [...AUDIT_COLUMNS];
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows, jsonReplacer)}\n`;
    case 'csv':
      return toCsv(rows as unknown as Record<string, unknown>[], columns);
    case 'table':
      return renderTable(rows);
  }
}

/** The summary table, then each held row's evidence and events on their own lines. */
function renderTable(rows: AuditRow[]): string {
  const summary = formatTable(
    rows.map((r) => ({ ...r, evidence: r.evidence.length, events: r.events.length })),
    [...AUDIT_COLUMNS],
  );
  const details: string[] = [];
  for (const r of rows) {
    if (r.evidence.length === 0 && r.events.length === 0) continue;
    details.push(`\n${r.account_id} ${r.scope ?? '-'} ${r.email_norm}:`);
    for (const e of r.evidence) {
      const q = e.request;
      details.push(
        `  raw row: run ${e.run_id} request #${e.request_seq} page ${e.page ?? '-'} row ${e.row_no}: ` +
          JSON.stringify(e.raw, jsonReplacer),
      );
      details.push(
        `    request: ${q.method ?? '?'} ${q.url_redacted ?? '(not recorded)'} status ${q.status ?? '-'} ` +
          `window ${q.window_from ?? '?'}/${q.window_to ?? '?'} page ${q.page ?? '-'}`,
      );
    }
    for (const ev of r.events) details.push(`  event: ${ev.event} at ${ev.observed_at} (run ${ev.run_id})`);
  }
  return `${summary}${details.join('\n')}\n`;
}
