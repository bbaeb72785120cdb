/**
 * SendCloud email API v2 (`sendcloud`, seed 002): windows, paging, requests and answer parsing
 * for `apiv2/unsubscribe/list`, plus the envelope helpers the client (client.ts) shares.
 *
 * Sources: seed `shared/seeds/002_9aa9b1da9cce908a.txt` ("Query", TIPS 1–3, "Returned Value
 * Example") and `shared/providers/sendcloud.md` (§n). The simulator in this folder (README.md) is
 * the executable reading of both.
 *
 * - Windows are calendar months of the account zone (default Asia/Shanghai = the API's UTC+8,
 *   §5), widened to whole local days and sent as inclusive `startDate` … `endDate`.
 * - Offset paging `start`/`limit` (limit 100), stopped by a short page; `count` is recorded but
 *   never trusted to stop (§4: its meaning is undocumented).
 * - Every API-level answer is HTTP 200 with `{result, statusCode, message, info}` (§4); errors
 *   inside it are classified here into retriable / fatal / skippable.
 */
import { DateTime } from 'luxon';
import type { AccountConfig } from '../core/config.js';
import { ConfigError, ProviderError, WindowError } from '../core/errors.js';
import type { HttpResponse, RequestSpec } from '../core/http.js';
import { OffsetPaginator, type OffsetRequest } from '../core/paginate.js';
import type {
  ExtractContext,
  ExtractWindow,
  ParsedPage,
  ProviderCapabilities,
  RawRow,
} from '../core/provider.js';
import type { InstantRange } from '../core/types.js';
import { resolveZone, toInclusiveDays } from '../core/windows.js';

export const PROVIDER = 'sendcloud';

/** Documented paths under the account's base URL (§1: `…/apiv2/unsubscribe/<action>`). */
export const LIST_PATH = '/apiv2/unsubscribe/list';
export const ADD_PATH = '/apiv2/unsubscribe/add';
export const DELETE_PATH = '/apiv2/unsubscribe/delete';

/**
 * SendCloud refuses a time frame longer than 3 months (seed "Query", TIPS 2; §6), without saying
 * whether that means calendar months or 90 days. Windows are at most ONE calendar month: far
 * inside either reading, and a failed window is cheap to redo (STYLE.md's SendCloud example).
 */
export const MAX_WINDOW_MONTHS = 1;

/** The provider's own limit (seed TIPS 2), checked before any request is sent. */
export const PROVIDER_MAX_WINDOW_MONTHS = 3;

/** `limit` is `[0-100]`, default 100 (seed "Query"): always ask for the maximum. */
export const PAGE_SIZE = 100;

/**
 * `unsubscribeTime` is `yyyy-MM-dd HH:mm:ss` in UTC+8 (seed example; §5 "East Zone 8"), read by
 * the SQL in the account's zone. Deletes by address are safe (seed "Delete", TIPS 3: the frame is
 * ignored when `email` is given). One address per add/delete call (§6 "Writes").
 */
export const capabilities: ProviderCapabilities = {
  timePrecision: 'second',
  timeFormat: '%Y-%m-%d %H:%M:%S',
  canDelete: true,
  writeBatchSize: 1,
};

// ---------------------------------------------------------------------------------------------
// Windows

/** A day-aligned window `[from, to)` with the inclusive dates SendCloud expects as its params. */
function makeWindow(from: number, to: number, zone: string): ExtractWindow {
  const days = toInclusiveDays({ from, to }, zone);
  return { from, to, scope: 'global', params: { startDate: days.firstDay, endDate: days.lastDay } };
}

/**
 * Windows covering `range` in `zone`: the range is widened to whole local days (the provider
 * filters by date only, §3), then cut at every first of a month, so each window is
 * `[local day start, local day start)` within one calendar month, and maps to inclusive dates
 * `startDate` … `endDate` = the window's first and last day. Consecutive windows share a
 * boundary instant, which belongs to the later one only: a row at 00:00:00 local time is read
 * exactly once. Month-aligned (not chained from `range.from`) so reruns ask for the same frames.
 * Rows of the widened edges are staged like any other; the transform dedupes (DESIGN.md).
 * An empty range gives `[]`.
 * @throws WindowError for a range that ends before it starts, a non-finite bound or a bad zone.
 */
