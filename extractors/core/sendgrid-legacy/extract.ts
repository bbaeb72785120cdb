/**
 * Extraction shared by the two legacy SendGrid providers, `sendgrid-reseller` (seed 000,
 * `distributor.manage` with `method=unsubscribes`) and `sendgrid-subuser` (seed 001,
 * `user.unsubscribes`): windows, the request form, answer parsing and error classification.
 * Both seeds describe the same Web API family (shared/providers/sendgrid-reseller.md,
 * sendgrid-subuser.md), so each provider folder only declares its endpoint (a {@link LegacyEndpoint})
 * and wires this module. It lives under core/ because a provider folder may import only from
 * core/, never from another provider (STYLE.md).
 *
 * - Windows are whole local days in the account's zone, sent as `start_date`/`end_date`. The
 *   simulator reads both ends as inclusive local days and refuses `start_date >= end_date`
 *   (README "Windows and time", decision [A]; the "earlier than" rule is Web API v2
 *   `unsubscribes.get`'s, providers/sendgrid-subuser.md §3b), so a half-open `[d1, d2)` is asked
 *   as `start_date=d1, end_date=d2 − 1 day` and every window spans at least two local days.
 * - `date=1` on every read: only then do rows carry `created` (seed 000/001 "date" row).
 * - One POST per window, no paging (providers/sendgrid-reseller.md §6): the whole window comes
 *   back in one answer. Credentials travel in the form body, never in the URL (§1, [D:1]).
 * - Errors come as `{"message":"error","errors":[…]}`, `{"error":"…"}` or their XML twins, with
 *   HTTP 200 (in-band) or 4xx ("Using the Web API" [D:4]); the body, not the status, decides.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AccountConfig } from '../config.js';
import { NOT_XML_CHAR } from '../decode.js';
import { ProviderError, WindowError } from '../errors.js';
import type { HttpResponse, RequestSpec } from '../http.js';
import { SingleShotPaginator, type SingleShotRequest } from '../paginate.js';
import type { ExtractContext, ExtractWindow, ParsedPage, ProviderCapabilities, RawRow } from '../provider.js';
import type { InstantRange } from '../types.js';
import {
  type InclusiveDayRule,
  inclusiveDayCounts,
  inclusiveDayWindows,
  splitInclusiveDayWindow,
  toInclusiveDays,
} from '../windows.js';

/** What a legacy SendGrid provider declares; everything else is shared. */
export interface LegacyEndpoint {
  readonly provider: 'sendgrid-reseller' | 'sendgrid-subuser';
  /** Path under `baseUrl` without the format suffix, e.g. `/api/distributor.manage`. */
  readonly path: string;
  /** Parameters every call carries besides credentials, `user` and `task` (reseller: `method`). */
  readonly fixedParams: Readonly<Record<string, string>>;
  /** What `options.user` names, for messages: `customer` (reseller) or `subuser`. */
  readonly userKind: string;
}

export type LegacyFormat = 'json' | 'xml';

/**
 * Longest window, in local days. No maximum is documented for either endpoint
 * (providers/sendgrid-reseller.md §6, sendgrid-subuser.md §6) and there is no paging: one window
 * is one answer, held whole while it is parsed. A month keeps that answer bounded for a busy
 * account and a failed window cheap to redo (STYLE.md's SendCloud example uses the same span).
 */
export const MAX_WINDOW_DAYS = 31;

/**
 * Shortest window, in local days: `start_date` must be strictly earlier than `end_date`
 * (providers/sendgrid-reseller.md §3, [D:5]) and both are inclusive (simulator README decision
 * [A]), so one window always names two different dates.
 */
export const MIN_WINDOW_DAYS = 2;

/**
 * `created` is `YYYY-MM-DD HH:MM:SS` without offset (seed "date": "MySQL timestamp format"),
 * local to the account's zone (§5). Deletes are safe with an explicit `email` (seed "Delete
 * Unsubscribes"); writes take one address per call (§6: "No bulk form").
 */
export const capabilities: ProviderCapabilities = {
  timePrecision: 'second',
  timeFormat: '%Y-%m-%d %H:%M:%S',
  canDelete: true,
  writeBatchSize: 1,
};

