/**
 * BlueHornet eMS (`bluehornet`, seed 004): windows, request envelope and answer parsing for
 * `legacy.retrieve_unsub`, plus the XML helpers the client (client.ts) shares.
 *
 * Sources: seed `shared/seeds/004_f15a0737139ae705.txt` ("Arguments", "Response Codes",
 * "Example Response") and `shared/providers/bluehornet.md` (§n). The simulator in this folder
 * (README.md) is the executable reading of both.
 *
 * - Windows are whole local days in the account zone, sent as inclusive `date_deleted1` …
 *   `date_deleted2` with `date_deleted1` strictly earlier (473), so every window spans ≥ 2 days.
 * - One POST per window, no paging: the whole range comes back in one `<manifest>` (§6).
 * - Errors come inside HTTP 200 as `<error>1</error>` items (§3) and are classified here.
 */
import type { AccountConfig } from '../core/config.js';
import { NOT_XML_CHAR } from '../core/decode.js';
import { ProviderError, WindowError } from '../core/errors.js';
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
import {
  type InclusiveDayRule,
  inclusiveDayCounts,
  inclusiveDayWindows,
  splitInclusiveDayWindow,
  toInclusiveDays,
} from '../core/windows.js';

export const PROVIDER = 'bluehornet';

/** Documented path under the account's host (§1: `POST …/api/xmlrpc/index.php`). */
export const ENDPOINT_PATH = '/api/xmlrpc/index.php';
export const RETRIEVE_UNSUB = 'legacy.retrieve_unsub';
export const MANAGE_SUBSCRIBER = 'legacy.manage_subscriber';

/**
 * Longest window, in local calendar days. The seed documents no maximum (§6 [A]) and its own
 * example asks for two months at once, but there is no paging: a window is ONE XML document,
 * held whole by the parser. A month keeps that document small for a busy account and a window
 * that fails cheap to redo (STYLE.md's SendCloud example uses the same span).
 */
export const MAX_WINDOW_DAYS = 31;

/**
 * Shortest window, in local calendar days. Both ends are inclusive (seed "Example Post":
 * "April and May 2010" = 2010-04-01…2010-05-31) and `date_deleted1` must be strictly earlier
 * than `date_deleted2` (seed "Response Codes" 473), so a window always names two different days.
 * We never send `date_deleted1` alone for a single day: the seed's argument table says
 * `date_deleted2` is "required if `date_deleted1` is provided", contradicting its own "a specific
 * date" wording, so the one-date form may be refused (432) by the real service.
 */
export const MIN_WINDOW_DAYS = 2;

/**
 * `date_deleted` is a bare date in the account's zone (seed "Response"; §5): the SQL reads it as
 * local midnight. Deletes are refused: the write semantics of `manage_subscriber` are
 * undocumented and no method re-subscribes a contact (§4).
 */
export const capabilities: ProviderCapabilities = {
  timePrecision: 'date',
  timeFormat: '%Y-%m-%d',
  canDelete: false,
  deleteCaveat:
    'BlueHornet has no documented way to undo an opt-out: legacy.manage_subscriber flag semantics ' +
    'are undocumented and no re-subscribe method exists (shared/providers/bluehornet.md §4); ' +
    'remove the address by hand in the BlueHornet/Mapp UI if it must be mailed again',
  // One manage_subscriber per POST: its doc page warns that combining it with other method
  // calls in one POST "is not advisable" (§4, D:5).
  writeBatchSize: 1,
};

// ---------------------------------------------------------------------------------------------
// Windows

/** date_deleted1 < date_deleted2, both inclusive (473); shared planner in core/windows.ts. */
const DAY_RULE: InclusiveDayRule = {
  provider: 'bluehornet',
  minDays: MIN_WINDOW_DAYS,
  maxDays: MAX_WINDOW_DAYS,
  params: (firstDay, lastDay) => ({ date_deleted1: firstDay, date_deleted2: lastDay }),
};

/** Day counts of consecutive windows covering `days` days (…, 30, 2: never a 1-day window). */
export const windowDayCounts = (days: number): number[] => inclusiveDayCounts(days, DAY_RULE);

/**
 * Windows covering `range` in `zone`, each MIN_WINDOW_DAYS…MAX_WINDOW_DAYS whole local days, the
 * range widened to whole days (and backwards to two days when shorter): see `inclusiveDayWindows`.
 */
