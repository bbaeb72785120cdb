/**
 * The legacy SendGrid Web API simulator shared by `sendgrid-reseller` (seed 000,
 * `distributor.manage`) and `sendgrid-subuser` (seed 001, `user.unsubscribes` and the
 * account-level `unsubscribes.get|add|delete`). Both are the same 2009–2018 Web API: `api_user` /
 * `api_key` parameters, `.json`/`.xml` suffix, ISO-8859-1 XML, `created` only with `date=1`, the
 * same success and error bodies. Each provider folder declares its routes (a {@link LegacyDialect})
 * and this module serves them on the shared simulator kit.
 *
 * Request flow: route → method check → authentication (parent credentials, or the account's own
 * login on the account-level endpoints) → account (`user`) lookup → provider fault flags →
 * task (get/add/delete) → streamed body. Rate limits and generic faults are the kit's, applied
 * before the handler runs.
 *
 * Fault flags honoured here (the kit applies the generic ones):
 *  - `inband-error`: HTTP 200 with an error body (see {@link inBandBody} for the arg); nothing is
 *    read or written.
 *  - `duplicate-row`: a list answer starts with the entry just before its first row (the last row
 *    of the previous window / page), or, when there is none, with its own first row twice.
 *  - `repeat-page`: only the paged `unsubscribes.get`: `offset` is ignored and the first page is
 *    served, so a client that advances `offset` sees the same full page forever.
 *  - `empty-last-page`: not applicable (see README) — noted in the journal, answer unchanged.
 */
import {
  credentialsMatch,
  defaultEmailKey,
  page,
  type SimAccount,
  type SimAccountInit,
  type SimContext,
  type SimEntry,
  type SimResponse,
  type Simulator,
  startSimulator,
} from '../simulator/index.js';
import {
  CONTENT_TYPE,
  type LegacyAnswer,
  type LegacyBody,
  type LegacyFormat,
  type LegacyRow,
  renderBody,
  streamList,
} from './format.js';
import {
  fail,
  type ListRequest,
  type ParamGetter,
  parseAddEmail,
  parseListRequest,
  parseTask,
  type Task,
} from './params.js';
import {
  DEFAULT_SENDGRID_TIMEZONE,
  formatCreated,
  type InstantWindow,
  isKnownZone,
  windowForDates,
  windowForDays,
} from './time.js';

/** Per-account settings of a legacy SendGrid simulated account (all optional). */
export interface SendgridLegacyMeta {
  /** IANA zone `created`, `days` and dates are read in. Default America/Los_Angeles [A]. */
  timezone?: string;
  /**
   * What `task=delete` without `email` does on the per-user endpoints. Default `'wipe'`: the seed
   * marks `email` optional and the sibling `unsubscribes.delete` removed "the ENTIRE list" when
   * called without parameters (providers/sendgrid-reseller.md §7) — kept destructive so a test can
   * prove a client never sends it. `'reject'` answers 400 instead.
   */
  deleteWithoutEmail?: 'wipe' | 'reject';
  /**
   * The account's own login for the account-level `unsubscribes.*` endpoints (sendgrid-subuser
   * only: "a subuser's own credentials can read its own list", providers/sendgrid-subuser.md §1).
   * Default `{ api_user: <account key>, api_key: <credentials.api_key> }` [A].
   */
  login?: { api_user: string; api_key: string };
}

export type SendgridLegacyAccountInit = SimAccountInit<SendgridLegacyMeta>;
export type SendgridLegacySimulator = Simulator<SendgridLegacyMeta>;
type Account = SimAccount<SendgridLegacyMeta>;
type Ctx = SimContext<SendgridLegacyMeta>;

/** What a path names. */
export type LegacyRoute =
  /** Per-user endpoint: the parent authenticates, `user` names the account, `task` the op. */
  | { kind: 'user'; format: LegacyFormat; requireMethod?: string }
  /** Account-level endpoint (`unsubscribes.get` …): the account logs in itself; task in the path. */
  | { kind: 'self'; format: LegacyFormat; task: Task };

/** A provider's routes. */
export interface LegacyDialect {
  /** Provider id, for the kit and dumps. */
  readonly name: string;
  route(path: string): LegacyRoute | undefined;
}

