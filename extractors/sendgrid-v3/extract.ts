/**
 * SendGrid Web API v3 global unsubscribes (`sendgrid-v3`, no seed): windows, paging, requests and
 * answer parsing for `GET /v3/suppression/unsubscribes`, plus the request and error helpers the
 * client (client.ts) shares.
 *
 * Source: shared/providers/sendgrid-v3.md (§n, [D:n] = its Sources; [A] = our assumption). The
 * simulator in this folder (README.md) is the executable reading of it.
 *
 * - Windows are half-open instant ranges cut at UTC half-years, widened to whole seconds and sent
 *   as INCLUSIVE Unix seconds `start_time` … `end_time` = `to − 1` (§3: both bounds inclusive).
 * - Offset paging `limit` = 500 (the maximum, §3) and `offset` in multiples of `limit`, stopped by
 *   a short page.
 * - Errors come as HTTP statuses with `{"errors":[{"field","message"}]}` bodies (§4); the
 *   refusals that retrying cannot fix (400, 401, 403, 406, 451) are handed to the parser and
 *   classified here; 429 and 5xx are retried by the engine, 429 waiting for `X-RateLimit-Reset`.
 */
import type { DateTime } from 'luxon';
import type { AccountConfig } from '../core/config.js';
import { ProviderError, WindowError } from '../core/errors.js';
import type { HttpMethod, HttpResponse, RequestSpec } from '../core/http.js';
import { OffsetPaginator, type OffsetRequest } from '../core/paginate.js';
import type {
  ExtractContext,
  ExtractWindow,
  ParsedPage,
  ProviderCapabilities,
  RawRow,
} from '../core/provider.js';
import type { InstantRange } from '../core/types.js';
import { splitHalfOpen } from '../core/windows.js';

export const PROVIDER = 'sendgrid-v3';

/** §1: listing lives under `/v3/suppression/…`, writing under `/v3/asm/suppressions/global`. */
export const LIST_PATH = '/v3/suppression/unsubscribes';
export const GLOBAL_PATH = '/v3/asm/suppressions/global';

/** `limit` is 1 … 500 (§3): always ask for the maximum. */
export const PAGE_SIZE = 500;

/**
 * No window maximum is documented (§6) and the sort order is not either [A]: a window only keeps
 * offset paging short and stable (a list that changes mid-window shifts every later page) and a
 * failed window cheap to redo. Windows end at the next UTC 1 January or 1 July, so reruns ask for
 * the same ranges.
 */
export const WINDOW_MONTHS = 6;

/** Addresses per `POST /v3/asm/suppressions/global`: undocumented; 500 matches the historic bulk-delete cap (§6, [D:4]). */
export const WRITE_BATCH_SIZE = 500;

/**
 * `created` is Unix seconds, UTC by definition (§4, §5). It is staged as an ISO 8601 instant
 * (`2015-09-30T22:12:21Z`, the raw JSON record keeps the integer), read by the transform without
 * the account's zone. Deletes are by address only (§1), so they are safe.
 */
export const capabilities: ProviderCapabilities = {
  timePrecision: 'second',
  timeFormat: 'iso8601',
  canDelete: true,
  writeBatchSize: WRITE_BATCH_SIZE,
};

// ---------------------------------------------------------------------------------------------
// Windows

const SECOND = 1000;
const floorSecond = (ms: number): number => Math.floor(ms / SECOND) * SECOND;
const ceilSecond = (ms: number): number => Math.ceil(ms / SECOND) * SECOND;

/** A whole-second window `[from, to)` with the inclusive Unix seconds v3 expects as its params. */
function makeWindow(from: number, to: number): ExtractWindow {
  return {
    from,
    to,
    scope: 'global',
    params: { start_time: String(from / SECOND), end_time: String(to / SECOND - 1) },
  };
}

/** The next UTC 1 January or 1 July after `start`. */
const nextHalfYear = (start: DateTime): DateTime =>
  start.startOf('year').plus({ months: start.month > WINDOW_MONTHS ? 2 * WINDOW_MONTHS : WINDOW_MONTHS });

/**
 * Windows covering `range`: widened to whole seconds (`created` has no finer grain, so no row
 * can fall in the widened edges that another window reads), then cut at UTC half-years. Each
 * window `[from, to)` is sent as `start_time = from` and `end_time = to − 1` in seconds: a row
 * created exactly at a boundary second belongs to the later window only. An empty range gives `[]`.
 * @throws WindowError for a range that ends before it starts or a non-finite bound.
 */