export const planBlueHornetWindows = (range: InstantRange, zone: string): ExtractWindow[] =>
  inclusiveDayWindows(range, zone, DAY_RULE);

/** Halves of a too-slow or too-large window, each ≥ MIN_WINDOW_DAYS days; null when smaller. */
export const splitBlueHornetWindow = (
  window: ExtractWindow,
  zone: string,
): [ExtractWindow, ExtractWindow] | null => splitInclusiveDayWindow(window, zone, DAY_RULE);

// ---------------------------------------------------------------------------------------------
// Request envelope (§1)

/** One `<methodCall>`: its name and child elements in order. */
export interface MethodCallSpec {
  readonly methodName: string;
  readonly fields: readonly (readonly [name: string, value: string])[];
}

/** True when `value` can travel as XML text (the envelope would otherwise be refused or altered). */
export function isXmlSafe(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}

/** Escapes text content; `'` and `"` too, so the same helper is safe anywhere. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The account's key pair (config `credentials.apiKey`, `credentials.sharedSecret`; DESIGN.md). */
function credentialsOf(account: AccountConfig): { apiKey: string; sharedSecret: string } {
  const apiKey = account.credentials.apiKey;
  const sharedSecret = account.credentials.sharedSecret;
  if (!apiKey || !sharedSecret) {
    throw new ProviderError(
      `bluehornet account "${account.id}": credentials.apiKey and credentials.sharedSecret are required; check the account's credentials in the config`,
      { provider: PROVIDER, accountId: account.id, family: 'fatal', providerCode: 'CREDENTIALS' },
    );
  }
  return { apiKey, sharedSecret };
}

/**
 * The `<api>` envelope (§1, D:2/D:3): credentials inside `<authentication>`, `response_type`
 * xml (the only type `retrieve_unsub` supports, seed "Usage Notes"), `no_halt` as given.
 * Every value is XML-escaped.
 * @throws TypeError when a value holds a character XML cannot carry (message names the field only).
 */
export function buildEnvelope(
  account: AccountConfig,
  calls: readonly MethodCallSpec[],
  options: { noHalt: boolean },
): string {
  const { apiKey, sharedSecret } = credentialsOf(account);
  const element = (name: string, value: string): string => {
    if (!isXmlSafe(value)) throw new TypeError(`bluehornet: <${name}> holds a character XML cannot carry`);
    return `<${name}>${escapeXml(value)}</${name}>`;
  };
  const body = calls
    .map(
      (call) =>
        `<methodCall>${element('methodName', call.methodName)}${call.fields
          .map(([name, value]) => element(name, value))
          .join('')}</methodCall>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<api><authentication>${element('api_key', apiKey)}${element('shared_secret', sharedSecret)}` +
    `<response_type>xml</response_type><no_halt>${options.noHalt ? 1 : 0}</no_halt></authentication>` +
    `<data>${body}</data></api>`
  );
}

/**
 * A POST of the envelope in the form field `data` (what most clients send, §1 C:1 C:3), so the
 * credentials travel in the body, never in the URL.
 */
