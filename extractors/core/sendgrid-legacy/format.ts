/**
 * Response bodies of the legacy SendGrid Web API (seeds 000/001, "Using the Web API" [D:4]).
 *
 * JSON is UTF-8. XML is declared ISO-8859-1 and really encoded so (seed 000/001 responses): a
 * character outside Latin-1 cannot be a byte there, so it is written as a numeric character
 * reference `&#NNN;` [A] (lossless for a conforming XML parser; providers/sendgrid-reseller.md §5).
 * The XML layout copies the seed's whitespace (blank line after the declaration, 3-space indent)
 * so clients must parse rather than pattern-match.
 */

export type LegacyFormat = 'json' | 'xml';

/** Every non-list body the legacy API sends. */
export type LegacyBody =
  /** `{"message":"success"}`, `{"message":"Email already exists"}` … (seed 000/001 add/delete). */
  | { kind: 'message'; message: string }
  /** `{"message":"error","errors":[…]}`, the generic failure shape ("Using the Web API" [D:4]). */
  | { kind: 'errors'; errors: string[] }
  /** `{"error":"…"}`, seen on the unsubscribes/bounces module ([C:2], [C:6]). */
  | { kind: 'error'; error: string };

/** An answer with its HTTP status. */
export interface LegacyAnswer {
  status: number;
  body: LegacyBody;
}

/** One listed row: `created` is present only when the caller asked `date=1`. */
export interface LegacyRow {
  email: string;
  created?: string;
}

/**
 * Content types [A]: the docs never show headers. XML carries no charset parameter so that only
 * the declaration names ISO-8859-1 — the case a client must handle (DESIGN.md "Extraction").
 */
export const CONTENT_TYPE: Record<LegacyFormat, string> = {
  json: 'application/json',
  xml: 'text/xml',
};

export const XML_DECLARATION = '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n';

const NEEDS_ESCAPE = /[&<>\u0100-\uffff]/;

/** Escapes XML text and maps every code point above U+00FF to `&#N;`. */
export function escapeXmlLatin1(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text; // the common case, kept cheap for 5M-row streams
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (cp > 0xff) out += `&#${cp};`;
    else out += ch;
  }
  return out;
}

/** Bytes of an XML fragment already made Latin-1-safe by {@link escapeXmlLatin1}. */
export function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Serialises a non-list body in `format`. */
export function renderBody(format: LegacyFormat, body: LegacyBody): Buffer {
  if (format === 'json') {
    const obj =
      body.kind === 'message'
        ? { message: body.message }
        : body.kind === 'errors'
          ? { message: 'error', errors: body.errors }
          : { error: body.error };
    return Buffer.from(JSON.stringify(obj), 'utf8');
  }
  let inner: string;
  if (body.kind === 'message') inner = `   <message>${escapeXmlLatin1(body.message)}</message>\n`;
  else if (body.kind === 'errors')
    inner =
      '   <message>error</message>\n   <errors>\n' +
      body.errors.map((e) => `      <error>${escapeXmlLatin1(e)}</error>\n`).join('') +
      '   </errors>\n';
  else inner = `   <error>${escapeXmlLatin1(body.error)}</error>\n`;
  return latin1(`${XML_DECLARATION}<result>\n${inner}</result>\n`);
}

/** The text of a body, for journals and test messages. */
export function bodyText(body: LegacyBody): string {
  return body.kind === 'message'
    ? body.message
    : body.kind === 'errors'
      ? body.errors.join('; ')
      : body.error;
}

/**
 * Pieces of a streamed list answer: `open` + rows + `close`, or `empty` when no row follows. JSON
 * is a top-level array [D:1]; XML is `<unsubscribes>` [S]; an empty list is `[]` /
 * `<unsubscribes/>` [A]. Pieces are strings already safe for `encoding` (XML escaped to
 * Latin-1), so the streamer can batch many rows into one Buffer.
 */
export interface ListCodec {
  readonly encoding: 'utf8' | 'latin1';
  readonly open: string;
  row(r: LegacyRow, index: number): string;
  readonly close: string;
  readonly empty: string;
}

const jsonList: ListCodec = {
  encoding: 'utf8',
  open: '[',
  row: (r, i) =>
    (i === 0 ? '' : ',') +
    (r.created === undefined
      ? `{"email":${JSON.stringify(r.email)}}`
      : `{"email":${JSON.stringify(r.email)},"created":${JSON.stringify(r.created)}}`),
  close: ']',
  empty: '[]',
};

const xmlList: ListCodec = {
  encoding: 'latin1',
  open: `${XML_DECLARATION}<unsubscribes>\n`,
  row: (r) =>
    `   <unsubscribe>\n      <email>${escapeXmlLatin1(r.email)}</email>\n` +
    (r.created === undefined ? '' : `      <created>${escapeXmlLatin1(r.created)}</created>\n`) +
    '   </unsubscribe>\n',
  close: '</unsubscribes>\n',
  empty: `${XML_DECLARATION}<unsubscribes/>\n`,
};

export function listCodec(format: LegacyFormat): ListCodec {
  return format === 'json' ? jsonList : xmlList;
}

const BATCH_CHARS = 32 * 1024;

/**
 * Streams a list answer from a lazy row source, batching rows into ~32 KiB chunks: memory stays
 * constant whatever the number of rows (issue: "never build the whole response string").
 */
export function* streamList(
  format: LegacyFormat,
  rows: Iterable<LegacyRow>,
): Generator<Buffer, void, undefined> {
  const codec = listCodec(format);
  const it = rows[Symbol.iterator]();
  let next = it.next();
  if (next.done) {
    yield Buffer.from(codec.empty, codec.encoding);
    return;
  }
  let batch = codec.open;
  let index = 0;
  while (!next.done) {
    batch += codec.row(next.value, index++);
    if (batch.length >= BATCH_CHARS) {
      yield Buffer.from(batch, codec.encoding);
      batch = '';
    }
    next = it.next();
  }
  yield Buffer.from(batch + codec.close, codec.encoding);
}
