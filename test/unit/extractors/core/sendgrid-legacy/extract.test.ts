/**
 * The pure half of the shared legacy SendGrid extraction (extractors/core/sendgrid-legacy/extract.ts):
 * the window plan (inclusive `start_date` < `end_date`, 2…31 local days, DST, month ends, skipped
 * dates), checked against the simulator's own reading of the dates; answer parsing (JSON, Latin-1
 * XML, single rows, entities, DOCTYPE, cut bodies); and the error classification table.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../../extractors/core/config.js';
import { decodeBody } from '../../../../../extractors/core/decode.js';
import { ProviderError, WindowError } from '../../../../../extractors/core/errors.js';
import type { HttpResponse } from '../../../../../extractors/core/http.js';
import type { ExtractWindow } from '../../../../../extractors/core/provider.js';
import {
  type Asking,
  classifyLegacyError,
  type LegacyEndpoint,
  listRows,
  MAX_WINDOW_DAYS,
  MIN_WINDOW_DAYS,
  parseLegacyAnswer,
  planLegacyWindows,
  readAnswer,
  splitLegacyWindow,
  windowDayCounts,
} from '../../../../../extractors/core/sendgrid-legacy/extract.js';
import { windowForDates } from '../../../../../extractors/core/sendgrid-legacy/time.js';
import { coverageGaps, toInclusiveDays } from '../../../../../extractors/core/windows.js';

const LA = 'America/Los_Angeles';
const DAY = 86_400_000;
const local = (iso: string, zone = LA): number => DateTime.fromISO(iso, { zone }).toMillis();

const endpoint: LegacyEndpoint = {
  provider: 'sendgrid-reseller',
  path: '/api/distributor.manage',
  fixedParams: { method: 'unsubscribes' },
  userKind: 'customer',
};
const account: AccountConfig = {
  id: 'sg-main',
  provider: 'sendgrid-reseller',
  baseUrl: 'https://api.sendgrid.com',
  credentials: { api_user: 'u', api_key: 'k' },
  options: { user: 'customer@example.com' },
  timezone: LA,
  since: '2010-01-01',
  lookbackDays: 2,
  timeoutMs: 30_000,
  rateLimit: { requestsPerSecond: 5, concurrency: 1 },
};
const asking: Asking = { endpoint, account, what: 'task=get 2024-01-01…2024-01-31' };

/** An HttpResponse as the engine builds it: bytes decoded by their declared charset. */
function response(bytes: Buffer | string, status = 200, contentType = 'application/json'): HttpResponse {
  const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
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
const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../../extractors/sendgrid-reseller/fixtures/${name}`, import.meta.url));

function thrown(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('windows', () => {
  it.each([
    [2, [2]],
    [31, [31]],
    [32, [30, 2]],
    [33, [31, 2]],
    [62, [31, 31]],
    [63, [31, 30, 2]],
    [81, [31, 31, 19]],
  ])('windowDayCounts(%i) = %j (never a 1-day window)', (days, counts) => {
    expect(windowDayCounts(days)).toEqual(counts);
  });

  it('windowDayCounts refuses fewer than 2 days', () => {
    expect(() => windowDayCounts(1)).toThrow(WindowError);
  });

  it('a month maps [d1, d2) to start_date = d1, end_date = d2 − 1 day', () => {
    const windows = planLegacyWindows({ from: local('2024-01-01'), to: local('2024-02-01') }, LA);
    expect(windows).toEqual([
      {
        from: local('2024-01-01'),
        to: local('2024-02-01'),
        scope: 'global',
        params: { start_date: '2024-01-01', end_date: '2024-01-31' },
      },
    ]);
  });

  it('a range ending mid-day is widened to the end of that day; one within a day one day backwards', () => {
    expect(
      planLegacyWindows({ from: local('2024-03-05T10:00'), to: local('2024-03-07T09:00') }, LA).map(
        (w) => w.params,
      ),
    ).toEqual([{ start_date: '2024-03-05', end_date: '2024-03-07' }]);
    const oneDay = planLegacyWindows({ from: local('2024-03-05T10:00'), to: local('2024-03-05T11:00') }, LA);
    expect(oneDay).toEqual([
      {
        from: local('2024-03-04'),
        to: local('2024-03-06'),
        scope: 'global',
        params: { start_date: '2024-03-04', end_date: '2024-03-05' },
      },
    ]);
    // exactly one whole day is still one date: widened backwards too
    expect(planLegacyWindows({ from: local('2024-03-05'), to: local('2024-03-06') }, LA)[0]!.params).toEqual({
      start_date: '2024-03-04',
      end_date: '2024-03-05',
    });
  });

  it('a 32-day range ends with a 2-day window; leap February and month ends are whole days', () => {
    const windows = planLegacyWindows({ from: local('2024-02-01'), to: local('2024-03-04') }, LA);
    expect(windows.map((w) => w.params)).toEqual([
      { start_date: '2024-02-01', end_date: '2024-03-01' },
      { start_date: '2024-03-02', end_date: '2024-03-03' },
    ]);
  });

  it('DST days (23 h, 25 h) stay whole local days', () => {
    const spring = planLegacyWindows({ from: local('2024-03-09'), to: local('2024-03-11') }, LA);
    expect(spring[0]!.to - spring[0]!.from).toBe(47 * 3_600_000);
    const fall = planLegacyWindows({ from: local('2024-11-02'), to: local('2024-11-04') }, LA);
    expect(fall[0]!.to - fall[0]!.from).toBe(49 * 3_600_000);
    expect(fall[0]!.params).toEqual({ start_date: '2024-11-02', end_date: '2024-11-03' });
  });

  it('empty range → no windows; reversed range or unknown zone → WindowError', () => {
    expect(planLegacyWindows({ from: 5, to: 5 }, LA)).toEqual([]);
    expect(() => planLegacyWindows({ from: 6, to: 5 }, LA)).toThrow(WindowError);
    expect(() => planLegacyWindows({ from: 0, to: DAY }, 'Mars/Olympus')).toThrow(WindowError);
  });

  const zones = [
    LA,
    'America/Chicago',
    'Europe/London',
    'Asia/Shanghai',
    'Australia/Lord_Howe',
    'America/Santiago',
  ];
  const T0 = Date.UTC(2010, 0, 1);
  const T1 = Date.UTC(2026, 0, 1);

  it('property: windows cover the range exactly once on day starts, 2…31 days, and the simulator reads the same instants', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: T0, max: T1 }),
        fc.oneof(fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: 0, max: 400 * DAY })),
        (zone, from, length) => {
          const range = { from, to: from + length };
          const windows = planLegacyWindows(range, zone);
          if (length === 0) return windows.length === 0;
          const plan = { from: windows[0]!.from, to: windows.at(-1)!.to };
          expect(coverageGaps(plan, windows)).toEqual({ gaps: [], overlaps: [] });
          expect(plan.from).toBeLessThanOrEqual(range.from);
          expect(plan.to).toBeGreaterThanOrEqual(range.to);
          // widened by less than a day at the end, and by at most two days at the start
          expect(plan.to - range.to).toBeLessThan(DAY + 3_600_000);
          expect(range.from - plan.from).toBeLessThan(2 * DAY + 3_600_000);
          for (const w of windows) {
            const days = toInclusiveDays(w, zone); // throws unless both ends are day starts
            expect(days.days).toBeGreaterThanOrEqual(MIN_WINDOW_DAYS);
            expect(days.days).toBeLessThanOrEqual(MAX_WINDOW_DAYS);
            expect(w.params).toEqual({ start_date: days.firstDay, end_date: days.lastDay });
            expect(w.params.start_date! < w.params.end_date!).toBe(true);
            // the simulator's inclusive reading of the dates is exactly this window
            expect(windowForDates(w.params.start_date!, w.params.end_date!, zone)).toEqual({
              from: w.from,
              to: w.to,
            });
          }
          return true;
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: splitWindow halves cover the window exactly, each ≥ 2 days, or null below 4 days', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: T0, max: T1 }),
        fc.integer({ min: 1, max: 40 }),
        (zone, from, n) => {
          for (const w of planLegacyWindows({ from, to: from + n * DAY }, zone)) {
            const days = toInclusiveDays(w, zone).days;
            const halves = splitLegacyWindow(w, zone);
            if (days < 4) {
              expect(halves).toBeNull();
              continue;
            }
            expect(coverageGaps(w, halves!)).toEqual({ gaps: [], overlaps: [] });
            expect(halves![0].from).toBe(w.from);
            expect(halves![1].to).toBe(w.to);
            for (const h of halves!)
              expect(toInclusiveDays(h, zone).days).toBeGreaterThanOrEqual(MIN_WINDOW_DAYS);
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a date the zone skipped is no day (Pacific/Apia went from 2011-12-29 to 2011-12-31)', () => {
    const zone = 'Pacific/Apia';
    const windows = planLegacyWindows(
      { from: local('2011-12-29', zone), to: local('2012-01-01', zone) },
      zone,
    );
    expect(windows.map((w) => w.params)).toEqual([{ start_date: '2011-12-29', end_date: '2011-12-31' }]);
  });

  it('splitWindow refuses an unaligned window', () => {
    const w: ExtractWindow = {
      from: local('2024-01-01T05:00'),
      to: local('2024-01-09'),
      scope: 'global',
      params: {},
    };
    expect(() => splitLegacyWindow(w, LA)).toThrow(WindowError);
  });
});

describe('parseLegacyAnswer', () => {
  it('reads the seed 000 XML answer, layout whitespace not in the values', () => {
    expect(parseLegacyAnswer(response(fixture('get-seed.xml'), 200, 'text/xml').text)).toEqual({
      kind: 'rows',
      rows: [
        {
          email: 'email1@domain.com',
          created: '2009-06-10 12:40:30',
          record: { email: 'email1@domain.com', created: '2009-06-10 12:40:30' },
        },
        {
          email: 'email2@domain2.com',
          created: '2009-06-10 12:40:30',
          record: { email: 'email2@domain2.com', created: '2009-06-10 12:40:30' },
        },
      ],
    });
  });

  it('a single-row ISO-8859-1 answer is a list; é from byte 0xE9, &#N; and &amp; decoded', () => {
    const bytes = fixture('get-latin1-single.xml');
    expect(bytes.includes(0xe9)).toBe(true);
    const res = response(bytes, 200, 'text/xml');
    expect(res.charset).toBe('iso-8859-1');
    const answer = parseLegacyAnswer(res.text);
    expect(answer).toEqual({
      kind: 'rows',
      rows: [
        {
          email: 'josé+用&co@example.com',
          created: '2024-03-10 02:30:00',
          record: { email: 'josé+用&co@example.com', created: '2024-03-10 02:30:00' },
        },
      ],
    });
  });

  it('keeps values untrimmed and a row without created has created null', () => {
    const xml =
      '<?xml version="1.0"?><unsubscribes><unsubscribe><email> A@B.c </email></unsubscribe></unsubscribes>';
    expect(parseLegacyAnswer(xml)).toEqual({
      kind: 'rows',
      rows: [{ email: ' A@B.c ', created: null, record: { email: ' A@B.c ' } }],
    });
    expect(parseLegacyAnswer('[{"email":" A@B.c "}]')).toEqual({
      kind: 'rows',
      rows: [{ email: ' A@B.c ', created: null, record: { email: ' A@B.c ' } }],
    });
  });

  it('an item without an address is kept as "" (the transform rejects it with a reason)', () => {
    expect(parseLegacyAnswer('[{"created":"2024-01-01 00:00:00"}]')).toMatchObject({
      rows: [{ email: '', created: '2024-01-01 00:00:00' }],
    });
  });

  it.each([
    ['get-empty.json', { kind: 'rows', rows: [] }],
    ['get-empty.xml', { kind: 'rows', rows: [] }],
    ['success.json', { kind: 'message', message: 'success' }],
    ['success.xml', { kind: 'message', message: 'success' }],
    ['add-already.xml', { kind: 'message', message: 'Email already exists' }],
    ['delete-absent.json', { kind: 'message', message: 'Email does not exist' }],
    ['error-auth.json', { kind: 'errors', errors: ['Permission denied, wrong credentials'] }],
    ['error-auth.xml', { kind: 'errors', errors: ['Permission denied, wrong credentials'] }],
    ['error-bad-username.json', { kind: 'error', error: 'Bad username / password' }],
  ])('%s → %j', (name, expected) => {
    expect(parseLegacyAnswer(fixture(name).toString('latin1'))).toEqual(expected);
  });

  it('never expands a DOCTYPE entity', () => {
    expect(() => parseLegacyAnswer(fixture('doctype.xml').toString('latin1'))).toThrow(/DOCTYPE/);
  });

  it.each(['truncated.json', 'truncated.xml'])('%s (cut short) is unparseable', (name) => {
    expect(() => parseLegacyAnswer(fixture(name).toString('latin1'))).toThrow(
      expect.objectContaining({ kind: 'unparseable' }),
    );
  });

  it('an unknown entity or root is refused', () => {
    expect(() =>
      parseLegacyAnswer('<unsubscribes><unsubscribe><email>&nbsp;</email></unsubscribe></unsubscribes>'),
    ).toThrow(/unknown entity/);
    expect(() => parseLegacyAnswer('<html><body>502</body></html>')).toThrow(
      expect.objectContaining({ kind: 'shape' }),
    );
    expect(() => parseLegacyAnswer('')).toThrow(expect.objectContaining({ kind: 'unparseable' }));
  });
});

describe('classification', () => {
  it.each([
    [200, ['Permission denied, wrong credentials'], 'fatal', 'AUTH'],
    [200, ['Bad username / password'], 'fatal', 'AUTH'],
    [401, ['whatever'], 'fatal', 'AUTH'],
    [403, [], 'fatal', 'AUTH'],
    [400, ['User not found'], 'fatal', 'USER_NOT_FOUND'],
    [200, ['Internal error, please try again later'], 'retriable', 'TEMPORARY'],
    [200, ['Service temporarily unavailable'], 'retriable', 'TEMPORARY'],
    [200, ['Too many results, narrow the date range'], 'skippable', 'TOO_LARGE'],
    [400, ['start_date: must be earlier than end_date'], 'skippable', 'BAD_REQUEST'],
    [200, ['something odd'], 'skippable', 'PROVIDER_ERROR'],
  ] as const)('HTTP %i %j → %s %s', (status, texts, family, code) => {
    const error = classifyLegacyError(asking, status, texts);
    expect(error.details).toEqual({
      provider: 'sendgrid-reseller',
      accountId: 'sg-main',
      family,
      providerCode: code,
    });
    expect(error.message).toContain('"sg-main"');
    if (code === 'AUTH') expect(error.message).toMatch(/check the account's credentials/);
  });

  it.each([
    ['error-temporary.json', 200, 'retriable', 'TEMPORARY'],
    ['error-temporary.xml', 200, 'retriable', 'TEMPORARY'],
    ['error-temporary-error-shape.json', 200, 'retriable', 'TEMPORARY'],
    ['error-auth.json', 401, 'fatal', 'AUTH'],
    ['error-auth.xml', 200, 'fatal', 'AUTH'],
    ['error-user-not-found.json', 400, 'fatal', 'USER_NOT_FOUND'],
    ['error-param.json', 400, 'skippable', 'BAD_REQUEST'],
    ['success.json', 200, 'skippable', 'SHAPE'],
    ['truncated.json', 200, 'retriable', 'UNPARSEABLE'],
    ['truncated.xml', 200, 'retriable', 'UNPARSEABLE'],
    ['truncated.json', 400, 'skippable', 'BAD_REQUEST'],
    ['truncated.json', 401, 'fatal', 'AUTH'],
    ['doctype.xml', 200, 'skippable', 'UNSAFE_XML'],
  ] as const)('listRows on %s (HTTP %i) → %s %s', (name, status, family, code) => {
    const error = thrown(() => listRows(asking, response(fixture(name), status, 'text/xml')));
    expect(error.details).toMatchObject({ family, providerCode: code, accountId: 'sg-main' });
  });

  it('a body with bytes invalid in its charset is retriable, never staged with U+FFFD', () => {
    const res = response(
      Buffer.from([0x5b, 0x7b, 0x22, 0xff, 0x22, 0x7d, 0x5d]),
      200,
      'application/json; charset=utf-8',
    );
    expect(res.malformed).toBe(true);
    expect(thrown(() => readAnswer(asking, res)).details).toMatchObject({
      family: 'retriable',
      providerCode: 'UNPARSEABLE',
    });
  });

  it('an HTML page with 200 is a shape error, not rows', () => {
    expect(
      thrown(() => listRows(asking, response('<html><body>gateway</body></html>', 200, 'text/html'))).details
        .providerCode,
    ).toBe('SHAPE');
  });
});
