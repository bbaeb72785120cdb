/**
 * SendCloud extraction (extractors/sendcloud/extract.ts): parsing of the seed's and simulator's
 * answer bodies (fixtures/) into rows or classified ProviderErrors, the window plan (exact
 * coverage, ≤ 1 calendar month, inclusive dates without a lost or doubled day, DST and month
 * ends), paging and request building, and an end-to-end read through a real HttpEngine against
 * the real simulator with rows exactly on window boundaries.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ConfigError, PagingError, ProviderError, WindowError } from '../../../../extractors/core/errors.js';
import { HttpEngine, type HttpResponse } from '../../../../extractors/core/http.js';
import { fingerprint, paginate } from '../../../../extractors/core/paginate.js';
import type { ExtractContext, ExtractWindow, RawRow } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import type { SimEntry } from '../../../../extractors/core/simulator/index.js';
import type { InstantRange } from '../../../../extractors/core/types.js';
import { coverageGaps, toInclusiveDays } from '../../../../extractors/core/windows.js';
import {
  listRequest,
  MAX_WINDOW_MONTHS,
  PAGE_SIZE,
  parseEnvelope,
  planSendcloudWindows,
  SendcloudPaginator,
  splitSendcloudWindow,
} from '../../../../extractors/sendcloud/extract.js';
import { sendcloudProvider } from '../../../../extractors/sendcloud/index.js';
import type { SendcloudSimulator } from '../../../../extractors/sendcloud/simulator.js';
import { startSendcloudSimulator } from '../../../../extractors/sendcloud/simulator.js';

const SH = 'Asia/Shanghai';
const API_USER = 'sc_extract_user';
const API_KEY = 'k3y-Extract-S3cret';
const FIXTURES = new URL('../../../../extractors/sendcloud/fixtures/', import.meta.url);
/** A UTC+8 wall time as epoch ms (SendCloud's zone, provider notes §5). */
const t = (wall: string): number => Date.parse(`${wall.replace(' ', 'T')}+08:00`);
/** Local midnight of `date` in `zone`. */
const midnight = (date: string, zone: string): number =>
  DateTime.fromISO(date, { zone }).startOf('day').toMillis();

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sc-main',
    provider: 'sendcloud',
    baseUrl: 'https://api.sendcloud.net',
    credentials: { apiUser: API_USER, apiKey: API_KEY },
    options: {},
    timezone: SH,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 1000, concurrency: 1 },
    ...overrides,
  };
}
const ctxOf = (a: AccountConfig): ExtractContext => ({ account: a, now: t('2024-07-01 00:00:00') });

function response(text: string): HttpResponse {
  const body = Buffer.from(text, 'utf8');
  return {
    seq: 1,
    status: 200,
    headers: {},
    body,
    text,
    charset: 'utf-8',
    malformed: false,
    attempts: 1,
    durationMs: 0,
  };
}
const fixture = (name: string): HttpResponse => response(readFileSync(new URL(name, FIXTURES), 'utf8'));
const WINDOW: ExtractWindow = planSendcloudWindows(
  { from: t('2021-07-01 00:00:00'), to: t('2021-08-01 00:00:00') },
  SH,
)[0]!;
const parse = (name: string) => sendcloudProvider.parse(fixture(name), WINDOW, ctxOf(account()));

