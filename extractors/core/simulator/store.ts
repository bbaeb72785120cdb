/**
 * Per-account suppression state of a provider simulator, kept sorted by unsubscribe instant so a
 * page is "binary-search the window, then walk `limit` entries": constant memory per request,
 * whatever the account size.
 *
 * Two implementations of one interface:
 *  - {@link MemoryStore}: a sorted array, for fixtures and accounts up to ~1M entries;
 *  - {@link GeneratedStore}: entry i is computed on demand by a function, with an overlay for adds
 *    and removes, for benchmark accounts of millions of rows that must never exist as an array.
 *
 * Order: ascending `at`; ties in a stable, deterministic order (MemoryStore: then by `email` code
 * units; GeneratedStore: generated entries in index order, then overlay adds by `email`).
 */

/** One suppression as the provider holds it. */
export interface SimEntry {
  /** Exactly as the provider returns it: may carry spaces, upper case, NFD, non-Latin-1. */
  readonly email: string;
  /** Unsubscribe instant, epoch ms UTC. The provider renders it in its own zone/format. */
  readonly at: number;
  /** List-level opt-out (WhatCounts); undefined = global. */
  readonly listId?: string;
  /** Label / category id (SendCloud `labelId`). */
  readonly label?: string;
  /** Sub-user the row belongs to (SendCloud `apiUser`). */
  readonly apiUser?: string;
  /** Provider expiry, epoch ms UTC (SendCloud `expireTime`). The store never filters on it. */
  readonly expiresAt?: number;
}

export type EntryPredicate = (entry: SimEntry) => boolean;
export type AddResult = 'added' | 'exists';

/** How addresses are compared by `has`/`add`/`remove`: trimmed, NFC, lower case by default. */
export type EmailKey = (email: string) => string;
export const defaultEmailKey: EmailKey = (email) => email.trim().normalize('NFC').toLowerCase();

/** Same scope = same list, label and apiUser: the default "already exists" test of `add`. */
export const sameScope = (a: SimEntry, b: SimEntry): boolean =>
  a.listId === b.listId && a.label === b.label && a.apiUser === b.apiUser;

export interface SimStore {
  /** Number of entries. */
  size(): number;
  /** Positions `[lo, hi)` of the entries with `fromMs <= at < toMs` (binary search). */
  rangeIndex(fromMs: number, toMs: number): [lo: number, hi: number];
  /** The entry at position i, or undefined outside `[0, size())`. O(log n). */
  get(i: number): SimEntry | undefined;
  /**
   * Lazily walks positions `[lo, hi)` (defaults: whole store), yielding those passing `filter`.
   * Positions count unfiltered entries; for an offset among filtered rows use {@link page}.
   */
  iterate(lo?: number, hi?: number, filter?: EntryPredicate): Generator<SimEntry, void, undefined>;
  /** First entry whose address matches `email` (see {@link EmailKey}) and `pred`. */
  find(email: string, pred?: EntryPredicate): SimEntry | undefined;
  has(email: string, pred?: EntryPredicate): boolean;
  /**
   * Inserts in order unless an entry with the same address and `same(existing, entry)` exists
   * (default {@link sameScope}); idempotent: a second identical add answers 'exists'.
   */
  add(entry: SimEntry, same?: (existing: SimEntry, entry: SimEntry) => boolean): AddResult;
  /** Removes every entry with this address passing `pred`; returns how many (0 = absent). */
  remove(email: string, pred?: EntryPredicate): number;
  /** Removes every entry passing `pred`; returns how many. */
  removeWhere(pred: EntryPredicate): number;
  /**
   * Deterministically removes `fraction` (0..1) of the entries, spread evenly over the time range
   * (the "sudden shrink" fault, for delete-safety tests). Returns how many were removed.
   */
  shrink(fraction: number): number;
  /** The first `max` entries (default 10 000) in order, for state dumps and test assertions. */
  dump(max?: number): SimEntry[];
}