/**
 * 4xx statuses whose body is read instead of thrown by the engine: the legacy API puts the reason
 * of a parameter or auth error in the body ([D:4]: "4XX … with the reason in the body"), and the
 * status the real service pairs with each message is undocumented (§4 [A]).
 */
export const ACCEPTED_STATUSES: readonly number[] = [400, 401, 403];

// ---------------------------------------------------------------------------------------------
// Windows

/** start_date < end_date, both inclusive (simulator README [A]); shared planner in ../windows.ts. */
const DAY_RULE: InclusiveDayRule = {
  provider: 'sendgrid',
  minDays: MIN_WINDOW_DAYS,
  maxDays: MAX_WINDOW_DAYS,
  params: (firstDay, lastDay) => ({ start_date: firstDay, end_date: lastDay }),
};

/** Day counts of consecutive windows over `days` days (…, 30, 2: never a 1-day window). */
export const windowDayCounts = (days: number): number[] => inclusiveDayCounts(days, DAY_RULE);

/**
 * Windows covering `range` in `zone`, each MIN_WINDOW_DAYS…MAX_WINDOW_DAYS whole local days, the
 * range widened to whole days (and backwards to two days when shorter): see `inclusiveDayWindows`.
 */
export const planLegacyWindows = (range: InstantRange, zone: string): ExtractWindow[] =>
  inclusiveDayWindows(range, zone, DAY_RULE);

/** Halves of a window that timed out or was too large, each ≥ MIN_WINDOW_DAYS days; null when smaller. */
export const splitLegacyWindow = (
  window: ExtractWindow,
  zone: string,
): [ExtractWindow, ExtractWindow] | null => splitInclusiveDayWindow(window, zone, DAY_RULE);

// ---------------------------------------------------------------------------------------------
// Requests

/** `options.format` (DESIGN.md config: `json` | `xml`, default `json`). */
export function formatOf(account: AccountConfig): LegacyFormat {
  return account.options['format'] === 'xml' ? 'xml' : 'json';
}

function configError(endpoint: LegacyEndpoint, account: AccountConfig, problem: string): ProviderError {
  return new ProviderError(`${endpoint.provider} account "${account.id}": ${problem}`, {
    provider: endpoint.provider,
    accountId: account.id,
    providerCode: 'CONFIG',
    family: 'fatal',
  });
}

/**
 * The form every call starts with: credentials, the endpoint's fixed parameters, `user`.
 * @throws ProviderError fatal when `api_user`/`api_key` or `options.user` is missing (names the
 *   field, never a value).
 */
function baseForm(endpoint: LegacyEndpoint, account: AccountConfig): URLSearchParams {
  const apiUser = account.credentials['api_user'];
  const apiKey = account.credentials['api_key'];
  if (!apiUser || !apiKey) {
    throw configError(
      endpoint,
      account,
      "credentials.api_user and credentials.api_key are required; check the account's credentials in the config",
    );
  }
  const user = account.options['user'];
  if (typeof user !== 'string' || user === '') {
    throw configError(endpoint, account, `options.user (the ${endpoint.userKind}) is required`);
  }
  const form = new URLSearchParams({ api_user: apiUser, api_key: apiKey, ...endpoint.fixedParams });
  form.set('user', user);
  return form;
}

/**
 * A POST of `application/x-www-form-urlencoded` fields to the endpoint in the account's format
 * (suffix `.json` / `.xml`, seed "XML Call"/"JSON Call"). The seed 001 call is a POST form; seed
 * 000 shows GET query strings but its 2018 revision posts the same fields ([D:1]). Posting keeps
 * `api_key` out of URLs and request logs.
 */
