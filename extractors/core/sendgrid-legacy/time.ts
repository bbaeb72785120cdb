/**
 * Account-local time for the legacy SendGrid simulators (seeds 000 and 001).
 *
 * `created` is `YYYY-MM-DD HH:MM:SS` with no offset (seed 000/001 "date" row: "MySQL timestamp
 * format"); the zone is undocumented for these endpoints, the Customer Subuser v2 page calls it
 * "Pacific Timezone" (providers/sendgrid-subuser.md §5), so the simulator renders in a per-account
 * zone defaulting to America/Los_Angeles [A]. `days` and `start_date`/`end_date` are read in the
 * same zone [A] (providers/sendgrid-reseller.md §3, issue C:5 never answered).
 */
import { DateTime } from 'luxon';

export const DEFAULT_SENDGRID_TIMEZONE = 'America/Los_Angeles';

const MINUTE = 60_000;
const DAY = 86_400_000;
// Zone transitions fall on quarter-hour UTC instants in every zone tzdb has used since 1970 (e.g.
// Lord Howe switches at 15:30 UTC), so one offset per 15-minute bucket is exact. The cache keeps
// a 5-million-row stream from calling Intl once per row.
const BUCKET = 15 * MINUTE;
const CACHE_LIMIT = 200_000;
const MAX_DAYS_BACK = 200_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

interface ZoneCache {
  /** Per UTC day: the offset when it is the same all day, null when a transition falls inside. */
  readonly days: Map<number, number | null>;
  /** Offset per 15-minute bucket, only for days with a transition. */
  readonly buckets: Map<number, number>;
  /** Last UTC day asked and its offset (null: see buckets): sorted streams stay on one day. */
  lastUtcDay: number;
  lastUtcDayOffset: number | null;
  /** Last local day rendered, as days since the epoch, and its `YYYY-MM-DD ` prefix. */
  lastDay: number;
  lastDayText: string;
}

const zoneCaches = new Map<string, ZoneCache>();

function cacheFor(zone: string): ZoneCache {
  let cache = zoneCaches.get(zone);
  if (!cache) {
    cache = {
      days: new Map(),
      buckets: new Map(),
      lastUtcDay: Number.NaN,
      lastUtcDayOffset: null,
      lastDay: Number.NaN,
      lastDayText: '',
    };
    zoneCaches.set(zone, cache);
  }
  return cache;
}

/** Offset at one instant, from Intl (slow: cached by the callers). */
function offsetAt(at: number, zone: string): number {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(at))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const asUtc = Date.UTC(
    year,
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - at;
}

const remember = <K, V>(map: Map<K, V>, key: K, value: V): V => {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
  return value;
};

/** Offset of `zone` from UTC at instant `ms`, in milliseconds (local = utc + offset). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const cache = cacheFor(zone);
  const utcDay = Math.floor(ms / DAY);
  if (utcDay !== cache.lastUtcDay) {
    let whole = cache.days.get(utcDay);
    if (whole === undefined) {
      // Two probes per day: equal offsets at its first and last quarter-hour mean no transition.
      const first = offsetAt(utcDay * DAY, zone);
      whole = remember(
        cache.days,
        utcDay,
        first === offsetAt((utcDay + 1) * DAY - BUCKET, zone) ? first : null,
      );
    }
    cache.lastUtcDay = utcDay;
    cache.lastUtcDayOffset = whole;
  }
  if (cache.lastUtcDayOffset !== null) return cache.lastUtcDayOffset;
  const bucket = Math.floor(ms / BUCKET);
  return cache.buckets.get(bucket) ?? remember(cache.buckets, bucket, offsetAt(bucket * BUCKET, zone));
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * `YYYY-MM-DD HH:MM:SS` of instant `ms` in `zone` (seconds truncated, as MySQL DATETIME shows
 * them). Hot path of every listing (5M rows): the day prefix and the offset are cached.
 */
export function formatCreated(ms: number, zone: string): string {
  const cache = cacheFor(zone);
  const local = ms + zoneOffsetMs(ms, zone);
  const day = Math.floor(local / DAY);
  if (day !== cache.lastDay) {
    cache.lastDay = day;
    cache.lastDayText = `${new Date(day * DAY).toISOString().slice(0, 10)} `;
  }
  const seconds = Math.floor((local - day * DAY) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${cache.lastDayText}${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[seconds % 60]}`;
}

/** The local calendar date (`YYYY-MM-DD`) of instant `ms` in `zone`. */
export function localDate(ms: number, zone: string): string {
  return formatCreated(ms, zone).slice(0, 10);
}

/**
 * UTC instant at which local day `date` (`YYYY-MM-DD`) begins in `zone`. Where midnight falls in
 * a DST gap the day starts at the first existing instant (luxon moves forward).
 */
export function localDayStart(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').toMillis();
}

/** `date` plus `n` calendar days (`YYYY-MM-DD`). */
export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
}

/** A half-open UTC instant window `[from, to)`. */
export interface InstantWindow {
  from: number;
  to: number;
}

/**
 * `days=N` covers today and the N−1 local days before it (Web API v2 unsubscribes.get: "number of
 * days in the past … including today", providers/sendgrid-subuser.md §3b).
 */
export function windowForDays(days: number, nowMs: number, zone: string): InstantWindow {
  const today = localDate(nowMs, zone);
  // Beyond ~500 years the date would leave the range Date can hold; the window is "everything".
  const back = Math.min(days, MAX_DAYS_BACK) - 1;
  return {
    from: localDayStart(addDays(today, -back), zone),
    to: localDayStart(addDays(today, 1), zone),
  };
}

/**
 * `start_date`/`end_date` cover both days whole (end inclusive) [A]: the docs only say start must
 * be "earlier than" end; an inclusive end is what a "date range" reads as and it is the choice in
 * providers/sendgrid-reseller.md §9. A client that wants `[from, to)` therefore asks
 * `end_date = to − 1 day` and must still filter, since a one-day range cannot be asked with dates.
 */
export function windowForDates(startDate: string, endDate: string, zone: string): InstantWindow {
  return { from: localDayStart(startDate, zone), to: localDayStart(addDays(endDate, 1), zone) };
}

/** True when `date` is `YYYY-MM-DD` and a real calendar date. */
export function isCalendarDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}

/** True when `zone` is an IANA zone this runtime knows. */
export function isKnownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
