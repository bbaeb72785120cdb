/**
 * The report CSVs: discrepancies.csv, summary.csv, rejects.csv. RFC 4180 (CRLF line ends, a
 * header row, fields quoted when they hold a comma, quote, CR or LF, quotes doubled), UTF-8
 * without a byte-order mark, columns in the fixed order below (the README lists them).
 *
 * These files are for people and spreadsheets, so a text cell that a spreadsheet would run as a
 * formula is neutralised, per OWASP "CSV Injection": a cell starting with `=`, `+`, `-`, `@`, tab
 * or carriage return (or their full-width forms) gets a leading `'` and is quoted. Numbers are
 * left alone. Patch files are machine inputs and are never written through here: they keep
 * addresses byte-exact.
 */
import { stringify } from 'csv-stringify/sync';
import { writeNewFile } from '../extractors/core/write-file.js';
import type { DiscrepancyRow, RejectRow, SummaryRow } from './queries.js';

/** What makes a cell a formula to a spreadsheet (OWASP), including the full-width forms. */
export const FORMULA_LEAD = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** Separator of account lists inside one cell (`present_in`, `missing_from`). */
export const LIST_SEPARATOR = ';';

export const DISCREPANCY_COLUMNS = [
  'run_id',
  'group_id',
  'policy',
  'kind',
  'email_norm',
  'present_in',
  'missing_from',
  'first_unsubscribed_at',
] as const;

export const SUMMARY_COLUMNS = [
  'run_id',
  'group_id',
  'policy',
  'kind',
  'present_account',
  'missing_account',
  'addresses',
  'present_total',
  'pct_of_present',
] as const;

export const REJECT_COLUMNS = ['run_id', 'account_id', 'raw_value', 'reason'] as const;

export type CsvCell = string | number | bigint | null;

/**
 * Rows as RFC 4180 CSV with a header (unless `header: false`: a later part of one file),
 * neutralising formula-leading text cells. `null` is an empty field.
 */
export function toReportCsv(
  columns: readonly string[],
  rows: ReadonlyArray<readonly CsvCell[]>,
  options: { header?: boolean } = {},
): string {
  return stringify(rows as CsvCell[][], {
    header: options.header ?? true,
    columns: [...columns],
    record_delimiter: '\r\n',
    // csv-stringify stops quoting bare CR or LF once record_delimiter is set; RFC 4180 needs it.
    quote_record_delimiter: true,
    escape_formulas: true,
    cast: {
      bigint: (value) => value.toString(),
      // Quoting a neutralised cell too, as OWASP advises; numbers never are. Any other value is
      // returned as it is: an options object per cell makes csv-stringify ~4× slower.
      string: (value) => (FORMULA_LEAD.test(value) ? { value, quoted: true } : value),
    },
  });
}

/** ISO 8601 UTC without a zero millisecond part: `2025-03-01T12:00:00Z`. */
export function isoUtc(value: string | null): string | null {
  return value === null ? null : value.replace(/\.000Z$/, 'Z');
}

/** One discrepancies.csv record, in DISCREPANCY_COLUMNS order. */
export function discrepancyCells(r: DiscrepancyRow): CsvCell[] {
  return [
    r.run_id,
    r.group_id,
    r.policy,
    r.kind,
    r.email_norm,
    r.present_in.join(LIST_SEPARATOR),
    r.missing_from.join(LIST_SEPARATOR),
    isoUtc(r.first_unsubscribed_at),
  ];
}

/** One rejects.csv record, in REJECT_COLUMNS order. */
export function rejectCells(r: RejectRow): CsvCell[] {
  return [r.run_id, r.account_id, r.raw_value, r.reason];
}

export function discrepanciesCsv(rows: readonly DiscrepancyRow[]): string {
  return toReportCsv(DISCREPANCY_COLUMNS, rows.map(discrepancyCells));
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  return toReportCsv(
    SUMMARY_COLUMNS,
    rows.map((r) => [
      r.run_id,
      r.group_id,
      r.policy,
      r.kind,
      r.present_account,
      r.missing_account,
      BigInt(r.addresses),
      BigInt(r.present_total),
      r.pct_of_present,
    ]),
  );
}

export function rejectsCsv(rows: readonly RejectRow[]): string {
  return toReportCsv(REJECT_COLUMNS, rows.map(rejectCells));
}

/**
 * Writes a report CSV (a new file) from batches of records, holding a few batches at a time
 * ({@link writeNewFile}), so a file of millions of rows costs the memory of a few batches. The bytes are exactly those of
 * {@link toReportCsv} over all the records at once: the header, then each batch's records.
 * @returns the number of records written.
 */
export async function writeReportCsv(
  file: string,
  columns: readonly string[],
  batches: AsyncIterable<ReadonlyArray<readonly CsvCell[]>>,
): Promise<number> {
  let records = 0;
  async function* text(): AsyncGenerator<string> {
    yield toReportCsv(columns, []);
    for await (const batch of batches) {
      if (batch.length === 0) continue;
      records += batch.length;
      yield toReportCsv(columns, batch, { header: false });
    }
  }
  await writeNewFile(file, text());
  return records;
}