export function planV3Windows(range: InstantRange): ExtractWindow[] {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.from > range.to) {
    throw new WindowError(`${PROVIDER}: cannot plan the range [${range.from}, ${range.to})`);
  }
  if (range.from === range.to) return [];
  const widened = { from: floorSecond(range.from), to: ceilSecond(range.to) };
  return splitHalfOpen(widened, 'UTC', nextHalfYear).map((w) => makeWindow(w.from, w.to));
}

/**
 * Halves of a window the engine found too slow or too large, cut at a whole second; null for a
 * one-second window (the API cannot be asked for less).
 */
export function splitV3Window(window: ExtractWindow): [ExtractWindow, ExtractWindow] | null {
  const seconds = (window.to - window.from) / SECOND;
  if (seconds < 2) return null;
  const mid = window.from + Math.floor(seconds / 2) * SECOND;
  return [makeWindow(window.from, mid), makeWindow(mid, window.to)];
}

// ---------------------------------------------------------------------------------------------
// Paging

/**
 * offset paging stopped by a short page. The next `offset` advances by the `limit` asked for, as
 * the API wants offsets in multiples of `limit` (§3), not by the rows received: a page carrying a
 * row twice (the simulator's `duplicate-row`, or a list that grew mid-window) must not make us
 * skip the row after it. A provider ignoring `offset` is stopped by the engine's loop guard.
 */
export class V3Paginator extends OffsetPaginator {
  constructor() {
    super({ pageSize: PAGE_SIZE, advanceBy: 'limit' });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

/** The account's API key (config `credentials.apiKey`; DESIGN.md "Config file"). */
export function apiKeyOf(account: AccountConfig): string {
  const { apiKey } = account.credentials;
  if (!apiKey) {
    throw new ProviderError(
      `${PROVIDER} account "${account.id}": credentials.apiKey is required; check the account's credentials in the config`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'CREDENTIALS', family: 'fatal' },
    );
  }
  return apiKey;
}

/**
 * Waits out a spent budget (§4 "Rate limiting"): when `X-RateLimit-Remaining` is 0, until
 * `X-RateLimit-Reset` (Unix seconds); for a 429 whose reset has already passed (clocks differ by
 * up to a second), one second. Undefined when the headers ask for nothing.
 */
export function rateLimitWait(
  status: number,
  headers: Readonly<Record<string, string>>,
  nowMs: number,
): number | undefined {
  const remaining = Number(headers['x-ratelimit-remaining']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] === undefined || !(remaining <= 0) || !Number.isFinite(reset)) {
    return undefined;
  }
  const wait = reset * SECOND - nowMs;
  return status === 429 ? Math.max(wait, SECOND) : Math.max(wait, 0);
}

/**
 * Statuses handed to the parser instead of thrown by the engine, so they become ProviderErrors
 * naming the account (§4): 400 bad request, 401 wrong key, 403 refused / blocked, 404 not found
 * (a delete of an absent address), 406 missing Accept, 451 data residency.
 */
export const REFUSAL_STATUSES: readonly number[] = [400, 401, 403, 404, 406, 451];

/**
 * A v3 request: `Authorization: Bearer`, `Accept: application/json` (406 without it, §4), the
 * account's `on-behalf-of` (§2), a JSON body when given, and the rate-limit headers read by the
 * engine. `path` is appended to the account's base URL (the EU host when `region` is `eu`).
 */
export function v3Request(
  account: AccountConfig,
  method: HttpMethod,
  path: string,
  options: { query?: Readonly<Record<string, string>>; json?: unknown; idempotent: boolean },
): RequestSpec {
  const headers: Record<string, string> = {
    authorization: `Bearer ${apiKeyOf(account)}`,
    accept: 'application/json',
  };
  const onBehalfOf = account.options.onBehalfOf;
  if (typeof onBehalfOf === 'string' && onBehalfOf !== '') headers['on-behalf-of'] = onBehalfOf;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
  return {
    method,
    url: `${account.baseUrl}${path}${query}`,
    headers,
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    idempotent: options.idempotent,
    acceptStatuses: REFUSAL_STATUSES,
    rateLimitWait,
  };
}