export interface StartLegacyOptions {
  port?: number;
  host?: string;
  accounts: readonly SendgridLegacyAccountInit[];
  /** Simulated clock (epoch ms) for "today" in `days=N` and the time of adds. Default Date.now. */
  now?: () => number;
}

/** Text of the default `inband-error` answer: worded as a temporary failure so clients retry it. */
export const IN_BAND_ERROR = 'Internal error, please try again later';
/** The bad-credentials text seen in the wild ([C:1] sendgrid/docs#5235). */
export const AUTH_ERROR = 'Permission denied, wrong credentials';
/** Unknown or foreign `user` (reseller Customer Management documents "User not found" [D:7]) [A]. */
export const USER_NOT_FOUND = 'User not found';
/** `unsubscribes.delete` without parameters, newer revisions ([C:6] sendgrid/docs#351). */
export const DELETE_ALL_REQUIRED =
  'error in email: no valid parameters provided. Use delete_all=1 to remove everything';

/** The format named by a path's suffix (`.xml` → xml, anything else json). */
export const formatOf = (path: string): LegacyFormat => (path.endsWith('.xml') ? 'xml' : 'json');

/** The account's own login for account-level endpoints. */
export const loginOf = (account: Account): { api_user: string; api_key: string } =>
  account.meta.login ?? { api_user: account.key, api_key: account.credentials['api_key'] ?? '' };

/**
 * Starts a legacy SendGrid simulator for `dialect`. Throws RangeError when an account's
 * `meta.timezone` is not an IANA zone, or when it lacks `api_user`/`api_key` credentials.
 */
export async function startSendgridLegacySimulator(
  dialect: LegacyDialect,
  options: StartLegacyOptions,
): Promise<SendgridLegacySimulator> {
  for (const account of options.accounts) validateAccount(account);
  let accounts: ReadonlyMap<string, Account> = new Map();
  const sim = await startSimulator<SendgridLegacyMeta>({
    name: dialect.name,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.now === undefined ? {} : { now: options.now }),
    accounts: options.accounts,
    resolveAccount: (req) => {
      const route = dialect.route(req.path);
      if (route?.kind !== 'self') return req.params['user'];
      const login = req.params['api_user'];
      for (const a of accounts.values()) if (loginOf(a).api_user === login) return a.key;
      return undefined;
    },
    classify: (req) => {
      const route = dialect.route(req.path);
      if (!route) return 'other';
      const task = route.kind === 'self' ? route.task : req.params['task'];
      return task === 'get' ? 'read' : task === 'add' || task === 'delete' ? 'write' : 'other';
    },
    handler: (ctx) => handle(dialect, ctx),
  });
  accounts = sim.accounts;
  const addAccount = sim.addAccount;
  return {
    ...sim,
    addAccount: (init) => {
      validateAccount(init);
      return addAccount(init);
    },
  };
}

function validateAccount(init: SendgridLegacyAccountInit): void {
  const zone = init.meta?.timezone;
  if (zone !== undefined && !isKnownZone(zone))
    throw new RangeError(`account ${init.id ?? init.key}: meta.timezone "${zone}" is not an IANA time zone`);
  if (!init.credentials?.['api_user'] || !init.credentials['api_key'])
    throw new RangeError(`account ${init.id ?? init.key}: credentials need api_user and api_key`);
}

function respond(format: LegacyFormat, answer: LegacyAnswer): SimResponse {
  return {
    status: answer.status,
    headers: { 'content-type': CONTENT_TYPE[format] },
    body: renderBody(format, answer.body),
  };
}

const ok = (body: LegacyBody): LegacyAnswer => ({ status: 200, body });
const SUCCESS = ok({ kind: 'message', message: 'success' });

