/**
 * sendgrid-reseller extraction (extractors/sendgrid-reseller/extract.ts → the shared
 * extractors/core/sendgrid-legacy/extract.ts): the seed 000 fixtures and error bodies through the
 * module's `parse`, request building (POST form to `distributor.manage`, keys out of the URL), and
 * the end-to-end read against the real simulator (shared suite). The window plan and the parser's
 * details are tested once in test/unit/extractors/core/sendgrid-legacy/extract.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { decodeBody } from '../../../../extractors/core/decode.js';
import { ProviderError, WindowError } from '../../../../extractors/core/errors.js';
import type { HttpResponse } from '../../../../extractors/core/http.js';
import type { ExtractContext, ExtractWindow } from '../../../../extractors/core/provider.js';
import { sendgridResellerProvider as provider } from '../../../../extractors/sendgrid-reseller/index.js';
import { startSendgridResellerSimulator } from '../../../../extractors/sendgrid-reseller/simulator.js';
import { runLegacyReadSuite } from '../core/sendgrid-legacy/suite.js';

const LA = 'America/Los_Angeles';
const SECRET = 'r3seller&Key=1';

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sg-reseller',
    provider: 'sendgrid-reseller',
    baseUrl: 'https://api.sendgrid.com',
    credentials: { api_user: 'reseller-login', api_key: SECRET },
    options: { user: 'customer@example.com', format: 'json' },
    timezone: LA,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 5, concurrency: 1 },
    ...overrides,
  };
}
const ctx = (a: AccountConfig = account()): ExtractContext => ({ account: a, now: Date.UTC(2024, 2, 10) });
const june2009: ExtractWindow = provider.planWindows(
  { from: Date.parse('2009-06-01T07:00:00Z'), to: Date.parse('2009-07-01T07:00:00Z') },
  ctx(),
)[0]!;

function response(name: string, status = 200): HttpResponse {
  const body = readFileSync(
    new URL(`../../../../extractors/sendgrid-reseller/fixtures/${name}`, import.meta.url),
  );
  const contentType = name.endsWith('.xml') ? 'text/xml' : 'application/json';
  const decoded = decodeBody(body, contentType);
  return {
    seq: 1,
    status,
    headers: { 'content-type': contentType },
    body,
    text: decoded.text,
    charset: decoded.charset,
    malformed: decoded.malformed,
    attempts: 1,
    durationMs: 0,
  };
}
const parse = (name: string, status = 200) => provider.parse(response(name, status), june2009, ctx());

describe('parse', () => {
  it('the seed 000 XML answer: addresses and created exactly as sent, scope global', () => {
    expect(parse('get-seed.xml')).toEqual({
      rows: [
        {
          email: 'email1@domain.com',
          rawTime: '2009-06-10 12:40:30',
          scope: 'global',
          record: { email: 'email1@domain.com', created: '2009-06-10 12:40:30' },
        },
        {
          email: 'email2@domain2.com',
          rawTime: '2009-06-10 12:40:30',
          scope: 'global',
          record: { email: 'email2@domain2.com', created: '2009-06-10 12:40:30' },
        },
      ],
      total: null,
      cursor: null,
    });
  });

  it('the JSON answer of the v1 doc, and a Latin-1 single-row XML answer', () => {
    expect(parse('get-doc.json').rows).toEqual([
      {
        email: 'a@example.com',
        rawTime: '2009-06-01 19:41:39',
        scope: 'global',
        record: { email: 'a@example.com', created: '2009-06-01 19:41:39' },
      },
    ]);
    expect(parse('get-latin1-single.xml').rows.map((r) => r.email)).toEqual(['josé+用&co@example.com']);
    expect(parse('get-empty.xml').rows).toEqual([]);
    expect(parse('get-empty.json').rows).toEqual([]);
  });

  it.each([
    ['error-auth.json', 401, 'fatal', 'AUTH'],
    ['error-auth.xml', 200, 'fatal', 'AUTH'],
    ['error-bad-username.json', 200, 'fatal', 'AUTH'],
    ['error-user-not-found.json', 400, 'fatal', 'USER_NOT_FOUND'],
    ['error-temporary.json', 200, 'retriable', 'TEMPORARY'],
    ['error-temporary.xml', 200, 'retriable', 'TEMPORARY'],
    ['error-temporary-error-shape.json', 200, 'retriable', 'TEMPORARY'],
    ['error-param.json', 400, 'skippable', 'BAD_REQUEST'],
    ['success.xml', 200, 'skippable', 'SHAPE'],
    ['truncated.json', 200, 'retriable', 'UNPARSEABLE'],
    ['doctype.xml', 200, 'skippable', 'UNSAFE_XML'],
  ] as const)('%s (HTTP %i) → ProviderError %s %s', (name, status, family, code) => {
    let error: unknown;
    try {
      parse(name, status);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toEqual({
      provider: 'sendgrid-reseller',
      accountId: 'sg-reseller',
      family,
      providerCode: code,
    });
    expect((error as Error).message).toContain('sendgrid-reseller account "sg-reseller"');
    expect((error as Error).message).not.toContain(SECRET);
  });
});

describe('request', () => {
  it('POSTs a form to /api/distributor.manage.json: method, user, task=get, date=1, inclusive dates', () => {
    const spec = provider.request(june2009, {}, ctx());
    expect(spec).toMatchObject({
      method: 'POST',
      url: 'https://api.sendgrid.com/api/distributor.manage.json',
      idempotent: true,
      acceptStatuses: [400, 401, 403],
      window: { from: '2009-06-01T07:00:00.000Z', to: '2009-07-01T07:00:00.000Z' },
    });
    expect(spec.headers?.['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(spec.url).not.toContain(SECRET);
    expect(Object.fromEntries(new URLSearchParams(String(spec.body)))).toEqual({
      api_user: 'reseller-login',
      api_key: SECRET,
      method: 'unsubscribes',
      user: 'customer@example.com',
      task: 'get',
      date: '1',
      start_date: '2009-06-01',
      end_date: '2009-06-30',
    });
    expect(june2009.params).toEqual({ start_date: '2009-06-01', end_date: '2009-06-30' });
  });

  it('format xml picks the .xml suffix; a baseUrl path prefix and trailing slash are kept cleanly', () => {
    const spec = provider.request(
      june2009,
      {},
      ctx(account({ baseUrl: 'http://127.0.0.1:9/proxy/', options: { user: 'c', format: 'xml' } })),
    );
    expect(spec.url).toBe('http://127.0.0.1:9/proxy/api/distributor.manage.xml');
  });

  it('missing options.user or credentials → fatal ProviderError naming the account, no value echoed', () => {
    for (const a of [
      account({ options: { format: 'json' } }),
      account({ credentials: { api_user: 'reseller-login' } }),
    ]) {
      let error: unknown;
      try {
        provider.request(june2009, {}, ctx(a));
      } catch (e) {
        error = e;
      }
      expect((error as ProviderError).details).toMatchObject({ family: 'fatal', providerCode: 'CONFIG' });
      expect((error as Error).message).toContain('"sg-reseller"');
      expect((error as Error).message).not.toContain('reseller-login');
    }
  });

  it('refuses a one-date or unaligned window (start_date must be earlier than end_date)', () => {
    const oneDay: ExtractWindow = {
      from: Date.parse('2009-06-01T07:00:00Z'),
      to: Date.parse('2009-06-02T07:00:00Z'),
      scope: 'global',
      params: {},
    };
    expect(() => provider.request(oneDay, {}, ctx())).toThrow(WindowError);
    expect(() => provider.request({ ...oneDay, from: oneDay.from + 1 }, {}, ctx())).toThrow(WindowError);
  });

  it('capabilities: second precision in local time, deletes by address, one address per call', () => {
    expect(provider.capabilities).toEqual({
      timePrecision: 'second',
      timeFormat: '%Y-%m-%d %H:%M:%S',
      canDelete: true,
      writeBatchSize: 1,
    });
    expect(provider.paginator(june2009, ctx()).stopRule).toBe('single-shot');
  });
});

runLegacyReadSuite({
  provider,
  start: startSendgridResellerSimulator,
  path: '/api/distributor.manage',
  fixedParams: { method: 'unsubscribes' },
  user: 'customer@example.com',
  zone: LA,
});