/** Yields `limit` entries of `source` after skipping `offset` (offset/limit among filtered rows). */
export function* page<T>(source: Iterable<T>, offset: number, limit: number): Generator<T, void, undefined> {
  if (limit <= 0) return;
  let skipped = 0;
  let taken = 0;
  for (const item of source) {
    if (skipped < offset) {
      skipped++;
      continue;
    }
    yield item;
    if (++taken >= limit) return;
  }
}

/** Entry i of an evenly spread `fraction` is dropped iff floor((i+1)f) > floor(i f). */
const shrinkDrops = (i: number, fraction: number): boolean =>
  Math.floor((i + 1) * fraction) > Math.floor(i * fraction);

const checkFraction = (fraction: number): void => {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`shrink fraction ${fraction} is not in [0, 1]`);
};

const compareEntries = (a: SimEntry, b: SimEntry): number =>
  a.at - b.at || (a.email < b.email ? -1 : a.email > b.email ? 1 : 0);

/** Sorted in-memory store. Inserts and removes are O(n) (array splice): fine for fixtures. */
export class MemoryStore implements SimStore {
  private entries: SimEntry[];
  private byEmail = new Map<string, SimEntry[]>();

  constructor(
    entries: Iterable<SimEntry> = [],
    private readonly emailKey: EmailKey = defaultEmailKey,
  ) {
    this.entries = [...entries].map((e) => Object.freeze({ ...e })).sort(compareEntries);
    this.reindex();
  }

  size(): number {
    return this.entries.length;
  }

  /** First position whose `at >= ms` (size() if none). */
  lowerBoundAt(ms: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.at < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  rangeIndex(fromMs: number, toMs: number): [number, number] {
    const lo = this.lowerBoundAt(fromMs);
    return [lo, Math.max(lo, this.lowerBoundAt(toMs))];
  }

  get(i: number): SimEntry | undefined {
    return this.entries[i];
  }

  *iterate(lo = 0, hi = this.entries.length, filter?: EntryPredicate): Generator<SimEntry, void, undefined> {
    for (let i = Math.max(0, lo); i < hi; i++) {
      const entry = this.entries[i];
      if (entry === undefined) return;
      if (!filter || filter(entry)) yield entry;
    }
  }

  find(email: string, pred?: EntryPredicate): SimEntry | undefined {
    return this.byEmail.get(this.emailKey(email))?.find((e) => !pred || pred(e));
  }

  has(email: string, pred?: EntryPredicate): boolean {
    return this.find(email, pred) !== undefined;
  }

  add(entry: SimEntry, same: (existing: SimEntry, entry: SimEntry) => boolean = sameScope): AddResult {
    if (this.find(entry.email, (e) => same(e, entry))) return 'exists';
    const frozen = Object.freeze({ ...entry });
    // upper bound: after every entry that sorts <= the new one, so equal keys keep insertion order
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntries(this.entries[mid]!, frozen) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, frozen);
    const key = this.emailKey(frozen.email);
    const list = this.byEmail.get(key);
    if (list) list.push(frozen);
    else this.byEmail.set(key, [frozen]);
    return 'added';
  }

  remove(email: string, pred?: EntryPredicate): number {
    const key = this.emailKey(email);
    const list = this.byEmail.get(key);
    if (!list) return 0;
    const doomed = new Set(list.filter((e) => !pred || pred(e)));
    if (doomed.size === 0) return 0;
    for (const entry of doomed) {
      const i = this.entries.indexOf(entry, this.lowerBoundAt(entry.at));
      if (i >= 0) this.entries.splice(i, 1);
    }
    const rest = list.filter((e) => !doomed.has(e));
    if (rest.length > 0) this.byEmail.set(key, rest);
    else this.byEmail.delete(key);
    return doomed.size;
  }

