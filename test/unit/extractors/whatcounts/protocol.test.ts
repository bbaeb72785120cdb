// Pure wire-format rules of the WhatCounts simulator (extractors/whatcounts/protocol.ts).
import { describe, expect, it } from 'vitest';
import {
  canonicalArgs,
  parseCommand,
  parseData,
  parseWholeNumber,
  renderListing,
  unsubAnswer,
} from '../../../../extractors/whatcounts/protocol.js';

describe('parseData', () => {
  it.each([
    ['seed single row', 'email^john.smith@domain.com', ['email'], [{ email: 'john.smith@domain.com' }]],
    [
      'seed stray space before ^',
      'email,first ^jane@domain.com,Jayne',
      ['email', 'first'],
      [{ email: 'jane@domain.com', first: 'Jayne' }],
    ],
    [
      'one row per line',
      'Email\n^a@x.test\r\n^b@x.test\n',
      ['email'],
      [{ email: 'a@x.test' }, { email: 'b@x.test' }],
    ],
    [
      'quoted values',
      '"email","first"^"a@x.test","A ""Al"""',
      ['email', 'first'],
      [{ email: 'a@x.test', first: 'A "Al"' }],
    ],
    ['empty rows skipped', 'email^^a@x.test^', ['email'], [{ email: 'a@x.test' }]],
  ])('%s', (_name, data, header, fields) => {
    const parsed = parseData(data);
    expect(parsed.ok && parsed.header).toEqual(header);
    expect(parsed.ok && parsed.rows.map((r) => r.fields)).toEqual(fields);
    expect(parsed.ok && parsed.rows.every((r) => r.problem === undefined)).toBe(true);
  });

  it('flags a row whose field count differs from the header, keeps the others', () => {
    const parsed = parseData('email,first^a@x.test^b@x.test,B');
    expect(parsed.ok && parsed.rows.map((r) => r.problem)).toEqual([
      'row 1 has 1 fields, header has 2',
      undefined,
    ]);
  });

  it('refuses a missing or blank data argument', () => {
    expect(parseData(undefined)).toEqual({ ok: false, reason: 'Missing required argument: data' });
    expect(parseData('  ')).toEqual({ ok: false, reason: 'Missing required argument: data' });
  });
});

describe('arguments', () => {
  it('maps long names to the short ones, first spelling wins', () => {
    expect(
      canonicalArgs({ cmd: 'unsub', Realm: 'r1', pwd: 'x', d: 'email^a@x.test', c: 'show_opt' }),
    ).toEqual({
      c: 'unsub',
      r: 'r1',
      p: 'x',
      data: 'email^a@x.test',
    });
  });

  it.each([
    ['unsub', 'unsub'],
    ['UNSUBSCRIBE', 'unsub'],
    ['show_optout', 'show_opt'],
    ['show_optglobal', 'show_optglobal'],
    ['subscribe', 'sub'],
    ['toString', undefined],
    [undefined, undefined],
  ])('command %s → %s', (value, expected) => {
    expect(parseCommand(value)).toBe(expected);
  });

  it.each([
    ['30', 30],
    [' 7 ', 7],
    ['0', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['7d', undefined],
    ['', undefined],
  ])('whole number %j → %j', (value, expected) => {
    expect(parseWholeNumber(value)).toBe(expected);
  });
});

describe('answers and listings', () => {
  it('writes the seed result sentence byte for byte', () => {
    expect(unsubAnswer('5', { processed: 3, done: 2, contacts: 2, failedOther: 1 })).toBe(
      'SUCCESS: 3 record(s) processed. 2 users unsubscribed from list(s) 5 (2 total contacts), Records Failed Other Error 1',
    );
  });

  it('streams big listings in bounded chunks and escapes CSV and XML', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ email: `u${i}@x.test` }));
    const chunks = [
      ...renderListing(rows, { format: 'csv', headers: true, customerKey: false }, { chunkChars: 1000 }),
    ];
    expect(chunks.length).toBeGreaterThan(50);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(1100);
    expect(chunks.join('').split('\n')).toHaveLength(5002);
    const odd = [{ email: 'a"b<c>&@x.test', customerKey: 'k"1' }];
    expect([...renderListing(odd, { format: 'csv', headers: false, customerKey: true })].join('')).toBe(
      '"a""b<c>&@x.test","k""1"\n',
    );
    expect([...renderListing(odd, { format: 'xml', headers: false, customerKey: false })].join('')).toBe(
      '<data><email>a&quot;b&lt;c&gt;&amp;@x.test</email></data>',
    );
  });
});