function parseError(name: string): ProviderError {
  try {
    parse(name);
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error(`${name} parsed without an error`);
}

describe('parse: list answers', () => {
  it('stages the seed example row as received; the duplicated "labelId" keeps its last value', () => {
    const page = parse('list-seed-example.txt');
    expect(page.total).toBe(1);
    expect(page.rows).toHaveLength(1);
    const row = page.rows[0]!;
    expect(row).toMatchObject({
      email: 'cxybfq@163.com',
      rawTime: '2021-07-15 17:55:20',
      rawExpires: '2021-07-15 17:55:20',
      scope: 'global',
    });
    // JSON.parse keeps the last of two equal keys (provider notes §4): "" not 0.
    expect(row.record).toMatchObject({
      labelId: '',
      apiUser: 'delong_test',
      unsubscribeTypeDesc: '我不想再收到此类邮件',
    });
  });

  it('keeps every repeat of an address (per apiUser/label) and the address bytes untouched', () => {
    const page = parse('list-repeated-address.txt');
    expect(page.rows.map((r) => r.email)).toEqual([' CXYBFQ@163.com', ' CXYBFQ@163.com', '用户@例子.公司']);
    expect(page.rows.map((r) => r.record.apiUser)).toEqual(['delong_test', 'delong_batch', 'delong_test']);
    expect(page.rows.map((r) => r.rawExpires)).toEqual([
      '9999-12-31 23:59:59',
      '2031-01-01 00:00:00',
      '9999-12-31 23:59:59',
    ]);
    expect(page.total).toBe(3);
  });

  it.each([
    ['list-empty.txt', 0],
    ['list-empty-no-datalist.txt', 0],
  ])('%s is an empty page', (name, total) => {
    expect(parse(name)).toEqual({ rows: [], total, cursor: null });
  });

  it('stages a row whose email is not a string as "" (the transform rejects it visibly)', () => {
    const page = sendcloudProvider.parse(
      response(
        '{"result":true,"statusCode":200,"message":"请求成功","info":{"dataList":[{"email":null,"unsubscribeTime":7}]}}',
      ),
      WINDOW,
      ctxOf(account()),
    );
    expect(page.rows).toEqual([
      {
        email: '',
        rawTime: null,
        rawExpires: null,
        scope: 'global',
        record: { email: null, unsubscribeTime: 7 },
      },
    ]);
    expect(page.total).toBeNull();
  });
});

describe('parse: write answers (seed examples)', () => {
  it.each([
    ['add-seed-example.txt', true, 40401],
    ['add-40402.txt', false, 40402],
    ['delete-seed-example.txt', true, 200],
    ['delete-count-0.txt', true, 200],
  ] as const)('%s → result %s, statusCode %s', (name, result, statusCode) => {
    const env = parseEnvelope(fixture(name), account(), 'test');
    expect(env).toMatchObject({ result, statusCode });
  });

  it('delete counts and the add record come through info', () => {
    expect(parseEnvelope(fixture('delete-seed-example.txt'), account(), 'test').info).toEqual({ count: 1 });
    expect(parseEnvelope(fixture('delete-count-0.txt'), account(), 'test').info).toEqual({ count: 0 });
    expect(parseEnvelope(fixture('add-seed-example.txt'), account(), 'test').info.data).toMatchObject({
      email: 'cxybfq@163.com',
      expireTime: '2021-07-01 00:00:00',
    });
  });
});

describe('parse: errors inside HTTP 200 are classified', () => {
  it.each([
    ['error-40005-auth.txt', 'fatal', '40005'],
    ['error-40301-user.txt', 'fatal', '40301'],
    ['error-501-server.txt', 'retriable', '501'],
    ['error-40000-duplicate.txt', 'retriable', '40000'],
    ['list-truncated.txt', 'retriable', 'MALFORMED'],
    ['error-40099-window.txt', 'skippable', 'TOO_LARGE'],
    ['error-40004-limit.txt', 'fatal', '40004'],
    ['error-40007-startdate.txt', 'fatal', '40007'],
    ['list-datalist-not-array.txt', 'fatal', 'SHAPE'],
    ['not-envelope.txt', 'fatal', 'SHAPE'],
    ['add-seed-example.txt', 'fatal', 'SHAPE'], // result:true but not 200: not a list answer
  ] as const)('%s → %s (%s)', (name, family, code) => {
    const error = parseError(name);
    expect(error.details).toMatchObject({
      provider: 'sendcloud',
      accountId: 'sc-main',
      family,
      providerCode: code,
    });
    expect(error.message).toContain('"sc-main"');
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).not.toContain(API_USER);
  });

  it('bad credentials name the account and say to check the credentials', () => {
    const error = parseError('error-40005-auth.txt');
    expect(error.code).toBe('PROVIDER_FATAL');
    expect(error.message).toMatch(/account "sc-main".*check the account's credentials/);
  });
});

describe('planWindows', () => {
  const plan = (from: number, to: number, zone = SH) => planSendcloudWindows({ from, to }, zone);
  const dates = (ws: ExtractWindow[]) => ws.map((w) => `${w.params.startDate}..${w.params.endDate}`);

  it('cuts at every first of a month and widens the edges to whole days', () => {
    const ws = plan(t('2024-01-15 10:00:00'), t('2024-04-01 00:00:01'));
    expect(dates(ws)).toEqual([
      '2024-01-15..2024-01-31',
      '2024-02-01..2024-02-29',
      '2024-03-01..2024-03-31',
      '2024-04-01..2024-04-01',
    ]);
    expect(ws[0]!.from).toBe(t('2024-01-15 00:00:00'));
    expect(ws.at(-1)!.to).toBe(t('2024-04-02 00:00:00'));
  });

  it('a range ending exactly at midnight does not ask for the next day', () => {
    expect(dates(plan(t('2024-02-01 00:00:00'), t('2024-03-01 00:00:00')))).toEqual([
      '2024-02-01..2024-02-29',
    ]);
  });

  it('a boundary instant belongs to exactly one window (the later one)', () => {
    const ws = plan(t('2023-12-20 00:00:00'), t('2024-02-10 00:00:00'));
    const boundary = t('2024-01-01 00:00:00');
    const holders = ws.filter((w) => w.from <= boundary && boundary < w.to);
    expect(holders.map((w) => w.params.startDate)).toEqual(['2024-01-01']);
  });

  it('an empty range plans nothing; a reversed one or a bad zone is a WindowError', () => {
    expect(plan(5, 5)).toEqual([]);
    expect(() => plan(6, 5)).toThrow(WindowError);
    expect(() => plan(0, 5, 'Mars/Olympus')).toThrow(WindowError);
  });

  it('DST: a 23-hour day and a skipped midnight (São Paulo 2018-11-04) stay whole days', () => {
    const ny = plan(
      midnight('2024-03-01', 'America/New_York'),
      midnight('2024-04-01', 'America/New_York'),
      'America/New_York',
    );
    expect(dates(ny)).toEqual(['2024-03-01..2024-03-31']);
    expect(ny[0]!.to - ny[0]!.from).toBe((31 * 24 - 1) * 3_600_000);
    const sp = plan(
      Date.parse('2018-11-03T12:00:00-03:00'),
      Date.parse('2018-11-05T12:00:00-02:00'),
      'America/Sao_Paulo',
    );
    expect(dates(sp)).toEqual(['2018-11-03..2018-11-05']);
    const halves = splitSendcloudWindow(sp[0]!, 'America/Sao_Paulo')!;
    expect(dates(halves)).toEqual(['2018-11-03..2018-11-03', '2018-11-04..2018-11-05']);
    // 2018-11-04 has no 00:00 there: the day starts at 01:00 -02:00.
    expect(halves[1].from).toBe(Date.parse('2018-11-04T01:00:00-02:00'));
  });

  const ZONES = [
    'Asia/Shanghai',
    'UTC',
    'America/New_York',
    'America/Sao_Paulo',
    'Europe/London',
    'Australia/Lord_Howe',
    'Pacific/Apia',
  ];
  const nextDate = (d: string) =>
    DateTime.fromISO(d, { zone: 'utc' }).plus({ days: 1 }).toFormat('yyyy-MM-dd');

  it('property: covers the range exactly once, day-aligned, ≤ 1 calendar month, dates contiguous', () => {
    const from = Date.UTC(2008, 0, 1);
    const span = Date.UTC(2026, 0, 1) - from;
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: span }),
        fc.integer({ min: 0, max: 400 * 86_400_000 }),
        (zone, offset, length) => {
          const range: InstantRange = { from: from + offset, to: from + offset + length };
          const ws = planSendcloudWindows(range, zone);
          if (length === 0) return ws.length === 0;
          const { gaps, overlaps } = coverageGaps(range, ws);
          expect(gaps).toEqual([]);
          expect(overlaps).toEqual([]);
          expect(ws[0]!.from).toBeLessThanOrEqual(range.from);
          expect(ws[0]!.from).toBeGreaterThan(range.from - 26 * 3_600_000);
          for (const [i, w] of ws.entries()) {
            const days = toInclusiveDays(w, zone); // throws unless day-aligned
            expect(w.params).toEqual({ startDate: days.firstDay, endDate: days.lastDay });
            expect(days.firstDay.slice(0, 7)).toBe(days.lastDay.slice(0, 7)); // one calendar month
            expect(days.days).toBeLessThanOrEqual(31);
            const next = ws[i + 1];
            if (next) {
              expect(next.from).toBe(w.to);
              expect(next.params.startDate).toBe(nextDate(days.lastDay));
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: splitWindow halves are contiguous whole days; a one-day window cannot split', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 0, max: 6000 }), (zone, day) => {
        const start = DateTime.fromObject({ year: 2010, month: 1, day: 1 }, { zone }).plus({ days: day });
        const w = planSendcloudWindows({ from: start.toMillis(), to: start.toMillis() + 1 }, zone);
        for (const window of planSendcloudWindows(
          { from: start.toMillis(), to: start.plus({ months: 1 }).toMillis() },
          zone,
        )) {
          const halves = splitSendcloudWindow(window, zone);
          const days = toInclusiveDays(window, zone).days;
          if (days < 2) {
            expect(halves).toBeNull();
            continue;
          }
          expect(halves![0].from).toBe(window.from);
          expect(halves![0].to).toBe(halves![1].from);
          expect(halves![1].to).toBe(window.to);
          expect(halves![1].params.startDate).toBe(nextDate(halves![0].params.endDate!));
          expect(toInclusiveDays(halves![0], zone).days + toInclusiveDays(halves![1], zone).days).toBe(days);
        }
        expect(splitSendcloudWindow(w[0]!, zone)).toBeNull();
        return true;
      }),
      { numRuns: 100 },
    );
  });

  it('MAX_WINDOW_MONTHS stays inside the provider’s 3 months', () => {
    expect(MAX_WINDOW_MONTHS).toBeLessThan(3);
  });
});

