/**
 * WhatCounts extraction: windows, paging and parsing for the opt-out listings `show_optglobal`
 * (scope `global`) and `show_opt&list_id=N` (scope `list:N`) of the HTTP API `api_web`
 * (provider notes `shared/providers/whatcounts.md`, cited as §n; seed 003 for the write side).
 *
 * The listings have two properties that shape everything here:
 *  - they select by `days` = "the last N days" counted back from the SERVER's now (§4, §6), so a
 *    window always ends at now and can never be split into older parts;
 *  - they carry no timestamp at all (§4): a row only says "opted out within the window". The
 *    engine stores each row's `fetched_at`, which is therefore the observation time; rows say so
 *    with `rawTime: null`, `capabilities.timePrecision: 'none'` and the `_time` marker in `record`.
 *
 * Pure: no I/O, no clock (the run's "now" comes in `ExtractContext.now`).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import type { AccountConfig } from '../core/config.js';
import { ProviderError } from '../core/errors.js';
import type { HttpResponse, RequestSpec } from '../core/http.js';
import { SingleShotPaginator, type SingleShotRequest } from '../core/paginate.js';
import type {
  ExtractContext,
  ExtractWindow,
  ParsedPage,
  ProviderCapabilities,
  RawRow,
} from '../core/provider.js';
import type { InstantRange } from '../core/types.js';
import { resolveZone } from '../core/windows.js';

export const PROVIDER = 'whatcounts';

/** The one command endpoint, appended to the account's `baseUrl` (§1). */
export const API_PATH = '/bin/api_web';

export const DAY_MS = 86_400_000;

/**
 * Largest `days` we ever send. WhatCounts documents no maximum (§7 [A]); 100 years is far beyond
 * any `since` (default 2010-01-01) and only stops a typo from producing an absurd request. A
 * server that enforces a smaller cap answers `FAILURE: days must be …`, reported as
 * DAYS_TOO_LARGE (see classifyAnswer).
 */
export const MAX_DAYS = 36_500;

/**
 * How late after `ctx.now` a request may reach the server and still cover the window's start.
 * `days` counts back from the server's clock at the moment it answers (§6), not from our plan: a
 * request queued behind the rate limit or retried with backoff (DEFAULT_RETRY spans ~15 s, a
 * rate-limited run minutes) would otherwise lose the first minutes of the range while the
 * completeness record claims them. One hour also absorbs clock skew between us and WhatCounts.
 */
export const SEND_DELAY_SLACK_MS = 3_600_000;

/**
 * Read format. CSV with `headers=1` (§4 [D:1], [C:2]) is the most robust shape the API offers:
 * the header names the columns (so a Customer Key realm's extra `customer_key` column is found by
 * name, whatever its position), and every cell is quoted, so a body cut inside a row shows up as
 * an unclosed quote instead of a shortened address. Plain text would have neither property.
 */
export const LISTING_FORMAT = { output_format: 'csv', headers: '1' } as const;

/** Marker put in every record: the listing has no time; the row's `fetched_at` is when it was observed. */
export const TIME_MARKER = {
  _time: 'observed: no provider time; fetched_at is the observation time',
} as const;

export const capabilities: ProviderCapabilities = {
  timePrecision: 'none',
  timeFormat: null,
  canDelete: false,
  deleteCaveat:
    'WhatCounts has no command that deletes an opt-out record. The only undo is the Subscribe command ' +
    'with force_sub=1 (c=sub&force_sub=1), which clears the opt-out AND subscribes the person to a list ' +
    '(provider notes §5) — that re-subscribes someone, it is not a suppression removal. Remove the ' +
    'opt-out by hand in WhatCounts if the person really asked to receive mail again.',
  // See client.ts WRITE_BATCH_SIZE: 500 `data` rows per `c=unsub` request (§7 [A]).
  writeBatchSize: 500,
};

// ---------------------------------------------------------------------------------------------
// Account options

export interface WhatCountsOptions {
  /** List ids whose list-level opt-outs are read as scope `list:<id>`; global is always read. */
  readonly lists: readonly string[];
  /** Realm has Customer Key on: `customer_key` is required in `data` (seed "Customer Key Example"). */
  readonly customerKey: boolean;
  /** The list a mirror "delete" would re-subscribe to (DESIGN config table); unused: deletes are refused. */
  readonly resubscribeList?: string;
}

const LIST_ID = /^\d+$/;

/**
 * The account's options, checked again here because `AccountConfig.options` is untyped; numbers
 * are accepted as the config schema does. Duplicate list ids are read once.
 * @throws TypeError naming the account and the option when a value has the wrong shape.
 */
