/**
 * SendGrid Web API v3 global-unsubscribe simulator on the shared kit (extractors/core/simulator):
 * a real HTTP server on 127.0.0.1 that answers like api.sendgrid.com for tests, `sandbox` and the
 * demo. What it does and assumes is in ./README.md ([A] = assumption; §n = provider notes).
 *
 * Request path: route → the kit's rate limit and generic faults → `Accept` (406) → Bearer key and
 * `on-behalf-of` (401/403) → region (451) → the account's request budget (429 with
 * `X-RateLimit-*`) → provider faults (`inband-error`, `duplicate-row`, `repeat-page`) → the
 * operation. Every answer after authentication carries `X-RateLimit-Limit/-Remaining/-Reset`.
 *
 * ```ts
 * const sim = await startSendgridV3Simulator({ accounts: [{ key: 'brand-v3', id: 'sg-v3',
 *   credentials: { apiKey: 'SG.k3y' }, store: entries, meta: { budget: { limit: 5, windowSeconds: 2 } } }] });
 * await fetch(`${sim.url}/v3/suppression/unsubscribes?limit=500`, { headers: {
 *   authorization: 'Bearer SG.k3y', 'on-behalf-of': 'brand-v3', accept: 'application/json' } });
 * sim.journal.writes(); sim.dump(); await sim.close();
 * ```
 */
import { normaliseEmail, rejectReason } from '../core/email.js';
import {
  page,
  type SimAccount,
  type SimAccountInit,
  type SimContext,
  type SimEntry,
  type SimRequest,
  type SimResponse,
  type Simulator,
  startSimulator,
} from '../core/simulator/index.js';
import { GLOBAL_PATH, LIST_PATH, PAGE_SIZE, PROVIDER } from './extract.js';

/** Provider-specific account settings (`SimAccount.meta`). */
export interface SendgridV3Meta {
  /**
   * The region the account is pinned to (§1). The simulator stands for both hosts: paths under
   * `/eu` are api.eu.sendgrid.com, the others api.sendgrid.com; the wrong one answers 451.
   * Default 'global'.
   */
  readonly region?: 'global' | 'eu';
  /** Requests allowed per fixed window of `windowSeconds` (§4 "Rate limiting"). Default 600 per 60 s [A]. */
  readonly budget?: { readonly limit: number; readonly windowSeconds: number };
}

/**
 * One v3 account: `key` is what a request names it by — the `on-behalf-of` value (a subuser
 * username, or `account-id <id>` for a reseller customer) or, for calls without that header, the
 * API key itself; `credentials.apiKey` is the (parent's) key that must come as `Bearer`.
 */
export type SendgridV3SimAccountInput = SimAccountInit<SendgridV3Meta>;
export type SendgridV3Simulator = Simulator<SendgridV3Meta>;

export interface SendgridV3SimulatorOptions {
  readonly port?: number;
  readonly host?: string;
  readonly accounts: readonly SendgridV3SimAccountInput[];
  /** Simulated clock (epoch ms) for the time of adds. Rate-limit windows use the wall clock. */
  readonly now?: () => number;
}

/** [A] §4 names no numbers; 600 requests a minute is a common v3 per-endpoint figure. */
export const DEFAULT_BUDGET = { limit: 600, windowSeconds: 60 } as const;
/** [A] the page size when `limit` is omitted (§3: "a default page size applies", value not stated). */
export const DEFAULT_LIMIT = 50;

type Ctx = SimContext<SendgridV3Meta>;
type Account = SimAccount<SendgridV3Meta>;
type Operation = 'list' | 'bulk-delete' | 'add' | 'check' | 'delete-one';

interface Route {
  readonly op: Operation | 'method-not-allowed';
  readonly region: 'global' | 'eu';
  /** The decoded `{email}` path segment of check / delete-one. */
  readonly email?: string;
}

const JSON_TYPE = 'application/json';

/** A v3 error body (§4): `{"errors":[{"field":…,"message":…}]}`. */
export const errorBody = (message: string, field: string | null = null, help?: null): string =>
  JSON.stringify({ errors: [{ field, message, ...(help === null ? { help: null } : {}) }] });

const answer = (
  status: number,
  body: string | Iterable<string> = '',
  headers: Record<string, string> = {},
): SimResponse => ({
  status,
  headers: body === '' ? headers : { 'content-type': JSON_TYPE, ...headers },
  body,
});