export function legacyRequest(
  endpoint: LegacyEndpoint,
  account: AccountConfig,
  fields: readonly (readonly [string, string])[],
  options: { idempotent: boolean },
): RequestSpec {
  const form = baseForm(endpoint, account);
  for (const [name, value] of fields) form.append(name, value);
  const format = formatOf(account);
  return {
    method: 'POST',
    url: `${account.baseUrl.replace(/\/+$/, '')}${endpoint.path}.${format}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      accept: format === 'json' ? 'application/json' : 'text/xml, application/xml',
    },
    body: form.toString(),
    idempotent: options.idempotent,
    acceptStatuses: ACCEPTED_STATUSES,
  };
}

/**
 * The read of one window: `task=get&date=1&start_date=…&end_date=…`, the dates recomputed from the
 * window's instants so params and instants cannot disagree. Idempotent: a read may be retried.
 * @throws WindowError when the window is not day-aligned or names one date; ProviderError fatal
 *   for missing credentials or `options.user`.
 */
export function windowRequest(
  endpoint: LegacyEndpoint,
  window: ExtractWindow,
  account: AccountConfig,
): RequestSpec {
  const days = toInclusiveDays(window, account.timezone);
  if (!(days.firstDay < days.lastDay)) {
    throw new WindowError(
      `${endpoint.provider}: window ${days.firstDay}…${days.lastDay} names one date; start_date must be earlier than end_date`,
    );
  }
  return {
    ...legacyRequest(
      endpoint,
      account,
      [
        ['task', 'get'],
        ['date', '1'],
        ['start_date', days.firstDay],
        ['end_date', days.lastDay],
      ],
      { idempotent: true },
    ),
    window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
  };
}

// ---------------------------------------------------------------------------------------------
// Answers

/** One listed row: the address and `created` exactly as received, and the record as parsed. */
export interface LegacyListRow {
  readonly email: string;
  readonly created: string | null;
  readonly record: Readonly<Record<string, unknown>>;
}

/** Every answer shape of the legacy API (seed 000/001 responses, "Using the Web API" [D:4]). */
export type LegacyAnswer =
  | { kind: 'rows'; rows: LegacyListRow[] }
  /** `{"message":"success"}`, `{"message":"Email already exists"}`, `<result>success</result>` … */
  | { kind: 'message'; message: string }
  /** `{"message":"error","errors":[…]}` */
  | { kind: 'errors'; errors: string[] }
  /** `{"error":"…"}` ([C:2], [C:6]) */
  | { kind: 'error'; error: string };

/** Why an answer could not be read at all. */
export class LegacyAnswerError extends Error {
  constructor(
    message: string,
    /** `unparseable`: not JSON/XML (a body cut short); `doctype`: a DTD (never accepted); `shape`: an unknown layout. */
    readonly kind: 'unparseable' | 'doctype' | 'shape',
  ) {
    super(message);
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function jsonRow(item: unknown): LegacyListRow {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new LegacyAnswerError(
      `a list item is ${JSON.stringify(item)?.slice(0, 40)}, expected an object`,
      'shape',
    );
  }
  const record = item as Record<string, unknown>;
  const email = record['email'];
  // An item without a usable address is still staged (as '') so the transform rejects it with a
  // reason instead of it vanishing here (DESIGN.md "Transform": never silently dropped).
  return {
    email: typeof email === 'string' ? email : typeof email === 'number' ? String(email) : '',
    created: str(record['created']),
    record,
  };
}

function parseJsonAnswer(text: string): LegacyAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LegacyAnswerError(`the answer is not valid JSON (${(error as Error).message})`, 'unparseable');
  }
  if (Array.isArray(value)) return { kind: 'rows', rows: value.map(jsonRow) };
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o['errors'])) return { kind: 'errors', errors: o['errors'].map((e) => String(e)) };
    if (o['error'] !== undefined) return { kind: 'error', error: String(o['error']) };
    const message = str(o['message']);
    if (message !== null) return { kind: 'message', message };
  }
  throw new LegacyAnswerError(
    `the answer is JSON but neither a list nor a message: ${text.slice(0, 80)}`,
    'shape',
  );
}

/** An element: its child elements and its text (text and CDATA parts joined, entities decoded). */
interface XmlNode {
  readonly name: string;
  readonly children: readonly XmlNode[];
  readonly text: string;
}

/**
 * fast-xml-parser in its safest shape: no entity processing (a DTD could define entities; the
 * five XML ones and character references are decoded below), order preserved so a one-row
 * answer is a list like any other, values neither trimmed nor converted (addresses stay exact).
 */
const xmlParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '__cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * The predefined entities and character references (XML 1.0 §4.1, §4.6). The simulator writes
 * every character outside Latin-1 as `&#N;` (providers/sendgrid-reseller.md §5 [A]).
 */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new LegacyAnswerError('bare "&" in XML text', 'unparseable');
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
        throw new LegacyAnswerError(`bad character reference &${ref};`, 'unparseable');
      }
      return String.fromCodePoint(code);
    }
    const known = PREDEFINED[ref];
    if (known === undefined) throw new LegacyAnswerError(`unknown entity &${ref};`, 'unparseable');
    return known;
  });
}

