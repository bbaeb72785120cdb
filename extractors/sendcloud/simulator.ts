/**
 * SendCloud email API v2 unsubscribe simulator (`/apiv2/unsubscribe/{list,add,delete}`) on the
 * shared kit (extractors/core/simulator): a real HTTP server on 127.0.0.1 that answers like
 * api.sendcloud.net, for tests, benchmarks and `sandbox`.
 *
 * Request path: route + method → account lookup/auth (40005) → the kit's rate limit and generic
 * faults → provider faults (`inband-error`) → parameter validation (sim-protocol.ts) → handler →
 * JSON body, streamed row by row for lists. Every API-level outcome is HTTP 200 with the
 * `{result, statusCode, message, info}` envelope (provider notes §8); only the kit's own faults
 * and rate limit produce 429/5xx.
 *
 * Paging cost: an unfiltered frame is served by index arithmetic on the store's sorted order
 * (`rangeIndex` + `iterate(lo + start, …)`), O(log n + limit) per page whatever the account size;
 * `apiUserList` / `labelIdList` / `labelNameList` filters walk the frame (O(frame) per page).
 *
 * ```ts
 * const sim = await startSendcloudSimulator({ accounts: [{ key: 'sc_user', id: 'sc-main',
 *   credentials: { apiUser: 'sc_user', apiKey: 'k3y' }, store: entries, faults: 'duplicate-row@2' }] });
 * await fetch(`${sim.url}/apiv2/unsubscribe/list`, { method: 'POST', body: new URLSearchParams({ … }) });
 * sim.journal.writes(); sim.dump(); await sim.close();
 * ```
 * Provider fault flags honoured here (README "Faults"): `inband-error[/code]`, `duplicate-row`,
 * `repeat-page`, `empty-last-page`; the kit applies the rest.
 */
import {
  credentialsMatch,
  type SimAccount,
  type SimAccountInit,
  type SimContext,
  type SimEntry,
  type SimRequest,
  type SimResponse,
  type SimStore,
  type Simulator,
  startSimulator,
} from '../core/simulator/index.js';
import {
  type AddCommand,
  errorEnvelope,
  LIST_HEAD,
  type ListQuery,
  labelIdOf,
  listTail,
  okEnvelope,
  parseAddCommand,
  parseDeleteCommand,
  parseListQuery,
  renderAddedRow,
  renderRow,
  SC,
  SC_BY_CODE,
  type ScError,
  type Selector,
} from './sim-protocol.js';

export const PROVIDER_ID = 'sendcloud';

/** Provider-specific account settings (`SimAccount.meta`). */
export interface SendcloudMeta {
  /** labelId → labelName. Default: '' for label 0 (seed example), `标签<id>` otherwise [A]. */
  readonly labelNames?: Readonly<Record<string, string>>;
  /**
   * `apiUser` recorded on rows created by `add`. Default: the authenticating apiUser (the seed's
   * add answer shows the caller's apiUser) — note that is a credential in our config.
   */
  readonly addApiUser?: string;
  /** `unsubscribeType` (0–3) of a stored entry. Default 0 [A]. */
  readonly unsubscribeType?: (entry: SimEntry) => number;
}

/**
 * One SendCloud account: `key` is the authenticating apiUser; `credentials` are
 * `{ apiUser, apiKey }` (`apiUser` defaults to `key`, `apiKey` is required). Entries carry the
 * sub-apiUser and label they were recorded under (`apiUser`, `label`; missing = the account's
 * apiUser, label 0) and `expiresAt`; the same address may appear under several of them.
 */
export interface SendcloudSimAccountInput extends SimAccountInit<SendcloudMeta> {}

export type SendcloudSimulator = Simulator<SendcloudMeta>;

export interface SendcloudSimulatorOptions {
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly accounts: readonly SendcloudSimAccountInput[];
  /** Simulated clock (epoch ms) for `days`, add times and expiry. Default Date.now. */
  readonly now?: () => number;
}

type Ctx = SimContext<SendcloudMeta>;
type Account = SimAccount<SendcloudMeta>;
type Operation = 'list' | 'add' | 'delete';

/** `…/apiv2/unsubscribe/<op>`; any prefix, so a `baseUrl` with a path prefix works. */
const ROUTE = /\/apiv2\/unsubscribe\/(list|add|delete)$/;

const operationOf = (req: SimRequest): Operation | undefined =>
  ROUTE.exec(req.path)?.[1] as Operation | undefined;

const jsonResponse = (body: string | Iterable<string>): SimResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json;charset=UTF-8' },
  body,
});

const failure = (error: ScError): SimResponse => jsonResponse(errorEnvelope(error));