const failure = (status: number, message: string, field: string | null = null) =>
  answer(status, errorBody(message, field));

/** The operation a path and method name; undefined for a path the API does not have (404). */
export function routeOf(req: Pick<SimRequest, 'path' | 'method'>): Route | undefined {
  const at = req.path.indexOf('/v3/');
  if (at < 0) return undefined;
  const region = req.path.slice(0, at).endsWith('/eu') ? 'eu' : 'global';
  const rest = req.path.slice(at);
  const method = req.method;
  if (rest === LIST_PATH) {
    return {
      region,
      op: method === 'GET' ? 'list' : method === 'DELETE' ? 'bulk-delete' : 'method-not-allowed',
    };
  }
  if (rest === GLOBAL_PATH) return { region, op: method === 'POST' ? 'add' : 'method-not-allowed' };
  if (rest.startsWith(`${GLOBAL_PATH}/`) && rest.length > GLOBAL_PATH.length + 1) {
    let email: string;
    try {
      email = decodeURIComponent(rest.slice(GLOBAL_PATH.length + 1));
    } catch {
      return undefined;
    }
    const op = method === 'GET' ? 'check' : method === 'DELETE' ? 'delete-one' : 'method-not-allowed';
    return { region, op, email };
  }
  return undefined;
}

const bearerOf = (req: SimRequest): string | undefined => {
  const value = req.headers.authorization;
  const match = typeof value === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
};

const onBehalfOf = (req: SimRequest): string | undefined => {
  const value = req.headers['on-behalf-of'];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/** Starts the simulator; resolves once it listens. Throws RangeError for an account without apiKey. */
export async function startSendgridV3Simulator(
  options: SendgridV3SimulatorOptions,
): Promise<SendgridV3Simulator> {
  for (const init of options.accounts) {
    if (!init.credentials?.apiKey)
      throw new RangeError(`${PROVIDER} simulator: account ${init.id ?? init.key} has no apiKey`);
  }
  // Keyed by the budget object: giving an account a new budget starts it afresh.
  const budgets = new WeakMap<object, { windowStart: number; used: number }>();

  /**
   * Takes one request from the account's budget: the X-RateLimit-* headers, and whether it is
   * over. A window opens at the first request after the previous one ended (wall clock) and lasts
   * `windowSeconds`; the reset is its end, rounded up to the second.
   */
  const spend = (account: Account): { headers: Record<string, string>; over: boolean } => {
    const budget = account.meta.budget ?? account;
    const { limit, windowSeconds } = account.meta.budget ?? DEFAULT_BUDGET;
    const windowMs = windowSeconds * 1000;
    const now = Date.now();
    let state = budgets.get(budget);
    if (!state || now >= state.windowStart + windowMs) {
      state = { windowStart: now, used: 0 };
      budgets.set(budget, state);
    }
    const over = state.used >= limit;
    if (!over) state.used += 1;
    return {
      over,
      headers: {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(limit - state.used),
        'x-ratelimit-reset': String(Math.ceil((state.windowStart + windowMs) / 1000)),
      },
    };
  };

  const handler = (ctx: Ctx): SimResponse => {
    const route = routeOf(ctx);
    if (!route) return failure(404, 'resource not found');
    if (route.op === 'method-not-allowed') return failure(405, 'method not allowed');
    const accept = ctx.headers.accept;
    if (typeof accept !== 'string' || !/application\/json|\*\/\*/i.test(accept)) {
      return failure(406, 'Accept header must allow application/json');
    }
    const token = bearerOf(ctx);
    if (token === undefined) return failure(401, 'authorization required');
    const account = ctx.account;
    if (!account) {
      // [A] a known key naming an unknown subuser or customer: refused, not unauthenticated.
      const knownKey = [...ctx.accounts.values()].some((a) => a.credentials.apiKey === token);
      return knownKey && onBehalfOf(ctx) !== undefined
        ? failure(403, 'on-behalf-of: the subuser or account does not exist or is not yours')
        : answer(401, errorBody('Permission denied, wrong credentials', null, null));
    }
    if (account.credentials.apiKey !== token) {
      return answer(401, errorBody('Permission denied, wrong credentials', null, null));
    }
    const region = account.meta.region ?? 'global';
    if (route.region !== region) {
      return failure(
        451,
        `this account is pinned to the ${region} region; use ${region === 'eu' ? 'api.eu.sendgrid.com' : 'api.sendgrid.com'}`,
      );
    }
    const budget = spend(account);
    if (budget.over) {
      ctx.note('rate limit: budget spent');
      return withHeaders(failure(429, 'too many requests'), budget.headers);
    }
    if (ctx.faults.has('inband-error')) {
      const message = ctx.faults.spec('inband-error')?.arg ?? 'internal error, please try again later';
      return withHeaders(answer(200, errorBody(message)), budget.headers);
    }
    return withHeaders(operate(ctx, account, route), budget.headers);
  };

  return startSimulator<SendgridV3Meta>({
    name: PROVIDER,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now ? { now: options.now } : {}),
    accounts: options.accounts,
    resolveAccount: (req) => onBehalfOf(req) ?? bearerOf(req),
    classify: (req) => {
      const op = routeOf(req)?.op;
      return op === 'list' || op === 'check'
        ? 'read'
        : op === undefined || op === 'method-not-allowed'
          ? 'other'
          : 'write';
    },
    errorResponse: (status) =>
      status === 429 || status === 500
        ? answer(status, errorBody(status === 429 ? 'too many requests' : 'internal server error'))
        : {
            status,
            headers: { 'content-type': 'text/html; charset=utf-8' },
            // A gateway in front of the API answers 502-504 with its own page, not v3's JSON.
            body: `<html><body><h1>${status} ${GATEWAY_TEXT[status] ?? 'Error'}</h1></body></html>\n`,
          },
    handler,
  });
}

