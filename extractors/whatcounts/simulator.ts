/**
 * WhatCounts `api_web` simulator: one endpoint, commands chosen by `c`, answers in HTTP 200
 * whatever happens (README.md in this folder lists every rule and assumption; the wire format
 * lives in protocol.ts).
 *
 * A realm holds three kinds of state (provider notes §0, §9), kept apart because they answer
 * differently:
 *  - opt-out records — the kit store: `listId` set = list opt-out, undefined = global opt-out;
 *    the only thing `show_opt` / `show_optglobal` return, filtered by `days` on the entry's `at`;
 *  - subscriptions (contact ∈ list) — realm state here; `unsub` without `optout=1` only removes
 *    these, so it is invisible to the listings (seed: "No other changes will be made");
 *  - customer keys, for realms with Customer Key on.
 *
 * Request flow: path/method → arguments → realm lookup + password check → (kit: rate limit and
 * generic faults) → in-band fault → command handler → streamed body.
 */
import { DateTime } from 'luxon';
import {
  type ActiveFaults,
  credentialsMatch,
  defaultEmailKey,
  type FaultSpec,
  type RequestKind,
  type SimAccount,
  type SimAccountInit,
  type SimContext,
  type SimEntry,
  type SimRateLimit,
  type SimRequest,
  type SimResponse,
  type SimStore,
  type Simulator,
  startSimulator,
  text,
} from '../core/simulator/index.js';
import {
  API_PATH,
  AUTH_FAILURE_BODY,
  type Command,
  canonicalArgs,
  type DataRow,
  failure,
  isPlausibleEmail,
  type ListingOptions,
  listingContentType,
  parseCommand,
  parseData,
  parseFlag,
  parseOutputFormat,
  parseWholeNumber,
  REASONS,
  type RecordCounts,
  renderListing,
  subAnswer,
  TEXT_CONTENT_TYPE,
  toListingRow,
  unsubAnswer,
} from './protocol.js';

export const PROVIDER_ID = 'whatcounts';

const DAY_MS = 86_400_000;

/** Realm settings (the kit's `meta`); every field optional, plain data so scenarios can be JSON. */
export interface WhatCountsAccountMeta {
  /**
   * List ids that exist in the realm. Default: the keys of `subscriptions` plus the `listId`s
   * found in the store when it holds at most 100 000 entries (name them for bigger stores).
   */
  readonly lists?: readonly (string | number)[];
  /**
   * The list a replay "delete" re-subscribes to (config option of the same name); it exists in
   * the realm, so scenarios that pass the account's config options as `meta` just work.
   */
  readonly resubscribeList?: string | number;
  /** Current subscriptions, list id → addresses. Default none. */
  readonly subscriptions?: Readonly<Record<string, readonly string[]>>;
  /** Customer Key realm: `customer_key` required in `data`, extra listing column (seed, §4). Default false. */
  readonly customerKey?: boolean;
  /** Known customer keys by address (listing column in Customer Key realms). */
  readonly customerKeys?: Readonly<Record<string, string>>;
  /**
   * What `days=N` covers [A, §6]: 'rolling' (default) = the last N×24 h up to now;
   * 'calendar' = from local midnight N−1 days before today (in `timezone`) up to now.
   */
  readonly daysMode?: 'rolling' | 'calendar';
  /** Realm zone for `daysMode: 'calendar'` [A: WhatCounts is in Seattle]. Default America/Los_Angeles. */
  readonly timezone?: string;
  /** Largest `days` accepted [A: undocumented]. Default unlimited. */
  readonly maxDays?: number;
  /**
   * `unsub` with `optout=1` for an address the realm has never seen [A: undocumented]:
   * 'optout' (default) creates the opt-out record (and the contact); 'fail' counts the row as
   * "Records Failed Other Error", like `FAILURE: Subscriber cannot be found` seen in clients (§3).
   */
  readonly unknownContact?: 'optout' | 'fail';
}

/** The convenient form: realm + password + store + realm settings. */
export interface WhatCountsSimAccountInput extends WhatCountsAccountMeta {
  /** `r`: the realm name; also the account key the simulator routes on. */
  readonly realm: string;
  /** `p`: the realm's API password. */
  readonly password: string;
  /** Non-secret name for the journal and dumps. */
  readonly id?: string;
  /** Opt-out records: a store, or entries for a new one (`listId` undefined = global). */
  readonly store?: SimStore | Iterable<SimEntry>;
  /** Fault plan, compact syntax or specs (kit faults.ts; provider kinds: README "Faults"). */
  readonly faults?: string | readonly FaultSpec[];
  readonly rateLimit?: SimRateLimit;
}