/** Starts the simulator; resolves once it listens. Throws RangeError for an account without apiKey. */
export async function startSendcloudSimulator(
  options: SendcloudSimulatorOptions,
): Promise<SendcloudSimulator> {
  const accounts = options.accounts.map((init): SendcloudSimAccountInput => {
    const credentials: Record<string, string> = { apiUser: init.key, ...init.credentials };
    if (!credentials['apiKey'])
      throw new RangeError(`sendcloud simulator: account ${init.id ?? init.key} has no apiKey`);
    return { ...init, credentials };
  });
  return startSimulator<SendcloudMeta>({
    name: PROVIDER_ID,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now ? { now: options.now } : {}),
    accounts,
    resolveAccount: (req) => req.params['apiUser'],
    classify: (req) => {
      const op = operationOf(req);
      return op === 'list' ? 'read' : op ? 'write' : 'other';
    },
    handler,
  });
}

function handler(ctx: Ctx): SimResponse {
  const op = operationOf(ctx);
  if (!op) return { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>404 Not Found</h1>' };
  // Seed: every operation takes "post get".
  if (ctx.method !== 'GET' && ctx.method !== 'POST') {
    return {
      status: 405,
      headers: { allow: 'GET, POST', 'content-type': 'text/html' },
      body: '<h1>405</h1>',
    };
  }
  const account = ctx.account;
  if (!account || !credentialsMatch(account, ctx.params)) return failure(SC.auth);
  if (ctx.faults.has('inband-error')) return failure(inbandError(ctx.faults.spec('inband-error')?.arg));
  switch (op) {
    case 'list':
      return list(ctx, account);
    case 'add':
      return add(ctx, account);
    case 'delete':
      return remove(ctx, account);
  }
}

/** `inband-error[/code]`: a documented code's answer; default 501 服务器异常 (retriable, DESIGN). */
function inbandError(arg: string | undefined): ScError {
  const code = arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : SC.serverError.statusCode;
  return SC_BY_CODE.get(code) ?? { statusCode: code, message: SC.serverError.message };
}

// ---------------------------------------------------------------------------------------------
// list

const apiUserOf = (entry: SimEntry, account: Account): string => entry.apiUser ?? account.key;

function labelNameOf(entry: SimEntry, account: Account): string {
  const id = labelIdOf(entry);
  return account.meta.labelNames?.[id] ?? (id === '0' ? '' : `标签${id}`);
}

/** The `apiUserList` / `labelIdList` / `labelNameList` filter, or undefined when none is given. */
function filterOf(query: ListQuery, account: Account): ((e: SimEntry) => boolean) | undefined {
  const { apiUsers, labelIds, labelNames } = query;
  if (!apiUsers && !labelIds && !labelNames) return undefined;
  return (e) =>
    (!apiUsers || apiUsers.has(apiUserOf(e, account))) &&
    (!labelIds || labelIds.has(labelIdOf(e))) &&
    (!labelNames || labelNames.has(labelNameOf(e, account)));
}

/** One page of matches: the rows, the row before them (for `duplicate-row`), and the total. */
interface PageSource {
  readonly previous: SimEntry | undefined;
  readonly rows: Iterable<SimEntry>;
  /** Total matches; call after `rows` is consumed (a filtered frame counts the rest as it goes). */
  count(): number;
}

/** Unfiltered frame: pure index arithmetic on the sorted store, O(log n + limit). */
function indexedPage(store: SimStore, lo: number, hi: number, start: number, limit: number): PageSource {
  const first = lo + start;
  return {
    previous: start > 0 && first - 1 < hi ? store.get(first - 1) : undefined,
    rows: store.iterate(first, Math.min(hi, first + limit)),
    count: () => hi - lo,
  };
}

/** Filtered matches (any iterable in store order): skip `start`, take `limit`, count the rest. */
function scannedPage(matches: Iterable<SimEntry>, start: number, limit: number): PageSource {
  const it = matches[Symbol.iterator]();
  let seen = 0;
  let previous: SimEntry | undefined;
  for (; seen < start; seen++) {
    const next = it.next();
    if (next.done) break;
    previous = next.value;
  }
  const rows = function* (): Generator<SimEntry> {
    for (let taken = 0; taken < limit; taken++) {
      const next = it.next();
      if (next.done) return;
      seen++;
      yield next.value;
    }
  };
  return {
    previous: seen === start ? previous : undefined,
    rows: rows(),
    count: () => {
      for (let next = it.next(); !next.done; next = it.next()) seen++;
      return seen;
    },
  };
}

/**
 * Every entry of one address (all apiUsers and labels), in store order. The kit's store looks
 * addresses up one at a time, so matches found so far are excluded until none is left: O(k²)
 * lookups for an address held k times (k is small: one row per apiUser × label).
 */
function entriesOfAddress(store: SimStore, email: string): SimEntry[] {
  const found: SimEntry[] = [];
  const seen = new Set<string>();
  const keyOf = (e: SimEntry) => JSON.stringify([e.at, e.email, e.apiUser, e.label, e.expiresAt]);
  for (;;) {
    const next = store.find(email, (e) => !seen.has(keyOf(e)));
    if (!next) break;
    seen.add(keyOf(next));
    found.push(next);
  }
  return found.sort((a, b) => a.at - b.at || (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
}

function pageSource(query: ListQuery, account: Account, start: number): PageSource {
  const filter = filterOf(query, account);
  const store = account.store;
  if (query.selector.kind === 'email') {
    const matches = entriesOfAddress(store, query.selector.email);
    return scannedPage(filter ? matches.filter(filter) : matches, start, query.limit);
  }
  const [lo, hi] = store.rangeIndex(query.selector.frame.fromMs, query.selector.frame.toMs);
  return filter
    ? scannedPage(store.iterate(lo, hi, filter), start, query.limit)
    : indexedPage(store, lo, hi, start, query.limit);
}

function list(ctx: Ctx, account: Account): SimResponse {
  const parsed = parseListQuery(ctx.params, ctx.now());
  if (!parsed.ok) return failure(parsed.error);
  const query = parsed.value;
  // repeat-page: `start` is ignored and the frame's first page comes back, forever.
  const start = ctx.faults.has('repeat-page') ? 0 : query.start;
  const duplicate = ctx.faults.has('duplicate-row');
  const emptyLast = ctx.faults.has('empty-last-page');
  const render = (e: SimEntry) =>
    renderRow(e, labelNameOf(e, account), account.meta.unsubscribeType?.(e) ?? 0, account.key);

  // Built lazily, inside the body generator: the kit pulls it after the headers, chunk by chunk.
  const body = function* (): Generator<string> {
    const source = pageSource(query, account, start);
    const rows = source.rows[Symbol.iterator]();
    let next = rows.next();
    if (next.done && emptyLast) {
      // empty-last-page: the page past the end carries no `dataList` at all.
      yield okEnvelope({ count: 0 });
      return;
    }
    yield LIST_HEAD;
    let first = true;
    const emit = (e: SimEntry): string => {
      const row = first ? render(e) : `,${render(e)}`;
      first = false;
      return row;
    };
    // duplicate-row: the previous page's last row is sent again in front of this page (the
    // first page repeats its own first row), so the same row arrives twice and none is lost.
    if (duplicate) {
      const again = source.previous ?? (next.done ? undefined : next.value);
      if (again) yield emit(again);
    }
    for (; !next.done; next = rows.next()) yield emit(next.value);
    yield listTail(source.count());
  };
  return jsonResponse(body());
}

// ---------------------------------------------------------------------------------------------
// add

function add(ctx: Ctx, account: Account): SimResponse {
  const parsed = parseAddCommand(ctx.params);
  if (!parsed.ok) return failure(parsed.error);
  const command: AddCommand = parsed.value;
  const now = Math.floor(ctx.now() / 1000) * 1000; // the API keeps whole seconds
  const apiUser = account.meta.addApiUser ?? account.key;
  // [A] An add records under the caller's apiUser and label 0: the same scope already holding
  // the address is "already exists" (40402); an expired entry there is replaced (re-opt-out).
  const sameScope = (e: SimEntry) => apiUserOf(e, account) === apiUser && labelIdOf(e) === '0';
  const existing = account.store.find(command.email, sameScope);
  if (existing && (existing.expiresAt === undefined || existing.expiresAt > now)) {
    ctx.note('add: address already in this apiUser/label scope');
    return failure(SC.addFailed);
  }
  if (existing)
    account.store.remove(
      command.email,
      (e) => sameScope(e) && e.expiresAt !== undefined && e.expiresAt <= now,
    );
  const entry: SimEntry = {
    email: command.email,
    at: now,
    apiUser,
    ...(command.expiresAt !== undefined ? { expiresAt: command.expiresAt } : {}),
  };
  account.store.add(entry, (e) => sameScope(e));
  return jsonResponse(okEnvelope({ data: renderAddedRow(entry, account.key) }, SC.addOk));
}

// ---------------------------------------------------------------------------------------------
// delete

function remove(ctx: Ctx, account: Account): SimResponse {
  const parsed = parseDeleteCommand(ctx.params, ctx.now());
  if (!parsed.ok) return failure(parsed.error);
  const count = deleteSelected(account.store, parsed.value);
  if (parsed.value.kind === 'frame') ctx.note(`delete by window removed ${count} entries`);
  // Seed "Delete": 200 and `info.count` = how many were deleted (0 when the address was absent).
  return jsonResponse(okEnvelope({ count }));
}

/**
 * By address: every row of it, under every apiUser and label [A]. By frame: EVERY entry whose
 * unsubscribe time lies in the frame — the destructive form the seed documents; implemented so
 * tests can prove our clients never send it. Returns the number of rows removed [A: the seed's
 * "count of deleted addresses" does not say rows or distinct addresses].
 */
function deleteSelected(store: SimStore, selector: Selector): number {
  if (selector.kind === 'email') return store.remove(selector.email);
  const { fromMs, toMs } = selector.frame;
  return store.removeWhere((e) => e.at >= fromMs && e.at < toMs);
}