export function planSendcloudWindows(range: InstantRange, zone: string): ExtractWindow[] {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.from > range.to) {
    throw new WindowError(`sendcloud: cannot plan the range [${range.from}, ${range.to})`);
  }
  const z = resolveZone(zone);
  if (range.from === range.to) return [];
  let start = DateTime.fromMillis(range.from, { zone: z }).startOf('day');
  const lastDay = DateTime.fromMillis(range.to, { zone: z }).startOf('day');
  const end =
    lastDay.toMillis() === range.to ? range.to : lastDay.plus({ days: 1 }).startOf('day').toMillis();
  const windows: ExtractWindow[] = [];
  while (start.toMillis() < end) {
    // startOf('month') after the step: the next window starts on the 1st even when this one
    // started mid-month; on a 1st whose midnight a DST change skipped, luxon gives 01:00, which is
    // that day's start, as toInclusiveDays requires.
    const next = start.plus({ months: MAX_WINDOW_MONTHS }).startOf('month');
    const to = Math.min(next.toMillis(), end);
    windows.push(makeWindow(start.toMillis(), to, zone));
    start = DateTime.fromMillis(to, { zone: z });
  }
  return windows;
}

/**
 * Halves of a window the engine found too slow or too large, cut at a local day start; null for
 * a one-day window (the provider cannot be asked for less than a date).
 * @throws WindowError when the window is not day-aligned in `zone`.
 */
export function splitSendcloudWindow(
  window: ExtractWindow,
  zone: string,
): [ExtractWindow, ExtractWindow] | null {
  const { days } = toInclusiveDays(window, zone);
  if (days < 2) return null;
  const from = DateTime.fromMillis(window.from, { zone: resolveZone(zone) });
  const mid = from
    .plus({ days: Math.floor(days / 2) })
    .startOf('day')
    .toMillis();
  return [makeWindow(window.from, mid, zone), makeWindow(mid, window.to, zone)];
}

// ---------------------------------------------------------------------------------------------
// Paging

/**
 * offset paging with `stopRule` 'short-page'. Unlike core's OffsetPaginator, the next `start`
 * advances by the `limit` asked for, not by the rows received: SendCloud may send MORE rows than
 * `limit` (the simulator's `duplicate-row`: the previous page's last row again in front), and
 * advancing by 101 would skip a row. Asking for the documented maximum means a provider cap below
 * it would show as a short page and end paging early rather than skip silently mid-window; that
 * is the accepted trade-off (§6: "Loop until a page returns fewer than `limit` rows").
 * `count` is never used to stop (§4: undocumented, the 2015 example shows 3 rows with count 1);
 * the engine's loop guard (identical page twice) and page cap bound a provider that ignores `start`.
 */
export class SendcloudPaginator extends OffsetPaginator {
  constructor() {
    super({ pageSize: PAGE_SIZE, advanceBy: 'limit' });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

/** The account's `apiUser` + `apiKey` (config `credentials`; DESIGN.md "Config file"). */
export function credentialsOf(account: AccountConfig): { apiUser: string; apiKey: string } {
  const { apiUser, apiKey } = account.credentials;
  if (!apiUser || !apiKey) {
    throw new ProviderError(
      `sendcloud account "${account.id}": credentials.apiUser and credentials.apiKey are required; check the account's credentials in the config`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'CREDENTIALS', family: 'fatal' },
    );
  }
  return { apiUser, apiKey };
}

/**
 * `apiUserList` / `labelIdList` from the account options (config arrays) as the seed's `a;b;c`
 * (seed "Query"). Absent or empty → not sent (an empty value is refused, 40009/40010).
 * @throws ConfigError for a value that is not an array of non-empty strings/integers, or an item
 *   holding `;` (it would silently become two items).
 */
export function listFilters(account: AccountConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['apiUserList', 'labelIdList'] as const) {
    const value = account.options[name];
    if (value === undefined) continue;
    const path = `accounts[${account.id}].options.${name}`;
    if (!Array.isArray(value)) throw new ConfigError(path, 'is not an array', 'an array of strings');
    const items = value.map((v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v));
    for (const item of items) {
      if (typeof item !== 'string' || item === '' || item.includes(';')) {
        throw new ConfigError(
          path,
          'has an empty item, a non-string or one containing ";"',
          'names without ";"',
        );
      }
    }
    if (items.length > 0) out[name] = items.join(';');
  }
  return out;
}

/**
 * A POST with `application/x-www-form-urlencoded` fields (§1: "Use POST so `apiKey` stays out of
 * URLs"), credentials first. Values are UTF-8 (seed: label names "encoded in UTF-8").
 */
