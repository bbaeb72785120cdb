/**
 * BlueHornet eMS ("mappapi") simulator: `POST …/api/xmlrpc/index.php` carrying an XML envelope of
 * `<methodCall>`s, answering `legacy.retrieve_unsub` (reads) and `legacy.manage_subscriber`
 * (writes) like echo.bluehornet.com, on the shared kit (extractors/core/simulator).
 *
 * Request path: route → envelope (form field `data` or raw XML; strict parser, no DTD —
 * sim-xml.ts) → account lookup by `api_key` and `shared_secret` check (445) → the kit's rate limit
 * and generic faults → provider faults → each methodCall in order (validation in
 * sim-protocol.ts), writes applied at once, reads streamed from the sorted store.
 * Every API-level outcome is HTTP 200 with the error inside the XML (shared/providers/bluehornet.md
 * §3); only the kit's own faults and rate limit produce 429/5xx.
 *
 * ```ts
 * const sim = await startBlueHornetSimulator({ accounts: [{ key: 'bh-key', id: 'bh-main',
 *   credentials: { apiKey: 'bh-key', sharedSecret: 's3cret' }, store: entries }] });
 * await fetch(`${sim.url}/api/xmlrpc/index.php`, { method: 'POST', body: new URLSearchParams({ data: xml }) });
 * ```
 * Faults honoured here (README "Faults"): `inband-error[/code]`, `duplicate-row[/previous-day]`;
 * `repeat-page` and `empty-last-page` have no meaning without paging and are only noted.
 */
import {
  credentialsMatch,
  defaultEmailKey,
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
  type BhError,
  daysToInstants,
  type Envelope,
  type EnvelopeResult,
  ERR,
  envelopeXmlFromBody,
  errorItem,
  type ItemCounters,
  localDate,
  MANAGE_SUBSCRIBER,
  MANIFEST_CLOSE,
  MANIFEST_OPEN,
  type ManageSubscriber,
  manageSubscriberData,
  parseEnvelope,
  RESPONSE_CLOSE,
  RESPONSE_OPEN,
  RETRIEVE_UNSUB,
  successItemClose,
  successItemOpen,
  type UnsubQuery,
  type UnsubRow,
  unsubRowXml,
  validateManageSubscriber,
  validateRetrieveUnsub,
} from './sim-protocol.js';

export const PROVIDER_ID = 'bluehornet';

/** Default account zone: BlueHornet was US-based (San Diego); undocumented (§5) [A]. */
export const DEFAULT_TIMEZONE = 'America/Los_Angeles';

/** `method_unsubscribed` of an entry that does not say; a value the seed shows [S]. */
export const DEFAULT_METHOD = 'System Opt-out';
/** `method_unsubscribed` recorded by `manage_subscriber optout=1`: the list is undocumented [A]. */
export const API_OPTOUT_METHOD = 'API Opt-out';

/**
 * A stored unsubscribe with the BlueHornet-only fields. The kit's stores keep these extra
 * properties (MemoryStore copies the object, GeneratedStore returns what `gen` builds).
 */
export interface BlueHornetEntry extends SimEntry {
  /** `method_unsubscribed`. Default {@link DEFAULT_METHOD}. */
  readonly method?: string;
  /** `mess_id` (digits); absent = not from a message → `<mess_id></mess_id>` (seed). */
  readonly messId?: string;
  /** `external_id`, shown only when the account has External ID enabled (seed). */
  readonly externalId?: string;
  /** `initiated_optout`, shown (as 0/1 [A]) only with External ID enabled (seed). Default true. */
  readonly initiatedOptout?: boolean;
}

/** Provider-specific account settings (`SimAccount.meta`). */
export interface BlueHornetMeta {
  /** IANA zone of `date_deleted` and of the requested dates. Default {@link DEFAULT_TIMEZONE}. */
  readonly timezone?: string;
  /** The account's "External ID" feature: adds `external_id` / `initiated_optout` (seed). */
  readonly externalId?: boolean;
  /** Active (not opted-out) contacts, for `manage_subscriber` "added" vs "updated" [A]. */
  readonly contacts?: readonly string[];
}