export function envelopeRequest(
  account: AccountConfig,
  calls: readonly MethodCallSpec[],
  options: { noHalt: boolean; idempotent: boolean; window?: { from: string; to: string } },
): RequestSpec {
  return {
    method: 'POST',
    url: `${account.baseUrl}${ENDPOINT_PATH}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      accept: 'text/xml, application/xml',
    },
    body: new URLSearchParams({ data: buildEnvelope(account, calls, options) }).toString(),
    idempotent: options.idempotent,
    ...(options.window ? { window: options.window } : {}),
  };
}

/**
 * The read for one window: `legacy.retrieve_unsub` with `date_deleted1` < `date_deleted2`, both
 * inclusive local dates recomputed from the window's instants (so params and instants cannot
 * disagree). Idempotent: a read may be retried.
 * @throws WindowError when the window is not day-aligned or names a single date.
 */
export function windowRequest(window: ExtractWindow, account: AccountConfig): RequestSpec {
  const days = toInclusiveDays(window, account.timezone);
  if (!(days.firstDay < days.lastDay)) {
    throw new WindowError(
      `bluehornet: window ${days.firstDay}…${days.lastDay} names one date; date_deleted1 must be earlier than date_deleted2 (seed 473)`,
    );
  }
  return envelopeRequest(
    account,
    [
      {
        methodName: RETRIEVE_UNSUB,
        fields: [
          ['date_deleted1', days.firstDay],
          ['date_deleted2', days.lastDay],
        ],
      },
    ],
    {
      noHalt: false,
      idempotent: true,
      window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Answer XML

/** An element of the answer: its children and its text, part by part (CDATA kept apart). */
export interface XmlNode {
  readonly name: string;
  readonly children: readonly XmlNode[];
  readonly parts: readonly { readonly cdata: boolean; readonly text: string }[];
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * The five predefined entities and character references (XML 1.0 §4.1, §4.6); any other `&`
 * (a bare one, an unknown entity, an unterminated reference) makes the answer malformed. Nothing
 * is ever expanded from a DTD: there is none (readTree refuses it).
 */
function decodeEntities(text: string): string {
  return text.replace(
    /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*)?(;)?/g,
    (_whole, ref?: string, semi?: string) => {
      if (ref === undefined || semi === undefined) throw new SyntaxError(`bare "&" in text`);
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!Number.isFinite(code) || code > 0x10ffff)
          throw new SyntaxError(`bad character reference &${ref};`);
        return String.fromCodePoint(code);
      }
      const known = PREDEFINED[ref];
      if (known === undefined) throw new SyntaxError(`unknown entity &${ref};`);
      return known;
    },
  );
}

/** Failures of the answer itself, before any item is read. */
export class AnswerError extends Error {
  constructor(
    message: string,
    readonly kind: 'doctype' | 'malformed' | 'shape',
  ) {
    super(message);
  }
}

type Part = { readonly cdata: boolean; readonly text: string };
interface OpenNode {
  readonly name: string;
  readonly children: XmlNode[];
  readonly parts: Part[];
}

/** A well-formedness failure found while reading (message only; the caller classifies it). */
class MalformedXml extends Error {}

const isXmlSpaceCode = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

/** A name character (XML 1.0 §2.3): ASCII letters, digits, `_ : . -`, and anything non-ASCII. */
const isNameCode = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x30 && c <= 0x3a) ||
  c === 0x5f ||
  c === 0x2d ||
  c === 0x2e ||
  c >= 0x80;

/** Index just past the name starting at `from`; throws when there is none or it starts badly. */
function scanName(body: string, from: number, what: string): number {
  let j = from;
  while (isNameCode(body.charCodeAt(j))) j++;
  const first = body.charCodeAt(from);
  // Empty, or starting with a digit, `-` or `.` (NameStartChar).
  if (j === from || (first >= 0x30 && first <= 0x39) || first === 0x2d || first === 0x2e) {
    throw new MalformedXml(`invalid ${what} name at offset ${from}`);
  }
  return j;
}

function skipSpace(body: string, from: number): number {
  let j = from;
  while (isXmlSpaceCode(body.charCodeAt(j))) j++;
  return j;
}

/**
 * Checks the attributes of the tag opened at `lt` from `from` on (values quoted, no `<` in them,
 * no name twice, whitespace between them) up to its `>`, `/>` or, for the XML declaration, `?>`.
 * @returns the index of the tag's last character and whether it closes itself.
 */
function scanAttributes(body: string, lt: number, from: number, declaration: boolean): [number, boolean] {
  const n = body.length;
  let j = from;
  let attributes: string[] | undefined;
  for (;;) {
    const spaced = j;
    j = skipSpace(body, j);
    const a = body.charCodeAt(j);
    if (declaration) {
      if (a === 0x3f /* ? */ && body.charCodeAt(j + 1) === 0x3e) return [j + 1, true];
    } else {
      if (a === 0x3e /* > */) return [j, false];
      if (a === 0x2f /* / */ && body.charCodeAt(j + 1) === 0x3e) return [j + 1, true];
    }
    if (j === spaced || j >= n) throw new MalformedXml(`tag not well-formed at offset ${lt}`);
    const attrEnd = scanName(body, j, 'attribute');
    const attr = body.slice(j, attrEnd);
    attributes ??= [];
    if (attributes.includes(attr)) throw new MalformedXml(`attribute "${attr}" repeated`);
    attributes.push(attr);
    j = skipSpace(body, attrEnd);
    if (body.charCodeAt(j) !== 0x3d /* = */) throw new MalformedXml(`attribute "${attr}" has no value`);
    j = skipSpace(body, j + 1);
    const quote = body.charCodeAt(j);
    if (quote !== 0x22 && quote !== 0x27) throw new MalformedXml(`attribute "${attr}" is not quoted`);
    const close = body.indexOf(quote === 0x22 ? '"' : "'", j + 1);
    if (close === -1) throw new MalformedXml(`attribute "${attr}" not closed`);
    const ltInside = body.indexOf('<', j + 1);
    if (ltInside !== -1 && ltInside < close) throw new MalformedXml(`"<" in attribute "${attr}"`);
    j = close + 1;
  }
}

const ONLY_SPACE = /^[ \t\r\n]*$/;
const DECLARATION = /^<!(?:DOCTYPE|ENTITY)/i;
const DECLARATION_ANYWHERE = /<!(?:DOCTYPE|ENTITY)/i;

const doctypeError = (): AnswerError =>
  new AnswerError('the answer carries a DOCTYPE/ENTITY declaration, which is never accepted', 'doctype');

/**
 * True when a DOCTYPE/ENTITY declaration appears outside CDATA and comments: the check a body
 * that readTree could not read still gets, so a broken body with a DTD is refused as one.
 */
function hasDeclaration(body: string): boolean {
  if (!DECLARATION_ANYWHERE.test(body)) return false;
  const markup = body.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  return DECLARATION_ANYWHERE.test(markup);
}

/**
 * One pass over the whole answer, checking well-formedness as it builds the tree (XML 1.0 §2):
 * matching end tags, names, attribute syntax (values quoted, no `<`, no repeats; the
 * values themselves are not kept), comments and CDATA closed, no text outside the root, an XML
 * declaration only at the very start. Comments are skipped without splitting the text around
 * them; a processing instruction ends the text part before it. CDATA content is kept verbatim as
 * its own part, plain text has its entities decoded (decodeEntities). A `<!DOCTYPE` or
 * `<!ENTITY` outside comments and CDATA stops the reading at once (AnswerError `doctype`).
 * @throws MalformedXml, SyntaxError (decodeEntities) or AnswerError `doctype`.
 */
function readTree(body: string): XmlNode[] {
  const n = body.length;
  const roots: XmlNode[] = [];
  const stack: OpenNode[] = [];
  let top: OpenNode | undefined;
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    if (top === undefined) {
      if (!ONLY_SPACE.test(pending)) throw new MalformedXml('text outside the root element');
    } else {
      top.parts.push({ cdata: false, text: pending.includes('&') ? decodeEntities(pending) : pending });
    }
    pending = '';
  };
  let i = 0;
  while (i < n) {
    const lt = body.indexOf('<', i);
    if (lt === -1) {
      pending += body.slice(i);
      break;
    }
    if (lt > i) pending += body.slice(i, lt);
    const c = body.charCodeAt(lt + 1);
    if (c === 0x21 /* ! */) {
      if (body.startsWith('--', lt + 2)) {
        const close = body.indexOf('-->', lt + 4);
        if (close === -1) throw new MalformedXml('comment not closed');
        i = close + 3; // comments are transparent: the text around them stays one part
        continue;
      }
      if (body.startsWith('[CDATA[', lt + 2)) {
        if (top === undefined) throw new MalformedXml('CDATA outside the root element');
        flush();
        const close = body.indexOf(']]>', lt + 9);
        if (close === -1) throw new MalformedXml('CDATA section not closed');
        top.parts.push({ cdata: true, text: body.slice(lt + 9, close) });
        i = close + 3;
        continue;
      }
      if (DECLARATION.test(body.slice(lt, lt + 9))) throw doctypeError();
      throw new MalformedXml(`unexpected "<!" at offset ${lt}`);
    }
    if (c === 0x3f /* ? */) {
      flush();
      const nameEnd = scanName(body, lt + 2, 'processing instruction');
      if (body.slice(lt + 2, nameEnd).toLowerCase() === 'xml') {
        if (lt !== 0) throw new MalformedXml('XML declaration not at the start of the document');
        i = scanAttributes(body, lt, nameEnd, true)[0] + 1;
        continue;
      }
      const close = body.indexOf('?>', nameEnd);
      if (close === -1) throw new MalformedXml('processing instruction not closed');
      if (close > nameEnd && !isXmlSpaceCode(body.charCodeAt(nameEnd))) {
        throw new MalformedXml(`processing instruction not well-formed at offset ${lt}`);
      }
      // Not markup, but refused like anywhere else outside CDATA and comments.
      if (DECLARATION_ANYWHERE.test(body.slice(nameEnd, close))) throw doctypeError();
      i = close + 2;
      continue;
    }
    if (c === 0x2f /* / */) {
      const nameEnd = scanName(body, lt + 2, 'end tag');
      const gt = skipSpace(body, nameEnd);
      if (body.charCodeAt(gt) !== 0x3e) throw new MalformedXml(`end tag not closed at offset ${lt}`);
      const name = body.slice(lt + 2, nameEnd);
      if (top === undefined || top.name !== name) {
        throw new MalformedXml(`</${name}> does not close ${top ? `<${top.name}>` : 'any element'}`);
      }
      flush();
      stack.pop();
      top = stack[stack.length - 1];
      i = gt + 1;
      continue;
    }
    // A start tag.
    const nameEnd = scanName(body, lt + 1, 'element');
    const [j, selfClosing] = scanAttributes(body, lt, nameEnd, false);
    flush();
    const node: OpenNode = { name: body.slice(lt + 1, nameEnd), children: [], parts: [] };
    // A second root is well-formed enough to read; parseAnswerXml refuses it as a foreign shape.
    if (top === undefined) roots.push(node);
    else top.children.push(node);
    if (!selfClosing) {
      stack.push(node);
      top = node;
    }
    i = j + 1;
  }
  if (top !== undefined) throw new MalformedXml(`<${top.name}> is not closed (the answer is cut short)`);
  flush();
  if (roots.length === 0) throw new MalformedXml('no root element');
  return roots;
}

/**
 * Parses a whole answer into its root element.
 * @throws AnswerError `doctype` for any DOCTYPE/ENTITY declaration (never expanded, never
 *   accepted: no BlueHornet answer has one, §3), `malformed` for text that is not well-formed XML
 *   (a body cut short), `shape` when the root is not `<methodResponse>`.
 */
export function parseAnswerXml(text: string): XmlNode {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let roots: XmlNode[];
  try {
    roots = readTree(body);
  } catch (error) {
    if (error instanceof AnswerError) throw error;
    // A broken body that also declares a DTD is refused as such, as before any parsing.
    if (hasDeclaration(body)) throw doctypeError();
    throw new AnswerError(`the answer is not well-formed XML (${(error as Error).message})`, 'malformed');
  }
  const root = roots[0];
  if (roots.length !== 1 || root?.name !== 'methodResponse') {
    throw new AnswerError(
      `the answer's root element is <${root?.name ?? 'none'}>, expected <methodResponse>`,
      'shape',
    );
  }
  return root;
}

