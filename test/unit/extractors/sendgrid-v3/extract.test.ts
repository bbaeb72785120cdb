/**
 * SendGrid v3 extraction (extractors/sendgrid-v3/extract.ts): parsing of documented and simulator
 * answers (fixtures/) into rows or classified ProviderErrors, the window plan (exact coverage,
 * whole seconds, inclusive `start_time`/`end_time`, UTC half-years), paging, request building, the
 * `X-RateLimit-*` reading, and end-to-end reads through a real HttpEngine against the real
 * simulator: boundary rows, faults, and a spent budget waited out instead of hammered.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { PagingError, ProviderError, WindowError } from '../../../../extractors/core/errors.js';
import { HttpEngine, type HttpResponse, type RequestRecord } from '../../../../extractors/core/http.js';
import { fingerprint, paginate } from '../../../../extractors/core/paginate.js';
import type { ExtractContext, ExtractWindow, RawRow } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import { createStore, type SimEntry } from '../../../../extractors/core/simulator/index.js';
import { coverageGaps } from '../../../../extractors/core/windows.js';
import {
  createdToIso,
  listRequest,
  PAGE_SIZE,
  planV3Windows,
  rateLimitWait,
  splitV3Window,
  V3Paginator,
} from '../../../../extractors/sendgrid-v3/extract.js';
import { sendgridV3Provider } from '../../../../extractors/sendgrid-v3/index.js';
import {
  type SendgridV3Simulator,
  startSendgridV3Simulator,
} from '../../../../extractors/sendgrid-v3/simulator.js';

const API_KEY = 'SG.extract-K3y-s3cret';
const SUBUSER = 'brand-v3';
const FIXTURES = new URL('../../../../extractors/sendgrid-v3/fixtures/', import.meta.url);
const utc = (iso: string): number => Date.parse(iso);

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sg-v3',
    provider: 'sendgrid-v3',
    baseUrl: 'https://api.sendgrid.com',
    credentials: { apiKey: API_KEY },
    options: { onBehalfOf: SUBUSER, region: 'global' },
    timezone: 'America/Denver',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 1000, concurrency: 1 },
    ...overrides,
  };
}
const ctxOf = (a: AccountConfig): ExtractContext => ({ account: a, now: utc('2024-07-01T00:00:00Z') });

function response(text: string, status = 200): HttpResponse {
  const body = Buffer.from(text, 'utf8');
  return {
    seq: 1,
    status,
    headers: {},
    body,
    text,
    charset: 'utf-8',
    malformed: false,
    attempts: 1,
    durationMs: 0,
  };
}
const fixture = (name: string, status = 200) =>
  response(readFileSync(new URL(name, FIXTURES), 'utf8'), status);
const WINDOW: ExtractWindow = planV3Windows({
  from: utc('2015-07-01T00:00:00Z'),
  to: utc('2016-01-01T00:00:00Z'),
})[0]!;
const parse = (r: HttpResponse) => sendgridV3Provider.parse(r, WINDOW, ctxOf(account()));

function parseError(r: HttpResponse): ProviderError {
  try {
    parse(r);
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('parsed without an error');
}

describe('parse: list answers', () => {
  it('stages the documented example: address untouched, `created` as an ISO instant, the record as received', () => {
    const page = parse(fixture('list-doc-example.json'));
    expect(page).toEqual({
      rows: [
        {
          email: 'user1@example.com',
          rawTime: '2015-09-30T22:12:21Z',
          scope: 'global',
          record: { created: 1443651141, email: 'user1@example.com' },
        },
        {
          email: 'user2@example.com',
          rawTime: '2015-09-30T22:12:34Z',
          scope: 'global',
          record: { created: 1443651154, email: 'user2@example.com' },
        },
      ],
      total: null,
      cursor: null,
    });
  });

  it('keeps odd rows visible: padding, case and NFD untouched; a string `created`; no time; a non-string email as ""', () => {
    const rows: RawRow[] = [...parse(fixture('list-odd-rows.json')).rows];
    expect(rows.map((r) => [r.email, r.rawTime])).toEqual([
      [' Padded@Example.COM\t', '2024-01-02T00:00:00Z'],
      ['jose\u0301@ex\u00e4mple.example', '2024-01-02T00:00:01Z'],
      ['no-time@example.com', null],
      ['', '2024-01-02T00:00:02Z'],
    ]);
    expect(rows[3]!.record.email).toBe(42);
  });

  it('an empty page is []', () => {
    expect(parse(fixture('list-empty.json'))).toEqual({ rows: [], total: null, cursor: null });
  });

  it.each([
    ['list-truncated.txt', 200, 'retriable', 'MALFORMED', /not JSON.*will retry/],
    [
      'inband-error.json',
      200,
      'retriable',
      'INBAND',
      /error body 200 "internal error, please try again later"; will retry/,
    ],
    ['not-array.json', 200, 'fatal', 'SHAPE', /not an array; check the account's baseUrl/],
    ['list-row-not-object.json', 200, 'fatal', 'SHAPE', /row 1 that is not an object/],
    [
      'error-401-wrong-credentials.json',
      401,
      'fatal',
      '401',
      /authentication failed \(401 "Permission denied, wrong credentials"\); check the account's credentials \(apiKey\)/,
    ],
    ['error-403-on-behalf-of.json', 403, 'fatal', '403', /permission denied .*options\.onBehalfOf/],
    ['error-451-region.json', 451, 'fatal', '451', /data residency .*options\.region "eu"/],
    [
      'error-400-limit.json',
      400,
      'fatal',
      '400',
      /refused with 400 "limit: limit must be an integer from 1 to 500".*a bug in extractors\/sendgrid-v3/,
    ],
    ['list-empty.json', 404, 'fatal', '404', /not found \(404\); check the account's baseUrl/],
  ] as const)('%s (HTTP %i) → %s %s', (name, status, family, code, message) => {
    const error = parseError(fixture(name, status));
    expect(error.details).toMatchObject({
      provider: 'sendgrid-v3',
      accountId: 'sg-v3',
      family,
      providerCode: code,
    });
    expect(error.message).toMatch(message);
    expect(error.message).toContain('"sg-v3"');
  });

  it('`created` becomes an instant only when it is a whole number of seconds', () => {
    expect(createdToIso(0)).toBe('1970-01-01T00:00:00Z');
    expect(createdToIso('1443651141')).toBe('2015-09-30T22:12:21Z');
    for (const bad of [1.5, '12a', null, undefined, Number.NaN, '', -0.1])
      expect(createdToIso(bad)).toBeNull();
  });
});

describe('planWindows', () => {
  it('cuts at UTC 1 January / 1 July and sends inclusive seconds (end_time = to − 1)', () => {
    const windows = planV3Windows({
      from: utc('2023-03-15T10:20:30.250Z'),
      to: utc('2024-08-01T00:00:00.500Z'),
    });
    expect(windows.map((w) => [new Date(w.from).toISOString(), new Date(w.to).toISOString()])).toEqual([
      ['2023-03-15T10:20:30.000Z', '2023-07-01T00:00:00.000Z'],
      ['2023-07-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
      ['2024-01-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z'],
      ['2024-07-01T00:00:00.000Z', '2024-08-01T00:00:01.000Z'],
    ]);
    expect(windows[1]!.params).toEqual({
      start_time: String(utc('2023-07-01T00:00:00Z') / 1000),
      end_time: String(utc('2024-01-01T00:00:00Z') / 1000 - 1),
    });
    expect(windows.every((w) => w.scope === 'global')).toBe(true);
  });

  it('a boundary second belongs to exactly one window (the later one)', () => {
    const boundary = utc('2024-01-01T00:00:00Z') / 1000;
    const windows = planV3Windows({ from: utc('2023-12-01T00:00:00Z'), to: utc('2024-02-01T00:00:00Z') });
    const holders = windows.filter(
      (w) => Number(w.params.start_time) <= boundary && boundary <= Number(w.params.end_time),
    );
    expect(holders).toHaveLength(1);
    expect(holders[0]!.from).toBe(boundary * 1000);
  });

  it('an empty range plans nothing; a reversed or non-finite one is a WindowError', () => {
    expect(planV3Windows({ from: 5000, to: 5000 })).toEqual([]);
    expect(() => planV3Windows({ from: 10, to: 5 })).toThrow(WindowError);
    expect(() => planV3Windows({ from: Number.NaN, to: 5 })).toThrow(WindowError);
  });

  it('property: whole-second windows cover the range exactly once, ≤ 6 months, params = instants', () => {
    const start = utc('2012-01-01T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }),
        fc.integer({ min: 1, max: 3 * 365 * 86_400_000 }),
        (offset, length) => {
          const range = { from: start + offset, to: start + offset + length };
          const windows = planV3Windows(range);
          expect(coverageGaps(range, windows)).toEqual({ gaps: [], overlaps: [] });
          for (const w of windows) {
            expect(w.from % 1000).toBe(0);
            expect(w.to % 1000).toBe(0);
            expect(Number(w.params.start_time)).toBe(w.from / 1000);
            expect(Number(w.params.end_time)).toBe(w.to / 1000 - 1);
            expect(Number(w.params.end_time)).toBeGreaterThanOrEqual(Number(w.params.start_time));
            expect(w.to - w.from).toBeLessThanOrEqual(184 * 86_400_000);
          }
        },
      ),
    );
  });

  it('property: split halves are contiguous whole seconds; a one-second window cannot split', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e7 }), (startSec, seconds) => {
        const window = planV3Windows({ from: startSec * 1000, to: (startSec + seconds) * 1000 })[0]!;
        const halves = splitV3Window(window);
        if ((window.to - window.from) / 1000 < 2) {
          expect(halves).toBeNull();
          return;
        }
        const [a, b] = halves!;
        expect([a.from, a.to === b.from, b.to]).toEqual([window.from, true, window.to]);
        expect(Number(a.params.end_time) + 1).toBe(Number(b.params.start_time));
      }),
    );
  });
});

describe('paginator', () => {
  const info = (rows: number) => ({ rows, fingerprint: String(rows) });

  it('asks for 500 from offset 0 and advances by `limit`, not by the rows received', () => {
    const p = new V3Paginator();
    const first = p.first();
    expect(first).toEqual({ offset: 0, limit: PAGE_SIZE });
    // duplicate-row: 501 rows on a page must not move the next offset to 501
    expect(p.next(first, info(PAGE_SIZE + 1))).toEqual({ offset: PAGE_SIZE, limit: PAGE_SIZE });
  });

  it('stops on a short page', () => {
    const p = new V3Paginator();
    expect(p.next({ offset: 500, limit: 500 }, info(499))).toBeNull();
    expect(p.next({ offset: 500, limit: 500 }, info(0))).toBeNull();
  });
});

describe('request building', () => {
  const window = WINDOW;

  it('GETs the list with the window seconds, limit and offset; the key only in the Bearer header', () => {
    const spec = listRequest(window, { offset: 1000, limit: 500 }, account());
    const url = new URL(spec.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://api.sendgrid.com/v3/suppression/unsubscribes');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      start_time: window.params.start_time,
      end_time: window.params.end_time,
      limit: '500',
      offset: '1000',
    });
    expect(spec.method).toBe('GET');
    expect(spec.headers).toEqual({
      authorization: `Bearer ${API_KEY}`,
      accept: 'application/json',
      'on-behalf-of': SUBUSER,
    });
    expect(spec.url).not.toContain(API_KEY);
    expect(spec.idempotent).toBe(true);
    expect(spec.acceptStatuses).toEqual(expect.arrayContaining([400, 401, 403, 451]));
    expect(spec.acceptStatuses).not.toContain(429);
  });

  it('sends no on-behalf-of for the key’s own account, and "account-id <id>" as given', () => {
    expect(
      listRequest(window, { offset: 0, limit: 500 }, account({ options: {} })).headers,
    ).not.toHaveProperty('on-behalf-of');
    const customer = listRequest(
      window,
      { offset: 0, limit: 500 },
      account({ options: { onBehalfOf: 'account-id 42' } }),
    );
    expect(customer.headers?.['on-behalf-of']).toBe('account-id 42');
  });

  it('refuses what would be a bug to send: a window off whole seconds, a limit over 500, a negative offset', () => {
    expect(() =>
      listRequest({ ...window, from: window.from + 1 }, { offset: 0, limit: 500 }, account()),
    ).toThrow(WindowError);
    expect(() => listRequest(window, { offset: 0, limit: 501 }, account())).toThrow(RangeError);
    expect(() => listRequest(window, { offset: -500, limit: 500 }, account())).toThrow(RangeError);
  });

  it('missing credentials are a fatal error naming the account, not a request', () => {
    expect(() => listRequest(window, { offset: 0, limit: 500 }, account({ credentials: {} }))).toThrow(
      /"sg-v3": credentials\.apiKey is required/,
    );
  });
});

describe('rateLimitWait (X-RateLimit-Remaining / -Reset)', () => {
  const now = utc('2024-05-01T12:00:00.400Z');
  const reset = String(utc('2024-05-01T12:00:05Z') / 1000);
  it.each([
    ['budget left', 200, { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': reset }, undefined],
    ['no headers', 429, {}, undefined],
    ['spent: wait until the reset', 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, 4600],
    ['429 until the reset', 429, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, 4600],
    [
      '429 whose reset passed: one second',
      429,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' },
      1000,
    ],
    ['unreadable reset', 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'soon' }, undefined],
  ] as const)('%s', (_name, status, headers, expected) => {
    expect(rateLimitWait(status, headers, now)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------

describe('end-to-end read against the simulator', () => {
  const B1 = utc('2024-01-01T00:00:00Z'); // a window boundary
  const ENTRIES: SimEntry[] = [
    { email: 'before-boundary@example.com', at: B1 - 1000 },
    { email: 'AT-boundary@example.com', at: B1 },
    { email: 'after-boundary@example.com', at: B1 + 1000 },
    // 1 100 rows in one window: three pages
    ...Array.from({ length: 1100 }, (_, i) => ({
      email: `bulk${i}@example.com`,
      at: utc('2024-03-01T00:00:00Z') + i * 1000,
    })),
  ];
  const RANGE = { from: utc('2023-10-01T00:00:00Z'), to: utc('2024-06-01T00:00:00Z') };
  let sim: SendgridV3Simulator;
  const engines: HttpEngine[] = [];

  beforeAll(async () => {
    sim = await startSendgridV3Simulator({
      accounts: [{ key: SUBUSER, id: 'sg-v3', credentials: { apiKey: API_KEY }, store: [] }],
    });
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await sim?.close();
  });

  async function readAll(a: AccountConfig, records: RequestRecord[] = []) {
    const http = new HttpEngine({
      redact: createRedactor([API_KEY]),
      retry: { baseMs: 1, maxDelayMs: 5 },
      onRecord: (r) => records.push(r),
    });
    engines.push(http);
    const ctx = ctxOf(a);
    const rows: RawRow[] = [];
    const pagesPerWindow: number[] = [];
    for (const window of sendgridV3Provider.planWindows(RANGE, ctx)) {
      const pages = paginate({
        paginator: sendgridV3Provider.paginator(window, ctx),
        fetchPage: async (req) => {
          let parsed: ReturnType<typeof sendgridV3Provider.parse> | undefined;
          const res = await http.request(sendgridV3Provider.request(window, req, ctx), (r) => {
            parsed = sendgridV3Provider.parse(r, window, ctx);
          });
          rows.push(...parsed!.rows);
          return { page: parsed!, info: { rows: parsed!.rows.length, fingerprint: fingerprint(res.body) } };
        },
      });
      let n = 0;
      for await (const _ of pages) n += 1;
      pagesPerWindow.push(n);
    }
    return { rows, pagesPerWindow };
  }

  const reset = (faults = '', budget?: { limit: number; windowSeconds: number }) => {
    const simAccount = sim.account(SUBUSER)!;
    simAccount.store = createStore(ENTRIES);
    (simAccount as { meta: object }).meta = budget ? { budget } : {};
    sim.setFaults(SUBUSER, faults);
    sim.journal.clear();
  };
  const live = () => account({ baseUrl: sim.url });

  it('reads every entry of the range exactly once, boundary rows included, in pages of 500', async () => {
    reset();
    const { rows, pagesPerWindow } = await readAll(live());
    expect(rows.map((r) => r.email).sort()).toEqual(ENTRIES.map((e) => e.email).sort());
    expect(rows.find((r) => r.email === 'AT-boundary@example.com')!.rawTime).toBe('2024-01-01T00:00:00Z');
    expect(pagesPerWindow).toEqual([1, 3]);
    const queries = sim.journal.reads().map((e) => e.params);
    expect(queries.map((q) => q.offset)).toEqual(['0', '0', '500', '1000']);
  });

  it('duplicate-row: the repeated row is staged again and no row is lost; an in-band error is retried', async () => {
    reset('duplicate-row@3,inband-error@2');
    const { rows } = await readAll(live());
    expect(new Set(rows.map((r) => r.email))).toEqual(new Set(ENTRIES.map((e) => e.email)));
    expect(rows.length).toBe(ENTRIES.length + 1);
  });

  it('repeat-page (offset ignored) stops with a paging loop instead of reading forever', async () => {
    reset('repeat-page');
    await expect(readAll(live())).rejects.toThrow(PagingError);
  });

  it('bad credentials: a fatal ProviderError naming the account, no retries', async () => {
    reset();
    const records: RequestRecord[] = [];
    const error = await readAll(
      account({ baseUrl: sim.url, credentials: { apiKey: 'SG.wrong' } }),
      records,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details.family).toBe('fatal');
    expect((error as Error).message).toMatch(/"sg-v3": authentication failed/);
    expect(records.map((r) => r.attempts)).toEqual([1]);
  });

  it('a spent budget is waited out (X-RateLimit-Remaining 0 → pause until X-RateLimit-Reset): no 429 at all', async () => {
    reset('', { limit: 2, windowSeconds: 1 });
    const { rows } = await readAll(live());
    expect(rows).toHaveLength(ENTRIES.length);
    const entries = sim.journal.entries();
    expect(entries.map((e) => e.status)).toEqual([200, 200, 200, 200]);
    // 2 requests per one-second window: the 3rd waited for the next window instead of a 429
    expect(entries[2]!.at - entries[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('a 429 without Retry-After is retried at X-RateLimit-Reset', async () => {
    reset('', { limit: 2, windowSeconds: 1 });
    // Another client of the same account spends the budget first.
    for (let i = 0; i < 2; i++) {
      const other = await fetch(`${sim.url}/v3/suppression/unsubscribes?limit=1`, {
        headers: { authorization: `Bearer ${API_KEY}`, 'on-behalf-of': SUBUSER, accept: 'application/json' },
      });
      expect(other.status).toBe(200);
      expect(other.headers.get('x-ratelimit-remaining')).toBe(String(1 - i));
    }
    const records: RequestRecord[] = [];
    const { rows } = await readAll(live(), records);
    expect(rows).toHaveLength(ENTRIES.length);
    const limited = records.find((r) => r.attemptLog.some((a) => a.status === 429))!;
    expect(limited).toBeDefined();
    const first = limited.attemptLog[0]!;
    expect(first.status).toBe(429);
    expect(first.retryDelayMs).toBeGreaterThan(5); // the reset, not the 1-5 ms backoff
    expect(limited.attemptLog.at(-1)!.status).toBe(200);
  });
});
