/**
 * WhatCounts HTTP API (`api_web`) wire format, as pure functions: argument names and aliases,
 * the `data` argument (header row + `^`-separated rows), the one-line `SUCCESS:` / `FAILURE:`
 * answers and the opt-out listings (plain, CSV, XML). No I/O: the simulator and its tests use
 * these, and a reader can check each rule against the seed (`shared/seeds/003_…txt`) and the
 * provider notes (`shared/providers/whatcounts.md`, cited as §n).
 */
import type { SimEntry } from '../core/simulator/store.js';

/** The one command endpoint (§1; every public client posts to `/bin/api_web`). */
export const API_PATH = '/bin/api_web';

/**
 * Realm/password mismatch. Undocumented; the only observed form is this bare body, which one
 * client compares byte for byte (§2, [C:1]) [A]. Sent with HTTP 200 like every other answer.
 */
export const AUTH_FAILURE_BODY = 'Invalid credentials';

/** Commands the simulator knows, by every spelling the docs and clients use (§3, §4, §8, §9). */
export const COMMANDS = {
  unsub: 'unsub',
  unsubscribe: 'unsub',
  show_opt: 'show_opt',
  show_optout: 'show_opt',
  show_optglobal: 'show_optglobal',
  sub: 'sub',
  subscribe: 'sub',
} as const satisfies Record<string, string>;
export type Command = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Long argument names and their short forms (seed "Arguments" tables: cmd/c, realm/r, pwd/p, data/d). */
const ALIASES: Readonly<Record<string, string>> = { cmd: 'c', realm: 'r', pwd: 'p', d: 'data' };

/**
 * Arguments keyed by their short name (`c`, `r`, `p`, `data`; other names lower-cased). Takes
 * the kit's merged query+form map (form wins, as PHP-style servers do). When a request spells
 * one argument twice (`c` and `cmd`), the first spelling seen wins [A: undocumented].
 */
export function canonicalArgs(params: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(params)) {
    const lower = rawName.toLowerCase();
    const name = ALIASES[lower] ?? lower;
    if (!Object.hasOwn(out, name)) out[name] = value;
  }
  return out;
}

/** Command by any documented spelling, case-insensitive; undefined if unknown. */
export function parseCommand(value: string | undefined): Command | undefined {
  const key = (value ?? '').trim().toLowerCase();
  return Object.hasOwn(COMMANDS, key) ? COMMANDS[key as keyof typeof COMMANDS] : undefined;
}