export const child = (node: XmlNode | undefined, name: string): XmlNode | undefined =>
  node?.children.find((c) => c.name === name);

export const childrenNamed = (node: XmlNode | undefined, name: string): XmlNode[] =>
  node?.children.filter((c) => c.name === name) ?? [];

/** A field's value with all surrounding whitespace removed: codes, dates, flags, texts (§3 C:2). */
export function fieldText(node: XmlNode | undefined): string {
  return node === undefined
    ? ''
    : node.parts
        .map((p) => p.text)
        .join('')
        .trim();
}

const isXmlSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * Drops the whitespace run at each edge of a text node when that run spans a line break: the
 * pretty-printer's indentation. A linear scan, not a regex: an end-anchored pattern over a long
 * run of spaces would backtrack quadratically on a hostile answer.
 */
function stripLayout(text: string): string {
  let start = 0;
  while (isXmlSpace(text[start])) start++;
  const lead = text.slice(0, start);
  const from = /[\r\n]/.test(lead) ? start : 0;
  let end = text.length;
  while (end > from && isXmlSpace(text[end - 1])) end--;
  const trail = text.slice(end);
  const to = /[\r\n]/.test(trail) ? end : text.length;
  return text.slice(from, Math.max(from, to));
}

/**
 * A value exactly as the provider holds it, minus the XML layout around it: CDATA content is
 * taken verbatim (spaces inside a CDATA section are data), and in plain text only a whitespace
 * run that contains a line break and touches the element's tags or a CDATA section is dropped —
 * that is the indentation the answer's layout adds (README "Answers": a value "as CDATA on its
 * own indented line"). A leading or trailing space without a line break is kept: it is
 * something the provider stored, and the transform, not the extractor, decides what it means.
 */
