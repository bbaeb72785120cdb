/**
 * BlueHornet extraction (extractors/bluehornet/extract.ts): answer parsing from fixtures (seed
 * 004 "Example Response", the 445 client fixture, the seed's response codes), the window plan
 * (inclusive `date_deleted1` < `date_deleted2`, ≤ MAX_WINDOW_DAYS, DST and month ends), request
 * building, and an end-to-end read against the real simulator through a real HttpEngine.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exactText,
  MAX_WINDOW_DAYS,
  MIN_WINDOW_DAYS,
  parseAnswerXml,
  planBlueHornetWindows,
  splitBlueHornetWindow,
  windowDayCounts,
} from '../../../../extractors/bluehornet/extract.js';
import { bluehornetProvider } from '../../../../extractors/bluehornet/index.js';
import type { BlueHornetEntry, BlueHornetSimulator } from '../../../../extractors/bluehornet/simulator.js';
import { startBlueHornetSimulator } from '../../../../extractors/bluehornet/simulator.js';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError, WindowError } from '../../../../extractors/core/errors.js';
import { HttpEngine, type HttpResponse } from '../../../../extractors/core/http.js';
import { paginate } from '../../../../extractors/core/paginate.js';
import type { ExtractContext, ExtractWindow, RawRow } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import { coverageGaps, toInclusiveDays } from '../../../../extractors/core/windows.js';

const LA = 'America/Los_Angeles';
const KEY = 'bh-test-key';
const SECRET = 'sh4red-S3cret&<x>';

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'bh-main',
    provider: 'bluehornet',
    baseUrl: 'https://echo.bluehornet.com',
    credentials: { apiKey: KEY, sharedSecret: SECRET },
    options: {},
    timezone: LA,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 100, concurrency: 1 },
    ...overrides,
  };
}
const ctx = (a: AccountConfig = account()): ExtractContext => ({ account: a, now: Date.UTC(2024, 2, 10) });

function response(text: string): HttpResponse {
  return {
    seq: 1,
    status: 200,
    headers: { 'content-type': 'text/xml; charset=UTF-8' },
    body: Buffer.from(text),
    text,
    charset: 'utf-8',
    malformed: false,
    attempts: 1,
    durationMs: 0,
  };
}
const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../extractors/bluehornet/fixtures/${name}`, import.meta.url), 'utf8');
const local = (iso: string, zone = LA): number => DateTime.fromISO(iso, { zone }).toMillis();

const april: ExtractWindow = {
  from: local('2010-04-01'),
  to: local('2010-06-01'),
  scope: 'global',
  params: { date_deleted1: '2010-04-01', date_deleted2: '2010-05-31' },
};
const parse = (name: string, a = account()) =>
  bluehornetProvider.parse(response(fixture(name)), april, ctx(a));

function providerError(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('parse', () => {
  it('reads the seed example exactly: emails, dates, empty mess_id', () => {
    const page = parse('seed-example.xml');
    expect(page.rows).toEqual([
      {
        email: 'john_smith@example.com',
        rawTime: '2010-04-13',
        scope: 'global',
        record: {
          email: 'john_smith@example.com',
          date_deleted: '2010-04-13',
          method_unsubscribed: 'Survey Page',
          mess_id: '42324',
        },
      },
      {
        email: 'subscriber@gmail.com',
        rawTime: '2010-04-10',
        scope: 'global',
        record: {
          email: 'subscriber@gmail.com',
          date_deleted: '2010-04-10',
          method_unsubscribed: 'System Opt-out',
          mess_id: '',
        },
      },
    ]);
  });

  it('a single-row manifest is a list; CDATA spaces are data, layout newlines are not', () => {
    const page = parse('single-row-cdata.xml');
    expect(page.rows).toHaveLength(1);
    const row = page.rows[0]!;
    // The CDATA section holds " Mixed.Case+tag@Example.com ": kept byte for byte (no trim, no case).
    expect(row.email).toBe(' Mixed.Case+tag@Example.com ');
    expect(row.record).toEqual({
      email: ' Mixed.Case+tag@Example.com ',
      external_id: 'EXT-7',
      date_deleted: '2010-04-13',
      method_unsubscribed: 'Survey Page',
      mess_id: '42324',
      initiated_optout: '1',
    });
  });

  it.each(['empty-manifest.xml', 'self-closed-manifest.xml'])('%s is zero rows', (name) => {
    expect(parse(name).rows).toEqual([]);
  });

  it('decodes the predefined entities and character references in plain text', () => {
    const row = parse('entities.xml').rows[0]!;
    expect(row.email).toBe("o'brien&co@example.com");
    expect(row.rawTime).toBe('2010-04-13');
    expect(row.record.method_unsubscribed).toBe('A <b> é');
    expect(row.record.mess_id).toBe('');
  });

  it.each([
    ['auth-445.xml', 'fatal', '445'],
    ['error-432.xml', 'fatal', '432'],
    ['error-471.xml', 'fatal', '471'],
    ['error-472.xml', 'fatal', '472'],
    ['error-473.xml', 'fatal', '473'],
    ['error-400.xml', 'fatal', '400'],
    ['error-500.xml', 'retriable', '500'],
    ['doctype.xml', 'fatal', 'DOCTYPE'],
    ['truncated.xml', 'retriable', 'MALFORMED'],
    ['manage-status-2.xml', 'fatal', 'SHAPE'],
  ] as const)('%s → %s (%s)', (name, family, code) => {
    const error = providerError(() => parse(name));
    expect(error.details.family).toBe(family);
    expect(error.details.providerCode).toBe(code);
    expect(error.details.accountId).toBe('bh-main');
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(KEY);
  });

  it('445 names the account and says to check the credentials', () => {
    const error = providerError(() => parse('auth-445.xml', account({ id: 'bh-brand-x' })));
    expect(error.message).toContain('"bh-brand-x"');
    expect(error.message).toMatch(/check the account's credentials/);
  });

  it('a 473 names the dates that were refused', () => {
    expect(providerError(() => parse('error-473.xml')).message).toContain(
      'date_deleted1=2010-04-01 date_deleted2=2010-05-31',
    );
  });

  it('never expands a DOCTYPE entity, even one hidden after the declaration', () => {
    expect(() => parseAnswerXml(fixture('doctype.xml'))).toThrow(/DOCTYPE/);
    // lower-case and inside a comment: the first is refused, the second is just a comment
    expect(() => parseAnswerXml('<!doctype x><methodResponse/>')).toThrow(/DOCTYPE/);
    expect(parseAnswerXml('<!-- <!DOCTYPE x> --><methodResponse/>').name).toBe('methodResponse');
  });

  it('refuses a foreign root and an unknown entity', () => {
    expect(
      providerError(() => bluehornetProvider.parse(response('<html/>'), april, ctx())).details.family,
    ).toBe('fatal');
    const unknownEntity = fixture('seed-example.xml').replace('john_smith', '&nbsp;john');
    expect(
      providerError(() => bluehornetProvider.parse(response(unknownEntity), april, ctx())).details.family,
    ).toBe('retriable');
  });

  it('exactText keeps non-layout spaces of plain text and drops indentation', () => {
    const node = parseAnswerXml(
      '<methodResponse><a>\n    x@y.z\n  </a><b> x@y.z</b><c>\n  <![CDATA[x]]>\n  <![CDATA[@y]]>\n</c></methodResponse>',
    );
    expect(node.children.map(exactText)).toEqual(['x@y.z', ' x@y.z', 'x@y']);
  });
});

describe('windows', () => {
  const zoneOf = (w: ExtractWindow, zone: string) => toInclusiveDays(w, zone);

  it.each([
    [2, [2]],
    [31, [31]],
    [32, [30, 2]],
    [33, [31, 2]],
    [62, [31, 31]],
    [63, [31, 30, 2]],
    [64, [31, 31, 2]],
  ])('%i days → %j', (days, counts) => {
    expect(windowDayCounts(days)).toEqual(counts);
  });

  it('the seed example range is one window 2010-04-01…2010-05-31 split in two, none with equal dates', () => {
    const windows = planBlueHornetWindows({ from: local('2010-04-01'), to: local('2010-06-01') }, LA);
    expect(windows.map((w) => w.params)).toEqual([
      { date_deleted1: '2010-04-01', date_deleted2: '2010-05-01' },
      { date_deleted1: '2010-05-02', date_deleted2: '2010-05-31' },
    ]);
  });

  it('a range inside one local day is widened one day backwards', () => {
    const range = { from: local('2024-03-10T05:00'), to: local('2024-03-10T18:00') };
    const windows = planBlueHornetWindows(range, LA);
    expect(windows).toEqual([
      {
        from: local('2024-03-09'),
        to: local('2024-03-11'),
        scope: 'global',
        params: { date_deleted1: '2024-03-09', date_deleted2: '2024-03-10' },
      },
    ]);
    // a range of exactly one whole day too
    expect(
      planBlueHornetWindows({ from: local('2024-03-10'), to: local('2024-03-11') }, LA)[0]!.params,
    ).toEqual({
      date_deleted1: '2024-03-09',
      date_deleted2: '2024-03-10',
    });
  });

  it('a 32-day range ends with a 2-day window, never a 1-day one', () => {
    const windows = planBlueHornetWindows({ from: local('2024-01-01'), to: local('2024-02-02') }, LA);
    expect(windows.map((w) => w.params)).toEqual([
      { date_deleted1: '2024-01-01', date_deleted2: '2024-01-30' },
      { date_deleted1: '2024-01-31', date_deleted2: '2024-02-01' },
    ]);
  });

  it('an empty range plans nothing; a reversed one throws', () => {
    expect(planBlueHornetWindows({ from: 5, to: 5 }, LA)).toEqual([]);
    expect(() => planBlueHornetWindows({ from: 6, to: 5 }, LA)).toThrow(WindowError);
    expect(() => planBlueHornetWindows({ from: 0, to: 5 }, 'Mars/Base')).toThrow(WindowError);
  });

  it('DST days (23 h and 25 h) and a zone whose midnight is skipped stay on day starts', () => {
    // Sao Paulo 2018-11-04: clocks jumped 00:00 → 01:00, so that day starts at 01:00.
    const zone = 'America/Sao_Paulo';
    const windows = planBlueHornetWindows(
      { from: local('2018-11-03', zone), to: local('2018-11-06', zone) },
      zone,
    );
    expect(windows.map((w) => w.params)).toEqual([
      { date_deleted1: '2018-11-03', date_deleted2: '2018-11-05' },
    ]);
    const split = splitBlueHornetWindow(
      planBlueHornetWindows({ from: local('2018-11-01', zone), to: local('2018-11-07', zone) }, zone)[0]!,
      zone,
    )!;
    expect(split.map((w) => w.params)).toEqual([
      { date_deleted1: '2018-11-01', date_deleted2: '2018-11-03' },
      { date_deleted1: '2018-11-04', date_deleted2: '2018-11-06' },
    ]);
    expect(split[1]!.from).toBe(DateTime.fromISO('2018-11-04T01:00', { zone }).toMillis());
  });

  it('a date the zone skipped is not a day (Pacific/Apia went from 2011-12-29 to 2011-12-31)', () => {
    const zone = 'Pacific/Apia';
    const dec29 = local('2011-12-29', zone);
    // [Dec 29, Dec 31) holds one date only: widened back to Dec 28, never sent as 29…29
    expect(
      planBlueHornetWindows({ from: dec29, to: local('2011-12-31', zone) }, zone).map((w) => w.params),
    ).toEqual([{ date_deleted1: '2011-12-28', date_deleted2: '2011-12-29' }]);
    expect(
      planBlueHornetWindows({ from: dec29, to: local('2012-01-01', zone) }, zone).map((w) => w.params),
    ).toEqual([{ date_deleted1: '2011-12-29', date_deleted2: '2011-12-31' }]);
    // 32 ISO dates but 31 real days: one window
    expect(
      planBlueHornetWindows({ from: local('2011-12-01', zone), to: local('2012-01-02', zone) }, zone).map(
        (w) => w.params,
      ),
    ).toEqual([{ date_deleted1: '2011-12-01', date_deleted2: '2012-01-01' }]);
  });

  const zones = [LA, 'UTC', 'America/Sao_Paulo', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Apia'];
  const T0 = Date.UTC(2010, 0, 1);
  const T1 = Date.UTC(2026, 0, 1);

  it('property: any range in any zone is covered exactly once by 2..31-day windows on day starts', () => {
    const apiaSkip = Date.UTC(2011, 11, 30);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constantFrom(...zones), fc.integer({ min: T0, max: T1 })),
          // around the date Pacific/Apia skipped, where day counting is easiest to get wrong
          fc.tuple(
            fc.constant('Pacific/Apia'),
            fc.integer({ min: apiaSkip - 40 * 86_400_000, max: apiaSkip + 3 * 86_400_000 }),
          ),
        ),
        fc.oneof(fc.integer({ min: 0, max: 3 * 86_400_000 }), fc.integer({ min: 0, max: 400 * 86_400_000 })),
        ([zone, from], length) => {
          const range = { from, to: from + length };
          const windows = planBlueHornetWindows(range, zone);
          if (length === 0) return windows.length === 0;
          const plan = { from: windows[0]!.from, to: windows.at(-1)!.to };
          // the plan covers itself exactly once and contains the range
          const coverage = coverageGaps(plan, windows);
          expect(coverage).toEqual({ gaps: [], overlaps: [] });
          expect(plan.from).toBeLessThanOrEqual(range.from);
          expect(plan.to).toBeGreaterThanOrEqual(range.to);
          let previous: ExtractWindow | undefined;
          for (const w of windows) {
            const days = zoneOf(w, zone); // throws unless both ends are local day starts
            expect(days.days).toBeGreaterThanOrEqual(MIN_WINDOW_DAYS);
            // ISO-date span: one more than the real days when the window holds a date the zone
            // skipped (Pacific/Apia 2011-12-30)
            expect(days.days).toBeLessThanOrEqual(MAX_WINDOW_DAYS + (zone === 'Pacific/Apia' ? 1 : 0));
            expect(w.params).toEqual({ date_deleted1: days.firstDay, date_deleted2: days.lastDay });
            expect(days.firstDay < days.lastDay).toBe(true);
            // consecutive windows: no date sent twice, none between them left out
            if (previous !== undefined) {
              const prevLast = zoneOf(previous, zone).lastDay;
              expect(prevLast < days.firstDay).toBe(true);
              expect(DateTime.fromMillis(w.from - 1, { zone }).toISODate()).toBe(prevLast);
            }
            previous = w;
          }
          // widened only as documented: to whole days, plus one day back for a one-day range
          const firstDay = DateTime.fromMillis(range.from, { zone }).startOf('day');
          const singleDate =
            DateTime.fromMillis(range.from, { zone }).toISODate() ===
            DateTime.fromMillis(range.to - 1, { zone }).toISODate();
          expect(plan.from).toBe(
            singleDate
              ? DateTime.fromMillis(firstDay.toMillis() - 1, { zone })
                  .startOf('day')
                  .toMillis()
              : firstDay.toMillis(),
          );
          return true;
        },
      ),
      { numRuns: 600 },
    );
  });

  it('property: splitWindow halves cover the window exactly, or null below 4 days', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: T0, max: T1 }),
        fc.integer({ min: 1, max: 40 }),
        (zone, from, n) => {
          for (const w of planBlueHornetWindows({ from, to: from + n * 86_400_000 }, zone)) {
            const days = toInclusiveDays(w, zone).days;
            const halves = splitBlueHornetWindow(w, zone);
            if (days < 4) {
              expect(halves).toBeNull();
              continue;
            }
            expect(coverageGaps(w, halves!)).toEqual({ gaps: [], overlaps: [] });
            expect(halves![0].from).toBe(w.from);
            expect(halves![1].to).toBe(w.to);
            for (const h of halves!) expect(toInclusiveDays(h, zone).days).toBeGreaterThanOrEqual(2);
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('request', () => {
  const xmlOf = (body: unknown): string => new URLSearchParams(String(body)).get('data') ?? '';

  it('POSTs the envelope as form field data, credentials escaped inside <authentication>', () => {
    const spec = bluehornetProvider.request(april, {}, ctx());
    expect(spec.method).toBe('POST');
    expect(spec.url).toBe('https://echo.bluehornet.com/api/xmlrpc/index.php');
    expect(spec.url).not.toContain(KEY);
    expect(spec.idempotent).toBe(true);
    expect(spec.headers?.['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(spec.window).toEqual({
      from: new Date(april.from).toISOString(),
      to: new Date(april.to).toISOString(),
    });
    expect(xmlOf(spec.body)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><api><authentication>' +
        `<api_key>${KEY}</api_key><shared_secret>sh4red-S3cret&amp;&lt;x&gt;</shared_secret>` +
        '<response_type>xml</response_type><no_halt>0</no_halt></authentication><data><methodCall>' +
        '<methodName>legacy.retrieve_unsub</methodName><date_deleted1>2010-04-01</date_deleted1>' +
        '<date_deleted2>2010-05-31</date_deleted2></methodCall></data></api>',
    );
  });

  it('keeps a baseUrl path prefix', () => {
    const spec = bluehornetProvider.request(april, {}, ctx(account({ baseUrl: 'http://127.0.0.1:9/bh' })));
    expect(spec.url).toBe('http://127.0.0.1:9/bh/api/xmlrpc/index.php');
  });

  it('refuses to build a one-day or unaligned window (would be a 473)', () => {
    const oneDay = { ...april, to: local('2010-04-02') };
    expect(() => bluehornetProvider.request(oneDay, {}, ctx())).toThrow(WindowError);
    expect(() => bluehornetProvider.request({ ...april, from: april.from + 1 }, {}, ctx())).toThrow(
      WindowError,
    );
  });

  it('capabilities: date precision, no deletes, one write per POST', () => {
    expect(bluehornetProvider.capabilities).toMatchObject({
      timePrecision: 'date',
      timeFormat: '%Y-%m-%d',
      canDelete: false,
      writeBatchSize: 1,
    });
    expect(bluehornetProvider.capabilities.deleteCaveat).toMatch(/re-subscribe/);
  });
});

describe('end to end against the simulator', () => {
  let sim: BlueHornetSimulator;
  const entries: BlueHornetEntry[] = [];
  // 2024-02-20 … 2024-05-10 in LA: crosses the March DST change and three month ends.
  const start = DateTime.fromISO('2024-02-20', { zone: LA });
  const end = DateTime.fromISO('2024-05-10', { zone: LA });

  beforeAll(async () => {
    let i = 0;
    for (let d = start; d < end; d = d.plus({ days: 1 })) {
      // the first and last instant of every local day: on every window boundary and beside it
      entries.push({ email: `first-${i}@e2e.test`, at: d.startOf('day').toMillis() });
      entries.push({ email: `Last-${i}@E2E.test`, at: d.endOf('day').toMillis(), messId: String(i) });
      if (i % 3 === 0) entries.push({ email: ` noon-${i}@e2e.test `, at: d.set({ hour: 12 }).toMillis() });
      i++;
    }
    // outside the range: the day before and the day after
    entries.push({ email: 'before@e2e.test', at: start.minus({ milliseconds: 1 }).toMillis() });
    entries.push({ email: 'after@e2e.test', at: end.toMillis() });
    sim = await startBlueHornetSimulator({
      accounts: [
        {
          key: KEY,
          id: 'bh-main',
          credentials: { sharedSecret: SECRET },
          store: entries,
          meta: { timezone: LA },
        },
      ],
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  async function readAll(range: { from: number; to: number }, a: AccountConfig): Promise<RawRow[]> {
    const http = new HttpEngine({
      redact: createRedactor(Object.values(a.credentials)),
      retry: { baseMs: 1 },
    });
    const c = ctx(a);
    const rows: RawRow[] = [];
    try {
      for (const window of bluehornetProvider.planWindows(range, c)) {
        const pages = paginate({
          paginator: bluehornetProvider.paginator(window, c),
          fetchPage: async (req) => {
            const res = await http.request(bluehornetProvider.request(window, req, c), (r) => {
              bluehornetProvider.parse(r, window, c);
            });
            const page = bluehornetProvider.parse(res, window, c);
            return { page, info: { rows: page.rows.length, fingerprint: String(res.seq) } };
          },
        });
        for await (const p of pages) rows.push(...p.page.rows);
      }
    } finally {
      await http.close();
    }
    return rows;
  }

  it('reads every entry in the range exactly once, byte-exact, across windows, DST and month ends', async () => {
    const a = account({ baseUrl: sim.url });
    const range = { from: start.toMillis(), to: end.toMillis() };
    sim.journal.clear();
    const rows = await readAll(range, a);
    const expected = entries.filter((e) => e.at >= range.from && e.at < range.to).map((e) => e.email);
    expect(rows.map((r) => r.email).sort()).toEqual([...expected].sort());
    expect(new Set(rows.map((r) => r.email)).size).toBe(rows.length);
    // 81 days → 31 + 31 + 19, sent as inclusive dates, never equal
    const sent = sim.journal.reads('bh-main').map((e) => e.params.data ?? '');
    expect(sent).toHaveLength(3);
    for (const xml of sent) {
      const d1 = /<date_deleted1>(.*?)<\/date_deleted1>/.exec(xml)?.[1];
      const d2 = /<date_deleted2>(.*?)<\/date_deleted2>/.exec(xml)?.[1];
      expect(d1 && d2 && d1 < d2).toBe(true);
    }
    // rawTime is the entry's local date
    const byEmail = new Map(entries.map((e) => [e.email, e]));
    for (const row of rows) {
      expect(row.rawTime).toBe(DateTime.fromMillis(byEmail.get(row.email)!.at, { zone: LA }).toISODate());
    }
  });

  it('a one-day range reads that day (and the day before, as documented), nothing lost', async () => {
    const a = account({ baseUrl: sim.url });
    const day = start.plus({ days: 5 });
    const rows = await readAll(
      { from: day.plus({ hours: 3 }).toMillis(), to: day.plus({ hours: 4 }).toMillis() },
      a,
    );
    const expected = entries
      .filter((e) => e.at >= day.minus({ days: 1 }).toMillis() && e.at < day.plus({ days: 1 }).toMillis())
      .map((e) => e.email);
    expect(rows.map((r) => r.email).sort()).toEqual(expected.sort());
  });

  it('bad credentials → fatal ProviderError naming the account, no secret in the message', async () => {
    const a = account({
      baseUrl: sim.url,
      id: 'bh-main',
      credentials: { apiKey: KEY, sharedSecret: 'wrong-secret' },
    });
    const error = await readAll({ from: start.toMillis(), to: start.plus({ days: 2 }).toMillis() }, a).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details.family).toBe('fatal');
    expect((error as Error).message).toContain('"bh-main"');
    expect((error as Error).message).not.toContain('wrong-secret');
  });

  it('an in-band 500 is retried and then succeeds', async () => {
    const a = account({ baseUrl: sim.url });
    sim.setFaults(KEY, 'inband-error:1');
    try {
      const rows = await readAll({ from: start.toMillis(), to: start.plus({ days: 2 }).toMillis() }, a);
      expect(rows).toHaveLength(
        entries.filter((e) => e.at >= start.toMillis() && e.at < start.plus({ days: 2 }).toMillis()).length,
      );
    } finally {
      sim.setFaults(KEY, '');
    }
  });
});