/**
 * Either form. The kit form must use the realm as `key` and carry `credentials.p` (the
 * password); `credentials.r` is set to the realm so the journal masks it (realms are secrets).
 */
export type WhatCountsSimAccount = WhatCountsSimAccountInput | SimAccountInit<WhatCountsAccountMeta>;

export interface WhatCountsSimulatorOptions {
  readonly port?: number;
  readonly host?: string;
  readonly accounts: readonly WhatCountsSimAccount[];
  /** Simulated clock, epoch ms (the reference point of `days`). Default Date.now. */
  readonly now?: () => number;
}

/** Subscriptions of one realm, for assertions (opt-out records are in the kit dump). */
export interface RealmSnapshot {
  readonly lists: readonly string[];
  /** list id → subscribed addresses (normalised), sorted. */
  readonly subscriptions: Readonly<Record<string, readonly string[]>>;
}

export interface WhatCountsSimulator extends Omit<Simulator<WhatCountsAccountMeta>, 'addAccount'> {
  /** Adds a realm at run time (either account form). */
  addAccount(init: WhatCountsSimAccount): SimAccount<WhatCountsAccountMeta>;
  /** Lists and subscriptions of a realm. Throws RangeError for an unknown realm. */
  realm(realm: string): RealmSnapshot;
}

/** The kit account of a realm (key = realm, credentials `r` + `p`). */
export function toSimAccount(input: WhatCountsSimAccount): SimAccountInit<WhatCountsAccountMeta> {
  if ('realm' in input) {
    const { realm, password, id, store, faults, rateLimit, ...meta } = input;
    return {
      key: realm,
      credentials: { r: realm, p: password },
      meta,
      ...(id === undefined ? {} : { id }),
      ...(store === undefined ? {} : { store }),
      ...(faults === undefined ? {} : { faults }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
    };
  }
  const password = input.credentials?.['p'] ?? input.credentials?.['password'] ?? '';
  return { ...input, credentials: { r: input.key, p: password } };
}

// ---------------------------------------------------------------------------------------------
// Realm state beside the store

interface RealmState {
  readonly lists: Set<string>;
  /** list id → normalised addresses. */
  readonly subscriptions: Map<string, Set<string>>;
  /** normalised address → customer key. */
  readonly customerKeys: Map<string, string>;
}

const LIST_SCAN_LIMIT = 100_000;

function initialState(account: SimAccount<WhatCountsAccountMeta>): RealmState {
  const meta = account.meta;
  const lists = new Set<string>((meta.lists ?? []).map(String));
  if (meta.resubscribeList !== undefined) lists.add(String(meta.resubscribeList));
  const subscriptions = new Map<string, Set<string>>();
  for (const [listId, emails] of Object.entries(meta.subscriptions ?? {})) {
    lists.add(listId);
    subscriptions.set(listId, new Set(emails.map(defaultEmailKey)));
  }
  if (meta.lists === undefined && account.store.size() <= LIST_SCAN_LIMIT) {
    for (const entry of account.store.iterate()) if (entry.listId !== undefined) lists.add(entry.listId);
  }
  const customerKeys = new Map<string, string>();
  for (const [email, key] of Object.entries(meta.customerKeys ?? {}))
    customerKeys.set(defaultEmailKey(email), key);
  return { lists, subscriptions, customerKeys };
}

// ---------------------------------------------------------------------------------------------
// Routing

/** Reads are the listings, writes change state; anything else (bad command) is 'other'. */
export function classifyRequest(req: SimRequest): RequestKind {
  const command = parseCommand(canonicalArgs(req.params)['c']);
  if (command === 'show_opt' || command === 'show_optglobal') return 'read';
  if (command === 'unsub' || command === 'sub') return 'write';
  return 'other';
}

/** Starts the simulator on 127.0.0.1 (port 0 = a free port unless `port` is given). */
export async function startWhatCountsSimulator(
  options: WhatCountsSimulatorOptions,
): Promise<WhatCountsSimulator> {
  // Keyed by the account object: a realm re-added under the same name starts afresh.
  const states = new WeakMap<SimAccount<WhatCountsAccountMeta>, RealmState>();
  const stateOf = (account: SimAccount<WhatCountsAccountMeta>): RealmState => {
    let state = states.get(account);
    if (!state) {
      state = initialState(account);
      states.set(account, state);
    }
    return state;
  };

  const sim = await startSimulator<WhatCountsAccountMeta>({
    name: PROVIDER_ID,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.now === undefined ? {} : { now: options.now }),
    accounts: options.accounts.map(toSimAccount),
    resolveAccount: (req) => canonicalArgs(req.params)['r'],
    classify: classifyRequest,
    handler: (ctx) => handle(ctx, stateOf),
  });

  const addAccount = sim.addAccount;
  return {
    ...sim,
    // Accept the convenient form at run time too.
    addAccount: (init) => addAccount(toSimAccount(init)),
    realm: (realm) => {
      const account = sim.account(realm);
      if (!account) throw new RangeError(`whatcounts simulator: no such realm`);
      const state = stateOf(account);
      const subscriptions: Record<string, string[]> = {};
      for (const [listId, emails] of state.subscriptions) subscriptions[listId] = [...emails].sort();
      return { lists: [...state.lists].sort(), subscriptions };
    },
  };
}