export function exactText(node: XmlNode | undefined): string {
  if (node === undefined) return '';
  return node.parts.map((p) => (p.cdata ? p.text : stripLayout(p.text))).join('');
}

/** One `<item>` of a `<methodResponse>` (§3, D:4). */
export interface AnswerItem {
  readonly methodName: string;
  readonly error: boolean;
  readonly responseText: string;
  /** `responseData/responseCode` as a number, null when absent or not a number. */
  readonly responseCode: number | null;
  readonly responseData: XmlNode | undefined;
  readonly responseNum: number | null;
}

export function readItems(root: XmlNode): AnswerItem[] {
  return childrenNamed(root, 'item').map((item) => {
    const data = child(item, 'responseData');
    const code = fieldText(child(data, 'responseCode'));
    const num = fieldText(child(item, 'responseNum'));
    return {
      methodName: fieldText(child(item, 'methodName')),
      error: fieldText(child(item, 'error')) === '1',
      responseText: fieldText(child(item, 'responseText')),
      responseCode: /^\d+$/.test(code) ? Number(code) : null,
      responseData: data,
      responseNum: /^\d+$/.test(num) ? Number(num) : null,
    };
  });
}

/** The documented "Could not authenticate" code (§3, client fixture C:2). */
export const AUTH_FAILED = 445;

