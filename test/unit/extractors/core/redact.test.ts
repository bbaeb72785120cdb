import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '../../../../extractors/core/redact.js';

describe('createRedactor', () => {
  const redact = createRedactor(['s3cr3t+key/=', 'realm-name', 'ab']);

  it.each([
    ['raw value anywhere', 'failed: token s3cr3t+key/= rejected', `failed: token ${REDACTED} rejected`],
    ['URL-encoded value', 'https://x/api?foo=1&k=s3cr3t%2Bkey%2F%3D', `https://x/api?foo=1&k=${REDACTED}`],
    ['form-encoded value', 'k=s3cr3t%2Bkey%2F%3D&x=1', `k=${REDACTED}&x=1`],
    [
      'named query parameter with an unknown value',
      'https://h/p?api_user=bob&api_key=zzz&task=get',
      `https://h/p?api_user=${REDACTED}&api_key=${REDACTED}&task=get`,
    ],
    [
      'WhatCounts r and p',
      'https://h/bin/api_web?r=acme&p=pw1&c=show_opt',
      `https://h/bin/api_web?r=${REDACTED}&p=${REDACTED}&c=show_opt`,
    ],
    [
      'XML credential element',
      '<authentication><api_key>k1</api_key><shared_secret>s1</shared_secret></authentication>',
      `<authentication><api_key>${REDACTED}</api_key><shared_secret>${REDACTED}</shared_secret></authentication>`,
    ],
    ['JSON field', '{"apiKey": "abc", "x": 1}', `{"apiKey": "${REDACTED}", "x": 1}`],
    ['bearer token', 'Authorization: Bearer SG.abc-def.ghi', `Authorization: Bearer ${REDACTED}`],
    ['a secret inside a longer word', 'realm-name-2', `${REDACTED}-2`],
  ])('%s', (_name, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('ignores secrets too short to replace safely, but still hides them by parameter name', () => {
    expect(redact('about')).toBe('about');
    expect(redact('?password=ab')).toBe(`?password=${REDACTED}`);
  });

  it('leaves unrelated parameters alone', () => {
    expect(redact('https://h/p?user=brand%40example.com&date=1')).toBe(
      'https://h/p?user=brand%40example.com&date=1',
    );
  });
});

describe('createRedactor({ byName: false })', () => {
  it('replaces secret values only, leaving fields that merely have secret-sounding names', () => {
    const redact = createRedactor(['sim-key-123'], { byName: false });
    expect(redact('{"apiUser":"brand_trigger","email":"a@x.com"}')).toBe(
      '{"apiUser":"brand_trigger","email":"a@x.com"}',
    );
    expect(redact('{"apiUser":"sim-key-123"}')).toBe(`{"apiUser":"${REDACTED}"}`);
  });
});