type Ordered = Record<string, unknown>;

function toNode(name: string, content: unknown): XmlNode {
  const children: XmlNode[] = [];
  let text = '';
  for (const item of Array.isArray(content) ? (content as Ordered[]) : []) {
    for (const [key, value] of Object.entries(item)) {
      if (key === '#text') text += decodeEntities(String(value));
      else if (key === '__cdata') {
        for (const part of Array.isArray(value) ? (value as Ordered[]) : [])
          text += String(part['#text'] ?? '');
      } else if (key !== ':@') children.push(toNode(key, value));
    }
  }
  return { name, children, text };
}

function parseXmlAnswer(text: string): LegacyAnswer {
  // A declaration outside CDATA and comments would be real markup: refuse it before parsing.
  const markup = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  if (/<!DOCTYPE|<!ENTITY/i.test(markup)) {
    throw new LegacyAnswerError(
      'the answer carries a DOCTYPE/ENTITY declaration, which is never accepted',
      'doctype',
    );
  }
  // XML 1.0 §2.2 (Char): C0 controls other than tab/LF/CR, and U+FFFE/U+FFFF, cannot appear in
  // a document at all; a NUL inside an address would otherwise reach the warehouse unnoticed.
  const forbidden = NOT_XML_CHAR.exec(text);
  if (forbidden) {
    const code = forbidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new LegacyAnswerError(
      `the answer is not well-formed XML (character U+${code} at offset ${forbidden.index}, which XML 1.0 forbids)`,
      'unparseable',
    );
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new LegacyAnswerError(
      `the answer is not well-formed XML (${valid.err.code} at line ${valid.err.line}: ${valid.err.msg})`,
      'unparseable',
    );
  }
  const roots: XmlNode[] = [];
  for (const item of xmlParser.parse(text) as Ordered[]) {
    for (const [key, value] of Object.entries(item)) {
      if (key !== '#text' && key !== ':@' && key !== '__cdata') roots.push(toNode(key, value));
    }
  }
  const root = roots[0];
  if (roots.length === 1 && root?.name === 'unsubscribes') {
    const rows = root.children
      .filter((c) => c.name === 'unsubscribe')
      .map((row): LegacyListRow => {
        const record: Record<string, string> = {};
        for (const field of row.children) record[field.name] = field.text;
        return { email: record['email'] ?? '', created: record['created'] ?? null, record };
      });
    return { kind: 'rows', rows };
  }
  if (roots.length === 1 && root?.name === 'result') {
    const errors = root.children.find((c) => c.name === 'errors');
    if (errors) return { kind: 'errors', errors: errors.children.map((e) => e.text.trim()) };
    const error = root.children.find((c) => c.name === 'error');
    if (error) return { kind: 'error', error: error.text.trim() };
    const message = root.children.find((c) => c.name === 'message');
    // "Using the Web API" also shows a bare `<result>success</result>` ([D:5] vs [S]).
    return { kind: 'message', message: (message ?? root).text.trim() };
  }
  throw new LegacyAnswerError(
    `the answer's root element is <${root?.name ?? 'none'}>, expected <unsubscribes> or <result>`,
    'shape',
  );
}

/**
 * Reads a legacy answer, JSON or XML by its first character (the URL suffix asks for a format;
 * reading what actually came means an error body in the other format is still understood).
 * @throws LegacyAnswerError when the text is neither, is cut short, carries a DTD, or has an
 *   unknown layout.
 */
export function parseLegacyAnswer(text: string): LegacyAnswer {
  const body = text.replace(/^\uFEFF/, '');
  const first = /\S/.exec(body)?.[0];
  if (first === '<') return parseXmlAnswer(body);
  if (first === '[' || first === '{') return parseJsonAnswer(body);
  throw new LegacyAnswerError(
    first === undefined
      ? 'the answer is empty'
      : `the answer is neither JSON nor XML: ${body.trim().slice(0, 80)}`,
    'unparseable',
  );
}