  removeWhere(pred: EntryPredicate): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !pred(e));
    if (this.entries.length !== before) this.reindex();
    return before - this.entries.length;
  }

  shrink(fraction: number): number {
    checkFraction(fraction);
    const before = this.entries.length;
    this.entries = this.entries.filter((_, i) => !shrinkDrops(i, fraction));
    this.reindex();
    return before - this.entries.length;
  }

  dump(max = 10_000): SimEntry[] {
    return this.entries.slice(0, max);
  }

  private reindex(): void {
    this.byEmail.clear();
    for (const entry of this.entries) {
      const key = this.emailKey(entry.email);
      const list = this.byEmail.get(key);
      if (list) list.push(entry);
      else this.byEmail.set(key, [entry]);
    }
  }
}

export interface GeneratedStoreOptions {
  /**
   * Base indexes whose generated address matches `email` (compared by `emailKey`). Without it,
   * `find`/`has`/`remove` scan every generated entry: O(count).
   */
  lookup?: (email: string) => readonly number[];
  emailKey?: EmailKey;
}

/**
 * `count` entries where entry i is `gen(i)`, computed on demand; `gen` must be pure and its `at`
 * non-decreasing in i. Adds go to an overlay {@link MemoryStore}; removes of generated entries
 * are a sorted index list; `shrink` is arithmetic. Memory: O(adds + removes), never O(count).
 * `removeWhere` and address lookups without `lookup` scan all entries (O(count) time, not memory).
 */
export class GeneratedStore implements SimStore {
  private readonly added: MemoryStore;
  /** Sorted base indexes removed explicitly (only ones still alive after the shrinks). */
  private removed: number[] = [];
  private readonly shrinks: number[] = [];
  private readonly emailKey: EmailKey;

