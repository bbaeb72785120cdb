/**
 * The pure half of the BlueHornet simulator: request envelope → validated method calls, and
 * validated calls / rows / errors → XML fragments. No I/O, no clock, no store.
 *
 * Source of truth: seed shared/seeds/004_f15a0737139ae705.txt ("Arguments", "Response Codes",
 * "Example Response") and shared/providers/bluehornet.md (§n below). Every answer the seed and
 * the docs leave open is marked [A] here and listed in ./README.md.
 */
import { DateTime } from 'luxon';
import { cdata, escapeXml, parseXmlStrict, type XmlElement, XmlRejected } from './sim-xml.js';

export const RETRIEVE_UNSUB = 'legacy.retrieve_unsub';
export const MANAGE_SUBSCRIBER = 'legacy.manage_subscriber';

/** An in-band error: HTTP 200, `<error>1</error>`, `responseText`, `responseData/responseCode`. */
export interface BhError {
  readonly code: number;
  readonly text: string;
  /** Extra `responseData` children, already XML (e.g. `<missing_vars>…</missing_vars>`). */
  readonly extraData?: string;
}

/** Documented codes: seed "Response Codes" (432–473) and the 445 client fixture (§3). */
export const ERR = {
  invalidSearch: { code: 432, text: 'Invalid search parameters' },
  badDate1: { code: 471, text: 'date_deleted1 must be in YYYY-MM-DD format' },
  badDate2: { code: 472, text: 'date_deleted2 must be in YYYY-MM-DD format' },
  dateOrder: { code: 473, text: 'date_deleted1 must be earlier than date_deleted2' },
  auth: { code: 445, text: 'Could not authenticate' },
  // [A] below: texts from the error-reporting page (§3, D:4) where it has them, codes ours.
  unknownMethod: { code: 400, text: 'Incorrect Action Specified' },
  invalidXml: { code: 400, text: 'Invalid XML' },
  xmlOnly: { code: 400, text: 'legacy.retrieve_unsub only supports the xml response type' },
  /** The `inband-error` fault: a 5xx code is what DESIGN.md's retry rule treats as temporary. */
  temporary: { code: 500, text: 'Internal error, please try again later' },
} as const satisfies Record<string, BhError>;

/** "Missing variables" with the names in `responseData/missing_vars` (§3, D:4); code 400 [A]. */
export function missingVars(names: readonly string[]): BhError {
  return {
    code: 400,
    text: 'Missing variables',
    extraData: names.map((n) => `<missing_vars>${escapeXml(n)}</missing_vars>`).join(''),
  };
}

// ---------------------------------------------------------------------------------------------
// Request envelope (§1)

export interface MethodCall {
  readonly methodName: string;
  /** Child elements of `<methodCall>` other than `methodName`, trimmed; first occurrence wins [A]. */
  readonly fields: ReadonlyMap<string, string>;
}

export interface Envelope {
  readonly apiKey: string;
  readonly sharedSecret: string;
  /** `xml` (default) or `php` (§1). */
  readonly responseType: string;
  /** `<no_halt>1</no_halt>`: keep executing after a failed call (§1, D:2). */
  readonly noHalt: boolean;
  readonly calls: readonly MethodCall[];
}

export type EnvelopeResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly error: BhError; readonly doctype: boolean; readonly callCount: number };

/**
 * Where the envelope is in a POST body: the form field `data` for
 * `application/x-www-form-urlencoded` (what most clients send, §1 C:1 C:3), else the raw body
 * as XML (C:2). A form body without `data` gives undefined.
 */
export function envelopeXmlFromBody(contentType: string | undefined, body: Buffer): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = decodeBody(body, contentType);
  const looksLikeForm = type === 'application/x-www-form-urlencoded' || /^\s*data=/.test(text);
  if (looksLikeForm && !text.trimStart().startsWith('<')) {
    return new URLSearchParams(text).get('data') ?? undefined;
  }
  return text;
}