export function isAuthFailure(item: AnswerItem): boolean {
  return item.responseCode === AUTH_FAILED || /could not authenticate/i.test(item.responseText);
}

/**
 * The ProviderError for an error item (§3):
 * - 445 "Could not authenticate" → fatal, naming the account and the credentials to check;
 * - 5xx → retriable (DESIGN.md "Extraction": a BlueHornet error item whose code is 5xx);
 * - anything else (432/471/472/473 argument errors, 400 envelope errors, unknown codes) → fatal:
 *   the request we built was refused, so retrying cannot help and the data would be incomplete.
 * `what` names the call for the message (e.g. `legacy.retrieve_unsub date_deleted1=…`).
 */
export function itemError(item: AnswerItem, account: AccountConfig, what: string): ProviderError {
  const code = item.responseCode;
  const shown = `${code ?? 'no code'} "${item.responseText || 'no responseText'}"`;
  if (isAuthFailure(item)) {
    return new ProviderError(
      `bluehornet account "${account.id}": could not authenticate (${shown}); check the account's credentials (apiKey, sharedSecret) in the config`,
      { provider: PROVIDER, accountId: account.id, providerCode: String(AUTH_FAILED), family: 'fatal' },
    );
  }
  const details = {
    provider: PROVIDER,
    accountId: account.id,
    ...(code !== null ? { providerCode: String(code) } : {}),
  };
  if (code !== null && code >= 500 && code <= 599) {
    return new ProviderError(
      `bluehornet account "${account.id}": temporary error ${shown} for ${what}; will retry`,
      { ...details, family: 'retriable' },
    );
  }
  return new ProviderError(
    `bluehornet account "${account.id}": ${what} refused with ${shown}; the request unsub-recon built is invalid ` +
      '(a bug in extractors/bluehornet, not a data problem): report it with this message',
    { ...details, family: 'fatal' },
  );
}

/**
 * Parses an answer into its items; answer-level failures become ProviderErrors the engine acts
 * on: a DOCTYPE is fatal (a hostile or broken endpoint, never retried), a body that is not
 * well-formed is retriable (a body cut short, DESIGN.md "Extraction"), a foreign root or an
 * answer without items is fatal.
 */