export function formRequest(
  account: AccountConfig,
  path: string,
  fields: Readonly<Record<string, string>>,
  options: { idempotent: boolean },
): RequestSpec {
  const { apiUser, apiKey } = credentialsOf(account);
  return {
    method: 'POST',
    url: `${account.baseUrl}${path}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      accept: 'application/json',
    },
    body: new URLSearchParams({ apiUser, apiKey, ...fields }).toString(),
    idempotent: options.idempotent,
  };
}

/**
 * The list request for one page of one window: `startDate`/`endDate` recomputed from the
 * window's instants (so params and instants cannot disagree), `start`/`limit`, and the account's
 * filters. Idempotent: a read may be retried.
 * @throws WindowError when the window is not day-aligned, or spans more than the provider's 3
 *   months (a planning bug: sending it would only earn a refusal).
 */
export function listRequest(window: ExtractWindow, page: OffsetRequest, account: AccountConfig): RequestSpec {
  const zone = account.timezone;
  const days = toInclusiveDays(window, zone);
  const limitEnd = DateTime.fromMillis(window.from, { zone: resolveZone(zone) }).plus({
    months: PROVIDER_MAX_WINDOW_MONTHS,
  });
  if (window.to > limitEnd.toMillis()) {
    throw new WindowError(
      `sendcloud: window ${days.firstDay}…${days.lastDay} is longer than ${PROVIDER_MAX_WINDOW_MONTHS} months (seed TIPS 2); plan it with planSendcloudWindows`,
    );
  }
  if (!Number.isSafeInteger(page.offset) || page.offset < 0 || page.limit < 1 || page.limit > PAGE_SIZE) {
    throw new RangeError(
      `sendcloud: page start=${page.offset} limit=${page.limit} is outside start ≥ 0, 1 ≤ limit ≤ ${PAGE_SIZE}`,
    );
  }
  return formRequest(
    account,
    LIST_PATH,
    {
      startDate: days.firstDay,
      endDate: days.lastDay,
      start: String(page.offset),
      limit: String(page.limit),
      ...listFilters(account),
    },
    { idempotent: true },
  );
}

// ---------------------------------------------------------------------------------------------
// Envelope (§4)

export interface Envelope {
  readonly result: boolean;
  readonly statusCode: number;
  readonly message: string;
  readonly info: Readonly<Record<string, unknown>>;
}

/** Authentication failed (§2, D:2). */
export const AUTH_FAILED = 40005;
/** "user does not exist" (§4): the apiUser itself is unknown, also a credentials problem. */
export const USER_UNKNOWN = 40301;
/** "duplicate request" (§4, newer docs): server-side de-duplication of rapid identical calls. */
export const DUPLICATE_REQUEST = 40000;
/** Simulator-invented code for a frame over 3 months (README "Return codes", [A]). */
export const WINDOW_TOO_LONG = 40099;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const shapeError = (account: AccountConfig, what: string, problem: string): ProviderError =>
  new ProviderError(`sendcloud account "${account.id}": ${what} answered ${problem}`, {
    provider: PROVIDER,
    accountId: account.id,
    providerCode: 'SHAPE',
    family: 'fatal',
  });

/**
 * The JSON envelope of an answer. A body that is not JSON is retriable (a body cut short or a
 * gateway page, DESIGN.md "Extraction"); JSON without the envelope's `result`/`statusCode` is
 * fatal (not SendCloud's API: a wrong baseUrl). `what` names the call for messages.
 */
export function parseEnvelope(response: HttpResponse, account: AccountConfig, what: string): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw new ProviderError(
      `sendcloud account "${account.id}": ${what} answered a body that is not JSON (${response.body.length} bytes); will retry`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'MALFORMED', family: 'retriable' },
    );
  }
  if (!isObject(body) || typeof body.result !== 'boolean' || typeof body.statusCode !== 'number') {
    throw shapeError(
      account,
      what,
      "JSON without the {result, statusCode} envelope; check the account's baseUrl",
    );
  }
  return {
    result: body.result,
    statusCode: body.statusCode,
    message: typeof body.message === 'string' ? body.message : '',
    info: isObject(body.info) ? body.info : {},
  };
}

/** `<code> "<message>"` for messages and replay_log: the provider's words, never the request. */
export const describeEnvelope = (env: Envelope): string => `${env.statusCode} "${env.message}"`;

/**
 * The ProviderError for a failure envelope, for every call (§4 return codes):
 * - 40005 authentication failed, 40301 user does not exist → fatal, naming the account and the
 *   credentials to check;
 * - 5xx in-band (501 服务器异常) and 40000 duplicate request → retriable (DESIGN.md "Extraction":
 *   SendCloud `statusCode` 5xx is a transient failure);
 * - 40099 frame over 3 months → skippable with providerCode TOO_LARGE: our planner never sends
 *   one, so it means the provider's limit is tighter than documented; the engine splits the window
 *   (and logs the shrink) instead of retrying the same request;
 * - anything else (400xx parameter errors, unknown codes) → fatal: the request unsub-recon built
 *   was refused, retrying cannot help and going on would leave the account incomplete.
 */
export function envelopeError(env: Envelope, account: AccountConfig, what: string): ProviderError {
  const code = env.statusCode;
  const base = { provider: PROVIDER, accountId: account.id, providerCode: String(code) };
  const shown = describeEnvelope(env);
  if (code === AUTH_FAILED || code === USER_UNKNOWN) {
    return new ProviderError(
      `sendcloud account "${account.id}": authentication failed (${shown}); check the account's credentials (apiUser, apiKey) in the config`,
      { ...base, family: 'fatal' },
    );
  }
  if ((code >= 500 && code <= 599) || code === DUPLICATE_REQUEST) {
    return new ProviderError(
      `sendcloud account "${account.id}": temporary error ${shown} for ${what}; will retry`,
      {
        ...base,
        family: 'retriable',
      },
    );
  }
  if (code === WINDOW_TOO_LONG) {
    return new ProviderError(
      `sendcloud account "${account.id}": ${what} refused as a frame longer than the provider allows (${shown}); splitting the window`,
      { ...base, providerCode: 'TOO_LARGE', family: 'skippable' },
    );
  }
  return new ProviderError(
    `sendcloud account "${account.id}": ${what} refused with ${shown}; the request unsub-recon built is invalid ` +
      '(a bug in extractors/sendcloud, not a data problem): report it with this message',
    { ...base, family: 'fatal' },
  );
}

