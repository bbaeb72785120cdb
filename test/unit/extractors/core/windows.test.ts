import { DuckDBInstance, listValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { WindowError } from '../../../../extractors/core/errors.js';
import type { InstantRange } from '../../../../extractors/core/types.js';
import {
  coverageGaps,
  dayAlignedWindows,
  inclusiveDayCounts,
  inclusiveDayWindows,
  localDate,
  localDateTime,
  parseLocalDateTime,
  splitHalfOpen,
  splitInclusiveDayWindow,
  startOfLocalDay,
  toInclusiveDays,
  type Window,
  type WindowSize,
} from '../../../../extractors/core/windows.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Lord_Howe moves its clocks by 30 minutes; Sao_Paulo (until 2019) skipped midnight itself.
const ZONES = [
  'UTC',
  'America/Los_Angeles',
  'Europe/London',
  'Asia/Shanghai',
  'Australia/Lord_Howe',
  'America/Sao_Paulo',
] as const;
const LA = 'America/Los_Angeles';

// Calendar oracle on plain YYYY-MM-DD strings, written without luxon so the properties do not
// just re-run the code under test.
function ymd(iso: string): [number, number, number] {
  const [y, m, d] = iso.split('-').map(Number);
  return [y!, m!, d!];
}
function fmt(utcMs: number): string {
  return new Date(utcMs).toISOString().slice(0, 10);
}
function addDays(iso: string, n: number): string {
  const [y, m, d] = ymd(iso);
  return fmt(Date.UTC(y, m - 1, d + n));
}
function addMonthsClamped(iso: string, n: number): string {
  const [y, m, d] = ymd(iso);
  const first = new Date(Date.UTC(y, m - 1 + n, 1));
  const daysInMonth = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return fmt(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(d, daysInMonth)));
}

function expectExactCover(range: InstantRange, windows: Window[]): void {
  if (range.from === range.to) {
    expect(windows).toEqual([]);
    return;
  }
  expect(windows[0]!.from).toBe(range.from);
  expect(windows[windows.length - 1]!.to).toBe(range.to);
  windows.forEach((w, i) => {
    expect(w.index).toBe(i);
    expect(w.to).toBeGreaterThan(w.from);
    if (i > 0) expect(w.from).toBe(windows[i - 1]!.to);
  });
  expect(coverageGaps(range, windows)).toEqual({ gaps: [], overlaps: [] });
}

const zoneArb = fc.constantFrom(...ZONES);
const instantArb = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2035, 0, 1) });
// Sizes of at least 12 hours keep a 400-day range under ~800 windows, so runs stay fast.
const sizeArb: fc.Arbitrary<WindowSize> = fc
  .record({
    months: fc.integer({ min: 0, max: 3 }),
    days: fc.integer({ min: 0, max: 45 }),
    hours: fc.integer({ min: 0, max: 72 }),
  })
  .filter((s) => s.months * 720 + s.days * 24 + s.hours >= 12);