function handle(dialect: LegacyDialect, ctx: Ctx): SimResponse {
  const route = dialect.route(ctx.path);
  const format = route?.format ?? formatOf(ctx.path);
  const get: ParamGetter = (name) => ctx.params[name];
  if (!route) return respond(format, fail(404, `Unknown API call: ${ctx.path}`).answer);
  // "Using the Web API" [D:4]: calls are GET or POST.
  if (ctx.method !== 'GET' && ctx.method !== 'POST')
    return respond(format, fail(405, `Method ${ctx.method} not allowed, use GET or POST`).answer);

  let account: Account;
  let task: Task;
  if (route.kind === 'self') {
    const a = ctx.account;
    if (!a || get('api_key') !== loginOf(a).api_key) return respond(format, fail(401, AUTH_ERROR).answer);
    account = a;
    task = route.task;
  } else {
    // The parent authenticates first, then `user` must be one of its customers/subusers.
    const parentKnown = [...ctx.accounts.values()].some((a) => credentialsMatch(a, ctx.params));
    if (!parentKnown) return respond(format, fail(401, AUTH_ERROR).answer);
    if (route.requireMethod !== undefined && get('method') !== route.requireMethod)
      return respond(
        format,
        fail(
          400,
          `method: ${get('method') ? `unknown method "${get('method')}"` : 'missing'}, expected ${route.requireMethod}`,
        ).answer,
      );
    if (!get('user')) return respond(format, fail(400, 'user: missing').answer);
    if (!ctx.account || !credentialsMatch(ctx.account, ctx.params))
      return respond(format, fail(400, USER_NOT_FOUND).answer);
    account = ctx.account;
    const parsed = parseTask(get);
    if (!parsed.ok) return respond(format, parsed.answer);
    task = parsed.value;
  }

  const inBand = ctx.faults.spec('inband-error');
  if (inBand) {
    ctx.note(`fault inband-error (${inBand.arg || 'temporary'}): error body in HTTP 200`);
    return respond(format, ok(inBandBody(inBand.arg)));
  }
  switch (task) {
    case 'get':
      return list(ctx, account, format, route.kind === 'self');
    case 'add':
      return respond(format, add(ctx, account, get));
    case 'delete':
      return respond(
        format,
        route.kind === 'self' ? deleteSelf(ctx, account, get) : deleteUser(ctx, account, get),
      );
  }
}

/**
 * The `inband-error` body by the fault's arg: `temporary` (default) → generic shape with
 * {@link IN_BAND_ERROR}; `auth` → generic shape with {@link AUTH_ERROR}; `error` → the `{"error":
 * …}` shape with {@link IN_BAND_ERROR}; any other text → generic shape with that text.
 */
export function inBandBody(arg: string | undefined): LegacyBody {
  if (!arg || arg === 'temporary') return { kind: 'errors', errors: [IN_BAND_ERROR] };
  if (arg === 'auth') return { kind: 'errors', errors: [AUTH_ERROR] };
  if (arg === 'error') return { kind: 'error', error: IN_BAND_ERROR };
  return { kind: 'errors', errors: [arg] };
}

function zoneOf(account: Account): string {
  return account.meta.timezone ?? DEFAULT_SENDGRID_TIMEZONE;
}

function resolveWindow(req: ListRequest, ctx: Ctx, zone: string): InstantWindow | undefined {
  if (!req.window) return undefined;
  return req.window.kind === 'days'
    ? windowForDays(req.window.days, ctx.now(), zone)
    : windowForDates(req.window.start, req.window.end, zone);
}