const GATEWAY_TEXT: Readonly<Record<number, string>> = {
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const withHeaders = (response: SimResponse, headers: Record<string, string>): SimResponse => ({
  ...response,
  headers: { ...response.headers, ...headers },
});

function operate(ctx: Ctx, account: Account, route: Route): SimResponse {
  switch (route.op) {
    case 'list':
      return list(ctx, account);
    case 'add':
      return add(ctx, account);
    case 'check': {
      const found = account.store.find(route.email!);
      return answer(200, JSON.stringify(found ? { recipient_email: found.email } : {}));
    }
    case 'delete-one':
      // [A] 404 for an address not on the list (§6: "assume 204 or 404").
      return account.store.remove(route.email!) > 0 ? answer(204) : failure(404, 'email address not found');
    case 'bulk-delete':
      return bulkDelete(ctx, account);
    default:
      return failure(405, 'method not allowed');
  }
}

// ---------------------------------------------------------------------------------------------
// list (§3, §4)

const UNSIGNED = /^\d+$/;

/** A validated list query, or the 400 that refuses it. */
export type ListQuery =
  | { ok: true; startSec: number; endSec: number; limit: number; offset: number; email?: string }
  | { ok: false; field: string; message: string };

/** Validates the list parameters [A: messages and the start > end refusal are ours]. */
export function parseListQuery(query: URLSearchParams): ListQuery {
  const int = (name: string): number | undefined | null => {
    const value = query.get(name);
    if (value === null) return undefined;
    return UNSIGNED.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;
  };
  const limit = int('limit');
  if (limit === null || (limit !== undefined && (limit < 1 || limit > PAGE_SIZE))) {
    return { ok: false, field: 'limit', message: `limit must be an integer from 1 to ${PAGE_SIZE}` };
  }
  const offset = int('offset');
  if (offset === null)
    return { ok: false, field: 'offset', message: 'offset must be an integer of 0 or more' };
  const start = int('start_time');
  if (start === null)
    return { ok: false, field: 'start_time', message: 'start_time must be a Unix timestamp' };
  const end = int('end_time');
  if (end === null) return { ok: false, field: 'end_time', message: 'end_time must be a Unix timestamp' };
  const startSec = start ?? 0;
  const endSec = end ?? Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;
  if (endSec < startSec)
    return { ok: false, field: 'end_time', message: 'end_time must not be before start_time' };
  const email = query.get('email');
  return {
    ok: true,
    startSec,
    endSec,
    limit: limit ?? DEFAULT_LIMIT,
    offset: offset ?? 0,
    ...(email !== null && email !== '' ? { email } : {}),
  };
}

/**
 * The `email` parameter as v3 reads it (§3): a pattern matching addresses that START with it, `%`
 * standing for any run of characters; compared case-insensitively [A]. Not an equality test.
 */
export function emailPattern(pattern: string): (address: string) => boolean {
  const body = pattern
    .toLowerCase()
    .split('%')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${body}`, 's');
  return (address) => regex.test(address.toLowerCase());
}

const renderRow = (e: SimEntry): string =>
  JSON.stringify({ created: Math.floor(e.at / 1000), email: e.email });

function list(ctx: Ctx, account: Account): SimResponse {
  const query = parseListQuery(ctx.query);
  if (!query.ok) return failure(400, query.message, query.field);
  if (ctx.faults.has('empty-last-page')) {
    ctx.note(`empty-last-page: not applicable to ${PROVIDER} (a page past the end is already []), ignored`);
  }
  // repeat-page: `offset` is ignored and the window's first page comes back, forever.
  const offset = ctx.faults.has('repeat-page') ? 0 : query.offset;
  const store = account.store;
  const [lo, hi] = store.rangeIndex(query.startSec * 1000, (query.endSec + 1) * 1000);
  const matches = query.email === undefined ? undefined : emailPattern(query.email);
  const filter = matches ? (e: SimEntry) => matches(e.email) : undefined;
  // duplicate-row: the row before this page (the previous page's last) is sent again in front; a
  // first page repeats its own first row. The page then has up to `limit + 1` rows, none lost.
  const previous = (): SimEntry | undefined => {
    if (offset === 0) return undefined;
    return filter ? [...page(store.iterate(lo, hi, filter), offset - 1, 1)][0] : store.get(lo + offset - 1);
  };
  const rows = (): Iterable<SimEntry> =>
    filter
      ? page(store.iterate(lo, hi, filter), offset, query.limit)
      : store.iterate(lo + offset, Math.min(hi, lo + offset + query.limit));
  const duplicate = ctx.faults.has('duplicate-row');
  const body = function* (): Generator<string> {
    yield '[';
    let first = true;
    const emit = (e: SimEntry): string => {
      const row = first ? renderRow(e) : `,${renderRow(e)}`;
      first = false;
      return row;
    };
    const it = rows()[Symbol.iterator]();
    let next = it.next();
    if (duplicate) {
      const again = previous() ?? (next.done ? undefined : next.value);
      if (again) yield emit(again);
    }
    for (; !next.done; next = it.next()) yield emit(next.value);
    yield ']';
  };
  return answer(200, body());
}

// ---------------------------------------------------------------------------------------------
// writes (§1, §6)

function jsonBody(ctx: Ctx): unknown {
  try {
    return JSON.parse(ctx.rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** POST /v3/asm/suppressions/global: 201 echoing the list; the whole batch is refused for one bad address [A]. */
function add(ctx: Ctx, account: Account): SimResponse {
  const body = jsonBody(ctx) as { recipient_emails?: unknown } | undefined;
  const emails = body?.recipient_emails;
  if (!Array.isArray(emails) || emails.length === 0 || !emails.every((e) => typeof e === 'string')) {
    return failure(400, 'recipient_emails must be a non-empty array of email addresses', 'recipient_emails');
  }
  const invalid = (emails as string[]).find((e) => rejectReason(normaliseEmail(e)) !== null);
  if (invalid !== undefined) return failure(400, `invalid email address: ${invalid}`, 'recipient_emails');
  const at = Math.floor(ctx.now() / 1000) * 1000; // the API keeps whole seconds
  // [A] idempotent: an address already suppressed stays as it was (§6 "assume yes").
  for (const email of emails as string[]) account.store.add({ email, at }, () => true);
  return answer(201, JSON.stringify({ recipient_emails: emails }));
}

/**
 * The historic bulk delete (`{"emails":[…]}` or `{"delete_all":true}`, [D:4]; absent from the
 * current spec): implemented — `delete_all` empties the list — so tests can prove our client
 * never sends it.
 */
function bulkDelete(ctx: Ctx, account: Account): SimResponse {
  const body = jsonBody(ctx) as { emails?: unknown; delete_all?: unknown } | undefined;
  if (body?.delete_all === true) {
    const removed = account.store.removeWhere(() => true);
    ctx.note(`bulk delete_all removed ${removed} entries`);
    return answer(204);
  }
  if (Array.isArray(body?.emails) && body.emails.every((e) => typeof e === 'string')) {
    for (const email of body.emails as string[]) account.store.remove(email);
    return answer(204);
  }
  return failure(400, 'emails or delete_all is required', 'emails');
}