/**
 * The list request for one page of one window: `start_time`/`end_time` recomputed from the
 * window's instants (so params and instants cannot disagree), `limit`, `offset`.
 * @throws WindowError for a window not on whole seconds; RangeError for a page outside the API's
 *   limits (a planning bug: sending it would only earn a 400).
 */
export function listRequest(window: ExtractWindow, page: OffsetRequest, account: AccountConfig): RequestSpec {
  if (window.from % SECOND !== 0 || window.to % SECOND !== 0 || window.to <= window.from) {
    throw new WindowError(
      `${PROVIDER}: window [${window.from}, ${window.to}) is not a non-empty range of whole seconds; plan it with planV3Windows`,
    );
  }
  if (!Number.isSafeInteger(page.offset) || page.offset < 0 || page.limit < 1 || page.limit > PAGE_SIZE) {
    throw new RangeError(
      `${PROVIDER}: page offset=${page.offset} limit=${page.limit} is outside offset ≥ 0, 1 ≤ limit ≤ ${PAGE_SIZE}`,
    );
  }
  return v3Request(account, 'GET', LIST_PATH, {
    query: {
      start_time: String(window.from / SECOND),
      end_time: String(window.to / SECOND - 1),
      limit: String(page.limit),
      offset: String(page.offset),
    },
    idempotent: true,
  });
}

// ---------------------------------------------------------------------------------------------
// Answers (§4)

export interface V3ErrorItem {
  readonly field: string | null;
  readonly message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `errors` array of an error body, or null when the body has none. */
export function errorItems(body: unknown): V3ErrorItem[] | null {
  if (!isObject(body) || !Array.isArray(body.errors)) return null;
  return body.errors.map((e) => ({
    field: isObject(e) && typeof e.field === 'string' ? e.field : null,
    message: isObject(e) && typeof e.message === 'string' ? e.message : JSON.stringify(e),
  }));
}

/** `<status> "<field>: <message>; …"`: the provider's words for messages and replay_log. */
export function describeAnswer(status: number, items: readonly V3ErrorItem[] | null): string {
  if (!items || items.length === 0) return String(status);
  return `${status} "${items.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}"`;
}

/** The body as JSON, or a retriable ProviderError for one that is not (cut short, a gateway page). */
export function parseJson(response: HttpResponse, account: AccountConfig, what: string): unknown {
  try {
    return JSON.parse(response.text);
  } catch {
    throw new ProviderError(
      `${PROVIDER} account "${account.id}": ${what} answered HTTP ${response.status} with a body that is not JSON (${response.body.length} bytes); will retry`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'MALFORMED', family: 'retriable' },
    );
  }
}

/**
 * The ProviderError for a refusal status (`REFUSAL_STATUSES`), for every call:
 * - 401 wrong or missing key, 403 refused (a key without the suppression scopes, an unknown
 *   `on-behalf-of`, or the temporary block after too many bad requests) → fatal, naming the
 *   account and what to check;
 * - 451 data residency → fatal: the account is pinned to the other region (§1);
 * - 404 → fatal: the path does not exist there, a wrong `baseUrl`;
 * - 400, 406 → fatal: the request unsub-recon built was refused (a bug, not a data problem).
 * Callers that expect 400/404 for one address (client.ts) handle those before calling this.
 */
export function refusalError(
  response: HttpResponse,
  items: readonly V3ErrorItem[] | null,
  account: AccountConfig,
  what: string,
): ProviderError {
  const shown = describeAnswer(response.status, items);
  const details = {
    provider: PROVIDER,
    accountId: account.id,
    providerCode: String(response.status),
    family: 'fatal' as const,
  };
  switch (response.status) {
    case 401:
      return new ProviderError(
        `${PROVIDER} account "${account.id}": authentication failed (${shown}); check the account's credentials (apiKey) in the config`,
        details,
      );
    case 403:
      return new ProviderError(
        `${PROVIDER} account "${account.id}": permission denied (${shown}); check that the API key has the suppression scopes and that options.onBehalfOf names a subuser or "account-id <id>" of this key`,
        details,
      );
    case 404:
      return new ProviderError(
        `${PROVIDER} account "${account.id}": ${what} answered not found (${shown}); check the account's baseUrl (scheme and host, e.g. https://api.sendgrid.com)`,
        details,
      );
    case 451:
      return new ProviderError(
        `${PROVIDER} account "${account.id}": refused for data residency (${shown}); an EU-pinned account needs options.region "eu" (https://api.eu.sendgrid.com)`,
        details,
      );
    default:
      return new ProviderError(
        `${PROVIDER} account "${account.id}": ${what} refused with ${shown}; the request unsub-recon built is invalid (a bug in extractors/sendgrid-v3, not a data problem): report it with this message`,
        details,
      );
  }
}

