import { describe, expect, it } from 'vitest';
import { cdata, parseXmlStrict, XmlRejected } from '../../../../extractors/bluehornet/sim-xml.js';

const reason = (input: string, limits?: Parameters<typeof parseXmlStrict>[1]): string => {
  try {
    parseXmlStrict(input, limits);
  } catch (err) {
    if (err instanceof XmlRejected) return err.reason;
    throw err;
  }
  return 'accepted';
};

describe('parseXmlStrict', () => {
  it('reads elements, CDATA, predefined entities and character references', () => {
    const root = parseXmlStrict(
      '<?xml version="1.0"?>\n<!-- c --><api a="1"><x>\n  <![CDATA[a<b]]>\n</x><y>&lt;&amp;&#65;&#x42;</y><z/></api>',
    );
    expect(root.name).toBe('api');
    expect(root.children.map((c) => c.name)).toEqual(['x', 'y', 'z']);
    expect(root.children[0]?.text).toBe('\n  a<b\n');
    expect(root.children[1]?.text).toBe('<&AB');
  });

  it.each([
    [
      'billion laughs',
      '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><api>&lol2;</api>',
      'doctype',
    ],
    [
      'external entity',
      '<!DOCTYPE api [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><api>&xxe;</api>',
      'doctype',
    ],
    ['lower-case doctype', '<!doctype api><api/>', 'doctype'],
    [
      'DOCTYPE after the declaration',
      '<?xml version="1.0"?>\n<!DOCTYPE api SYSTEM "http://x/">\n<api/>',
      'doctype',
    ],
    ['undeclared entity', '<api>&nbsp;</api>', 'malformed'],
    ['bare ampersand', '<api>a & b</api>', 'malformed'],
    ['NUL character reference', '<api>&#0;</api>', 'malformed'],
    ['mismatched tag', '<api><a></b></api>', 'malformed'],
    ['unclosed root', '<api><a></a>', 'malformed'],
    ['two roots', '<a/><b/>', 'malformed'],
    ['text outside root', 'hello <api/>', 'malformed'],
    ['ENTITY outside a DTD', '<!ENTITY x "y"><api/>', 'malformed'],
    ['empty', '', 'malformed'],
  ])('refuses %s', (_name, input, expected) => {
    expect(reason(input)).toBe(expected);
  });

  it('caps depth, element count and size', () => {
    expect(reason('<a>'.repeat(100) + '</a>'.repeat(100))).toBe('too-deep');
    expect(reason(`<a>${'<b/>'.repeat(20)}</a>`, { maxChars: 1e6, maxDepth: 32, maxElements: 10 })).toBe(
      'too-large',
    );
    expect(reason(`<a>${'x'.repeat(200)}</a>`, { maxChars: 100, maxDepth: 32, maxElements: 10 })).toBe(
      'too-large',
    );
  });

  it('round-trips values containing "]]>" through cdata()', () => {
    const value = 'a]]>b<&';
    expect(parseXmlStrict(`<v>${cdata(value)}</v>`).text).toBe(value);
  });
});