const answer = (body: string): SimResponse => text(body, 200, TEXT_CONTENT_TYPE);

type StateOf = (account: SimAccount<WhatCountsAccountMeta>) => RealmState;

function handle(ctx: SimContext<WhatCountsAccountMeta>, stateOf: StateOf): SimResponse {
  if (ctx.path !== API_PATH) return text('Not Found\n', 404, 'text/html; charset=UTF-8');
  if (ctx.method !== 'GET' && ctx.method !== 'POST') return text('Method Not Allowed\n', 405);
  const args = canonicalArgs(ctx.params);
  // Seed "Arguments": "the command will fail if the realm and password do not match".
  if (!credentialsMatch(ctx.account, { r: args['r'], p: args['p'] })) return answer(AUTH_FAILURE_BODY);
  const account = ctx.account!;
  const command = parseCommand(args['c']);
  if (command === undefined) return answer(failure(REASONS.invalidCommand));
  const inband = inbandError(ctx.faults);
  if (inband !== undefined) {
    ctx.note(`inband-error: ${inband}`);
    return answer(inband);
  }
  const state = stateOf(account);
  return COMMAND_HANDLERS[command]({ ctx, args, account, state });
}

interface CommandInput {
  readonly ctx: SimContext<WhatCountsAccountMeta>;
  readonly args: Readonly<Record<string, string>>;
  readonly account: SimAccount<WhatCountsAccountMeta>;
  readonly state: RealmState;
}

const COMMAND_HANDLERS: Record<Command, (input: CommandInput) => SimResponse> = {
  show_opt: (input) => listing(input, 'list'),
  show_optglobal: (input) => listing(input, 'global'),
  unsub: unsubscribe,
  sub: subscribe,
};

/**
 * `inband-error` fault: a `FAILURE:` line in an HTTP 200, the only way WhatCounts reports
 * errors. `/auth` answers the credentials text instead; any other value is used as the reason;
 * default a temporary error (DESIGN "Extraction": a WhatCounts `FAILURE:` about a
 * temporary/server error is retried).
 */
function inbandError(faults: ActiveFaults): string | undefined {
  const spec = faults.spec('inband-error');
  if (!spec) return undefined;
  const arg = (spec.arg ?? '').trim();
  if (arg === '' || arg === 'temporary') return failure(REASONS.temporary);
  if (arg === 'auth') return AUTH_FAILURE_BODY;
  return failure(arg);
}

// ---------------------------------------------------------------------------------------------
// show_opt / show_optglobal

/**
 * Start of the `days` window, epoch ms. The window ends at "now" (inclusive); an opt-out dated
 * in the future of the simulated clock has not happened yet and is never listed.
 */
export function windowStart(nowMs: number, days: number, meta: WhatCountsAccountMeta): number {
  if (meta.daysMode === 'calendar') {
    const zone = meta.timezone ?? 'America/Los_Angeles';
    return DateTime.fromMillis(nowMs, { zone })
      .startOf('day')
      .minus({ days: days - 1 })
      .toMillis();
  }
  return nowMs - days * DAY_MS;
}