// ---------------------------------------------------------------------------------------------
// Error classification

/** Bad credentials: [C:1] "Permission denied, wrong credentials"; [C:2] "Bad username / password". */
const AUTH_TEXT = /permission denied|wrong credentials|bad username|password|unauthori[sz]ed|authenticat/i;
/** Unknown customer/subuser: "User not found" (reseller Customer Management [D:7], simulator [A]). */
const USER_TEXT = /user not found|unknown user|no such user/i;
/** Temporary server trouble ([D:4]: "5XX … retry later"; simulator in-band text "Internal error, please try again later"). */
const TEMPORARY_TEXT =
  /try again|temporar|internal (?:server )?error|unavailable|timed? ?out|busy|overload|too many requests|rate limit/i;
/** A window the server will not answer whole: not documented, classified so the engine splits it. */
const TOO_LARGE_TEXT = /too (?:large|big|many (?:results|rows|records|unsubscribes))/i;

/** Who asked what, for messages. */
export interface Asking {
  readonly endpoint: LegacyEndpoint;
  readonly account: AccountConfig;
  /** The call, e.g. `task=get 2024-01-01…2024-01-31`; never a credential. */
  readonly what: string;
}

function providerError(
  asking: Asking,
  message: string,
  family: ProviderError['details']['family'],
  providerCode: string,
): ProviderError {
  return new ProviderError(`${asking.endpoint.provider} account "${asking.account.id}": ${message}`, {
    provider: asking.endpoint.provider,
    accountId: asking.account.id,
    providerCode,
    family,
  });
}

/**
 * The ProviderError for an error answer (texts from `errors`, `error` or `message`):
 *
 * | answer | family | code |
 * |---|---|---|
 * | HTTP 401/403, or a credentials text | fatal | AUTH |
 * | "User not found" | fatal | USER_NOT_FOUND |
 * | a temporary text ("Internal error, please try again later") | retriable | TEMPORARY |
 * | "too large/too many results" | skippable | TOO_LARGE (the engine splits the window) |
 * | anything else (parameter errors, 400) | skippable | BAD_REQUEST / PROVIDER_ERROR |
 */
export function classifyLegacyError(asking: Asking, status: number, texts: readonly string[]): ProviderError {
  const said = texts.join('; ') || `HTTP ${status} without a message`;
  if (status === 401 || status === 403 || AUTH_TEXT.test(said)) {
    return providerError(
      asking,
      `the provider refused the credentials (${said}); check the account's credentials (api_user, api_key)`,
      'fatal',
      'AUTH',
    );
  }
  if (USER_TEXT.test(said)) {
    return providerError(
      asking,
      `the provider does not know the ${asking.endpoint.userKind} in options.user (${said}); check options.user`,
      'fatal',
      'USER_NOT_FOUND',
    );
  }
  if (TEMPORARY_TEXT.test(said))
    return providerError(asking, `${asking.what}: ${said}`, 'retriable', 'TEMPORARY');
  if (TOO_LARGE_TEXT.test(said))
    return providerError(asking, `${asking.what}: ${said}`, 'skippable', 'TOO_LARGE');
  return providerError(
    asking,
    `${asking.what} refused: ${said}`,
    'skippable',
    status === 400 ? 'BAD_REQUEST' : 'PROVIDER_ERROR',
  );
}

/** The error texts of an error answer, or null for rows and non-error messages. */
export function errorTexts(answer: LegacyAnswer): string[] | null {
  if (answer.kind === 'errors') return answer.errors;
  if (answer.kind === 'error') return [answer.error];
  return null;
}

/**
 * Reads an answer or throws the ProviderError the engine acts on:
 * - HTTP 401/403 → fatal AUTH, whatever the body;
 * - bytes invalid in the declared charset, or a body that is not JSON/XML at all, with HTTP 200
 *   → retriable (a body cut or garbled on the way; the engine retries, then fails the window);
 * - a DOCTYPE → skippable UNSAFE_XML (never parsed); an unknown layout → skippable SHAPE;
 * - an unreadable 4xx body → skippable BAD_REQUEST.
 */