export function whatcountsOptions(account: AccountConfig): WhatCountsOptions {
  const o = account.options ?? {};
  const bad = (what: string): never => {
    throw new TypeError(`whatcounts account ${account.id}: options.${what}`);
  };
  const asId = (v: unknown, what: string): string => {
    const s = typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? String(v) : v;
    if (typeof s !== 'string' || !LIST_ID.test(s) || /^0+$/.test(s))
      return bad(`${what} must be a list id (whole number ≥ 1)`);
    return String(Number(s));
  };
  const rawLists = o['lists'] ?? [];
  if (!Array.isArray(rawLists)) bad('lists must be an array of list ids');
  const lists = [...new Set((rawLists as unknown[]).map((v, i) => asId(v, `lists[${i}]`)))];
  const customerKey = o['customerKey'] ?? false;
  if (typeof customerKey !== 'boolean') bad('customerKey must be true or false');
  const resubscribe = o['resubscribeList'];
  return {
    lists,
    customerKey: customerKey as boolean,
    ...(resubscribe === undefined ? {} : { resubscribeList: asId(resubscribe, 'resubscribeList') }),
  };
}

// ---------------------------------------------------------------------------------------------
// Windows

/** Scope → listing command and arguments (§4). */
export type ListingScope = { kind: 'global' } | { kind: 'list'; listId: string };

/** `global` or `list:<id>` (DESIGN "Scope"). @throws RangeError for anything else. */
export function parseScope(scope: string): ListingScope {
  if (scope === 'global') return { kind: 'global' };
  const m = /^list:(\d+)$/.exec(scope);
  if (m && !/^0+$/.test(m[1]!)) return { kind: 'list', listId: String(Number(m[1])) };
  throw new RangeError(`whatcounts scope ${JSON.stringify(scope)} is not "global" or "list:<id>"`);
}

/** Every scope of the account: global first, then each configured list. */
export function scopesOf(account: AccountConfig): string[] {
  return ['global', ...whatcountsOptions(account).lists.map((id) => `list:${id}`)];
}

/**
 * The smallest `days` whose window, counted back from `now`, starts at or before `target` under
 * BOTH readings of `days` the docs allow (§6 [A], simulator `daysMode`):
 *  - rolling: the last `days` × 24 h → need `now − days·24h ≤ target`;
 *  - calendar: from local midnight `days − 1` days before today, in the realm's zone → need that
 *    midnight ≤ target, i.e. `days ≥ (local dates between target and now) + 1`.
 * At least 1 (`days` must be ≥ 1 [D:1]).
 */
export function daysReaching(target: number, now: number, zone: string): number {
  const rolling = Math.ceil((now - target) / DAY_MS);
  const z = resolveZone(zone);
  const today = DateTime.fromMillis(now, { zone: z }).startOf('day');
  const first = DateTime.fromMillis(target, { zone: z }).startOf('day');
  // Both are local midnights, so the difference is whole calendar days (23/25-hour days included).
  const calendar = Math.round(today.diff(first, 'days').days) + 1;
  return Math.max(1, rolling, calendar);
}

/**
 * Earliest instant a `days` request is guaranteed to cover, under either reading, when it is
 * sent at most SEND_DELAY_SLACK_MS after `now`.
 */
export function coveredFrom(days: number, now: number, zone: string): number {
  const rolling = now - days * DAY_MS;
  const calendar = DateTime.fromMillis(now, { zone: resolveZone(zone) })
    .startOf('day')
    .minus({ days: days - 1 })
    .toMillis();
  return Math.max(rolling, calendar) + SEND_DELAY_SLACK_MS;
}

/**
 * One window per scope (`global`, then `list:<id>` per configured list), each `[range.from, now)`
 * with `params.days` = the smallest `days` that reaches back to `range.from − SEND_DELAY_SLACK_MS`
 * (see daysReaching).
 *
 * - `to` is always `ctx.now`: `days` counts back from the server's now, so the answer holds
 *   everything up to now whatever `range.to` was; recording `to = now` keeps the completeness
 *   record honest (and the part of a range after now has not happened yet).
 * - A range needing more than MAX_DAYS is planned with MAX_DAYS and its `from` moved to what that
 *   request really covers: `days` cannot reach older history in several requests, so the rest of
 *   the range stays uncovered and the plan says so instead of pretending.
 * - An empty range, or one starting at or after now, gives no windows.
 * @throws TypeError for malformed account options; WindowError for a bad zone.
 */