/** A whole number written in decimal digits (surrounding blanks tolerated), else undefined. */
export function parseWholeNumber(value: string | undefined): number | undefined {
  const text = (value ?? '').trim();
  if (!/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** `1` / `true` / `yes` (any case) switch a flag on; anything else, or absence, is off [A]. */
export function parseFlag(value: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test((value ?? '').trim());
}

// ---------------------------------------------------------------------------------------------
// The `data` argument

export interface DataRow {
  /** 1-based position among the contact rows (the header row is not counted). */
  readonly index: number;
  /** Field name (lower case) → value, trimmed, surrounding double quotes removed. */
  readonly fields: Readonly<Record<string, string>>;
  /** Why the row cannot be used (field count differs from the header); undefined = well formed. */
  readonly problem?: string;
}

export type ParsedData =
  | { ok: true; header: readonly string[]; rows: readonly DataRow[] }
  | { ok: false; reason: string };

/** One CSV-ish field: trimmed; a value wrapped in double quotes is unwrapped ([C:2] quotes values). */
const unquote = (value: string): string => {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/""/g, '"') : v;
};

/**
 * Parses `data`: the first `^`-separated row names the fields (comma-separated), every further
 * row is one contact (seed: `data=email,first^jane@domain.com,Jane^john@domain.com,John`).
 * Blanks and line breaks around `^` are tolerated: the seed itself writes `first ^jane…` and the
 * newer doc page puts each contact on its own line (§3, §8). Empty rows are skipped.
 * There is no escaping for `,` or `^` inside values (§3): they split, as on the real service.
 * A row whose field count differs from the header's is kept with a `problem` — it counts as a
 * failed record, not a failed command ("each additional contact must have the same number of
 * data fields", Subscribe doc [D:4]) [A].
 */
export function parseData(data: string | undefined): ParsedData {
  if (data === undefined || data.trim() === '')
    return { ok: false, reason: 'Missing required argument: data' };
  const [headerLine = '', ...lines] = data
    .split('^')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const header = headerLine.split(',').map((name) => unquote(name).toLowerCase());
  const rows: DataRow[] = [];
  for (const line of lines) {
    const values = line.split(',');
    const fields: Record<string, string> = {};
    header.forEach((name, i) => {
      fields[name] = unquote(values[i] ?? '');
    });
    const index = rows.length + 1;
    rows.push(
      values.length === header.length
        ? { index, fields }
        : { index, fields, problem: `row ${index} has ${values.length} fields, header has ${header.length}` },
    );
  }
  return { ok: true, header, rows };
}

/**
 * Whether WhatCounts would take this as an email address [A: the service's own rule is not
 * published; the failures clients report mention addresses that "do not appear to be valid"
 * ([C:2])]: one `@`, non-empty local part and a dotted domain, no blanks.
 */
export function isPlausibleEmail(email: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}

// ---------------------------------------------------------------------------------------------
// Answers of the write commands

export interface RecordCounts {
  /** Rows in `data` (header excluded). */
  readonly processed: number;
  /** Rows that took effect. */
  readonly done: number;
  /** Distinct contacts among the rows that took effect. */
  readonly contacts: number;
  /** Rows refused because the contact had an opt-out record (subscribe only). */
  readonly failedOptout?: number;
  /** Every other refused row (unknown contact, invalid address, malformed row, …). */
  readonly failedOther: number;
}

/**
 * The seed's one-line result, byte for byte (seed "Results"):
 * `SUCCESS: [a] record(s) processed. [b] users unsubscribed from list(s) [list_id] ([c] total
 * contacts), Records Failed Other Error [d]`. The seed's FAILURE template repeats the same
 * sentence, so a command in which no row took effect answers it after `FAILURE:` [A: §8].
 */
export function unsubAnswer(listId: string, counts: RecordCounts): string {
  const prefix = counts.done > 0 ? 'SUCCESS' : 'FAILURE';
  return (
    `${prefix}: ${counts.processed} record(s) processed. ${counts.done} users unsubscribed from list(s) ` +
    `${listId} (${counts.contacts} total contacts), Records Failed Other Error ${counts.failedOther}`
  );
}

/**
 * Subscribe result [A: the Subscribe page shows none]: the unsubscribe sentence mirrored, plus
 * the opt-out refusals that `force_sub=1` overrides, counted apart because they are the reason a
 * replay "undo" must force.
 */
export function subAnswer(listId: string, counts: RecordCounts): string {
  const prefix = counts.done > 0 ? 'SUCCESS' : 'FAILURE';
  return (
    `${prefix}: ${counts.processed} record(s) processed. ${counts.done} users subscribed to list(s) ` +
    `${listId} (${counts.contacts} total contacts), Records Failed Opt Out ${counts.failedOptout ?? 0}, ` +
    `Records Failed Other Error ${counts.failedOther}`
  );
}

/** `FAILURE: [Reason]` (seed "FAILURE"); reasons are ours [A] unless a client quoted one (§3). */
export const failure = (reason: string): string => `FAILURE: ${reason}`;

/** Reasons used by the simulator, in one place so the README and tests can quote them [A]. */
export const REASONS = {
  invalidCommand: 'Invalid command',
  missingListId: 'Missing or invalid argument: list_id',
  missingDays: 'Missing or invalid argument: days',
  daysTooLarge: (max: number) => `days must be between 1 and ${max}`,
  listNotFound: (listId: string) => `List ${listId} does not exist`,
  missingFormat: 'Missing or invalid argument: format (1, 2 or 99)',
  noEmailField: 'Email address is required in the data header',
  noCustomerKeyField: 'Customer Key is required for this realm',
  noRows: 'No contact records in data',
  subListZero: 'list_id must be a list, not 0',
  temporary: 'Temporary database error, please try again later',
} as const;

// ---------------------------------------------------------------------------------------------
// Opt-out listings (show_opt / show_optglobal)

export type OutputFormat = 'plain' | 'csv' | 'xml';

/** `output_format`: `csv` and `xml` ([C:1]); anything else is the default plain text (§4) [A]. */
export function parseOutputFormat(value: string | undefined): OutputFormat {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'csv' || v === 'xml' ? v : 'plain';
}

export interface ListingOptions {
  readonly format: OutputFormat;
  /** `headers=1`: first CSV row names the columns (§4). Ignored for plain and XML [A]. */
  readonly headers: boolean;
  /** Realm has Customer Key on: an extra `customer_key` column (Show Optouts doc, §4). */
  readonly customerKey: boolean;
}

export interface ListingRow {
  readonly email: string;
  readonly customerKey?: string;
}

/** Line terminator of plain and CSV listings [A: undocumented; `\n`]. */
export const EOL = '\n';

const csvCell = (value: string): string => `"${value.replace(/"/g, '""')}"`;

export const xmlEscape = (value: string): string =>
  value.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);