/** `task=get` / `unsubscribes.get`: the window (or whole list) in store order, streamed. */
function list(ctx: Ctx, account: Account, format: LegacyFormat, paged: boolean): SimResponse {
  const parsed = parseListRequest((n) => ctx.params[n], paged);
  if (!parsed.ok) return respond(format, parsed.answer);
  const req = parsed.value;
  const zone = zoneOf(account);
  const store = account.store;
  const window = resolveWindow(req, ctx, zone);
  const [lo, hi] = window ? store.rangeIndex(window.from, window.to) : [0, store.size()];

  if (ctx.faults.has('empty-last-page'))
    ctx.note('fault empty-last-page: not applicable to legacy SendGrid (see README), answer unchanged');
  if (ctx.faults.has('repeat-page') && !paged)
    ctx.note('fault repeat-page: not applicable, this endpoint has no paging');
  let offset = req.offset ?? 0;
  if (paged && ctx.faults.has('repeat-page') && offset !== 0) {
    ctx.note(`fault repeat-page: offset ${offset} served as 0`);
    offset = 0;
  }
  const limit = req.limit ?? Number.POSITIVE_INFINITY;

  let entries: Iterable<SimEntry>;
  let before: SimEntry | undefined;
  if (req.email !== undefined) {
    const key = defaultEmailKey(req.email);
    const matches = store.iterate(lo, hi, (e) => defaultEmailKey(e.email) === key);
    entries = page(matches, offset, limit);
  } else {
    const start = lo + offset;
    const end = Math.min(hi, start + limit);
    entries = store.iterate(start, end);
    // Only the row just before this page/window: past the end there is no page to precede.
    before = start > 0 && start <= hi ? store.get(start - 1) : undefined;
  }
  if (ctx.faults.has('duplicate-row')) {
    ctx.note(`fault duplicate-row: ${before ? 'entry before the answer prepended' : 'first row repeated'}`);
    entries = withDuplicate(entries, before);
  }
  const rows = toRows(entries, req.withCreated, zone);
  return { status: 200, headers: { 'content-type': CONTENT_TYPE[format] }, body: streamList(format, rows) };
}

function* withDuplicate(
  entries: Iterable<SimEntry>,
  before: SimEntry | undefined,
): Generator<SimEntry, void, undefined> {
  let first = true;
  if (before) yield before;
  for (const entry of entries) {
    if (first && !before) yield entry;
    first = false;
    yield entry;
  }
}

function* toRows(
  entries: Iterable<SimEntry>,
  withCreated: boolean,
  zone: string,
): Generator<LegacyRow, void, undefined> {
  for (const e of entries)
    yield withCreated ? { email: e.email, created: formatCreated(e.at, zone) } : { email: e.email };
}

/** add: one address per call; a present address answers "Email already exists" (seed add, "Response: Error"). */
function add(ctx: Ctx, account: Account, get: ParamGetter): LegacyAnswer {
  const email = parseAddEmail(get);
  if (!email.ok) return email.answer;
  const result = account.store.add({ email: email.value, at: ctx.now() });
  return result === 'added' ? SUCCESS : ok({ kind: 'message', message: 'Email already exists' });
}

/** Per-user delete (seed 000/001 "Delete Unsubscribes"). */
function deleteUser(ctx: Ctx, account: Account, get: ParamGetter): LegacyAnswer {
  const email = get('email');
  if (email) return removeOne(account, email);
  if ((account.meta.deleteWithoutEmail ?? 'wipe') === 'reject')
    return fail(400, 'email: missing, you must specify the unsubscribe record to remove').answer;
  const removed = account.store.removeWhere(() => true);
  ctx.note(`DESTRUCTIVE delete without email: removed all ${removed} entries`);
  return SUCCESS;
}

/**
 * `unsubscribes.delete` [D:3]: `email`; `delete_all=1` empties the list (newer docs);
 * `start_date`/`end_date` deletes that window (2012 revision); no parameter at all is refused
 * with the `{"error": …}` body of newer revisions ([C:6]).
 */
function deleteSelf(ctx: Ctx, account: Account, get: ParamGetter): LegacyAnswer {
  const email = get('email');
  if (email) return removeOne(account, email);
  if (get('delete_all') === '1') {
    const removed = account.store.removeWhere(() => true);
    ctx.note(`DESTRUCTIVE delete_all=1: removed all ${removed} entries`);
    return SUCCESS;
  }
  if (get('start_date') || get('end_date')) {
    const parsed = parseListRequest(get, false);
    if (!parsed.ok) return parsed.answer;
    const window = resolveWindow(parsed.value, ctx, zoneOf(account));
    if (window) {
      const removed = account.store.removeWhere((e) => e.at >= window.from && e.at < window.to);
      ctx.note(`DESTRUCTIVE delete by window: removed ${removed} entries`);
      return SUCCESS;
    }
  }
  return { status: 400, body: { kind: 'error', error: DELETE_ALL_REQUIRED } };
}

/** One address; absent answers "Email does not exist" (seed delete, "Response: Error"). */
function removeOne(account: Account, email: string): LegacyAnswer {
  return account.store.remove(email) > 0 ? SUCCESS : ok({ kind: 'message', message: 'Email does not exist' });
}