export function planWindows(range: InstantRange, ctx: ExtractContext): ExtractWindow[] {
  const now = ctx.now;
  if (!(range.from < range.to) || range.from >= now) return [];
  const zone = ctx.account.timezone;
  let days = daysReaching(range.from - SEND_DELAY_SLACK_MS, now, zone);
  let from = range.from;
  if (days > MAX_DAYS) {
    days = MAX_DAYS;
    from = Math.max(range.from, coveredFrom(MAX_DAYS, now, zone));
  }
  return scopesOf(ctx.account).map((scope) => {
    const s = parseScope(scope);
    const params: Record<string, string> =
      s.kind === 'global'
        ? { c: 'show_optglobal', days: String(days) }
        : { c: 'show_opt', list_id: s.listId, days: String(days) };
    return { from, to: now, scope, params };
  });
}

/** A `days` window always ends at the server's now: it cannot be cut into older parts (§7). */
export function splitWindow(): null {
  return null;
}

/** No paging: one answer holds the whole window (§7 [D:1]). */
export function paginator(): SingleShotPaginator {
  return new SingleShotPaginator();
}

// ---------------------------------------------------------------------------------------------
// Requests

/** `<baseUrl>/bin/api_web` (§1: the client appends the documented path). */
export function apiUrl(account: AccountConfig): string {
  return `${account.baseUrl.replace(/\/+$/, '')}${API_PATH}`;
}

/**
 * A form POST to `api_web` (§1: every public client posts; the password stays out of the URL and
 * long `data` values out of URL length limits). `r`/`p` come first, from the account.
 */
export function formRequest(
  account: AccountConfig,
  args: Readonly<Record<string, string>>,
  extra: { idempotent: boolean; window?: { from: string; to: string } },
): RequestSpec {
  const realm = account.credentials['realm'];
  const password = account.credentials['password'];
  if (!realm || !password) {
    throw new TypeError(
      `whatcounts account ${account.id}: credentials.realm and credentials.password are required`,
    );
  }
  const { c, ...rest } = args;
  const body = new URLSearchParams({ c: c ?? '', r: realm, p: password, ...rest }).toString();
  return {
    method: 'POST',
    url: apiUrl(account),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    body,
    idempotent: extra.idempotent,
    ...(extra.window ? { window: extra.window } : {}),
  };
}

/** Listing arguments for one scope and `days` (§4): CSV with headers. */
export function listingArgs(scope: string, days: number): Record<string, string> {
  if (!Number.isSafeInteger(days) || days < 1)
    throw new RangeError(`days must be a whole number ≥ 1, got ${days}`);
  const s = parseScope(scope);
  const head: Record<string, string> =
    s.kind === 'global' ? { c: 'show_optglobal' } : { c: 'show_opt', list_id: s.listId };
  return { ...head, days: String(days), ...LISTING_FORMAT };
}

/** The request for a window (reads are idempotent, so the engine may retry the POST). */
export function request(window: ExtractWindow, _page: SingleShotRequest, ctx: ExtractContext): RequestSpec {
  const days = Number(window.params['days']);
  return formRequest(ctx.account, listingArgs(window.scope, days), {
    idempotent: true,
    window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
  });
}

// ---------------------------------------------------------------------------------------------
// Answers: classification of the one-line results (shared with client.ts)

const AUTH_BODY = /^invalid credentials\.?$/i;
/** FAILURE reasons about the login (§2, §9: the real text is unconfirmed, so match the idea). */
const AUTH_REASON =
  /credential|password|authenticat|unauthori[sz]ed|access denied|log ?in\b|invalid realm|unknown realm|realm\b.*\b(?:not found|does not exist|inactive|disabled)/i;
/** FAILURE reasons that a later attempt may not get (DESIGN "Extraction": retried). */
const TEMPORARY_REASON =
  /temporar|try again|again later|database error|server error|internal error|timed? ?out|unavailable|busy|maintenance|overload|too many requests|rate limit/i;
const DAYS_TOO_LARGE = /days must be between 1 and (\d+)/i;
const LIST_NOT_FOUND = /list\s+(\d+)\s+does not exist/i;