// ---------------------------------------------------------------------------------------------
// list rows (seed "Returned Value Example")

/**
 * The rows of a list success answer (`result:true`, `statusCode:200`). Every element of
 * `info.dataList` is one row, exactly as received: the same address under several apiUsers or
 * labels is several rows (§6; dedupe is the transform's). `email` untouched (a non-string is
 * staged as '' so the transform rejects it visibly instead of it vanishing here), `rawTime` =
 * `unsubscribeTime`, `rawExpires` = `expireTime`. A missing or null `dataList` is an empty page
 * (the simulator's `empty-last-page`: `info` then holds only `count`).
 * @throws ProviderError fatal when `dataList` is not an array or a row is not an object.
 */
export function listRows(
  env: Envelope,
  account: AccountConfig,
  what: string,
): { rows: RawRow[]; count: number | null } {
  const data = env.info.dataList;
  const count = typeof env.info.count === 'number' && Number.isFinite(env.info.count) ? env.info.count : null;
  if (data === undefined || data === null) return { rows: [], count };
  if (!Array.isArray(data)) throw shapeError(account, what, 'info.dataList that is not an array');
  const rows = data.map((record, i): RawRow => {
    if (!isObject(record)) throw shapeError(account, what, `info.dataList[${i}] that is not an object`);
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return {
      email: text(record.email) ?? '',
      rawTime: text(record.unsubscribeTime),
      rawExpires: text(record.expireTime),
      scope: 'global',
      record,
    };
  });
  return { rows, count };
}

/**
 * Bytes in, rows out, for one page of one window (no I/O).
 * @throws ProviderError: see `parseEnvelope` and `envelopeError`; fatal for a success envelope
 *   whose statusCode is not 200 or whose dataList is malformed.
 */
export function parseListPage(
  response: HttpResponse,
  window: ExtractWindow,
  account: AccountConfig,
): ParsedPage {
  const what = `unsubscribe/list startDate=${window.params.startDate ?? '?'} endDate=${window.params.endDate ?? '?'}`;
  const env = parseEnvelope(response, account, what);
  if (!env.result) throw envelopeError(env, account, what);
  if (env.statusCode !== 200)
    throw shapeError(account, what, `result:true with statusCode ${env.statusCode}`);
  const { rows, count } = listRows(env, account, what);
  return { rows, total: count, cursor: null };
}

// ---------------------------------------------------------------------------------------------
// The module's extraction half (wired in index.ts)

export const extract = {
  capabilities,
  planWindows: (range: InstantRange, ctx: ExtractContext): ExtractWindow[] =>
    planSendcloudWindows(range, ctx.account.timezone),
  splitWindow: (window: ExtractWindow, ctx: ExtractContext): [ExtractWindow, ExtractWindow] | null =>
    splitSendcloudWindow(window, ctx.account.timezone),
  paginator: (): SendcloudPaginator => new SendcloudPaginator(),
  request: (window: ExtractWindow, page: OffsetRequest, ctx: ExtractContext): RequestSpec =>
    listRequest(window, page, ctx.account),
  parse: (response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage =>
    parseListPage(response, window, ctx.account),
  /** listRows: every element of `info.dataList` is one row's record, in order. */
  recordsPath: ['info', 'dataList'],
};