/**
 * An `errors` body inside a 2xx answer (the simulator's `inband-error`; not documented [A]): never
 * a success, retried as a temporary failure.
 */
function inbandError(
  items: readonly V3ErrorItem[],
  response: HttpResponse,
  account: AccountConfig,
  what: string,
) {
  return new ProviderError(
    `${PROVIDER} account "${account.id}": ${what} answered HTTP ${response.status} with an error body ${describeAnswer(response.status, items)}; will retry`,
    { provider: PROVIDER, accountId: account.id, providerCode: 'INBAND', family: 'retriable' },
  );
}

/**
 * The JSON of a 2xx answer, after the checks every call shares: refusal statuses and in-band
 * `errors` bodies become ProviderErrors. Answers without a body (204) give undefined.
 */
export function successBody(response: HttpResponse, account: AccountConfig, what: string): unknown {
  if (response.status >= 300) {
    const body = response.body.length > 0 ? safeJson(response.text) : undefined;
    throw refusalError(response, errorItems(body), account, what);
  }
  if (response.body.length === 0) return undefined;
  const body = parseJson(response, account, what);
  const items = errorItems(body);
  if (items) throw inbandError(items, response, account, what);
  return body;
}

/** JSON.parse that gives undefined instead of throwing (error bodies may be HTML). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `created` (Unix seconds, §4) as an ISO 8601 instant; null when it is not a whole number. */
export function createdToIso(created: unknown): string | null {
  const seconds = typeof created === 'string' && /^\d+$/.test(created) ? Number(created) : created;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds)) return null;
  const date = new Date(seconds * SECOND);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace('.000Z', 'Z');
}

/**
 * Bytes in, rows out, for one page of one window (no I/O). Every element of the array is one row,
 * exactly as received: `email` untouched (a non-string is staged as '' so the transform rejects
 * it visibly instead of it vanishing here), `rawTime` = `created` as an ISO 8601 instant.
 * @throws ProviderError: see `successBody`; fatal for JSON that is not an array of objects.
 */
export function parseListPage(
  response: HttpResponse,
  window: ExtractWindow,
  account: AccountConfig,
): ParsedPage {
  const what = `suppression/unsubscribes start_time=${window.params.start_time ?? '?'} end_time=${window.params.end_time ?? '?'}`;
  const body = successBody(response, account, what);
  if (!Array.isArray(body)) {
    throw new ProviderError(
      `${PROVIDER} account "${account.id}": ${what} answered JSON that is not an array; check the account's baseUrl`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'SHAPE', family: 'fatal' },
    );
  }
  const rows = body.map((record, i): RawRow => {
    if (!isObject(record)) {
      throw new ProviderError(
        `${PROVIDER} account "${account.id}": ${what} answered row ${i} that is not an object`,
        {
          provider: PROVIDER,
          accountId: account.id,
          providerCode: 'SHAPE',
          family: 'fatal',
        },
      );
    }
    return {
      email: typeof record.email === 'string' ? record.email : '',
      rawTime: createdToIso(record.created),
      scope: 'global',
      record,
    };
  });
  return { rows, total: null, cursor: null };
}

// ---------------------------------------------------------------------------------------------
// The module's extraction half (wired in index.ts)

export const extract = {
  capabilities,
  planWindows: (range: InstantRange): ExtractWindow[] => planV3Windows(range),
  splitWindow: (window: ExtractWindow): [ExtractWindow, ExtractWindow] | null => splitV3Window(window),
  paginator: (): V3Paginator => new V3Paginator(),
  request: (window: ExtractWindow, page: OffsetRequest, ctx: ExtractContext): RequestSpec =>
    listRequest(window, page, ctx.account),
  parse: (response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage =>
    parseListPage(response, window, ctx.account),
};