  constructor(
    private readonly count: number,
    private readonly gen: (i: number) => SimEntry,
    private readonly options: GeneratedStoreOptions = {},
  ) {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count ${count} is not an integer >= 0`);
    this.emailKey = options.emailKey ?? defaultEmailKey;
    this.added = new MemoryStore([], this.emailKey);
  }

  size(): number {
    return this.liveBefore(this.count) + this.added.size();
  }

  rangeIndex(fromMs: number, toMs: number): [number, number] {
    const lo = this.positionOfAt(fromMs);
    return [lo, Math.max(lo, this.positionOfAt(toMs))];
  }

  get(i: number): SimEntry | undefined {
    if (i < 0) return undefined;
    return this.iterate(i, i + 1).next().value ?? undefined;
  }

  *iterate(lo = 0, hi = this.size(), filter?: EntryPredicate): Generator<SimEntry, void, undefined> {
    lo = Math.max(0, lo);
    if (hi <= lo) return;
    // Seek: the largest base index b whose cursor position (entries before it) is <= lo.
    let left = 0;
    let right = this.count;
    while (left < right) {
      const mid = (left + right + 1) >>> 1;
      if (this.cursorPosition(mid) <= lo) left = mid;
      else right = mid - 1;
    }
    let b = left;
    let a = this.addedBefore(b);
    let position = this.cursorPosition(b);
    const addedSize = this.added.size();
    let base: SimEntry | undefined;
    let baseIndex = -1;
    while (position < hi && (b < this.count || a < addedSize)) {
      if (b < this.count && !this.isLive(b)) {
        b++;
        continue;
      }
      if (b < this.count && baseIndex !== b) {
        base = this.gen(b);
        baseIndex = b;
      }
      const extra = a < addedSize ? this.added.get(a) : undefined;
      let next: SimEntry;
      if (b < this.count && base !== undefined && (extra === undefined || base.at <= extra.at)) {
        next = base;
        b++;
      } else if (extra !== undefined) {
        next = extra;
        a++;
      } else return;
      if (position++ >= lo && (!filter || filter(next))) yield next;
    }
  }

  find(email: string, pred?: EntryPredicate): SimEntry | undefined {
    const extra = this.added.find(email, pred);
    if (extra) return extra;
    for (const i of this.baseMatches(email)) {
      const entry = this.gen(i);
      if (!pred || pred(entry)) return entry;
    }
    return undefined;
  }

  has(email: string, pred?: EntryPredicate): boolean {
    return this.find(email, pred) !== undefined;
  }

  add(entry: SimEntry, same: (existing: SimEntry, entry: SimEntry) => boolean = sameScope): AddResult {
    if (this.find(entry.email, (e) => same(e, entry))) return 'exists';
    return this.added.add(entry, same);
  }

  remove(email: string, pred?: EntryPredicate): number {
    let n = this.added.remove(email, pred);
    for (const i of [...this.baseMatches(email)]) {
      if (!pred || pred(this.gen(i))) {
        this.markRemoved(i);
        n++;
      }
    }
    return n;
  }

  removeWhere(pred: EntryPredicate): number {
    let n = this.added.removeWhere(pred);
    for (let i = 0; i < this.count; i++) {
      if (this.isLive(i) && pred(this.gen(i))) {
        this.markRemoved(i);
        n++;
      }
    }
    return n;
  }

  shrink(fraction: number): number {
    checkFraction(fraction);
    const before = this.size();
    this.shrinks.push(fraction);
    this.removed = this.removed.filter((i) => this.shrinkLive(i));
    this.added.shrink(fraction);
    return before - this.size();
  }

  dump(max = 10_000): SimEntry[] {
    return [...this.iterate(0, max)];
  }

  /** Generated indexes still alive whose address matches. */
  private *baseMatches(email: string): Generator<number, void, undefined> {
    if (this.options.lookup) {
      for (const i of this.options.lookup(email)) if (i >= 0 && i < this.count && this.isLive(i)) yield i;
      return;
    }
    const key = this.emailKey(email);
    for (let i = 0; i < this.count; i++) {
      if (this.isLive(i) && this.emailKey(this.gen(i).email) === key) yield i;
    }
  }

  /** Generated entries before index b surviving the shrinks (ranks are re-thinned per shrink). */
  private shrinkLiveBefore(b: number): number {
    let n = b;
    for (const f of this.shrinks) n -= Math.floor(n * f);
    return n;
  }

  private shrinkLive(b: number): boolean {
    return this.shrinkLiveBefore(b + 1) > this.shrinkLiveBefore(b);
  }

  private removedBefore(b: number): number {
    let lo = 0;
    let hi = this.removed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.removed[mid]! < b) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private isLive(b: number): boolean {
    if (!this.shrinkLive(b)) return false;
    const r = this.removedBefore(b);
    return this.removed[r] !== b;
  }

  private markRemoved(b: number): void {
    const r = this.removedBefore(b);
    if (this.removed[r] !== b) this.removed.splice(r, 0, b);
  }

  /** Live generated entries before index b. */
  private liveBefore(b: number): number {
    return this.shrinkLiveBefore(b) - this.removedBefore(b);
  }

  /** Overlay entries that come before generated index b (ties: generated first). */
  private addedBefore(b: number): number {
    if (b === 0) return 0;
    if (b >= this.count) return this.added.size();
    return this.added.lowerBoundAt(this.gen(b).at);
  }

  /** Merged position of the cursor standing before generated index b. Non-decreasing in b. */
  private cursorPosition(b: number): number {
    return this.liveBefore(b) + this.addedBefore(b);
  }

  /** Merged position of the first entry with `at >= ms`. */
  private positionOfAt(ms: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.gen(mid).at < ms) lo = mid + 1;
      else hi = mid;
    }
    return this.liveBefore(lo) + this.added.lowerBoundAt(ms);
  }
}

/** A {@link MemoryStore} from entries (any order). */
export const createStore = (entries: Iterable<SimEntry> = [], emailKey?: EmailKey): MemoryStore =>
  new MemoryStore(entries, emailKey);
