/**
 * Turns response bytes into text using the charset the answer declares. Provider XML answers
 * declare ISO-8859-1 (DESIGN.md "Extraction"), so decoding everything as UTF-8 would turn "é"
 * (0xE9) into U+FFFD and corrupt addresses before they reach the raw layer.
 */
import { TextDecoder } from 'node:util';
import { UnsubReconError } from './errors.js';

/** Where the charset used for decoding came from, in the order they are consulted. */
/** Characters XML 1.0 cannot carry at all (§2.2 Char): C0 controls except tab, LF, CR; lone surrogates. */
export const NOT_XML_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type CharsetSource = 'bom' | 'content-type' | 'xml-declaration' | 'default';

export interface DecodedText {
  text: string;
  /** The declared label, lower-cased (e.g. `iso-8859-1`), or `utf-8` when nothing was declared. */
  charset: string;
  /** The WHATWG encoding actually used (`iso-8859-1` decodes as `windows-1252`, see below). */
  encoding: string;
  source: CharsetSource;
  /**
   * True when the bytes are not valid in that charset. The text then holds U+FFFD where the bad
   * bytes were; callers that need byte-exact values still have the raw body.
   */
  malformed: boolean;
}

/** A response declared a charset this runtime cannot decode. Retrying does not help. */
export class UnsupportedCharsetError extends UnsubReconError {
  readonly code = 'HTTP_CHARSET';
  constructor(
    readonly charset: string,
    readonly source: CharsetSource,
  ) {
    super(
      `response declares charset "${charset}" (${source}), which is not a WHATWG encoding label; ` +
        'see https://encoding.spec.whatwg.org/#names-and-labels',
    );
  }
}

// The XML declaration must be the very first thing in the document (XML 1.0 §2.8), and its
// encoding name is ASCII (§4.3.3 EncName), so reading the head as latin1 is safe for any
// ASCII-compatible encoding.
const XML_DECL = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/;
// RFC 9110 §8.3.1: parameters are `; name=value`, value a token or quoted string.
const CHARSET_PARAM = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]+))/i;

/** The `charset` parameter of a Content-Type header, lower-cased, or undefined. */
export function charsetFromContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = CHARSET_PARAM.exec(contentType);
  const value = (m?.[1] ?? m?.[2])?.trim().toLowerCase();
  return value ? value : undefined;
}

/** The `encoding` of a leading XML declaration, lower-cased, or undefined. */
export function charsetFromXmlDeclaration(body: Uint8Array): string | undefined {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 256)).toString('latin1');
  return XML_DECL.exec(head)?.[1]?.toLowerCase();
}

function sniffBom(body: Uint8Array): string | undefined {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/**
 * Decodes a response body. The charset is, in order: a byte-order mark (the WHATWG "decode"
 * algorithm lets a BOM override any label), the Content-Type `charset` parameter (RFC 7303 §3.2:
 * it takes precedence over the XML declaration), the XML declaration's `encoding`, else UTF-8
 * (RFC 8259 §8.1 for JSON; XML without a declaration is UTF-8 too, XML 1.0 §4.3.3).
 *
 * Labels are resolved by `TextDecoder`, i.e. the WHATWG Encoding Standard: `iso-8859-1` and
 * `latin1` decode as windows-1252, which agrees with ISO-8859-1 everywhere except 0x80–0x9F
 * (C1 controls there, printable characters such as "€" in windows-1252) — what browsers do,
 * since servers that say latin1 usually mean windows-1252.
 *
 * Malformed bytes never throw; they become U+FFFD and `malformed` is set.
 *
 * @throws UnsupportedCharsetError when the declared charset is not a WHATWG label.
 */
export function decodeBody(body: Uint8Array, contentType?: string): DecodedText {
  let charset: string;
  let source: CharsetSource;
  const bom = sniffBom(body);
  const declared = charsetFromContentType(contentType);
  const xml = declared ? undefined : charsetFromXmlDeclaration(body);
  if (bom) [charset, source] = [bom, 'bom'];
  else if (declared) [charset, source] = [declared, 'content-type'];
  else if (xml) [charset, source] = [xml, 'xml-declaration'];
  else [charset, source] = ['utf-8', 'default'];

  let strict: TextDecoder;
  try {
    strict = new TextDecoder(charset, { fatal: true });
  } catch {
    // TextDecoder throws RangeError (ERR_ENCODING_NOT_SUPPORTED) for unknown labels; that is
    // the only failure its constructor has, and we report it with the label and its origin.
    throw new UnsupportedCharsetError(charset, source);
  }
  try {
    return { text: strict.decode(body), charset, encoding: strict.encoding, source, malformed: false };
  } catch {
    const text = new TextDecoder(charset, { fatal: false }).decode(body);
    return { text, charset, encoding: strict.encoding, source, malformed: true };
  }
}