function listing({ ctx, args, account, state }: CommandInput, scope: 'list' | 'global'): SimResponse {
  const meta = account.meta;
  let listId: string | undefined;
  if (scope === 'list') {
    const id = parseWholeNumber(args['list_id']);
    if (id === undefined || id === 0) return answer(failure(REASONS.missingListId));
    listId = String(id);
    // Show Optouts doc: fails "such as if the list doesn't exist".
    if (!state.lists.has(listId)) return answer(failure(REASONS.listNotFound(listId)));
  }
  const days = parseWholeNumber(args['days']);
  if (days === undefined || days < 1) return answer(failure(REASONS.missingDays));
  if (meta.maxDays !== undefined && days > meta.maxDays)
    return answer(failure(REASONS.daysTooLarge(meta.maxDays)));

  const options: ListingOptions = {
    format: parseOutputFormat(args['output_format']),
    headers: parseFlag(args['headers']),
    customerKey: meta.customerKey === true,
  };
  const now = ctx.now();
  const store = account.store;
  const [lo, hi] = store.rangeIndex(windowStart(now, days, meta), now + 1);
  const inScope = (entry: SimEntry): boolean => entry.listId === listId;
  const keyOf = options.customerKey
    ? (email: string) => state.customerKeys.get(defaultEmailKey(email)) ?? ''
    : undefined;
  const duplicate = ctx.faults.has('duplicate-row');
  // No paging (§7): no next page to repeat, so the flag is journaled and ignored (README "Faults").
  if (ctx.faults.has('repeat-page'))
    ctx.note('repeat-page: not applicable to whatcounts (no paging), ignored');
  const rows = function* () {
    let first = true;
    for (const entry of store.iterate(lo, hi, inScope)) {
      const row = toListingRow(entry, keyOf);
      yield row;
      // duplicate-row: the window's first row comes twice in the same answer (README "Faults").
      if (first && duplicate) yield row;
      first = false;
    }
  };
  ctx.note(`window: days=${days} from ${new Date(windowStart(now, days, meta)).toISOString()}`);
  return {
    status: 200,
    headers: { 'content-type': listingContentType(options.format) },
    body: renderListing(rows(), options, { emptyTail: ctx.faults.has('empty-last-page') }),
  };
}

// ---------------------------------------------------------------------------------------------
// unsub / sub

interface RowsCheck {
  readonly rows: readonly DataRow[];
  readonly error?: string;
}

/** Header rules shared by `unsub` and `sub`: email always, customer_key in CK realms (seed). */
function checkData(args: Readonly<Record<string, string>>, customerKey: boolean): RowsCheck {
  const parsed = parseData(args['data']);
  if (!parsed.ok) return { rows: [], error: parsed.reason };
  if (!parsed.header.includes('email')) return { rows: [], error: REASONS.noEmailField };
  // Seed "Customer Key Example": "If the Customer Key is not included, the command will fail."
  if (customerKey && !parsed.header.includes('customer_key'))
    return { rows: [], error: REASONS.noCustomerKeyField };
  if (parsed.rows.length === 0) return { rows: [], error: REASONS.noRows };
  return { rows: parsed.rows };
}

/** The row's address if the row is usable, else undefined (it counts as a failed record). */
function usableEmail(row: DataRow, customerKey: boolean): string | undefined {
  if (row.problem !== undefined) return undefined;
  const email = row.fields['email'] ?? '';
  if (!isPlausibleEmail(email)) return undefined;
  if (customerKey && (row.fields['customer_key'] ?? '') === '') return undefined;
  return email;
}

function rememberCustomerKey(state: RealmState, email: string, row: DataRow): void {
  const key = row.fields['customer_key'];
  if (key !== undefined && key !== '' && !state.customerKeys.has(defaultEmailKey(email)))
    state.customerKeys.set(defaultEmailKey(email), key);
}

/** Whether the realm knows the contact: a subscription, an opt-out record or a customer key. */
function knownContact(state: RealmState, store: SimStore, email: string): boolean {
  const key = defaultEmailKey(email);
  if (state.customerKeys.has(key) || store.has(email)) return true;
  for (const members of state.subscriptions.values()) if (members.has(key)) return true;
  return false;
}

