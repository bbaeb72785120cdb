/**
 * A deliberately small, strict XML reader for the request envelopes the BlueHornet simulator
 * receives, plus the escaping helpers its answers use.
 *
 * Why not a general parser: tests post hostile XML (entity bombs, external entities, deep
 * nesting). This reader has no DTD support at all — a `<!DOCTYPE` is refused outright, so no
 * entity can ever be declared, let alone expanded — and it knows only the five predefined
 * entities and numeric character references. Depth, element count and input size are capped.
 * The envelope is a handful of flat elements (shared/providers/bluehornet.md §1), so nothing of
 * value is lost.
 */

/** One element: its name, child elements in document order, and its own text (CDATA included). */
export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  /** Concatenated character data directly inside this element, entities decoded, not trimmed. */
  text: string;
}

export type XmlRejectReason = 'doctype' | 'malformed' | 'too-large' | 'too-deep';

/** The input is not XML this reader accepts; `reason` says which rule it broke. */
export class XmlRejected extends Error {
  constructor(
    readonly reason: XmlRejectReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'XmlRejected';
  }
}

export interface XmlLimits {
  /** Characters of input; default 1,000,000. */
  readonly maxChars: number;
  /** Nesting depth of elements; default 32 (the envelope needs 4). */
  readonly maxDepth: number;
  /** Total elements; default 10,000. */
  readonly maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxChars: 1_000_000, maxDepth: 32, maxElements: 10_000 };

const NAME = /[A-Za-z_:][\w.:-]*/y;
const WS = /[ \t\r\n]*/y;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Parses `input` into its single root element.
 * @throws XmlRejected — `doctype` for any DTD, `malformed` for anything not well-formed
 *   (including undeclared entities such as `&nbsp;`), `too-large` / `too-deep` past `limits`.
 */
export function parseXmlStrict(input: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  if (input.length > limits.maxChars)
    throw new XmlRejected('too-large', `over ${limits.maxChars} characters`);
  let pos = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;

  const fail = (detail: string): never => {
    throw new XmlRejected('malformed', `${detail} at offset ${pos}`);
  };
  const skipWs = (): void => {
    WS.lastIndex = pos;
    WS.exec(input);
    pos = WS.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(input);
    if (!m) return fail('expected a name');
    pos = NAME.lastIndex;
    return m[0];
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;&<]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) return fail(`unterminated reference "${whole}"`);
      const predefined = PREDEFINED[ref];
      if (predefined !== undefined) return predefined;
      const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (!num) return fail(`undeclared entity "&${ref};"`);
      const code = num[1] !== undefined ? Number.parseInt(num[1], 16) : Number(num[2]);
      const allowed =
        code === 0x9 ||
        code === 0xa ||
        code === 0xd ||
        (code >= 0x20 && code <= 0xd7ff) ||
        (code >= 0xe000 && code <= 0xfffd) ||
        (code >= 0x10000 && code <= 0x10ffff);
      if (!allowed) return fail(`character reference &${ref}; is not an XML character`);
      return String.fromCodePoint(code);
    });
  const addText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== '') fail('text outside the root element');
  };

  while (pos < input.length) {
    const lt = input.indexOf('<', pos);
    if (lt === -1) {
      addText(decode(input.slice(pos)));
      pos = input.length;
      break;
    }
    if (lt > pos) addText(decode(input.slice(pos, lt)));
    pos = lt;
    if (input.startsWith('<?', pos)) {
      // XML declaration or processing instruction: carries nothing the envelope needs.
      const end = input.indexOf('?>', pos + 2);
      if (end === -1) fail('unterminated processing instruction');
      pos = end + 2;
    } else if (input.startsWith('<!--', pos)) {
      const end = input.indexOf('-->', pos + 4);
      if (end === -1) fail('unterminated comment');
      pos = end + 3;
    } else if (input.startsWith('<![CDATA[', pos)) {
      const end = input.indexOf(']]>', pos + 9);
      if (end === -1) fail('unterminated CDATA section');
      if (stack.length === 0) fail('CDATA outside the root element');
      addText(input.slice(pos + 9, end));
      pos = end + 3;
    } else if (/^<!doctype/i.test(input.slice(pos, pos + 9))) {
      // Refusing the DTD itself is what makes entity expansion (billion laughs, XXE) impossible.
      throw new XmlRejected('doctype', 'DOCTYPE declarations are not accepted');
    } else if (input.startsWith('<!', pos)) {
      fail('unsupported markup declaration');
    } else if (input.startsWith('</', pos)) {
      pos += 2;
      const name = readName();
      skipWs();
      if (input[pos] !== '>') fail('expected ">"');
      pos += 1;
      const open = stack.pop();
      if (!open || open.name !== name) fail(`closing tag </${name}> does not match`);
    } else {
      pos += 1;
      const name = readName();
      if (stack.length === 0 && root) fail('more than one root element');
      if (stack.length >= limits.maxDepth)
        throw new XmlRejected('too-deep', `deeper than ${limits.maxDepth}`);
      if (++elements > limits.maxElements)
        throw new XmlRejected('too-large', `over ${limits.maxElements} elements`);
      const seen = new Set<string>();
      for (;;) {
        const before = pos;
        skipWs();
        if (input.startsWith('/>', pos) || input[pos] === '>') break;
        if (pos === before) fail('expected whitespace before an attribute');
        const attr = readName();
        if (seen.has(attr)) fail(`duplicate attribute ${attr}`);
        seen.add(attr);
        skipWs();
        if (input[pos] !== '=') fail('expected "="');
        pos += 1;
        skipWs();
        const quote = input[pos];
        if (quote !== '"' && quote !== "'") return fail('expected a quoted attribute value');
        const end = input.indexOf(quote, pos + 1);
        if (end === -1) fail('unterminated attribute value');
        const value = input.slice(pos + 1, end);
        if (value.includes('<')) fail('"<" in an attribute value');
        decode(value); // attributes are ignored, but must still be well-formed
        pos = end + 1;
      }
      const element: XmlElement = { name, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else root = element;
      if (input.startsWith('/>', pos)) {
        pos += 2;
      } else {
        pos += 1;
        stack.push(element);
      }
    }
  }
  if (stack.length > 0) fail(`element <${stack[stack.length - 1]?.name}> is not closed`);
  if (!root) return fail('no root element');
  return root;
}

/** Escapes text for element content or a double-quoted attribute. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** Wraps text in CDATA; a `]]>` inside is split across two sections so the value survives intact. */
export function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}
