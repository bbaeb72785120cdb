/**
 * Pure window planning: split a half-open instant range `[from, to)` into request windows that
 * obey a provider's maximum span, using calendar arithmetic in the account's time zone
 * (DESIGN.md "Extraction": windows are half-open in the account's zone and every instant is
 * covered exactly once). No I/O, no clock: the same inputs always give the same windows.
 *
 * Every function here throws `WindowError` (code `WINDOW_INVALID`) for input it cannot plan.
 */
import { DateTime, type Zone } from 'luxon';
import { WindowError } from './errors.js';
import type { ExtractWindow } from './provider.js';
import type { InstantRange } from './types.js';

/** A planned request window: half-open `[from, to)` in epoch ms, `index` counts from 0. */
export interface Window extends InstantRange {
  readonly index: number;
}

/**
 * A maximum window span in calendar units of the zone. `months` and `days` are calendar steps
 * (a day can last 23 or 25 hours across a DST change; one month from Jan 31 ends on the last day
 * of February), `hours` are elapsed hours. Fields are non-negative integers, at least one > 0.
 */
export interface WindowSize {
  readonly months?: number;
  readonly days?: number;
  readonly hours?: number;
}

/**
 * A custom rule: given a window's start (a luxon DateTime in the planning zone), return the
 * latest instant the window may end at. It must be later than `start`.
 */
export type WindowRule = (start: DateTime) => DateTime;

const DAY_MS = 86_400_000;

/**
 * Resolves an IANA zone name (`UTC` and luxon's fixed offsets such as `UTC+8` are accepted too).
 * `local`/`system` are refused: plans must not depend on the machine that computes them.
 * @throws WindowError naming the zone when it is empty, host-dependent or unknown.
 */
export function resolveZone(zone: string): Zone {
  if (typeof zone !== 'string' || zone.trim() === '' || /^(local|system)$/i.test(zone)) {
    throw new WindowError(`time zone ${JSON.stringify(zone)} is not usable; expected an IANA zone name`);
  }
  const probe = DateTime.fromMillis(0, { zone });
  if (!probe.isValid) {
    throw new WindowError(
      `unknown time zone ${JSON.stringify(zone)}; expected an IANA zone name such as America/Los_Angeles`,
    );
  }
  return probe.zone;
}

function at(ms: number, zone: Zone, what: string): DateTime {
  if (!Number.isFinite(ms)) throw new WindowError(`${what} must be a finite epoch-ms number, got ${ms}`);
  const dt = DateTime.fromMillis(ms, { zone });
  if (!dt.isValid) throw new WindowError(`${what} ${ms} is outside the representable range`);
  return dt;
}

function checkRange(range: InstantRange): void {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to)) {
    throw new WindowError(`range bounds must be finite epoch-ms numbers, got [${range.from}, ${range.to})`);
  }
  if (range.from > range.to) {
    throw new WindowError(
      `range starts after it ends: [${new Date(range.from).toISOString()}, ${new Date(range.to).toISOString()})`,
    );
  }
}

