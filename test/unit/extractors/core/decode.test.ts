import { describe, expect, it } from 'vitest';
import {
  charsetFromContentType,
  decodeBody,
  UnsupportedCharsetError,
} from '../../../../extractors/core/decode.js';

const latin1Xml = Buffer.concat([
  Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>\n<r><email>jos', 'latin1'),
  Buffer.from([0xe9]),
  Buffer.from('@example.com</email></r>', 'latin1'),
]);

describe('decodeBody', () => {
  it.each([
    // [case, body, content-type, text contains, charset, source]
    ['XML declaration', latin1Xml, 'text/xml', 'josé@example.com', 'iso-8859-1', 'xml-declaration'],
    [
      'Content-Type charset',
      latin1Xml,
      'application/xml; charset=ISO-8859-1',
      'josé@',
      'iso-8859-1',
      'content-type',
    ],
    [
      'quoted charset',
      Buffer.from([0x41, 0xe9]),
      'text/plain; charset="latin1"',
      'Aé',
      'latin1',
      'content-type',
    ],
    ['utf-8 default', Buffer.from('{"e":"josé"}'), 'application/json', 'josé', 'utf-8', 'default'],
    ['no content-type', Buffer.from('plain'), undefined, 'plain', 'utf-8', 'default'],
    [
      'BOM beats label',
      Buffer.from('\uFEFFjosé', 'utf8'),
      'text/xml; charset=iso-8859-1',
      'josé',
      'utf-8',
      'bom',
    ],
    ['utf-16le BOM', Buffer.from('\uFEFFhé', 'utf16le'), undefined, 'hé', 'utf-16le', 'bom'],
  ] as const)('%s', (_case, body, contentType, contains, charset, source) => {
    const out = decodeBody(body, contentType);
    expect(out.text).toContain(contains);
    expect(out.text.startsWith('\uFEFF')).toBe(false);
    expect(out.charset).toBe(charset);
    expect(out.source).toBe(source);
    expect(out.malformed).toBe(false);
  });

  it('lets the Content-Type charset win over the XML declaration (RFC 7303 §3.2)', () => {
    const utf8Body = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><r>josé</r>', 'utf8');
    expect(decodeBody(utf8Body, 'text/xml; charset=utf-8').text).toContain('josé');
    // read by its declaration, the same bytes are mojibake — proves the header was used above
    expect(decodeBody(utf8Body, 'text/xml').text).toContain('josÃ©');
  });

  it('flags bytes invalid in the charset instead of throwing', () => {
    const out = decodeBody(latin1Xml.subarray(latin1Xml.indexOf('<r>')), 'text/xml; charset=utf-8');
    expect(out.malformed).toBe(true);
    expect(out.text).toContain('jos\uFFFD@');
  });

  it('rejects an unknown charset, naming it and where it came from', () => {
    expect(() => decodeBody(Buffer.from('x'), 'text/plain; charset=x-klingon')).toThrow(
      UnsupportedCharsetError,
    );
    expect(() => decodeBody(Buffer.from('<?xml version="1.0" encoding="x-klingon"?><r/>'))).toThrow(
      /"x-klingon" \(xml-declaration\)/,
    );
  });

  it('parses charset parameters', () => {
    expect(charsetFromContentType('text/xml;charset=UTF-8')).toBe('utf-8');
    expect(charsetFromContentType('text/xml; boundary=x; Charset="ISO-8859-1"')).toBe('iso-8859-1');
    expect(charsetFromContentType('text/xml')).toBeUndefined();
    expect(charsetFromContentType(undefined)).toBeUndefined();
  });
});