/**
 * One BlueHornet account. `key` is the `api_key` that names it in the envelope;
 * `credentials.apiKey` defaults to `key`, `credentials.sharedSecret` is required (DESIGN.md config
 * shape). `store`: entries (any order) or a kit store; entries may carry {@link BlueHornetEntry}
 * fields.
 */
export interface BlueHornetSimAccountInput extends Omit<SimAccountInit<BlueHornetMeta>, 'credentials'> {
  readonly credentials: { readonly apiKey?: string; readonly sharedSecret: string };
  readonly store?: SimStore | Iterable<BlueHornetEntry>;
}

export type BlueHornetSimulator = Simulator<BlueHornetMeta>;

export interface BlueHornetSimulatorOptions {
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly accounts: readonly BlueHornetSimAccountInput[];
  /** Simulated clock (epoch ms): the date `manage_subscriber optout=1` records. Default Date.now. */
  readonly now?: () => number;
}

type Ctx = SimContext<BlueHornetMeta>;
type Account = SimAccount<BlueHornetMeta>;

/** The documented path (§1), under any prefix so a `baseUrl` with a path works. */
const ROUTE = /\/api\/xmlrpc\/index\.php$/;

/** Both resolveAccount and the handler need the envelope: parse each body once. */
const envelopes = new WeakMap<Buffer, EnvelopeResult>();
function envelopeOf(req: SimRequest): EnvelopeResult {
  let result = envelopes.get(req.rawBody);
  if (!result) {
    const contentType = req.headers['content-type'];
    // The kit already parsed urlencoded and multipart forms; anything else is a raw XML body.
    result = parseEnvelope(req.form.get('data') ?? envelopeXmlFromBody(contentType, req.rawBody));
    envelopes.set(req.rawBody, result);
  }
  return result;
}

/** Starts the simulator; resolves once it listens. Throws RangeError for an account without sharedSecret. */
export async function startBlueHornetSimulator(
  options: BlueHornetSimulatorOptions,
): Promise<BlueHornetSimulator> {
  const accounts = options.accounts.map((input): SimAccountInit<BlueHornetMeta> => {
    const { credentials, ...rest } = input;
    if (!credentials?.sharedSecret)
      throw new RangeError(`bluehornet simulator: account ${input.id ?? input.key} has no sharedSecret`);
    // Kit credentials are keyed by the envelope element names, so the journal masks both.
    return {
      ...rest,
      credentials: { api_key: credentials.apiKey ?? input.key, shared_secret: credentials.sharedSecret },
    };
  });
  // Contact state beside the store (which holds only opt-outs): normalised address → external id.
  const contacts = new Map<string, Map<string, string | undefined>>();
  for (const a of accounts)
    contacts.set(a.key, new Map((a.meta?.contacts ?? []).map((e) => [defaultEmailKey(e), undefined])));

  return startSimulator<BlueHornetMeta>({
    name: PROVIDER_ID,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.now ? { now: options.now } : {}),
    accounts,
    resolveAccount: (req) => {
      const parsed = envelopeOf(req);
      return parsed.ok ? parsed.envelope.apiKey : undefined;
    },
    classify: (req) => {
      const parsed = envelopeOf(req);
      if (!ROUTE.test(req.path) || !parsed.ok) return 'other';
      return parsed.envelope.calls.some((c) => c.methodName === MANAGE_SUBSCRIBER) ? 'write' : 'read';
    },
    handler: (ctx) => handler(ctx, contacts),
  });
}

const xmlResponse = (body: string | Iterable<string>): SimResponse => ({
  status: 200,
  headers: { 'content-type': 'text/xml; charset=UTF-8' },
  body,
});

/** A whole answer made of one error item (envelope and authentication failures, §3). */
const singleError = (error: BhError, totalRequests: number): SimResponse =>
  xmlResponse(
    RESPONSE_OPEN + errorItem(error, { responseNum: 1, totalRequests, totalCompleted: 0 }) + RESPONSE_CLOSE,
  );