describe('paginator', () => {
  const info = (rows: number, total: number | null = null) => ({ rows, fingerprint: String(rows), total });

  it('advances by `limit`, not by the rows received (a duplicated row must not skip one)', () => {
    const p = new SendcloudPaginator();
    const first = p.first();
    expect(first).toEqual({ offset: 0, limit: PAGE_SIZE });
    expect(p.next(first, info(101))).toEqual({ offset: 100, limit: 100 });
    expect(p.next({ offset: 100, limit: 100 }, info(100))).toEqual({ offset: 200, limit: 100 });
  });

  it('stops on a short page and ignores `count`', () => {
    const p = new SendcloudPaginator();
    expect(p.next({ offset: 0, limit: 100 }, info(99, 5000))).toBeNull();
    expect(p.next({ offset: 0, limit: 100 }, info(0, 5000))).toBeNull();
    // count says 1, but the page is full: keep going (2015 example: 3 rows with count 1).
    expect(p.next({ offset: 0, limit: 100 }, info(100, 1))).toEqual({ offset: 100, limit: 100 });
    expect(p.stopRule).toBe('short-page');
  });
});

describe('request building', () => {
  const fields = (body: unknown) => Object.fromEntries(new URLSearchParams(String(body)));

  it('POSTs a form with the window dates, start/limit and the semicolon filter lists; no key in the URL', () => {
    const a = account({
      options: { apiUserList: ['delong_test', 'delong_batch'], labelIdList: ['0', '12'] },
    });
    const spec = sendcloudProvider.request(WINDOW, { offset: 200, limit: 100 }, ctxOf(a));
    expect(spec.method).toBe('POST');
    expect(spec.url).toBe('https://api.sendcloud.net/apiv2/unsubscribe/list');
    expect(spec.idempotent).toBe(true);
    expect(spec.headers?.['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(fields(spec.body)).toEqual({
      apiUser: API_USER,
      apiKey: API_KEY,
      startDate: '2021-07-01',
      endDate: '2021-07-31',
      start: '200',
      limit: '100',
      apiUserList: 'delong_test;delong_batch',
      labelIdList: '0;12',
    });
  });

  it('leaves out absent or empty filters (an empty value is refused, 40009/40010)', () => {
    const spec = listRequest(WINDOW, { offset: 0, limit: 100 }, account({ options: { apiUserList: [] } }));
    expect(Object.keys(fields(spec.body))).toEqual([
      'apiUser',
      'apiKey',
      'startDate',
      'endDate',
      'start',
      'limit',
    ]);
  });

  it('refuses what would be a bug to send: > 3 months, a misaligned window, a limit over 100, a ";" in a filter', () => {
    const long = {
      from: t('2021-01-01 00:00:00'),
      to: t('2021-04-02 00:00:00'),
      scope: 'global',
      params: {},
    };
    expect(() => listRequest(long, { offset: 0, limit: 100 }, account())).toThrow(WindowError);
    const ok = { ...long, to: t('2021-04-01 00:00:00') }; // exactly 3 months: the provider's limit
    expect(fields(listRequest(ok, { offset: 0, limit: 100 }, account()).body).endDate).toBe('2021-03-31');
    const misaligned = { ...WINDOW, from: WINDOW.from + 1000 };
    expect(() => listRequest(misaligned, { offset: 0, limit: 100 }, account())).toThrow(WindowError);
    expect(() => listRequest(WINDOW, { offset: 0, limit: 101 }, account())).toThrow(RangeError);
    expect(() =>
      listRequest(WINDOW, { offset: 0, limit: 100 }, account({ options: { apiUserList: ['a;b'] } })),
    ).toThrow(ConfigError);
  });

  it('missing credentials are a fatal error naming the account, not a request', () => {
    expect(() =>
      listRequest(WINDOW, { offset: 0, limit: 100 }, account({ credentials: { apiUser: API_USER } })),
    ).toThrow(/sendcloud account "sc-main".*check the account's credentials/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: windows → paginate → request → HttpEngine → parse, against the real simulator.

describe('end-to-end read against the simulator', () => {
  let sim: SendcloudSimulator;
  const RANGE: InstantRange = { from: t('2024-01-01 00:00:00'), to: t('2024-05-01 00:00:00') };
  const entries: SimEntry[] = [];
  // January: 250 rows (3 pages) across sub-apiUsers and labels, some addresses repeated.
  for (let i = 0; i < 250; i++) {
    entries.push({
      email: `jan${i % 200}@example.com`,
      at: t('2024-01-01 00:00:00') + i * 3_600_000,
      apiUser: i % 2 === 0 ? API_USER : 'sc_batch',
      label: String(i % 3),
    });
  }
  // February: exactly 100 rows — a full last page, so the next page comes back empty.
  for (let i = 0; i < 100; i++)
    entries.push({ email: `feb${i}@example.com`, at: t('2024-02-02 00:00:00') + i * 60_000 });
  // Rows exactly on every window boundary and one second before it, plus the range's last second.
  for (const month of ['02', '03', '04']) {
    entries.push({ email: `edge-${month}@example.com`, at: t(`2024-${month}-01 00:00:00`) });
    entries.push({ email: `eve-${month}@example.com`, at: t(`2024-${month}-01 00:00:00`) - 1000 });
  }
  entries.push({
    email: 'last@example.com',
    at: t('2024-04-30 23:59:59'),
    expiresAt: t('2024-05-30 00:00:00'),
  });
  entries.push({ email: ' Padded@Example.COM ', at: t('2024-03-15 12:00:00') });
  // Outside the range: must not be read.
  entries.push({ email: 'before@example.com', at: t('2023-12-31 23:59:59') });
  entries.push({ email: 'after@example.com', at: t('2024-05-01 00:00:00') });

  const expected = entries
    .filter((e) => e.at >= RANGE.from && e.at < RANGE.to)
    .map(
      (e) =>
        `${e.email}|${DateTime.fromMillis(e.at, { zone: SH }).toFormat('yyyy-MM-dd HH:mm:ss')}|${e.apiUser ?? API_USER}|${e.label ?? '0'}`,
    )
    .sort();
  const keyOf = (r: RawRow) =>
    `${r.email}|${r.rawTime}|${String(r.record.apiUser)}|${String(r.record.labelId)}`;

  beforeAll(async () => {
    sim = await startSendcloudSimulator({
      now: () => t('2024-06-01 00:00:00'),
      accounts: [{ key: API_USER, id: 'sc-main', credentials: { apiKey: API_KEY }, store: entries }],
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  /** The ~30-line loop the shared engine runs, with the module's own pieces. */
  async function readAll(faults = ''): Promise<{ rows: RawRow[]; requests: number; retries: number }> {
    sim.setFaults(API_USER, faults);
    const a = account({ baseUrl: sim.url });
    const ctx = ctxOf(a);
    const http = new HttpEngine({
      redact: createRedactor([API_USER, API_KEY]),
      retry: { baseMs: 1, maxDelayMs: 5 },
    });
    const rows: RawRow[] = [];
    let requests = 0;
    let retries = 0;
    try {
      for (const window of sendcloudProvider.planWindows(RANGE, ctx)) {
        const pages = paginate({
          paginator: sendcloudProvider.paginator(window, ctx),
          fetchPage: async (req) => {
            let parsed: ReturnType<typeof sendcloudProvider.parse> | undefined;
            const res = await http.request(sendcloudProvider.request(window, req, ctx), (r) => {
              parsed = sendcloudProvider.parse(r, window, ctx);
            });
            requests += 1;
            retries += res.attempts - 1;
            return {
              page: parsed!,
              info: {
                rows: parsed!.rows.length,
                fingerprint: fingerprint(res.body),
                total: parsed!.total ?? null,
              },
            };
          },
        });
        for await (const { page } of pages) rows.push(...page.rows);
      }
    } finally {
      await http.close();
    }
    return { rows, requests, retries };
  }

  it('reads every entry of the range exactly once, boundary rows included', async () => {
    const { rows, requests } = await readAll();
    expect(rows.map(keyOf).sort()).toEqual(expected);
    expect(expected).toHaveLength(250 + 100 + 6 + 2);
    // Jan 3 pages (100, 100, 50), Feb 2 (100 + empty), Mar 1, Apr 1.
    expect(requests).toBe(3 + 2 + 1 + 1);
    expect(rows.find((r) => r.email === 'last@example.com')?.rawExpires).toBe('2024-05-30 00:00:00');
    // Every list request carried inclusive dates, never `days`, never a frame over a month.
    const reads = sim.journal.reads();
    expect(
      reads.every((e) => e.params.days === undefined && /^2024-0[1-4]-01$/.test(e.params.startDate ?? '')),
    ).toBe(true);
    expect(new Set(reads.map((e) => `${e.params.startDate}..${e.params.endDate}`))).toEqual(
      new Set([
        '2024-01-01..2024-01-31',
        '2024-02-01..2024-02-29',
        '2024-03-01..2024-03-31',
        '2024-04-01..2024-04-30',
      ]),
    );
  });

  it('rides out an in-band 501, a body cut short and the empty-last-page answer', async () => {
    const { rows, retries } = await readAll('inband-error:1, truncate@3, empty-last-page');
    expect(retries).toBe(2);
    expect(rows.map(keyOf).sort()).toEqual(expected);
  });

  it('duplicate-row: the repeated row is staged again, and no row is lost', async () => {
    const { rows } = await readAll('duplicate-row@2');
    const got = rows.map(keyOf).sort();
    expect([...new Set(got)]).toEqual([...new Set(expected)]);
    expect(got.length).toBe(expected.length + 1);
  });

  it('repeat-page (start ignored) stops with a paging loop instead of reading forever', async () => {
    await expect(readAll('repeat-page')).rejects.toThrow(PagingError);
  });

  it('bad credentials: a fatal ProviderError naming the account, no retries', async () => {
    sim.setFaults(API_USER, '');
    const a = account({ baseUrl: sim.url, credentials: { apiUser: API_USER, apiKey: 'wrong-key' } });
    const http = new HttpEngine({ redact: createRedactor([API_USER, 'wrong-key']), retry: { baseMs: 1 } });
    const ctx = ctxOf(a);
    const window = sendcloudProvider.planWindows(RANGE, ctx)[0]!;
    const error = await http
      .request(sendcloudProvider.request(window, { offset: 0, limit: 100 }, ctx), (r) => {
        sendcloudProvider.parse(r, window, ctx);
      })
      .catch((e: unknown) => e);
    await http.close();
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toMatchObject({
      family: 'fatal',
      providerCode: '40005',
      accountId: 'sc-main',
    });
    expect((error as ProviderError).message).toContain('check the account');
  });
});