/**
 * `c=unsub` (seed): removes the contact's subscription to `list_id` (every list for `0`); with
 * `optout=1` also records an opt-out for that list (global for `0`). Without `optout=1` no opt-out
 * record is made, so `show_opt`/`show_optglobal` never see it (§0). A row takes effect when it
 * removed a subscription or (with `optout=1`) holds an opt-out record afterwards — an address
 * already opted out counts as done, so a replay is idempotent [A]. Unusable rows and contacts
 * without a subscription to remove count as "Records Failed Other Error" (seed: counts only).
 */
function unsubscribe({ ctx, args, account, state }: CommandInput): SimResponse {
  const meta = account.meta;
  const listNumber = parseWholeNumber(args['list_id']);
  if (listNumber === undefined) return answer(failure(REASONS.missingListId));
  const listId = String(listNumber);
  const global = listNumber === 0;
  if (!global && !state.lists.has(listId)) return answer(failure(REASONS.listNotFound(listId)));
  const customerKey = meta.customerKey === true;
  const check = checkData(args, customerKey);
  if (check.error !== undefined) return answer(failure(check.error));
  const optout = parseFlag(args['optout']);
  const store = account.store;
  const now = ctx.now();

  let done = 0;
  const contacts = new Set<string>();
  for (const row of check.rows) {
    const email = usableEmail(row, customerKey);
    if (email === undefined) continue;
    const key = defaultEmailKey(email);
    const known = knownContact(state, store, email);
    let removed = false;
    for (const [id, members] of state.subscriptions) {
      if ((global || id === listId) && members.delete(key)) removed = true;
    }
    let optedOut = false;
    if (optout && (known || meta.unknownContact !== 'fail')) {
      const scope = global ? {} : { listId };
      store.add({ email, at: now, ...scope });
      optedOut = true;
    }
    if (!removed && !optedOut) continue;
    rememberCustomerKey(state, email, row);
    done++;
    contacts.add(key);
  }
  const counts: RecordCounts = {
    processed: check.rows.length,
    done,
    contacts: contacts.size,
    failedOther: check.rows.length - done,
  };
  ctx.note(`unsub list ${listId} optout=${optout ? 1 : 0}: ${done}/${check.rows.length} done`);
  return answer(unsubAnswer(listId, counts));
}

/**
 * `c=sub` (Subscribe doc [D:4]): subscribes each contact to `list_id` (> 0, required with
 * `format` 1|2|99). A contact with an opt-out record for that list or a global one is refused
 * unless `force_sub=1`, which deletes those records first — the only way to undo an opt-out
 * (REST `forceSubscribe` = "clear opt out and force subscribe"; that it clears the global record
 * too is our reading [A], else a global opt-out could never be undone).
 */
function subscribe({ ctx, args, account, state }: CommandInput): SimResponse {
  const meta = account.meta;
  const listNumber = parseWholeNumber(args['list_id']);
  if (listNumber === undefined) return answer(failure(REASONS.missingListId));
  if (listNumber === 0) return answer(failure(REASONS.subListZero));
  const listId = String(listNumber);
  if (!state.lists.has(listId)) return answer(failure(REASONS.listNotFound(listId)));
  if (![1, 2, 99].includes(parseWholeNumber(args['format']) ?? -1))
    return answer(failure(REASONS.missingFormat));
  const customerKey = meta.customerKey === true;
  const check = checkData(args, customerKey);
  if (check.error !== undefined) return answer(failure(check.error));
  const force = parseFlag(args['force_sub']);
  const store = account.store;
  const blocks = (entry: SimEntry): boolean => entry.listId === undefined || entry.listId === listId;

  let done = 0;
  let failedOptout = 0;
  const contacts = new Set<string>();
  for (const row of check.rows) {
    const email = usableEmail(row, customerKey);
    if (email === undefined) continue;
    if (store.has(email, blocks)) {
      if (!force) {
        failedOptout++;
        continue;
      }
      store.remove(email, blocks);
    }
    const key = defaultEmailKey(email);
    let members = state.subscriptions.get(listId);
    if (!members) {
      members = new Set();
      state.subscriptions.set(listId, members);
    }
    members.add(key);
    rememberCustomerKey(state, email, row);
    done++;
    contacts.add(key);
  }
  const counts: RecordCounts = {
    processed: check.rows.length,
    done,
    contacts: contacts.size,
    failedOptout,
    failedOther: check.rows.length - done - failedOptout,
  };
  ctx.note(`sub list ${listId} force_sub=${force ? 1 : 0}: ${done}/${check.rows.length} done`);
  return answer(subAnswer(listId, counts));
}