function handler(ctx: Ctx, contacts: Map<string, Map<string, string | undefined>>): SimResponse {
  if (!ROUTE.test(ctx.path))
    return { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>404 Not Found</h1>' };
  // [A] POST only: every client posts (§1); what a GET gets is undocumented.
  if (ctx.method !== 'POST')
    return {
      status: 405,
      headers: { allow: 'POST', 'content-type': 'text/html' },
      body: '<h1>405 Method Not Allowed</h1>',
    };

  const parsed = envelopeOf(ctx);
  if (!parsed.ok) {
    ctx.note(parsed.doctype ? 'refused: DOCTYPE in request XML' : `refused: ${parsed.error.text}`);
    return singleError(parsed.error, parsed.callCount);
  }
  const envelope = parsed.envelope;
  const account = ctx.account;
  // 445 has no methodName and totalCompleted 0, as in the client fixture (§3, C:2).
  if (
    !account ||
    !credentialsMatch(account, { api_key: envelope.apiKey, shared_secret: envelope.sharedSecret })
  ) {
    return singleError(ERR.auth, envelope.calls.length);
  }
  for (const kind of ['repeat-page', 'empty-last-page'] as const) {
    if (ctx.faults.has(kind)) ctx.note(`${kind}: not applicable to bluehornet (no paging), ignored`);
  }
  return xmlResponse(respond(ctx, account, envelope, contacts.get(account.key) ?? new Map()));
}

/**
 * Runs the calls in order (§7): validation and writes now, so a write is applied even if the
 * client never reads the answer; reads are rendered lazily while the body streams. With
 * `no_halt` 0 the first failed call ends the answer (§3, D:4). A read later in the POST sees
 * every write of the POST [A] (docs advise against mixing writes with other calls, D:5).
 */
function respond(
  ctx: Ctx,
  account: Account,
  envelope: Envelope,
  accountContacts: Map<string, string | undefined>,
): Iterable<string> {
  const parts: (string | (() => Iterable<string>))[] = [RESPONSE_OPEN];
  const totalRequests = envelope.calls.length;
  let completed = 0;
  for (const [i, call] of envelope.calls.entries()) {
    const counters: ItemCounters = { responseNum: i + 1, totalRequests, totalCompleted: completed };
    const outcome = runCall(
      ctx,
      account,
      envelope,
      call.methodName,
      call.fields,
      counters,
      accountContacts,
      i === 0,
    );
    parts.push(outcome.part);
    if (outcome.ok) completed++;
    else if (!envelope.noHalt) break;
  }
  parts.push(RESPONSE_CLOSE);
  return (function* () {
    for (const part of parts) {
      if (typeof part === 'string') yield part;
      else yield* part();
    }
  })();
}

type Outcome = { ok: boolean; part: string | (() => Iterable<string>) };

function runCall(
  ctx: Ctx,
  account: Account,
  envelope: Envelope,
  methodName: string,
  fields: ReadonlyMap<string, string>,
  counters: ItemCounters,
  accountContacts: Map<string, string | undefined>,
  first: boolean,
): Outcome {
  const fail = (error: BhError): Outcome => ({ ok: false, part: errorItem(error, counters, methodName) });
  ctx.note(`${methodName || '(no methodName)'} ${[...fields].map(([k, v]) => `${k}=${v}`).join(' ')}`.trim());
  // The in-band fault hits the request's first call; halting then follows `no_halt` as usual.
  if (first && ctx.faults.has('inband-error')) return fail(inbandError(ctx.faults.spec('inband-error')?.arg));
  switch (methodName) {
    case RETRIEVE_UNSUB: {
      // Seed "Usage Notes": this method only supports the XML response type.
      if (envelope.responseType !== 'xml') return fail(ERR.xmlOnly);
      const checked = validateRetrieveUnsub(fields);
      if (!checked.ok) return fail(checked.error);
      return { ok: true, part: () => retrieveUnsub(ctx, account, checked.query, counters.responseNum) };
    }
    case MANAGE_SUBSCRIBER: {
      const checked = validateManageSubscriber(fields);
      if (!checked.ok) return fail(checked.error);
      const result = manageSubscriber(ctx, account, checked.call, accountContacts);
      if ('code' in result) return fail(result);
      return {
        ok: true,
        part:
          successItemOpen(MANAGE_SUBSCRIBER) +
          manageSubscriberData(result.status, result.message) +
          successItemClose(counters.responseNum),
      };
    }
    default:
      return fail(ERR.unknownMethod);
  }
}

/** `inband-error[/arg]`: arg `auth` or a documented code gives that answer; default 500 (retriable, DESIGN.md). */
function inbandError(arg: string | undefined): BhError {
  const known: BhError[] = [
    ERR.invalidSearch,
    ERR.badDate1,
    ERR.badDate2,
    ERR.dateOrder,
    ERR.auth,
    ERR.temporary,
  ];
  if (arg === 'auth') return ERR.auth;
  const code = Number(arg);
  if (arg === undefined || arg === '' || !Number.isInteger(code)) return ERR.temporary;
  return known.find((e) => e.code === code) ?? { code, text: code >= 500 ? ERR.temporary.text : 'Error' };
}

/** The BlueHornet fields of a stored entry, with defaults, read defensively (stores hold SimEntry). */
function toRow(entry: SimEntry, meta: BlueHornetMeta, dateOf: (atMs: number) => string): UnsubRow {
  const e = entry as BlueHornetEntry;
  const row: UnsubRow = {
    email: entry.email,
    dateDeleted: dateOf(entry.at),
    methodUnsubscribed: typeof e.method === 'string' ? e.method : DEFAULT_METHOD,
    messId: typeof e.messId === 'string' || typeof e.messId === 'number' ? String(e.messId) : '',
  };
  if (!meta.externalId) return row;
  return { ...row, externalId: e.externalId ?? '', initiatedOptout: e.initiatedOptout ?? true };
}

/**
 * One `retrieve_unsub` answer, streamed: the range is found by binary search and walked lazily,
 * so memory stays constant whatever the account size. Without dates (email-only search) the
 * address is looked up directly. Fault `duplicate-row` sends the manifest's first row again as
 * its last; `duplicate-row/previous-day` widens the range by the day before `date_deleted1`, so
 * that day's rows arrive in this answer and in the previous window's answer.
 */
function* retrieveUnsub(
  ctx: Ctx,
  account: Account,
  query: UnsubQuery,
  responseNum: number,
): Generator<string> {
  const meta = account.meta;
  const zone = meta.timezone ?? DEFAULT_TIMEZONE;
  const store = account.store;
  const duplicate = ctx.faults.spec('duplicate-row');
  const emailKey = query.email === undefined ? undefined : defaultEmailKey(query.email);
  const matches = (entry: SimEntry): boolean => {
    const e = entry as BlueHornetEntry;
    if (emailKey !== undefined && defaultEmailKey(entry.email) !== emailKey) return false;
    if (query.externalId !== undefined && e.externalId !== query.externalId) return false;
    if (query.messId !== undefined && String(e.messId ?? '') !== query.messId) return false;
    return true;
  };
  let entries: Iterable<SimEntry>;
  if (query.firstDay !== undefined && query.lastDay !== undefined) {
    const range = daysToInstants(query.firstDay, query.lastDay, zone);
    const from =
      duplicate?.arg === 'previous-day'
        ? daysToInstants(previousDay(query.firstDay), query.firstDay, zone).from
        : range.from;
    const [lo, hi] = store.rangeIndex(from, range.to);
    entries = store.iterate(lo, hi, matches);
  } else {
    const found = query.email === undefined ? undefined : store.find(query.email, matches);
    entries = found ? [found] : [];
  }

  // Rows arrive in time order: remember the current local day instead of a zone lookup per row.
  let day = { from: 0, to: 0, date: '' };
  const dateOf = (atMs: number): string => {
    if (atMs < day.from || atMs >= day.to) {
      const date = localDate(atMs, zone);
      day = { ...daysToInstants(date, date, zone), date };
    }
    return day.date;
  };

  yield successItemOpen(RETRIEVE_UNSUB);
  yield MANIFEST_OPEN;
  let firstRow: string | undefined;
  let count = 0;
  for (const entry of entries) {
    const xml = unsubRowXml(toRow(entry, meta, dateOf));
    firstRow ??= xml;
    count++;
    yield xml;
  }
  if (duplicate && duplicate.arg !== 'previous-day' && firstRow !== undefined) {
    count++;
    yield firstRow;
  }
  yield MANIFEST_CLOSE;
  yield successItemClose(responseNum);
  ctx.note(`retrieve_unsub #${responseNum}: ${count} rows`);
}

const previousDay = (day: string): string => {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
};

/**
 * `legacy.manage_subscriber` [A: the flag semantics are undocumented, §4; README "Writes"]:
 *  - `optout=1`: opt the contact out, dated today (simulated clock). Already opted out → status 2
 *    "User has been updated" with the original date kept; a contact unknown until now → status 1.
 *  - `remove=1`: delete the contact. The opt-out record, if any, stays (a suppression is not undone
 *    by deleting the contact). Unknown contact → error 404 "Contact does not exist".
 *  - neither: add/update an active contact. An opted-out contact is re-activated (its opt-out
 *    removed) unless `check_optout=1` — the destructive form our replay must never send.
 */
function manageSubscriber(
  ctx: Ctx,
  account: Account,
  call: ManageSubscriber,
  accountContacts: Map<string, string | undefined>,
): BhError | { status: number; message: string } {
  const store = account.store;
  let email = call.email;
  if (email === undefined && call.externalId !== undefined) {
    // Email-less calls find the contact by external id (doc: email required unless external_id).
    const wanted = call.externalId;
    const byStore = store
      .iterate(0, store.size(), (e) => (e as BlueHornetEntry).externalId === wanted)
      .next().value;
    email = byStore?.email ?? [...accountContacts].find(([, ext]) => ext === wanted)?.[0];
    if (email === undefined) return { code: 404, text: 'Contact does not exist' };
  }
  if (email === undefined) return { code: 404, text: 'Contact does not exist' };
  const key = defaultEmailKey(email);
  const optedOut = store.find(email);
  const active = accountContacts.has(key);
  const known = optedOut !== undefined || active;

  if (call.optout) {
    if (!optedOut) {
      const entry: BlueHornetEntry = {
        email,
        at: ctx.now(),
        method: API_OPTOUT_METHOD,
        initiatedOptout: false,
        ...(call.externalId !== undefined ? { externalId: call.externalId } : {}),
      };
      store.add(entry);
      ctx.note('manage_subscriber: opted out');
    } else ctx.note('manage_subscriber: already opted out, date kept');
    accountContacts.delete(key);
    if (call.remove) return { status: 3, message: 'User has been deleted' };
    return known
      ? { status: 2, message: 'User has been updated' }
      : { status: 1, message: 'User has been added' };
  }
  if (call.remove) {
    if (!known) return { code: 404, text: 'Contact does not exist' };
    accountContacts.delete(key);
    ctx.note(
      optedOut ? 'manage_subscriber: contact deleted, opt-out kept' : 'manage_subscriber: contact deleted',
    );
    return { status: 3, message: 'User has been deleted' };
  }
  if (optedOut && call.checkOptout) {
    ctx.note('manage_subscriber: opted out, check_optout kept it so');
    return { status: 2, message: 'User has been updated' };
  }
  if (optedOut) {
    store.remove(email);
    ctx.note('manage_subscriber: RE-ACTIVATED an opted-out contact (opt-out removed)');
  }
  accountContacts.set(key, call.externalId);
  return known
    ? { status: 2, message: 'User has been updated' }
    : { status: 1, message: 'User has been added' };
}

/**
 * The two rows of the seed's "Example Response", dated at local noon in `zone`, for fixtures and
 * tests that compare against the seed.
 */
export function seedExampleEntries(zone = DEFAULT_TIMEZONE): BlueHornetEntry[] {
  const noon = (day: string): number => daysToInstants(day, day, zone).from + 12 * 3_600_000;
  return [
    { email: 'john_smith@example.com', at: noon('2010-04-13'), method: 'Survey Page', messId: '42324' },
    { email: 'subscriber@gmail.com', at: noon('2010-04-10'), method: 'System Opt-out' },
  ];
}