export function answerItemsOrThrow(response: HttpResponse, account: AccountConfig): AnswerItem[] {
  let root: XmlNode;
  try {
    root = parseAnswerXml(response.text);
  } catch (error) {
    if (!(error instanceof AnswerError)) throw error;
    throw new ProviderError(`bluehornet account "${account.id}": ${error.message}`, {
      provider: PROVIDER,
      accountId: account.id,
      providerCode: error.kind.toUpperCase(),
      family: error.kind === 'malformed' ? 'retriable' : 'fatal',
    });
  }
  const items = readItems(root);
  if (items.length === 0) {
    throw new ProviderError(`bluehornet account "${account.id}": the answer has no <item>`, {
      provider: PROVIDER,
      accountId: account.id,
      providerCode: 'SHAPE',
      family: 'fatal',
    });
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// retrieve_unsub rows (seed "Response")

/**
 * Rows of one `retrieve_unsub` success item. Every `<deleted_contact_data>` child of
 * `<manifest>` is a row, one child or many (§3: a converter would make a single child an
 * object); an empty or self-closed manifest is zero rows. `email` is kept exactly (exactText),
 * every other field trimmed; `rawTime` is `date_deleted` trimmed, null when empty. A row without
 * an `email` element is still staged (email '') so the transform rejects it visibly instead of it
 * vanishing here.
 */
export function manifestRows(item: AnswerItem): RawRow[] {
  const manifest = child(item.responseData, 'manifest');
  return childrenNamed(manifest, 'deleted_contact_data').map((row): RawRow => {
    const fields: [string, string][] = [];
    const seen = new Set<string>();
    for (const field of row.children) {
      if (seen.has(field.name)) continue; // first occurrence wins, like the provider's own reader
      seen.add(field.name);
      fields.push([field.name, field.name === 'email' ? exactText(field) : fieldText(field)]);
    }
    // fromEntries defines own properties, so a hostile field name cannot reach a prototype.
    const record: Record<string, string> = Object.fromEntries(fields);
    const email = exactText(child(row, 'email'));
    const date = fieldText(child(row, 'date_deleted'));
    return { email, rawTime: date === '' ? null : date, scope: 'global', record };
  });
}

/**
 * Bytes in, rows out, for one window's answer (no I/O).
 * @throws ProviderError: fatal for auth (445, names the account), argument and envelope errors
 *   (432/471/472/473/400 — our bug), a DOCTYPE, a foreign root, a success item that is not
 *   retrieve_unsub's or has no `<manifest>`; retriable for 5xx items and bodies that are not
 *   well-formed XML.
 */
export function parseWindowAnswer(
  response: HttpResponse,
  window: ExtractWindow,
  account: AccountConfig,
): ParsedPage {
  const items = answerItemsOrThrow(response, account);
  const what = `${RETRIEVE_UNSUB} date_deleted1=${window.params.date_deleted1 ?? '?'} date_deleted2=${window.params.date_deleted2 ?? '?'}`;
  const item = items[0]!;
  if (item.error) throw itemError(item, account, what);
  const manifest = child(item.responseData, 'manifest');
  if (items.length !== 1 || (item.methodName !== '' && item.methodName !== RETRIEVE_UNSUB) || !manifest) {
    throw new ProviderError(
      `bluehornet account "${account.id}": unexpected answer to ${what} (${items.length} item(s), methodName "${item.methodName}", ${manifest ? 'with' : 'no'} <manifest>)`,
      { provider: PROVIDER, accountId: account.id, providerCode: 'SHAPE', family: 'fatal' },
    );
  }
  return { rows: manifestRows(item), total: null, cursor: null };
}

// ---------------------------------------------------------------------------------------------
// The module's extraction half (wired in index.ts)

export const extract = {
  capabilities,
  planWindows: (range: InstantRange, ctx: ExtractContext): ExtractWindow[] =>
    planBlueHornetWindows(range, ctx.account.timezone),
  splitWindow: (window: ExtractWindow, ctx: ExtractContext): [ExtractWindow, ExtractWindow] | null =>
    splitBlueHornetWindow(window, ctx.account.timezone),
  paginator: (): SingleShotPaginator => new SingleShotPaginator(),
  request: (window: ExtractWindow, _page: SingleShotRequest, ctx: ExtractContext): RequestSpec =>
    windowRequest(window, ctx.account),
  parse: (response: HttpResponse, window: ExtractWindow, ctx: ExtractContext): ParsedPage =>
    parseWindowAnswer(response, window, ctx.account),
};