describe('splitHalfOpen properties', () => {
  it('covers every instant exactly once, each window at most max from its start, deterministically', () => {
    fc.assert(
      fc.property(
        zoneArb,
        instantArb,
        fc.integer({ min: 0, max: 400 * DAY }),
        sizeArb,
        (zone, from, len, size) => {
          const range = { from, to: from + len };
          const windows = splitHalfOpen(range, zone, size);
          expectExactCover(range, windows);
          windows.forEach((w, i) => {
            const limit = DateTime.fromMillis(w.from, { zone }).plus(size).toMillis();
            expect(w.to).toBeLessThanOrEqual(limit);
            // Only the last window may be shorter than the maximum: no needless extra requests.
            if (i < windows.length - 1) expect(w.to).toBe(limit);
          });
          expect(splitHalfOpen(range, zone, size)).toEqual(windows);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('steps whole calendar months and days in the zone (checked against a plain-date oracle)', () => {
    fc.assert(
      fc.property(
        zoneArb,
        fc.date({
          min: new Date(Date.UTC(2000, 0, 1)),
          max: new Date(Date.UTC(2034, 0, 1)),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 30, max: 500 }),
        (zone, date, months, days, lenDays) => {
          fc.pre(months + days > 0);
          const from = parseLocalDateTime(fmt(date.getTime()), zone);
          const range = { from, to: from + lenDays * DAY };
          const windows = splitHalfOpen(range, zone, { months, days });
          expectExactCover(range, windows);
          for (const w of windows.slice(0, -1)) {
            expect(localDate(w.to, zone)).toBe(
              addDays(addMonthsClamped(localDate(w.from, zone), months), days),
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('handles DST transitions: hour steps are elapsed hours, day steps keep the wall-clock time', () => {
    const transitions: Array<[string, string]> = [
      [LA, '2024-03-10'],
      [LA, '2024-11-03'],
      ['Europe/London', '2024-03-31'],
      ['Europe/London', '2024-10-27'],
      ['Australia/Lord_Howe', '2024-04-07'],
      ['Australia/Lord_Howe', '2024-10-06'],
      ['Asia/Shanghai', '1991-04-14'],
      ['America/Sao_Paulo', '2018-11-04'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...transitions),
        fc.integer({ min: -3 * DAY, max: 3 * DAY }),
        fc.integer({ min: 0, max: 5 * DAY }),
        fc.oneof(
          fc.record({ hours: fc.integer({ min: 1, max: 30 }) }),
          fc.record({ days: fc.integer({ min: 1, max: 2 }) }),
        ),
        ([zone, day], shift, len, size) => {
          const from = parseLocalDateTime(day, zone) + shift;
          const range = { from, to: from + len };
          const windows = splitHalfOpen(range, zone, size);
          expectExactCover(range, windows);
          for (const w of windows.slice(0, -1)) {
            if ('hours' in size) {
              expect(w.to - w.from).toBe(size.hours * HOUR);
            } else {
              const [, time] = localDateTime(w.from, zone).split(' ');
              const wanted = `${addDays(localDate(w.from, zone), size.days)} ${time}`;
              const wantedExists = localDateTime(parseLocalDateTime(wanted, zone), zone) === wanted;
              // When the wall time does not exist that day (clocks jumped over it) it moves forward.
              if (wantedExists) expect(localDateTime(w.to, zone)).toBe(wanted);
              else expect(w.to).toBeGreaterThan(parseLocalDateTime(wanted, zone) - 2 * HOUR);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('splitHalfOpen examples', () => {
  const at = (s: string, zone = LA) => parseLocalDateTime(s, zone);
  const days = (ws: Window[], zone = LA) =>
    ws.map((w) => [localDateTime(w.from, zone), localDateTime(w.to, zone)]);

  it.each([
    [
      'Jan 31 + 1 month in a leap year ends on Feb 29, then chains from there',
      '2024-01-31',
      '2024-05-01',
      [
        ['2024-01-31 00:00:00', '2024-02-29 00:00:00'],
        ['2024-02-29 00:00:00', '2024-03-29 00:00:00'],
        ['2024-03-29 00:00:00', '2024-04-29 00:00:00'],
        ['2024-04-29 00:00:00', '2024-05-01 00:00:00'],
      ],
    ],
    [
      'Jan 31 + 1 month in a common year ends on Feb 28',
      '2023-01-31',
      '2023-03-01',
      [
        ['2023-01-31 00:00:00', '2023-02-28 00:00:00'],
        ['2023-02-28 00:00:00', '2023-03-01 00:00:00'],
      ],
    ],
    [
      'month ends across a year boundary',
      '2023-11-30',
      '2024-01-31',
      [
        ['2023-11-30 00:00:00', '2023-12-30 00:00:00'],
        ['2023-12-30 00:00:00', '2024-01-30 00:00:00'],
        ['2024-01-30 00:00:00', '2024-01-31 00:00:00'],
      ],
    ],
  ])('%s', (_name, from, to, expected) => {
    expect(days(splitHalfOpen({ from: at(from), to: at(to) }, LA, { months: 1 }))).toEqual(expected);
  });

  it('12 months from Feb 29 ends on Feb 28 of the next year', () => {
    const ws = splitHalfOpen({ from: at('2024-02-29'), to: at('2026-01-01') }, LA, { months: 12 });
    expect(days(ws)[0]).toEqual(['2024-02-29 00:00:00', '2025-02-28 00:00:00']);
  });

  it('one-day windows over the LA spring-forward day last 23 hours, over fall-back 25 hours', () => {
    const spring = splitHalfOpen({ from: at('2024-03-09'), to: at('2024-03-12') }, LA, { days: 1 });
    expect(spring.map((w) => (w.to - w.from) / HOUR)).toEqual([24, 23, 24]);
    const fall = splitHalfOpen({ from: at('2024-11-02'), to: at('2024-11-05') }, LA, { days: 1 });
    expect(fall.map((w) => (w.to - w.from) / HOUR)).toEqual([24, 25, 24]);
  });

  it('accepts a custom rule, e.g. calendar weeks ending on Monday', () => {
    const ws = splitHalfOpen({ from: at('2024-01-03'), to: at('2024-01-20') }, LA, (s) =>
      s.plus({ weeks: 1 }).startOf('week'),
    );
    expect(ws.map((w) => localDate(w.to, LA))).toEqual(['2024-01-08', '2024-01-15', '2024-01-20']);
  });

  it('gives no windows for an empty range', () => {
    expect(splitHalfOpen({ from: 5, to: 5 }, LA, { days: 1 })).toEqual([]);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['from after to', () => splitHalfOpen({ from: 10, to: 5 }, LA, { days: 1 }), /starts after it ends/],
    ['unknown zone', () => splitHalfOpen({ from: 0, to: 5 }, 'Mars/Olympus', { days: 1 }), /Mars\/Olympus/],
    ['host-dependent zone', () => splitHalfOpen({ from: 0, to: 5 }, 'local', { days: 1 }), /"local"/],
    ['empty size', () => splitHalfOpen({ from: 0, to: 5 }, LA, {}), /empty/],
    ['fractional size', () => splitHalfOpen({ from: 0, to: 5 }, LA, { days: 1.5 }), /days/],
    ['negative size', () => splitHalfOpen({ from: 0, to: 5 }, LA, { months: -1, days: 3 }), /months/],
    ['non-finite bound', () => splitHalfOpen({ from: 0, to: Number.NaN }, LA, { days: 1 }), /finite/],
    [
      'rule that does not advance',
      () => splitHalfOpen({ from: 0, to: DAY }, LA, (s) => s),
      /after the start/,
    ],
  ])('throws WindowError: %s', (_name, fn, message) => {
    expect(fn).toThrow(WindowError);
    expect(fn).toThrow(message);
  });
});

describe('local time helpers', () => {
  it.each([
    ['2024-01-01 08:00:00', 'Asia/Shanghai', '2024-01-01T00:00:00.000Z'],
    ['2024-07-01', 'Europe/London', '2024-06-30T23:00:00.000Z'],
    // 02:30 never happens on the spring-forward day: moved forward by the gap to 03:30 PDT.
    ['2024-03-10 02:30:00', LA, '2024-03-10T10:30:00.000Z'],
    // 01:30 happens twice on the fall-back day: the later one (PST), as ICU and DuckDB read it.
    ['2024-11-03 01:30:00', LA, '2024-11-03T09:30:00.000Z'],
    ['2024-11-03 01:30:00', 'Australia/Lord_Howe', '2024-11-02T14:30:00.000Z'],
    // Lord Howe falls back 30 minutes at 02:00: 01:45 happens at +11:00 and again at +10:30; the later.
    ['2024-04-07 01:45:00', 'Australia/Lord_Howe', '2024-04-06T15:15:00.000Z'],
    // Berlin repeats 02:00–03:00 on the last Sunday of October: the later one (CET).
    ['2023-10-29 02:30:00', 'Europe/Berlin', '2023-10-29T01:30:00.000Z'],
    ['2024-02-29 23:59:59', 'UTC', '2024-02-29T23:59:59.000Z'],
  ])('parseLocalDateTime(%s, %s) = %s', (text, zone, iso) => {
    expect(new Date(parseLocalDateTime(text, zone)).toISOString()).toBe(iso);
  });

  it('reads every wall time as DuckDB (ICU) does: repeated hours, skipped hours, ordinary times', async () => {
    const cases: Array<[string, string]> = [];
    for (const [zone, days] of [
      [LA, ['2024-03-10', '2024-11-03']],
      ['America/Chicago', ['2024-03-10', '2024-11-03']],
      ['Europe/Berlin', ['2023-03-26', '2023-10-29']],
      ['Australia/Lord_Howe', ['2024-04-07', '2024-10-06']],
      ['America/Santiago', ['2024-04-06', '2024-09-08']],
      ['Asia/Shanghai', ['2024-01-01']],
    ] as const) {
      for (const day of days) {
        for (let minutes = 0; minutes < 24 * 60; minutes += 15) {
          const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
          const mm = String(minutes % 60).padStart(2, '0');
          cases.push([zone, `${day} ${hh}:${mm}:00`]);
        }
      }
    }
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      const reader = await conn.runAndReadAll(
        `SELECT epoch_ms(timezone(z, w::TIMESTAMP)) AS ms FROM (SELECT unnest($1::VARCHAR[]) AS z, unnest($2::VARCHAR[]) AS w)`,
        [listValue(cases.map(([zone]) => zone)), listValue(cases.map(([, wall]) => wall))],
      );
      const duckdb = reader.getRowObjectsJS().map((r) => Number(r.ms));
      const ours = cases.map(([zone, wall]) => parseLocalDateTime(wall, zone));
      const differing = cases.filter((_, i) => ours[i] !== duckdb[i]);
      expect(differing).toEqual([]);
      expect(duckdb).toHaveLength(cases.length);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it.each([
    '2024-02-30',
    '2023-02-29',
    '2024-13-01',
    '2024-01-01 24:00:00',
    '2024-01-01 12:60:00',
    '2024-1-1',
    '2024-01-01T00:00:00',
    '',
  ])('parseLocalDateTime rejects %j', (text) => {
    expect(() => parseLocalDateTime(text, LA)).toThrow(WindowError);
  });

  it('localDateTime and parseLocalDateTime round-trip (repeated hours map to their later occurrence)', () => {
    fc.assert(
      fc.property(zoneArb, instantArb, (zone, ms) => {
        const text = localDateTime(ms, zone);
        const back = parseLocalDateTime(text, zone);
        expect(localDateTime(back, zone)).toBe(text);
        expect(back).toBeGreaterThanOrEqual(Math.floor(ms / 1000) * 1000);
        expect(localDate(ms, zone)).toBe(text.slice(0, 10));
      }),
      { numRuns: 300 },
    );
  });

  it('startOfLocalDay is the first instant of the local date, even when midnight was skipped', () => {
    expect(localDateTime(startOfLocalDay(parseLocalDateTime('2024-03-10 12:00:00', LA), LA), LA)).toBe(
      '2024-03-10 00:00:00',
    );
    // Sao Paulo jumped from 00:00 to 01:00 on 2018-11-04.
    const sp = 'America/Sao_Paulo';
    expect(localDateTime(startOfLocalDay(parseLocalDateTime('2018-11-04 15:00:00', sp), sp), sp)).toBe(
      '2018-11-04 01:00:00',
    );
  });
});

describe('dayAlignedWindows', () => {
  it('windows start and end on local day starts, cover the widened range once, span ≤ maxDays', () => {
    fc.assert(
      fc.property(
        zoneArb,
        instantArb,
        fc.integer({ min: 0, max: 120 * DAY }),
        fc.integer({ min: 1, max: 40 }),
        (zone, from, len, maxDays) => {
          const range = { from, to: from + len };
          const ws = dayAlignedWindows(range, zone, maxDays);
          if (len === 0) {
            expect(ws).toEqual([]);
            return;
          }
          const widened = { from: ws[0]!.from, to: ws[ws.length - 1]!.to };
          expect(widened.from).toBe(startOfLocalDay(from, zone));
          expect(widened.to).toBeGreaterThanOrEqual(range.to);
          // The widened end is the first day start at or after range.to.
          expect(startOfLocalDay(widened.to, zone)).toBe(widened.to);
          expect(startOfLocalDay(widened.to - 1, zone)).toBeLessThan(range.to);
          expectExactCover(widened, ws);
          ws.forEach((w, i) => {
            const d = toInclusiveDays(w, zone);
            expect(d.days).toBe(i < ws.length - 1 ? maxDays : d.days);
            expect(d.days).toBeLessThanOrEqual(maxDays);
            expect(d.lastDay).toBe(addDays(d.firstDay, d.days - 1));
            if (i > 0) expect(d.firstDay).toBe(addDays(toInclusiveDays(ws[i - 1]!, zone).lastDay, 1));
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('LA one-day windows over DST are 23 and 25 hours long and stay on midnights', () => {
    const at = (s: string) => parseLocalDateTime(s, LA);
    const ws = dayAlignedWindows({ from: at('2024-03-09 13:00:00'), to: at('2024-03-11 06:00:00') }, LA, 1);
    expect(ws.map((w) => [localDateTime(w.from, LA), (w.to - w.from) / HOUR])).toEqual([
      ['2024-03-09 00:00:00', 24],
      ['2024-03-10 00:00:00', 23],
      ['2024-03-11 00:00:00', 24],
    ]);
    const fall = dayAlignedWindows({ from: at('2024-11-03'), to: at('2024-11-04') }, LA, 1);
    expect(fall.map((w) => (w.to - w.from) / HOUR)).toEqual([25]);
  });

  it('returns to day starts after a day whose midnight was skipped', () => {
    const sp = 'America/Sao_Paulo';
    const ws = dayAlignedWindows(
      { from: parseLocalDateTime('2018-11-03', sp), to: parseLocalDateTime('2018-11-06', sp) },
      sp,
      1,
    );
    expect(ws.map((w) => localDateTime(w.from, sp))).toEqual([
      '2018-11-03 00:00:00',
      '2018-11-04 01:00:00',
      '2018-11-05 00:00:00',
    ]);
  });

  it('does not widen an end that is already a day start', () => {
    const ws = dayAlignedWindows(
      { from: parseLocalDateTime('2024-01-01', LA), to: parseLocalDateTime('2024-01-11', LA) },
      LA,
      7,
    );
    expect(ws.map((w) => toInclusiveDays(w, LA))).toEqual([
      { firstDay: '2024-01-01', lastDay: '2024-01-07', days: 7 },
      { firstDay: '2024-01-08', lastDay: '2024-01-10', days: 3 },
    ]);
  });

  it('rejects a maxDays that is not a positive integer', () => {
    expect(() => dayAlignedWindows({ from: 0, to: DAY }, LA, 0)).toThrow(WindowError);
    expect(() => dayAlignedWindows({ from: 0, to: DAY }, LA, 1.5)).toThrow(WindowError);
  });
});

describe('toInclusiveDays', () => {
  const at = (s: string, zone = LA) => parseLocalDateTime(s, zone);

  it.each([
    ['one day', '2024-03-10', '2024-03-11', LA, { firstDay: '2024-03-10', lastDay: '2024-03-10', days: 1 }],
    [
      'two days over DST',
      '2024-03-10',
      '2024-03-12',
      LA,
      { firstDay: '2024-03-10', lastDay: '2024-03-11', days: 2 },
    ],
    [
      'month end in a leap year',
      '2024-02-28',
      '2024-03-01',
      LA,
      { firstDay: '2024-02-28', lastDay: '2024-02-29', days: 2 },
    ],
    [
      'year end, UTC+8',
      '2023-12-31',
      '2024-01-02',
      'Asia/Shanghai',
      { firstDay: '2023-12-31', lastDay: '2024-01-01', days: 2 },
    ],
  ])('%s', (_name, from, to, zone, expected) => {
    expect(toInclusiveDays({ from: at(from, zone), to: at(to, zone) }, zone)).toEqual(expected);
  });

  it.each<[string, InstantRange]>([
    ['start not at a day start', { from: at('2024-03-10 01:00:00'), to: at('2024-03-12') }],
    ['end not at a day start', { from: at('2024-03-10'), to: at('2024-03-11 23:59:59') }],
    ['empty window', { from: at('2024-03-10'), to: at('2024-03-10') }],
  ])('throws WindowError: %s', (_name, w) => {
    expect(() => toInclusiveDays(w, LA)).toThrow(WindowError);
  });
});

describe('coverageGaps', () => {
  it('reports gaps inside the range and overlaps anywhere, merged', () => {
    expect(
      coverageGaps({ from: 0, to: 100 }, [
        { from: 50, to: 70 },
        { from: -10, to: 20 },
        { from: 60, to: 80 },
        { from: 65, to: 75 },
        { from: 90, to: 90 },
      ]),
    ).toEqual({
      gaps: [
        { from: 20, to: 50 },
        { from: 80, to: 100 },
      ],
      overlaps: [{ from: 60, to: 75 }],
    });
    expect(coverageGaps({ from: 0, to: 10 }, [])).toEqual({ gaps: [{ from: 0, to: 10 }], overlaps: [] });
    expect(() => coverageGaps({ from: 0, to: 10 }, [{ from: 5, to: 1 }])).toThrow(WindowError);
  });

  it('agrees with counting every point', () => {
    const interval = fc
      .tuple(fc.integer({ min: -5, max: 45 }), fc.integer({ min: 0, max: 20 }))
      .map(([from, len]) => ({ from, to: from + len }));
    fc.assert(
      fc.property(interval, fc.array(interval, { maxLength: 8 }), (range, windows) => {
        const { gaps, overlaps } = coverageGaps(range, windows);
        const inAny = (list: InstantRange[], p: number) => list.some((r) => r.from <= p && p < r.to);
        const got: string[] = [];
        const want: string[] = [];
        for (let p = -10; p < 70; p++) {
          const count = windows.filter((w) => w.from <= p && p < w.to).length;
          const inRange = range.from <= p && p < range.to;
          got.push(`${p}:${inAny(gaps, p)}/${inAny(overlaps, p)}`);
          want.push(`${p}:${inRange && count === 0}/${count > 1}`);
        }
        expect(got).toEqual(want);
        for (const list of [gaps, overlaps]) {
          list.forEach((r, i) => {
            expect(r.to).toBeGreaterThan(r.from);
            if (i > 0) expect(r.from).toBeGreaterThan(list[i - 1]!.to); // merged and sorted
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('inclusiveDayWindows (first date strictly before the last)', () => {
  const rule = {
    provider: 'test',
    minDays: 2,
    maxDays: 5,
    params: (first: string, last: string) => ({ first, last }),
  };

  it.each([
    [2, [2]],
    [5, [5]],
    [6, [4, 2]],
    [11, [5, 4, 2]],
    [12, [5, 5, 2]],
  ])('splits %i days into %j', (days, expected) => {
    expect(inclusiveDayCounts(days, rule)).toEqual(expected);
  });

  it('borrows as many days as a longer minimum needs', () => {
    expect(inclusiveDayCounts(11, { ...rule, minDays: 3, maxDays: 5 })).toEqual([5, 3, 3]);
  });

  it('never names one date, widening a one-day range backwards', () => {
    const zone = 'America/Los_Angeles';
    const from = DateTime.fromISO('2024-03-10T09:00', { zone }).toMillis();
    const windows = inclusiveDayWindows({ from, to: from + 3_600_000 }, zone, rule);
    expect(windows.map((w) => w.params)).toEqual([{ first: '2024-03-09', last: '2024-03-10' }]);
  });

  it('splits into halves of at least the minimum, or not at all', () => {
    const zone = 'UTC';
    const from = Date.UTC(2024, 0, 1);
    const [window] = inclusiveDayWindows({ from, to: from + 5 * 86_400_000 }, zone, rule);
    expect(splitInclusiveDayWindow(window!, zone, rule)?.map((w) => w.params)).toEqual([
      { first: '2024-01-01', last: '2024-01-02' },
      { first: '2024-01-03', last: '2024-01-05' },
    ]);
    const [small] = inclusiveDayWindows({ from, to: from + 3 * 86_400_000 }, zone, rule);
    expect(splitInclusiveDayWindow(small!, zone, rule)).toBeNull();
  });
});