/**
 * Text before the first row. The doc's CSV example starts with `"Email"` (§4); the customer-key
 * column comes after it [A: order undocumented]. XML uses the `<data>` root one client tests for
 * ([C:1] `substr_compare($body, "<data>", …)`).
 */
export function listingHead(options: ListingOptions): string {
  if (options.format === 'xml') return '<data>';
  if (options.format === 'csv' && options.headers)
    return (options.customerKey ? `${csvCell('Email')},${csvCell('customer_key')}` : csvCell('Email')) + EOL;
  return '';
}

/**
 * One row. Plain: the address alone on its line (doc: "outputs the email address of the contact
 * in plain text"), `,customer_key` appended in Customer Key realms [A]. CSV: every cell quoted as
 * in the doc example. XML: one `<email>` per address as the bounce listings read by [C:1]
 * (`$xml->email`), followed by its `<customer_key>` in Customer Key realms [A].
 */
export function listingRow(row: ListingRow, options: ListingOptions): string {
  const key = row.customerKey ?? '';
  switch (options.format) {
    case 'csv':
      return (options.customerKey ? `${csvCell(row.email)},${csvCell(key)}` : csvCell(row.email)) + EOL;
    case 'xml':
      return (
        `<email>${xmlEscape(row.email)}</email>` +
        (options.customerKey ? `<customer_key>${xmlEscape(key)}</customer_key>` : '')
      );
    default:
      return (options.customerKey ? `${row.email},${key}` : row.email) + EOL;
  }
}

export function listingTail(options: ListingOptions): string {
  return options.format === 'xml' ? '</data>' : '';
}

/** Content type of a listing [A: UTF-8 assumed, §6]; the one-line answers are plain text. */
export function listingContentType(format: OutputFormat): string {
  if (format === 'xml') return 'text/xml; charset=UTF-8';
  if (format === 'csv') return 'text/csv; charset=UTF-8';
  return 'text/plain; charset=UTF-8';
}

export const TEXT_CONTENT_TYPE = 'text/plain; charset=UTF-8';

/** The empty record the `empty-last-page` fault appends (see README "Faults"). */
export function emptyRecord(options: ListingOptions): string {
  return options.format === 'xml' ? '<email></email>' : EOL;
}

/**
 * Streams a listing in chunks of about `chunkChars` (default 16 384), pulling rows lazily:
 * constant memory per request whatever the window holds. No rows ⇒ nothing at all — "If there
 * are no results matching the request, nothing is returned" (Show Optouts doc, §4).
 * `emptyTail` (the `empty-last-page` fault) ends the answer with one empty record, and makes an
 * empty window answer that record (after the CSV header when `headers=1`) instead of nothing.
 */
export function* renderListing(
  rows: Iterable<ListingRow>,
  options: ListingOptions,
  extras: { chunkChars?: number; emptyTail?: boolean } = {},
): Generator<string, void, undefined> {
  const chunkChars = extras.chunkChars ?? 16_384;
  let buffer = listingHead(options);
  let any = false;
  for (const row of rows) {
    any = true;
    buffer += listingRow(row, options);
    if (buffer.length >= chunkChars) {
      yield buffer;
      buffer = '';
    }
  }
  if (!any && !extras.emptyTail) return;
  if (extras.emptyTail) buffer += emptyRecord(options);
  buffer += listingTail(options);
  yield buffer;
}

/** Store entry → listing row (the customer key is looked up by the caller's function). */
export const toListingRow = (
  entry: SimEntry,
  customerKeyOf?: (email: string) => string | undefined,
): ListingRow => {
  const customerKey = customerKeyOf?.(entry.email);
  return customerKey === undefined ? { email: entry.email } : { email: entry.email, customerKey };
};
