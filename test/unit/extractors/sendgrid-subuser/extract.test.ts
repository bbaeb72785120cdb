/**
 * sendgrid-subuser extraction (extractors/sendgrid-subuser/extract.ts → the shared
 * extractors/core/sendgrid-legacy/extract.ts): the seed 001 fixtures and error bodies through the
 * module's `parse`, request building (POST form to `user.unsubscribes`, the per-subuser endpoint,
 * never the account-level `unsubscribes.get`), and the end-to-end read against the real simulator
 * (shared suite). Window plan and parser details: test/unit/extractors/core/sendgrid-legacy/.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { decodeBody } from '../../../../extractors/core/decode.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import type { HttpResponse } from '../../../../extractors/core/http.js';
import type { ExtractContext } from '../../../../extractors/core/provider.js';
import { sendgridSubuserProvider as provider } from '../../../../extractors/sendgrid-subuser/index.js';
import { startSendgridSubuserSimulator } from '../../../../extractors/sendgrid-subuser/simulator.js';
import { runLegacyReadSuite } from '../core/sendgrid-legacy/suite.js';

const CHICAGO = 'America/Chicago';
const SECRET = 'par3nt-Key';

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sg-sub',
    provider: 'sendgrid-subuser',
    baseUrl: 'https://api.sendgrid.com',
    credentials: { api_user: 'parent-login', api_key: SECRET },
    options: { user: 'brand-sub', format: 'xml' },
    timezone: CHICAGO,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 5, concurrency: 1 },
    ...overrides,
  };
}
const ctx = (a: AccountConfig = account()): ExtractContext => ({ account: a, now: Date.UTC(2024, 10, 10) });
// 2024-11-01 … 2024-11-10 Chicago: holds the fall-back day (25 hours)
const november = provider.planWindows(
  { from: Date.parse('2024-11-01T05:00:00Z'), to: Date.parse('2024-11-11T06:00:00Z') },
  ctx(),
)[0]!;

function response(name: string, status = 200): HttpResponse {
  const body = readFileSync(
    new URL(`../../../../extractors/sendgrid-subuser/fixtures/${name}`, import.meta.url),
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
const parse = (name: string, status = 200) => provider.parse(response(name, status), november, ctx());

describe('parse', () => {
  it.each(['get-seed.json', 'get-seed.xml'])('the seed 001 answer %s', (name) => {
    const created = name.endsWith('.json') ? '2009-06-01 19:41:39' : '2009-06-10 12:40:30';
    expect(parse(name)).toEqual({
      rows: ['email1@domain.com', 'email2@domain2.com'].map((email) => ({
        email,
        rawTime: created,
        scope: 'global',
        record: { email, created },
      })),
      total: null,
      cursor: null,
    });
  });

  it('stages the address and created untouched (spaces, case, UTF-8, an ambiguous DST time)', () => {
    expect(parse('get-untrimmed.json').rows).toEqual([
      {
        email: ' Zoë@Example.com ',
        rawTime: '2024-11-03 01:30:00',
        scope: 'global',
        record: { email: ' Zoë@Example.com ', created: '2024-11-03 01:30:00' },
      },
    ]);
  });

  it.each([
    ['error-auth.xml', 401, 'fatal', 'AUTH'],
    ['error-auth.json', 200, 'fatal', 'AUTH'],
    ['error-temporary-error-shape.xml', 200, 'retriable', 'TEMPORARY'],
    ['delete-all-required.json', 400, 'skippable', 'BAD_REQUEST'],
    ['success-bare.xml', 200, 'skippable', 'SHAPE'],
    ['delete-absent.xml', 200, 'skippable', 'SHAPE'],
  ] as const)('%s (HTTP %i) → ProviderError %s %s', (name, status, family, code) => {
    let error: unknown;
    try {
      parse(name, status);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toEqual({
      provider: 'sendgrid-subuser',
      accountId: 'sg-sub',
      family,
      providerCode: code,
    });
    expect((error as Error).message).toContain('sendgrid-subuser account "sg-sub"');
  });
});

describe('request', () => {
  it('POSTs a form to /api/user.unsubscribes.xml with user=<subuser>, task=get, date=1 and no method', () => {
    expect(november.params).toEqual({ start_date: '2024-11-01', end_date: '2024-11-10' });
    expect(november.to - november.from).toBe(241 * 3_600_000); // ten local days, one of 25 h
    const spec = provider.request(november, {}, ctx());
    expect(spec).toMatchObject({
      method: 'POST',
      url: 'https://api.sendgrid.com/api/user.unsubscribes.xml',
      idempotent: true,
      acceptStatuses: [400, 401, 403],
    });
    expect(spec.headers?.accept).toMatch(/xml/);
    expect(spec.url).not.toContain(SECRET);
    expect(Object.fromEntries(new URLSearchParams(String(spec.body)))).toEqual({
      api_user: 'parent-login',
      api_key: SECRET,
      user: 'brand-sub',
      task: 'get',
      date: '1',
      start_date: '2024-11-01',
      end_date: '2024-11-10',
    });
  });

  it('format defaults to json when options.format is absent', () => {
    expect(provider.request(november, {}, ctx(account({ options: { user: 'brand-sub' } }))).url).toBe(
      'https://api.sendgrid.com/api/user.unsubscribes.json',
    );
  });
});

runLegacyReadSuite({
  provider,
  start: startSendgridSubuserSimulator,
  path: '/api/user.unsubscribes',
  fixedParams: {},
  user: 'brand-sub',
  zone: CHICAGO,
});
