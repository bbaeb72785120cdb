/**
 * `unsub-recon sql "QUERY" [--format table|csv|json]`: one read-only ad-hoc query on the warehouse.
 *
 * Three guards, in this order, so a query can neither change the warehouse nor reach outside it:
 *  1. the warehouse is opened READ_ONLY (DuckDB refuses any write; no writer lock is taken, so the
 *     command works while no other process holds the file for writing);
 *  2. external access is switched off and the configuration locked before the query is even
 *     parsed (`enable_external_access = false`, `lock_configuration = true`): no file reads such
 *     as `read_csv('/etc/passwd')`, no `COPY … TO`, no ATTACH of other files, no extension
 *     INSTALL/LOAD, and the query cannot switch it back on;
 *  3. the text must be exactly one statement whose prepared type is SELECT or EXPLAIN (DESCRIBE,
 *     SHOW, SUMMARIZE, `PRAGMA table_info` and `FROM t` parse as SELECT). Anything else — DROP,
 *     INSERT, UPDATE, DELETE, CREATE, COPY, ATTACH, INSTALL/LOAD, SET, EXPORT DATABASE, CALL,
 *     several statements — is refused with {@link ReadOnlyViolationError} (`SQL_READ_ONLY`,
 *     exit 2) naming the statement type, before anything runs.
 *
 * `--format json` (or the global `--json`) prints a JSON array of row objects, not the usual
 * one-object result: timestamps as ISO 8601 UTC strings, BIGINT/DECIMAL as strings, JSON
 * columns parsed.
 */
import { type DuckDBPreparedStatement, StatementType } from '@duckdb/node-api';
import { stringify } from 'csv-stringify/sync';
import { ReadOnlyViolationError, UsageError, WarehouseError } from '../extractors/core/errors.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { formatTable, jsonReplacer, type Output } from './output.js';

export const SQL_FORMATS = ['table', 'csv', 'json'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

export interface SqlCommandOptions {
  format?: string;
}

/** Statement types a read-only query may have. */
const ALLOWED_TYPES: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

/** Leading keywords of read statements: when DuckDB cannot prepare one, its own error is shown. */
const READ_KEYWORDS = new Set([
  'SELECT',
  'WITH',
  'FROM',
  'VALUES',
  'TABLE',
  'EXPLAIN',
  'DESCRIBE',
  'SHOW',
  'SUMMARIZE',
  'PRAGMA',
  '(',
]);

/** Resolves `--format` against the global `--json` flag. */
export function sqlFormat(option: string | undefined, json: boolean): SqlFormat {
  if (option !== undefined && !(SQL_FORMATS as readonly string[]).includes(option)) {
    throw new UsageError(`--format: got "${option}", expected one of ${SQL_FORMATS.join(', ')}`);
  }
  const format = (option ?? (json ? 'json' : 'table')) as SqlFormat;
  if (json && format !== 'json') {
    throw new UsageError(`--json prints JSON: it cannot be combined with --format ${format}`);
  }
  return format;
}

export async function sqlCommand(
  warehouseFile: string,
  query: string,
  options: SqlCommandOptions,
  out: Output,
): Promise<void> {
  const format = sqlFormat(options.format, out.json);
  const warehouse = await Warehouse.open(warehouseFile, { mode: 'read', command: 'sql' });
  try {
    await lockDown(warehouse);
    const columns = await checkReadOnly(warehouse, query);
    let rows: Record<string, unknown>[];
    try {
      rows = await warehouse.allJson(query);
    } catch (error) {
      throw asExternalAccessRefusal(error) ?? error;
    }
    out.result(rows, () => render(rows, columns, format));
  } finally {
    await warehouse.close();
  }
}

/** Turns off everything that reaches outside the warehouse file, for the rest of the session. */
async function lockDown(warehouse: Warehouse): Promise<void> {
  await warehouse.run('SET enable_external_access = false');
  await warehouse.run('SET lock_configuration = true');
}

/**
 * Refuses anything but one SELECT/EXPLAIN statement, before it runs.
 * @returns the result's column names (for a header even when there are no rows).
 * @throws ReadOnlyViolationError several statements, none, or a statement of another type.
 */
export async function checkReadOnly(warehouse: Warehouse, query: string): Promise<string[]> {
  const conn = warehouse.connection;
  if (query.trim() === '') throw new UsageError('sql: the query is empty');
  let count: number;
  let extracted: Awaited<ReturnType<typeof conn.extractStatements>>;
  try {
    extracted = await conn.extractStatements(query);
    count = extracted.count;
  } catch (error) {
    throw new WarehouseError(`sql: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (count !== 1) {
    throw new ReadOnlyViolationError(
      `sql runs exactly one read statement (SELECT or EXPLAIN); the query holds ${count} statements`,
    );
  }
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await extracted.prepare(0);
  } catch (error) {
    // Binding failed (unknown table, permission error, …). A write verb is still refused as such;
    // a read statement shows DuckDB's own reason.
    const keyword = leadingKeyword(query);
    if (!READ_KEYWORDS.has(keyword)) throw refusal(keyword || 'unknown');
    throw asExternalAccessRefusal(error) ?? new WarehouseError(`sql: ${messageOf(error)}`, { cause: error });
  }
  try {
    const type = prepared.statementType;
    if (!ALLOWED_TYPES.has(type)) throw refusal(StatementType[type] ?? String(type));
    return Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
  } finally {
    prepared.destroySync();
  }
}

function refusal(type: string): ReadOnlyViolationError {
  return new ReadOnlyViolationError(
    `sql is read-only: refused a statement of type ${type}; only SELECT and EXPLAIN queries run ` +
      '(DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info count as SELECT)',
  );
}

/** The first keyword of the query, upper-cased, after comments and whitespace. */
export function leadingKeyword(query: string): string {
  const text = query.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
  if (text.startsWith('(')) return '(';
  return (/^[A-Za-z_]+/.exec(text)?.[0] ?? '').toUpperCase();
}

/** A DuckDB permission error (external access disabled) becomes a read-only refusal. */
function asExternalAccessRefusal(error: unknown): ReadOnlyViolationError | undefined {
  const message = messageOf(error);
  if (!/Permission Error|disabled by configuration/i.test(message)) return undefined;
  return new ReadOnlyViolationError(
    `sql reads only the warehouse: files, network and extensions are disabled (${firstLine(message)})`,
    { cause: error },
  );
}

function render(rows: ReadonlyArray<Record<string, unknown>>, columns: string[], format: SqlFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows, jsonReplacer)}\n`;
    case 'csv':
      return toCsv(rows, columns);
    case 'table':
      return formatTable(rows, columns);
  }
}

/**
 * RFC 4180: header row (unless `header: false`: a later part of one file), CRLF-free quoting
 * where needed; values byte-exact (no formula escaping).
 */
export function toCsv(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: string[],
  options: { header?: boolean } = {},
): string {
  return stringify(
    rows.map((row) => columns.map((c) => row[c])),
    {
      header: options.header ?? true,
      columns,
      record_delimiter: '\r\n',
      // csv-stringify stops quoting a bare CR or LF once record_delimiter is set; RFC 4180 needs it.
      quote_record_delimiter: true,
      cast: {
        boolean: (value) => String(value),
        object: (value) => JSON.stringify(value, jsonReplacer),
        bigint: (value) => value.toString(),
        date: (value) => value.toISOString(),
      },
    },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
