/**
 * The SendGrid v3 simulator (extractors/sendgrid-v3/simulator.ts) over real HTTP: routes and
 * methods, `Accept`, Bearer and `on-behalf-of`, regions, list parameters (validation, inclusive
 * `start_time`/`end_time`, the prefix/wildcard `email` pattern), the `X-RateLimit-*` budget, the
 * v3 error bodies for the kit's own 429/500, provider faults, and the write endpoints (including
 * the historic bulk delete it implements so tests can prove clients never send it).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type SimEntry } from '../../../../extractors/core/simulator/index.js';
import {
  DEFAULT_LIMIT,
  emailPattern,
  type SendgridV3Simulator,
  startSendgridV3Simulator,
} from '../../../../extractors/sendgrid-v3/simulator.js';

const KEY = 'SG.sim-K3y';
const SUB = 'brand-v3';
const T0 = Date.parse('2024-01-01T00:00:00Z') / 1000;
const ENTRIES: SimEntry[] = Array.from({ length: 60 }, (_, i) => ({
  email: i === 0 ? 'Sales.Team@Example.com' : `user${i}@example.com`,
  at: (T0 + i) * 1000,
}));

let sim: SendgridV3Simulator;
beforeAll(async () => {
  sim = await startSendgridV3Simulator({
    now: () => (T0 + 1000) * 1000,
    accounts: [
      { key: SUB, id: 'sg-v3', credentials: { apiKey: KEY } },
      {
        key: 'tiny',
        id: 'sg-tiny',
        credentials: { apiKey: KEY },
        meta: { budget: { limit: 2, windowSeconds: 60 } },
      },
    ],
  });
});
beforeEach(() => {
  sim.account(SUB)!.store = createStore(ENTRIES);
  sim.setFaults(SUB, '');
  sim.journal.clear();
});
afterAll(async () => {
  await sim?.close();
});

const HEADERS = { authorization: `Bearer ${KEY}`, 'on-behalf-of': SUB, accept: 'application/json' };
async function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const res = await fetch(`${sim.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...HEADERS, ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined,
  };
}
const list = async (query: string) => call(`/v3/suppression/unsubscribes?${query}`);
const emails = (rows: { email: string }[]) => rows.map((r) => r.email);

describe('routes, headers and accounts', () => {
  it.each([
    ['an unknown path', '/v3/nothing', {}, 404, 'resource not found'],
    [
      'POST on the list path (people do; §1)',
      '/v3/suppression/unsubscribes',
      { method: 'POST' },
      405,
      'method not allowed',
    ],
    [
      'no Accept: application/json',
      '/v3/suppression/unsubscribes',
      { headers: { accept: 'text/html' } },
      406,
      'Accept',
    ],
    [
      'no Authorization',
      '/v3/suppression/unsubscribes',
      { headers: { authorization: '' } },
      401,
      'authorization required',
    ],
    [
      'a wrong key',
      '/v3/suppression/unsubscribes',
      { headers: { authorization: 'Bearer SG.x' } },
      401,
      'Permission denied, wrong credentials',
    ],
    [
      'the key with an unknown on-behalf-of',
      '/v3/suppression/unsubscribes',
      { headers: { 'on-behalf-of': 'ghost' } },
      403,
      'on-behalf-of',
    ],
    ['the EU host for a global account', '/eu/v3/suppression/unsubscribes', {}, 451, 'global region'],
  ] as const)('%s → %i with a v3 errors body', async (_name, path, init, status, message) => {
    const res = await call(path, init);
    expect(res.status).toBe(status);
    expect(res.json.errors[0].message).toContain(message);
    expect(res.json.errors[0]).toHaveProperty('field');
  });

  it('the wrong-key body is the one seen in the wild ([C:2])', async () => {
    const res = await call('/v3/suppression/unsubscribes', { headers: { authorization: 'Bearer SG.x' } });
    expect(res.json).toEqual({
      errors: [{ field: null, message: 'Permission denied, wrong credentials', help: null }],
    });
  });
});

describe('list', () => {
  it('returns [{created, email}] in time order; start_time and end_time are both inclusive', async () => {
    const res = await list(`start_time=${T0 + 10}&end_time=${T0 + 12}&limit=500`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      { created: T0 + 10, email: 'user10@example.com' },
      { created: T0 + 11, email: 'user11@example.com' },
      { created: T0 + 12, email: 'user12@example.com' },
    ]);
  });

  it('pages with limit/offset; without limit a default page of 50 [A]', async () => {
    expect(DEFAULT_LIMIT).toBe(50);
    expect((await list('')).json).toHaveLength(50);
    expect(emails((await list('limit=5&offset=55')).json)).toEqual(
      ['user55', 'user56', 'user57', 'user58', 'user59'].map((u) => `${u}@example.com`),
    );
    expect((await list('limit=5&offset=60')).json).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['offset=-1', 'offset'],
    ['start_time=yesterday', 'start_time'],
    ['end_time=1.5', 'end_time'],
    ['start_time=20&end_time=10', 'end_time'],
  ])('refuses %s with 400 naming the field', async (query, field) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(res.json.errors[0].field).toBe(field);
  });

  it('the email parameter is a case-insensitive prefix pattern with % as a wildcard, not equality', async () => {
    expect(emails((await list(`email=${encodeURIComponent('user1')}&limit=500`)).json)).toHaveLength(11); // user1, user10-19
    expect(emails((await list(`email=${encodeURIComponent('sales')}`)).json)).toEqual([
      'Sales.Team@Example.com',
    ]);
    expect(emails((await list(`email=${encodeURIComponent('%5@')}`)).json)).toEqual(
      ['user5', 'user15', 'user25', 'user35', 'user45', 'user55'].map((u) => `${u}@example.com`),
    );
    expect(emailPattern('user1@example.com')('user1@example.com.au')).toBe(true);
  });

  it('duplicate-row sends the previous page’s last row again first; repeat-page ignores offset', async () => {
    sim.setFaults(SUB, 'duplicate-row@1,repeat-page@2');
    expect(emails((await list('limit=3&offset=3')).json)).toEqual(
      ['user2', 'user3', 'user4', 'user5'].map((u) => `${u}@example.com`),
    );
    expect(emails((await list('limit=3&offset=3')).json)[0]).toBe('Sales.Team@Example.com');
  });

  it('inband-error answers HTTP 200 with an errors body; empty-last-page is noted as not applicable', async () => {
    sim.setFaults(SUB, 'inband-error@1,empty-last-page@2');
    const first = await list('limit=1');
    expect([first.status, first.json.errors[0].message]).toEqual([
      200,
      'internal error, please try again later',
    ]);
    expect((await list('limit=5&offset=60')).json).toEqual([]);
    expect(sim.journal.entries()[1]!.notes.join()).toMatch(/empty-last-page: not applicable/);
  });
});

describe('rate limits', () => {
  it('every answer carries X-RateLimit-*; an exhausted budget answers 429 with the reset and no Retry-After', async () => {
    const tiny = { 'on-behalf-of': 'tiny' };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call('/v3/suppression/unsubscribes', { headers: tiny }));
    expect(
      answers.map((a) => [
        a.status,
        a.headers.get('x-ratelimit-limit'),
        a.headers.get('x-ratelimit-remaining'),
      ]),
    ).toEqual([
      [200, '2', '1'],
      [200, '2', '0'],
      [429, '2', '0'],
    ]);
    const limited = answers[2]!;
    expect(limited.json).toEqual({ errors: [{ field: null, message: 'too many requests' }] });
    expect(limited.headers.get('retry-after')).toBeNull();
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(reset * 1000).toBeGreaterThan(Date.now());
    expect(reset * 1000).toBeLessThanOrEqual(Date.now() + 61_000);
  });

  it('the kit’s rate-limit and server-error faults answer in v3’s error shape (Retry-After from the kit)', async () => {
    sim.setFaults(SUB, 'rate-limit@1,server-error/500@2,server-error/503@3');
    const limited = await list('');
    expect([limited.status, limited.json, limited.headers.get('retry-after')]).toEqual([
      429,
      { errors: [{ field: null, message: 'too many requests' }] },
      '1',
    ]);
    expect((await list('')).json).toEqual({ errors: [{ field: null, message: 'internal server error' }] });
    const gateway = await list('');
    expect([gateway.status, gateway.headers.get('content-type')]).toEqual([503, 'text/html; charset=utf-8']);
  });
});

describe('writes', () => {
  it('POST adds (idempotent) and echoes; GET one answers the address or {}; DELETE one 204, then 404', async () => {
    const added = await call('/v3/asm/suppressions/global', {
      method: 'POST',
      body: { recipient_emails: ['new@example.com', 'user1@example.com'] },
    });
    expect([added.status, added.json]).toEqual([
      201,
      { recipient_emails: ['new@example.com', 'user1@example.com'] },
    ]);
    expect(sim.account(SUB)!.store.size()).toBe(61);
    expect((await call('/v3/asm/suppressions/global/NEW%40example.com')).json).toEqual({
      recipient_email: 'new@example.com',
    });
    expect((await call('/v3/asm/suppressions/global/new%40example.co')).json).toEqual({});
    expect((await call('/v3/asm/suppressions/global/new%40example.com', { method: 'DELETE' })).status).toBe(
      204,
    );
    const again = await call('/v3/asm/suppressions/global/new%40example.com', { method: 'DELETE' });
    expect([again.status, again.json.errors[0].message]).toEqual([404, 'email address not found']);
    expect(sim.journal.writes()).toHaveLength(3);
  });

  it.each([
    [{ recipient_emails: [] }, 'non-empty array'],
    [{ emails: ['a@example.com'] }, 'non-empty array'],
    [{ recipient_emails: ['ok@example.com', 'two@@example.com'] }, 'invalid email address: two@@example.com'],
  ])('POST %j → 400, nothing added', async (body, message) => {
    const res = await call('/v3/asm/suppressions/global', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatchObject({ field: 'recipient_emails' });
    expect(res.json.errors[0].message).toContain(message);
    expect(sim.account(SUB)!.store.size()).toBe(60);
  });

  it('implements the historic bulk delete, delete_all included (what clients must never send)', async () => {
    const some = await call('/v3/suppression/unsubscribes', {
      method: 'DELETE',
      body: { emails: ['user1@example.com'] },
    });
    expect(some.status).toBe(204);
    expect(sim.account(SUB)!.store.size()).toBe(59);
    await call('/v3/suppression/unsubscribes', { method: 'DELETE', body: { delete_all: true } });
    expect(sim.account(SUB)!.store.size()).toBe(0);
    expect(sim.journal.writes().at(-1)!.notes.join()).toMatch(/delete_all removed 59/);
  });
});