/** First non-blank line, without a BOM. */
function firstLine(text: string): string {
  return (
    text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

/**
 * Throws the ProviderError an in-band error answer stands for, or returns when `text` is not one.
 * Every WhatCounts answer is HTTP 200 (§1, §9), so this is the only place errors are recognised.
 *
 * | answer | family | providerCode |
 * |---|---|---|
 * | `Invalid credentials`, or `FAILURE:` about credentials/password/realm/login | fatal | AUTH |
 * | `FAILURE:` temporary / try again / database or server error / timeout / busy | retriable | TEMPORARY |
 * | `FAILURE: days must be between 1 and N` | skippable | DAYS_TOO_LARGE |
 * | `FAILURE: List N does not exist` | skippable | LIST_NOT_FOUND |
 * | any other `FAILURE:` without the write counters | skippable | FAILURE |
 *
 * Skippable: the window (or write) fails and is recorded, the account's other scopes go on; a
 * missing list or a bad argument does not heal by retrying, and other scopes are still worth
 * reading. `FAILURE:` followed by the unsubscribe counter sentence is NOT an error here: it is a
 * write result in which no row took effect (seed "FAILURE"), handled by parseWriteResult.
 */
export function classifyAnswer(text: string, accountId: string): void {
  const line = firstLine(text);
  const who = `whatcounts account ${accountId}`;
  if (AUTH_BODY.test(line)) {
    throw new ProviderError(
      `${who}: WhatCounts refused the realm and password ("Invalid credentials"); check the account's credentials (realm, password)`,
      { provider: PROVIDER, accountId, providerCode: 'AUTH', family: 'fatal' },
    );
  }
  const m = /^FAILURE:\s*(.*)$/i.exec(line);
  if (!m) return;
  const reason = m[1] ?? '';
  if (WRITE_COUNTS.test(reason)) return;
  if (AUTH_REASON.test(reason)) {
    throw new ProviderError(
      `${who}: WhatCounts refused the login (FAILURE: ${reason}); check the account's credentials (realm, password)`,
      { provider: PROVIDER, accountId, providerCode: 'AUTH', family: 'fatal' },
    );
  }
  if (TEMPORARY_REASON.test(reason)) {
    throw new ProviderError(`${who}: temporary WhatCounts error (FAILURE: ${reason})`, {
      provider: PROVIDER,
      accountId,
      providerCode: 'TEMPORARY',
      family: 'retriable',
    });
  }
  const tooLarge = DAYS_TOO_LARGE.exec(reason);
  if (tooLarge) {
    throw new ProviderError(
      `${who}: WhatCounts accepts at most days=${tooLarge[1]} (FAILURE: ${reason}); a days window cannot be ` +
        `split into older parts, so set the account's "since" within ${tooLarge[1]} days of today`,
      { provider: PROVIDER, accountId, providerCode: 'DAYS_TOO_LARGE', family: 'skippable' },
    );
  }
  const missing = LIST_NOT_FOUND.exec(reason);
  if (missing) {
    throw new ProviderError(
      `${who}: list ${missing[1]} does not exist in the realm (FAILURE: ${reason}); check options.lists`,
      { provider: PROVIDER, accountId, providerCode: 'LIST_NOT_FOUND', family: 'skippable' },
    );
  }
  throw new ProviderError(`${who}: WhatCounts answered FAILURE: ${reason}`, {
    provider: PROVIDER,
    accountId,
    providerCode: 'FAILURE',
    family: 'skippable',
  });
}

/** The seed's counter sentence (after SUCCESS: or FAILURE:). */
const WRITE_COUNTS =
  /(\d+)\s+record\(s\)\s+processed\.\s+(\d+)\s+users\s+unsubscribed\s+from\s+list\(s\)\s+(\S+)\s+\((\d+)\s+total\s+contacts\),\s+Records\s+Failed\s+Other\s+Error\s+(\d+)/i;

export interface WriteResult {
  readonly ok: boolean;
  /** `[a] record(s) processed` */
  readonly processed: number;
  /** `[b] users unsubscribed` */
  readonly unsubscribed: number;
  readonly listId: string;
  /** `([c] total contacts)` */
  readonly contacts: number;
  /** `Records Failed Other Error [d]` */
  readonly failed: number;
  /** The answer line, for replay_log. */
  readonly line: string;
}

/**
 * Parses `SUCCESS: a record(s) processed. b users unsubscribed from list(s) L (c total contacts),
 * Records Failed Other Error d` (seed "Results"; the same sentence after `FAILURE:`, §3/§8).
 * Returns null for any other answer (call classifyAnswer first for errors).
 */
export function parseWriteResult(text: string): WriteResult | null {
  const line = firstLine(text);
  const prefix = /^(SUCCESS|FAILURE):/i.exec(line);
  const m = WRITE_COUNTS.exec(line);
  if (!prefix || !m) return null;
  return {
    ok: prefix[1]!.toUpperCase() === 'SUCCESS',
    processed: Number(m[1]),
    unsubscribed: Number(m[2]),
    listId: m[3]!,
    contacts: Number(m[4]),
    failed: Number(m[5]),
    line,
  };
}

// ---------------------------------------------------------------------------------------------
// Listings

/**
 * Body text. Charset is undocumented (§6 [A]: assume UTF-8, fall back to Latin-1 on invalid
 * bytes): an answer declared or defaulted as UTF-8 that does not decode is read as Latin-1, so a
 * Latin-1 "é" stays "é" instead of U+FFFD.
 */
export function bodyText(response: HttpResponse): string {
  if (response.malformed && (response.charset === 'utf-8' || response.charset === 'utf8'))
    return response.body.toString('latin1');
  return response.text;
}

export interface ListingRow {
  /** The address cell exactly as received. */
  readonly email: string;
  /** Cells keyed by the header's column names as received (e.g. `Email`, `customer_key`). */
  readonly record: Readonly<Record<string, string>>;
}

/** Column names assumed when a listing comes without its header row [A: doc example order]. */
const HEADERLESS_COLUMNS = ['Email', 'customer_key'] as const;

/**
 * Parses a listing answer into rows (§4 [D:1]).
 * - empty body (or blank lines only) = no rows — the documented "nothing is returned";
 * - the header row is recognised by a cell named `email` (any case); without one the columns are
 *   taken as `Email`, `customer_key` in that order;
 * - blank lines are not records (the `empty-last-page` answer); a quoted empty cell `""` IS a row
 *   (its empty address goes to `rejects` in SQL, never silently dropped).
 * @throws ProviderError (see classifyAnswer) for in-band errors; retriable for a body that is not
 *   CSV (markup, an unclosed quote from a body cut short, ragged rows); skippable for a write
 *   result where a listing was asked.
 */
export function parseListing(text: string, accountId: string): ListingRow[];
export function parseListing<T>(
  text: string,
  accountId: string,
  makeRow: (email: string, record: Record<string, string>) => T,
): T[];
export function parseListing<T>(
  text: string,
  accountId: string,
  makeRow: (email: string, record: Record<string, string>) => T = (email, record) => ({ email, record }) as T,
): T[] {
  classifyAnswer(text, accountId);
  const who = `whatcounts account ${accountId}`;
  const head = firstLine(text);
  if (head === '') return [];
  if (/^SUCCESS:/i.test(head)) {
    throw new ProviderError(
      `${who}: a listing request was answered with a write result: ${head.slice(0, 200)}`,
      {
        provider: PROVIDER,
        accountId,
        providerCode: 'UNEXPECTED_ANSWER',
        family: 'skippable',
      },
    );
  }
  if (head.startsWith('<')) {
    // An HTML error page from a proxy or a maintenance page (CSV was asked for): try again.
    throw new ProviderError(`${who}: expected a CSV listing, got markup: ${head.slice(0, 120)}`, {
      provider: PROVIDER,
      accountId,
      providerCode: 'NOT_CSV',
      family: 'retriable',
    });
  }
  // Each record becomes its row as csv-parse reads it (on_record): a whole history arrives in
  // one answer (millions of rows at scale), so no intermediate array of cells is kept.
  let columns: string[] | undefined;
  let emailAt = 0;
  try {
    return parseCsv(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
      trim: false,
      // csv-parse's types expect records to stay string[]; ours become rows
      on_record: ((cells: string[]) => {
        if (columns === undefined) {
          const hasHeader = cells.some((c) => c.trim().toLowerCase() === 'email');
          columns = hasHeader ? cells : cells.map((_, i) => HEADERLESS_COLUMNS[i] ?? `column_${i + 1}`);
          emailAt = hasHeader ? cells.findIndex((c) => c.trim().toLowerCase() === 'email') : 0;
          if (hasHeader) return null;
        }
        const record: Record<string, string> = {};
        columns.forEach((name, i) => {
          record[name] = cells[i] ?? '';
        });
        return makeRow(cells[emailAt] ?? '', record);
      }) as unknown as (cells: string[]) => string[] | null,
    }) as unknown as T[];
  } catch (error) {
    throw new ProviderError(
      `${who}: the CSV listing is cut short or garbled (${(error as Error).message.slice(0, 200)})`,
      { provider: PROVIDER, accountId, providerCode: 'BAD_CSV', family: 'retriable' },
    );
  }
}

/** Engine hook: one window's answer → raw rows of the window's scope (rawTime null: §4). */
export function parse(response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage {
  const rows = parseListing(
    bodyText(response),
    ctx.account.id,
    (email, record): RawRow => ({
      email,
      rawTime: null,
      scope: window.scope,
      record: Object.assign(record, TIME_MARKER),
    }),
  );
  return { rows, total: null };
}