/** UTF-8 unless the Content-Type or the XML declaration says ISO-8859-1 / Latin-1 [A] (§5). */
function decodeBody(body: Buffer, contentType: string | undefined): string {
  const declared =
    /charset\s*=\s*"?([\w-]+)/i.exec(contentType ?? '')?.[1] ??
    /^\s*<\?xml[^>]*encoding\s*=\s*["']([\w-]+)["']/i.exec(body.subarray(0, 200).toString('latin1'))?.[1];
  const latin1 = declared !== undefined && /^(iso-8859-1|latin-?1|windows-1252)$/i.test(declared);
  return body.toString(latin1 ? 'latin1' : 'utf8');
}

const childText = (parent: XmlElement | undefined, name: string): string | undefined => {
  const child = parent?.children.find((c) => c.name === name);
  return child === undefined ? undefined : child.text.trim();
};

/**
 * Parses and checks the envelope. Failures are answered as one error item (the 445 fixture's
 * shape, §3): a non-XML or DOCTYPE-carrying body → "Invalid XML" [A]; no `<api>` root,
 * `<authentication>`, `api_key`, `shared_secret` or `<data>` → "Missing variables" [A].
 */
export function parseEnvelope(xml: string | undefined): EnvelopeResult {
  if (xml === undefined || xml.trim() === '') {
    return { ok: false, error: missingVars(['data']), doctype: false, callCount: 1 };
  }
  let root: XmlElement;
  try {
    root = parseXmlStrict(xml);
  } catch (err) {
    if (!(err instanceof XmlRejected)) throw err;
    const error = { ...ERR.invalidXml, text: `${ERR.invalidXml.text}: ${err.reason}` };
    return { ok: false, error, doctype: err.reason === 'doctype', callCount: 1 };
  }
  const auth = root.name === 'api' ? root.children.find((c) => c.name === 'authentication') : undefined;
  const data = root.name === 'api' ? root.children.find((c) => c.name === 'data') : undefined;
  const calls = (data?.children ?? [])
    .filter((c) => c.name === 'methodCall')
    .map((call): MethodCall => {
      const fields = new Map<string, string>();
      for (const child of call.children) {
        if (child.name !== 'methodName' && !fields.has(child.name)) fields.set(child.name, child.text.trim());
      }
      return { methodName: childText(call, 'methodName') ?? '', fields };
    });
  const apiKey = childText(auth, 'api_key');
  const sharedSecret = childText(auth, 'shared_secret');
  const missing = [
    ...(root.name !== 'api' ? ['api'] : []),
    ...(auth === undefined ? ['authentication'] : []),
    ...(auth !== undefined && !apiKey ? ['api_key'] : []),
    ...(auth !== undefined && !sharedSecret ? ['shared_secret'] : []),
    ...(calls.length === 0 ? ['methodCall'] : []),
  ];
  if (missing.length > 0 || apiKey === undefined || sharedSecret === undefined) {
    return { ok: false, error: missingVars(missing), doctype: false, callCount: Math.max(1, calls.length) };
  }
  return {
    ok: true,
    envelope: {
      apiKey,
      sharedSecret,
      responseType: (childText(auth, 'response_type') || 'xml').toLowerCase(),
      noHalt: childText(auth, 'no_halt') === '1',
      calls,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// legacy.retrieve_unsub arguments (seed "Arguments" / "Response Codes"; §2)

export interface UnsubQuery {
  /** Inclusive local dates `YYYY-MM-DD`; both set or both undefined (email-only search). */
  readonly firstDay?: string;
  readonly lastDay?: string;
  readonly email?: string;
  readonly externalId?: string;
  readonly messId?: string;
}

/** A real calendar date in `YYYY-MM-DD` (so `2010-02-30` and `2010-4-1` are refused). */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  return DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

const present = (fields: ReadonlyMap<string, string>, name: string): string | undefined => {
  const value = fields.get(name);
  // An empty element counts as absent, as a PHP `empty()` check would treat it [A].
  return value === undefined || value === '' ? undefined : value;
};

/**
 * Validates the arguments in this order (first failure wins) [A: order]:
 * 471 bad `date_deleted1`, 472 bad `date_deleted2`, 432 `date_deleted2` without
 * `date_deleted1` / neither `email` nor `date_deleted1` / non-numeric `mess_id`,
 * 473 `date_deleted1 >= date_deleted2`.
 * One date = that single day; two dates = both ends inclusive (seed example "April and May 2010"
 * is 2010-04-01…2010-05-31).
 */
export function validateRetrieveUnsub(
  fields: ReadonlyMap<string, string>,
): { ok: true; query: UnsubQuery } | { ok: false; error: BhError } {
  const d1 = present(fields, 'date_deleted1');
  const d2 = present(fields, 'date_deleted2');
  const email = present(fields, 'email');
  const externalId = present(fields, 'external_id');
  const messId = present(fields, 'mess_id');
  if (d1 !== undefined && !isIsoDate(d1)) return { ok: false, error: ERR.badDate1 };
  if (d2 !== undefined && !isIsoDate(d2)) return { ok: false, error: ERR.badDate2 };
  if (d2 !== undefined && d1 === undefined) return { ok: false, error: ERR.invalidSearch };
  if (d1 === undefined && email === undefined) return { ok: false, error: ERR.invalidSearch };
  if (messId !== undefined && !/^\d+$/.test(messId)) return { ok: false, error: ERR.invalidSearch };
  // ISO dates compare correctly as strings.
  if (d1 !== undefined && d2 !== undefined && d1 >= d2) return { ok: false, error: ERR.dateOrder };
  const query: UnsubQuery = {
    ...(d1 !== undefined ? { firstDay: d1, lastDay: d2 ?? d1 } : {}),
    ...(email !== undefined ? { email } : {}),
    ...(externalId !== undefined ? { externalId } : {}),
    ...(messId !== undefined ? { messId } : {}),
  };
  return { ok: true, query };
}

/** The instants `[from, to)` covered by the inclusive local days `firstDay..lastDay` in `zone`. */
export function daysToInstants(
  firstDay: string,
  lastDay: string,
  zone: string,
): { from: number; to: number } {
  const from = DateTime.fromISO(firstDay, { zone }).startOf('day');
  const to = DateTime.fromISO(lastDay, { zone }).startOf('day').plus({ days: 1 });
  return { from: from.toMillis(), to: to.toMillis() };
}

/** The local calendar date (`YYYY-MM-DD`) of an instant in `zone`: what `date_deleted` shows (§5). */
export function localDate(atMs: number, zone: string): string {
  return DateTime.fromMillis(atMs, { zone }).toISODate() ?? '';
}

// ---------------------------------------------------------------------------------------------
// legacy.manage_subscriber arguments (§4)

export interface ManageSubscriber {
  readonly email?: string;
  readonly externalId?: string;
  readonly optout: boolean;
  readonly remove: boolean;
  readonly checkOptout: boolean;
}

/** Field limits from the manage_subscriber doc page (§4, D:6). */
export const MAX_EMAIL = 132;
export const MAX_EXTERNAL_ID = 64;

/** Flags are on only for the exact value `1` [A] (the client model defaults them to 0, §4 C:2). */
export function validateManageSubscriber(
  fields: ReadonlyMap<string, string>,
): { ok: true; call: ManageSubscriber } | { ok: false; error: BhError } {
  const email = present(fields, 'email');
  const externalId = present(fields, 'external_id');
  if (email === undefined && externalId === undefined) return { ok: false, error: missingVars(['email']) };
  // [A] code 432 reused for an over-long value: the doc gives the limit, not the error.
  if (email !== undefined && (email.length > MAX_EMAIL || !email.includes('@'))) {
    return { ok: false, error: { code: 432, text: 'Invalid email address' } };
  }
  if (externalId !== undefined && externalId.length > MAX_EXTERNAL_ID) {
    return { ok: false, error: { code: 432, text: 'Invalid external_id' } };
  }
  const flag = (name: string): boolean => fields.get(name) === '1';
  return {
    ok: true,
    call: {
      ...(email !== undefined ? { email } : {}),
      ...(externalId !== undefined ? { externalId } : {}),
      optout: flag('optout'),
      remove: flag('remove'),
      checkOptout: flag('check_optout'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Answers. Layout copies the 445 fixture (§3, C:2): one element per line, values as CDATA on
// their own indented line, so a client that forgets to trim sees "\n            1\n        ".

const I1 = '    ';
const I2 = I1.repeat(2);
const I3 = I1.repeat(3);

/** `<name>` + newline + indented CDATA + newline + `</name>`, at indentation `indent`. */
function wrapped(name: string, value: string, indent: string): string {
  return `${indent}<${name}>\n${indent}${I1}${cdata(value)}\n${indent}</${name}>\n`;
}

export const XML_DECLARATION = '<?xml version="1.0"?>\n'; // as in the C:2 fixture (§5): UTF-8 by default
export const RESPONSE_OPEN = `${XML_DECLARATION}<methodResponse>\n`;
export const RESPONSE_CLOSE = '</methodResponse>\n';

export interface ItemCounters {
  /** 1-based ordinal of the methodCall in the POST. */
  readonly responseNum: number;
  readonly totalRequests: number;
  /** Calls completed without error before this answer was written. */
  readonly totalCompleted: number;
}

/**
 * An error item (§3 D:4): `error`, `responseText`, `responseData/responseCode`, `responseNum`,
 * `totalRequests`, `totalCompleted`; `methodName` first when known (the 445 fixture has none).
 */
export function errorItem(error: BhError, counters: ItemCounters, methodName?: string): string {
  return (
    `${I1}<item>\n` +
    (methodName !== undefined ? wrapped('methodName', methodName, I2) : '') +
    wrapped('error', '1', I2) +
    wrapped('responseText', error.text, I2) +
    `${I2}<responseData>\n` +
    wrapped('responseCode', String(error.code), I3) +
    (error.extraData !== undefined ? `${I3}${error.extraData}\n` : '') +
    `${I2}</responseData>\n` +
    wrapped('responseNum', String(counters.responseNum), I2) +
    wrapped('totalRequests', String(counters.totalRequests), I2) +
    wrapped('totalCompleted', String(counters.totalCompleted), I2) +
    `${I1}</item>\n`
  );
}

/** Opening of a successful item up to and including `<responseData>` (seed "Example Response"). */
export function successItemOpen(methodName: string): string {
  return `${I1}<item>\n${I2}<methodName>${escapeXml(methodName)}</methodName>\n${I2}<responseData>\n`;
}

/** Closing of a successful item: seed shape, `responseNum` only (no totals on success [A]). */
export function successItemClose(responseNum: number): string {
  return `${I2}</responseData>\n${I2}<responseNum>${responseNum}</responseNum>\n${I1}</item>\n`;
}

export const MANIFEST_OPEN = `${I3}<manifest>\n`;
export const MANIFEST_CLOSE = `${I3}</manifest>\n`;

/** One unsubscribe as `retrieve_unsub` reports it (seed "Response"). */
export interface UnsubRow {
  readonly email: string;
  /** `YYYY-MM-DD` in the account's zone. */
  readonly dateDeleted: string;
  readonly methodUnsubscribed: string;
  /** Empty when the opt-out did not come from a message (seed: "returned empty"). */
  readonly messId: string;
  /** Both only when the account has the External ID feature (seed); otherwise undefined. */
  readonly externalId?: string;
  readonly initiatedOptout?: boolean;
}

const I4 = I1.repeat(4);
const I5 = I1.repeat(5);

/**
 * One `<deleted_contact_data>`. Free-text values (email, external_id, method) go in CDATA on
 * their own line like the fixture's values; `date_deleted` and `mess_id` stay bare as in the
 * seed example, and a missing `mess_id` is `<mess_id></mess_id>` exactly as there.
 */
export function unsubRowXml(row: UnsubRow): string {
  return (
    `${I4}<deleted_contact_data>\n` +
    wrapped('email', row.email, I5) +
    (row.externalId !== undefined ? wrapped('external_id', row.externalId, I5) : '') +
    `${I5}<date_deleted>${escapeXml(row.dateDeleted)}</date_deleted>\n` +
    wrapped('method_unsubscribed', row.methodUnsubscribed, I5) +
    `${I5}<mess_id>${escapeXml(row.messId)}</mess_id>\n` +
    (row.initiatedOptout !== undefined
      ? `${I5}<initiated_optout>${row.initiatedOptout ? 1 : 0}</initiated_optout>\n`
      : '') +
    `${I4}</deleted_contact_data>\n`
  );
}

/** `manage_subscriber` success data (§4 C:2): `<status>` and `<message>`. */
export function manageSubscriberData(status: number, message: string): string {
  return `${I3}<status>${status}</status>\n${I3}<message>${escapeXml(message)}</message>\n`;
}