function sizeToRule(size: WindowSize): WindowRule {
  const months = size.months ?? 0;
  const days = size.days ?? 0;
  const hours = size.hours ?? 0;
  for (const [name, v] of [
    ['months', months],
    ['days', days],
    ['hours', hours],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new WindowError(`window size ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (months + days + hours === 0) {
    throw new WindowError(`window size ${JSON.stringify(size)} is empty; give months, days or hours > 0`);
  }
  // luxon applies the units largest first, the same order a person reads "1 month 2 days".
  return (start) => start.plus({ months, days, hours });
}

/**
 * Splits `range` into consecutive windows, each ending at `max` applied to its own start in
 * `zone` (or at `range.to`, whichever comes first). Windows are chained, not anchored to
 * `range.from`: with `{ months: 1 }` from Jan 31 the ends are Feb 29 (leap year), Mar 29, Apr 29…
 * Anchoring (Jan 31, Feb 29, Mar 31) would make [Feb 29, Mar 31) longer than one month from its
 * own start, which is what a provider's limit is measured against.
 *
 * Guarantees: windows are contiguous, the first starts at `range.from`, the last ends at
 * `range.to`, none is empty, and each ends no later than `max(start)`. An empty range gives `[]`.
 *
 * @param zone IANA zone the calendar steps are taken in.
 * @param max a `WindowSize` or a custom `WindowRule`.
 * @throws WindowError when `range.from > range.to`, a bound is not finite, the zone is unknown,
 *   the size is invalid, or a custom rule returns an invalid instant or one not after the start.
 */
export function splitHalfOpen(range: InstantRange, zone: string, max: WindowSize | WindowRule): Window[] {
  checkRange(range);
  const z = resolveZone(zone);
  const rule = typeof max === 'function' ? max : sizeToRule(max);
  const windows: Window[] = [];
  let start = at(range.from, z, 'range.from');
  at(range.to, z, 'range.to');
  while (start.toMillis() < range.to) {
    const limit = rule(start);
    if (!DateTime.isDateTime(limit) || !limit.isValid || !(limit.toMillis() > start.toMillis())) {
      // Without this an erroneous rule would spin forever on a zero-length step.
      throw new WindowError(
        `window rule returned ${DateTime.isDateTime(limit) ? (limit.toISO() ?? 'an invalid DateTime') : String(limit)} ` +
          `for a window starting ${start.toISO()}; it must return a valid instant after the start`,
      );
    }
    const to = Math.min(limit.toMillis(), range.to);
    windows.push({ from: start.toMillis(), to, index: windows.length });
    start = DateTime.fromMillis(to, { zone: z });
  }
  return windows;
}

/** The first instant of the local calendar day containing `ms` (01:00 on days whose midnight was skipped by DST). */
export function startOfLocalDay(ms: number, zone: string): number {
  return at(ms, resolveZone(zone), 'instant').startOf('day').toMillis();
}

/** `YYYY-MM-DD` of the local calendar day containing `ms`. @throws WindowError on a bad zone or instant. */
export function localDate(ms: number, zone: string): string {
  return at(ms, resolveZone(zone), 'instant').toFormat('yyyy-MM-dd');
}

/** `YYYY-MM-DD HH:mm:ss` local wall time of `ms` (milliseconds dropped). @throws WindowError on a bad zone or instant. */
export function localDateTime(ms: number, zone: string): string {
  return at(ms, resolveZone(zone), 'instant').toFormat('yyyy-MM-dd HH:mm:ss');
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/;

/**
 * Parses a provider's local wall time, `YYYY-MM-DD HH:mm:ss` or `YYYY-MM-DD` (midnight), in `zone`
 * to epoch ms. DST is resolved as ICU does by default (ICU's "last" wall-time option), so the
 * extractors, the SQL transforms (DuckDB's `timezone()` is ICU) and the scenario's ground truth
 * read a provider's wall time as the same instant:
 * - a time that occurs twice (clocks go back) is the LATER instant, the one in standard time
 *   (01:30 on the US fall-back day is 01:30 PST);
 * - a time that never occurs (clocks go forward) is moved forward by the gap (02:30 → 03:30).
 * @throws WindowError when the text has another shape or names an impossible date or time
 *   (2024-02-30, 24:00:00), or the zone is unknown.
 */
export function parseLocalDateTime(text: string, zone: string): number {
  const z = resolveZone(zone);
  const m = LOCAL_RE.exec(text);
  if (!m) {
    throw new WindowError(`local time ${JSON.stringify(text)} is not "YYYY-MM-DD HH:mm:ss" or "YYYY-MM-DD"`);
  }
  const [, y, mo, d, h, mi, s] = m;
  const wall = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
  };
  const dt = DateTime.fromObject(wall, { zone: z });
  // luxon takes ISO's 24:00:00 as the next midnight; provider timestamps never mean that.
  if (wall.hour > 23) {
    throw new WindowError(`local time ${JSON.stringify(text)} is impossible: hour ${wall.hour}`);
  }
  if (!dt.isValid) {
    throw new WindowError(
      `local time ${JSON.stringify(text)} is impossible: ${dt.invalidExplanation ?? dt.invalidReason}`,
    );
  }
  // luxon's choice for a repeated wall time depends on the zone (the later instant in the US, the
  // earlier on Lord Howe). Every instant showing this wall time has the offset in force a day
  // before or a day after (no zone changes offset twice within a day): take the latest of them.
  const wallAsUtc = DateTime.fromObject(wall, { zone: 'utc' }).toMillis();
  const instants = [dt.toMillis() - DAY_MS, dt.toMillis(), dt.toMillis() + DAY_MS]
    .map((near) => wallAsUtc - z.offset(near) * 60_000)
    .filter((ms) => z.offset(ms) * 60_000 === wallAsUtc - ms);
  // none: the wall time falls in a gap, and luxon already moved it forward by the gap
  return instants.length > 0 ? Math.max(...instants) : dt.toMillis();
}

/**
 * Windows whose boundaries are all local day starts, at most `maxDays` calendar days each.
 * The range is first WIDENED to whole local days: `from` moves back to the start of its day and
 * `to`, unless already a day start, moves forward to the start of the next day. Callers that need
 * exact coverage filter rows by instant afterwards; the widening only re-reads rows, it never
 * skips any. An empty range gives `[]`.
 * @throws WindowError for an invalid range or zone, or `maxDays` not a positive integer.
 */
export function dayAlignedWindows(range: InstantRange, zone: string, maxDays: number): Window[] {
  checkRange(range);
  const z = resolveZone(zone);
  if (!Number.isSafeInteger(maxDays) || maxDays < 1) {
    throw new WindowError(`maxDays must be a positive integer, got ${maxDays}`);
  }
  if (range.from === range.to) return [];
  const from = at(range.from, z, 'range.from').startOf('day').toMillis();
  const toDay = at(range.to, z, 'range.to').startOf('day');
  const to = toDay.toMillis() === range.to ? range.to : toDay.plus({ days: 1 }).startOf('day').toMillis();
  // startOf('day') after the step keeps boundaries on day starts even when a skipped midnight
  // made the previous boundary 01:00.
  return splitHalfOpen({ from, to }, zone, (start) => start.plus({ days: maxDays }).startOf('day'));
}

/**
 * Maps a day-aligned half-open window `[d1 00:00, d2 00:00)` to the inclusive dates `d1 … d2−1`
 * that providers with both-ends-inclusive day ranges expect. `days` is the number of local dates
 * covered (`firstDay === lastDay` when it is 1; providers demanding first < last must plan ≥ 2 days).
 * @throws WindowError when either bound is not a local day start, or the window is empty.
 */
export function toInclusiveDays(
  window: InstantRange,
  zone: string,
): { firstDay: string; lastDay: string; days: number } {
  checkRange(window);
  const z = resolveZone(zone);
  const from = at(window.from, z, 'window.from');
  const to = at(window.to, z, 'window.to');
  if (from.startOf('day').toMillis() !== window.from || to.startOf('day').toMillis() !== window.to) {
    throw new WindowError(
      `window [${from.toISO()}, ${to.toISO()}) is not aligned to local day starts in ${zone}; plan it with dayAlignedWindows`,
    );
  }
  if (window.from === window.to) throw new WindowError(`window at ${from.toISO()} is empty; it has no days`);
  // The last instant of the window (to − 1 ms) lies on the last included day.
  const last = at(window.to - 1, z, 'window.to');
  const days = Math.round(last.startOf('day').diff(from.startOf('day'), 'days').days) + 1;
  return { firstDay: from.toFormat('yyyy-MM-dd'), lastDay: last.toFormat('yyyy-MM-dd'), days };
}

/** Where a set of windows fails to cover a range exactly once. Both lists are sorted and merged. */
export interface Coverage {
  /** Parts of the range no window covers. */
  readonly gaps: InstantRange[];
  /** Instants covered by more than one window (inside or outside the range). */
  readonly overlaps: InstantRange[];
}

function pushMerged(list: InstantRange[], r: InstantRange): void {
  const last = list[list.length - 1];
  if (last && r.from <= last.to) list[list.length - 1] = { from: last.from, to: Math.max(last.to, r.to) };
  else list.push(r);
}

/**
 * Checks that `windows` (in any order) cover `range` exactly once. Empty windows are ignored;
 * window parts outside the range are not gaps. Exact coverage ⇔ both lists are empty.
 * @throws WindowError when the range or a window ends before it starts.
 */
export function coverageGaps(range: InstantRange, windows: readonly InstantRange[]): Coverage {
  checkRange(range);
  for (const w of windows) checkRange(w);
  const sorted = windows.filter((w) => w.to > w.from).sort((a, b) => a.from - b.from || a.to - b.to);
  const gaps: InstantRange[] = [];
  const overlaps: InstantRange[] = [];
  let cursor = range.from; // everything in [range.from, cursor) is covered
  let coveredTo = Number.NEGATIVE_INFINITY; // furthest end of any window seen so far
  for (const w of sorted) {
    if (w.from < coveredTo) pushMerged(overlaps, { from: w.from, to: Math.min(w.to, coveredTo) });
    coveredTo = Math.max(coveredTo, w.to);
    if (w.from > cursor && cursor < range.to) gaps.push({ from: cursor, to: Math.min(w.from, range.to) });
    cursor = Math.max(cursor, w.to);
  }
  if (cursor < range.to) gaps.push({ from: cursor, to: range.to });
  return { gaps, overlaps };
}

// ---------------------------------------------------------------------------------------------
// Inclusive day ranges whose first date must be strictly earlier than the last (SendGrid legacy
// `start_date`/`end_date`, BlueHornet `date_deleted1`/`date_deleted2`).

/** Limits of an inclusive-day provider, and how its two dates are sent. */
export interface InclusiveDayRule {
  /** Provider name, for messages. */
  readonly provider: string;
  /** At least 2: first and last date must differ. */
  readonly minDays: number;
  readonly maxDays: number;
  /** Request parameters for the inclusive dates `firstDay` … `lastDay`. */
  readonly params: (firstDay: string, lastDay: string) => Record<string, string>;
}

const localDayStart = (ms: number, zone: string): DateTime =>
  DateTime.fromMillis(ms, { zone }).startOf('day');

/**
 * The start of every local day in `[from, to)`, then `to`: days as the zone lives them, so a date a
 * zone skipped (Pacific/Apia 2011-12-30) is no day, and a skipped midnight gives a day at 01:00.
 */
function localDayStarts(from: DateTime, to: DateTime, provider: string): DateTime[] {
  const starts: DateTime[] = [];
  for (let d = from; d.toMillis() < to.toMillis(); ) {
    starts.push(d);
    // startOf('day') after the step keeps the boundary on the day start when that day's midnight
    // does not exist; luxon would otherwise carry 01:00 forward.
    const next = d.plus({ days: 1 }).startOf('day');
    if (next.toMillis() <= d.toMillis())
      throw new WindowError(`${provider}: no day after ${d.toISO()} in ${d.zoneName}`);
    d = next;
  }
  starts.push(to);
  return starts;
}

function inclusiveDayWindow(
  from: DateTime,
  to: DateTime,
  zone: string,
  rule: InclusiveDayRule,
): ExtractWindow {
  const days = toInclusiveDays({ from: from.toMillis(), to: to.toMillis() }, zone);
  if (!(days.firstDay < days.lastDay)) {
    // Unreachable from the planner and the splitter; kept so no code path can send equal dates.
    throw new WindowError(
      `${rule.provider} window ${days.firstDay}…${days.lastDay} names one date; the first must be earlier`,
    );
  }
  return {
    from: from.toMillis(),
    to: to.toMillis(),
    scope: 'global',
    params: rule.params(days.firstDay, days.lastDay),
  };
}

/**
 * Day counts of consecutive windows over `days` (≥ minDays) days: full maxDays windows, then the
 * rest; a rest shorter than minDays borrows days from the window before it (…, 30, 2), so every
 * window stays within minDays…maxDays.
 * @throws WindowError for fewer than minDays days.
 */
export function inclusiveDayCounts(
  days: number,
  rule: Pick<InclusiveDayRule, 'provider' | 'minDays' | 'maxDays'>,
): number[] {
  if (!Number.isSafeInteger(days) || days < rule.minDays) {
    throw new WindowError(
      `${rule.provider}: cannot plan ${days} day(s); at least ${rule.minDays} are needed`,
    );
  }
  const counts: number[] = new Array(Math.floor(days / rule.maxDays)).fill(rule.maxDays);
  const rest = days % rule.maxDays;
  if (rest > 0 && rest < rule.minDays) {
    counts[counts.length - 1] = rule.maxDays - (rule.minDays - rest);
    counts.push(rule.minDays);
  } else if (rest > 0) counts.push(rest);
  return counts;
}

/**
 * Windows covering `range` in `zone`: contiguous, in order, each `[local day start, local day
 * start)` of minDays…maxDays days, with `params` the inclusive dates to send.
 *
 * The range is widened to whole local days (the provider filters by date): `from` back to its day
 * start, `to` forward to the next day start unless it is one. A range shorter than minDays days is
 * widened BACKWARDS (the day after is usually still in the future). Rows of a widened part are
 * staged as received and collapse in the per-account dedupe (DESIGN.md "Transform"). Empty: `[]`.
 * @throws WindowError for a reversed or non-finite range, or an unknown zone.
 */
export function inclusiveDayWindows(
  range: InstantRange,
  zone: string,
  rule: InclusiveDayRule,
): ExtractWindow[] {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to) || range.from > range.to) {
    throw new WindowError(`${rule.provider}: cannot plan the range [${range.from}, ${range.to})`);
  }
  resolveZone(zone);
  if (range.from === range.to) return [];
  let first = localDayStart(range.from, zone);
  const lastStart = localDayStart(range.to, zone);
  const end = lastStart.toMillis() === range.to ? lastStart : lastStart.plus({ days: 1 }).startOf('day');
  let starts = localDayStarts(first, end, rule.provider);
  while (starts.length - 1 < rule.minDays) {
    // The day of the instant just before `first`: robust to a date the zone skipped.
    first = localDayStart(first.toMillis() - 1, zone);
    starts = [first, ...starts];
  }
  const windows: ExtractWindow[] = [];
  let i = 0;
  for (const count of inclusiveDayCounts(starts.length - 1, rule)) {
    windows.push(inclusiveDayWindow(starts[i]!, starts[i + count]!, zone, rule));
    i += count;
  }
  return windows;
}

/**
 * Halves of a window that timed out or was too large, each ≥ minDays days; null below
 * 2 × minDays days.
 * @throws WindowError when the window is not aligned to local day starts.
 */
export function splitInclusiveDayWindow(
  window: InstantRange,
  zone: string,
  rule: InclusiveDayRule,
): [ExtractWindow, ExtractWindow] | null {
  toInclusiveDays(window, zone); // throws unless day-aligned
  const starts = localDayStarts(
    DateTime.fromMillis(window.from, { zone }),
    DateTime.fromMillis(window.to, { zone }),
    rule.provider,
  );
  const days = starts.length - 1;
  if (days < 2 * rule.minDays) return null;
  const mid = starts[Math.floor(days / 2)]!;
  return [
    inclusiveDayWindow(starts[0]!, mid, zone, rule),
    inclusiveDayWindow(mid, starts[days]!, zone, rule),
  ];
}