export function readAnswer(asking: Asking, response: HttpResponse): LegacyAnswer {
  let answer: LegacyAnswer;
  try {
    if (response.malformed) {
      throw new LegacyAnswerError(
        `the answer has bytes invalid in its charset ${response.charset}`,
        'unparseable',
      );
    }
    answer = parseLegacyAnswer(response.text);
  } catch (error) {
    if (!(error instanceof LegacyAnswerError)) throw error;
    if (response.status === 401 || response.status === 403)
      throw classifyLegacyError(asking, response.status, []);
    if (error.kind === 'doctype')
      throw providerError(asking, `${asking.what}: ${error.message}`, 'skippable', 'UNSAFE_XML');
    if (error.kind === 'shape')
      throw providerError(asking, `${asking.what}: ${error.message}`, 'skippable', 'SHAPE');
    if (response.status !== 200) {
      throw providerError(
        asking,
        `${asking.what}: HTTP ${response.status}, ${error.message}`,
        'skippable',
        'BAD_REQUEST',
      );
    }
    throw providerError(asking, `${asking.what}: ${error.message}`, 'retriable', 'UNPARSEABLE');
  }
  if (response.status === 401 || response.status === 403) {
    throw classifyLegacyError(asking, response.status, errorTexts(answer) ?? []);
  }
  return answer;
}

/**
 * The rows of a `task=get` answer, or the ProviderError of any other answer (see
 * {@link readAnswer} and {@link classifyLegacyError}); a plain message such as "success" instead
 * of a list is skippable SHAPE.
 */
export function listRows(asking: Asking, response: HttpResponse): LegacyListRow[] {
  const answer = readAnswer(asking, response);
  if (answer.kind === 'rows') return answer.rows;
  const texts = errorTexts(answer);
  if (texts !== null) throw classifyLegacyError(asking, response.status, texts);
  const message = answer.kind === 'message' ? answer.message : '';
  if (message === 'error' || response.status !== 200)
    throw classifyLegacyError(asking, response.status, [message]);
  // A non-error message in place of a list: classify its text (it may still be a known error).
  const classified = classifyLegacyError(asking, response.status, [message]);
  if (classified.details.providerCode !== 'PROVIDER_ERROR') throw classified;
  throw providerError(
    asking,
    `${asking.what}: answered "${message}" instead of a list`,
    'skippable',
    'SHAPE',
  );
}

/** A staged row: address and `created` untouched (DESIGN.md "Staging … exactly as received"). */
export function toRawRow(row: LegacyListRow): RawRow {
  return { email: row.email, rawTime: row.created, scope: 'global', record: row.record };
}

// ---------------------------------------------------------------------------------------------
// The extraction half of a legacy provider module

export interface LegacyExtract {
  readonly capabilities: ProviderCapabilities;
  planWindows(range: InstantRange, ctx: ExtractContext): ExtractWindow[];
  splitWindow(window: ExtractWindow, ctx: ExtractContext): [ExtractWindow, ExtractWindow] | null;
  paginator(window: ExtractWindow, ctx: ExtractContext): SingleShotPaginator;
  request(window: ExtractWindow, page: SingleShotRequest, ctx: ExtractContext): RequestSpec;
  parse(response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage;
}

/** The planner, paginator, request builder and parser for one endpoint. */
export function createLegacyExtract(endpoint: LegacyEndpoint): LegacyExtract {
  return {
    capabilities,
    planWindows: (range, ctx) => planLegacyWindows(range, ctx.account.timezone),
    splitWindow: (window, ctx) => splitLegacyWindow(window, ctx.account.timezone),
    paginator: () => new SingleShotPaginator(),
    request: (window, _page, ctx) => windowRequest(endpoint, window, ctx.account),
    parse: (response, window, ctx) => {
      const what = `task=get ${window.params['start_date'] ?? '?'}…${window.params['end_date'] ?? '?'}`;
      const rows = listRows({ endpoint, account: ctx.account, what }, response);
      return { rows: rows.map(toRawRow), total: null, cursor: null };
    },
  };
}
