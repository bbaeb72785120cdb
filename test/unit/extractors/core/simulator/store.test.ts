import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GeneratedStore,
  MemoryStore,
  page,
  type SimEntry,
} from '../../../../../extractors/core/simulator/index.js';

const T0 = Date.UTC(2024, 0, 1);
const e = (email: string, minutes: number, extra: Partial<SimEntry> = {}): SimEntry => ({
  email,
  at: T0 + minutes * 60_000,
  ...extra,
});

describe('MemoryStore', () => {
  it('keeps entries sorted by at, then email, and finds windows by binary search', () => {
    const store = new MemoryStore([e('c@x', 5), e('b@x', 1), e('a@x', 5), e('d@x', 9)]);
    expect(store.dump().map((x) => x.email)).toEqual(['b@x', 'a@x', 'c@x', 'd@x']);
    expect(store.rangeIndex(T0 + 5 * 60_000, T0 + 9 * 60_000)).toEqual([1, 3]); // half-open
    expect(store.rangeIndex(T0 + 10 * 60_000, T0)).toEqual([4, 4]); // empty, never inverted
    expect([...store.iterate(1, 3)].map((x) => x.email)).toEqual(['a@x', 'c@x']);
    expect(store.get(3)?.email).toBe('d@x');
    expect(store.get(4)).toBeUndefined();
  });

  it('answers add/remove idempotently, matching addresses trimmed, NFC and case-insensitively', () => {
    const store = new MemoryStore([e(' José@X.test', 1)]);
    expect(store.add(e('jose\u0301@x.test', 2))).toBe('exists');
    expect(store.add(e('jose\u0301@x.test', 2, { listId: '7' }))).toBe('added'); // other scope
    expect(store.size()).toBe(2);
    expect(store.has('JOSÉ@x.test', (x) => x.listId === '7')).toBe(true);
    expect(store.remove('josé@x.test', (x) => x.listId === undefined)).toBe(1);
    expect(store.remove('josé@x.test', (x) => x.listId === undefined)).toBe(0);
    expect(store.dump()).toEqual([e('jose\u0301@x.test', 2, { listId: '7' })]);
    expect(store.removeWhere(() => true)).toBe(1);
    expect(store.has('josé@x.test')).toBe(false);
  });

  it('shrinks by an evenly spread fraction', () => {
    const store = new MemoryStore(Array.from({ length: 10 }, (_, i) => e(`u${i}@x`, i)));
    expect(store.shrink(0.3)).toBe(3);
    expect(store.size()).toBe(7);
    expect(store.dump().map((x) => x.email)).toEqual([
      'u0@x',
      'u1@x',
      'u2@x',
      'u4@x',
      'u5@x',
      'u7@x',
      'u8@x',
    ]);
    expect(() => store.shrink(2)).toThrow(RangeError);
  });

  it('page() skips and limits among filtered rows', () => {
    expect([...page([1, 2, 3, 4, 5, 6], 2, 3)]).toEqual([3, 4, 5]);
    expect([...page([1, 2], 5, 3)]).toEqual([]);
  });
});

describe('GeneratedStore', () => {
  // Three entries per minute: ties in `at` exercise the merge order.
  const gen = (i: number): SimEntry => e(`g${i}@x.test`, Math.floor(i / 3));
  const lookup = (email: string): number[] => {
    const m = /^g(\d+)@x\.test$/.exec(email.trim().toLowerCase());
    return m ? [Number(m[1])] : [];
  };
  const key = (x: SimEntry) => `${x.email}|${x.at}|${x.listId ?? ''}`;

  /** Positional access, windows and size must all agree with a full walk, which must be sorted. */
  const checkConsistent = (store: GeneratedStore, expected: Set<string> | undefined) => {
    const all = [...store.iterate()];
    expect(all.length).toBe(store.size());
    for (let i = 1; i < all.length; i++) expect(all[i]!.at).toBeGreaterThanOrEqual(all[i - 1]!.at);
    if (expected) expect(new Set(all.map(key))).toEqual(expected);
    for (const [lo, hi] of [
      [0, 5],
      [7, 19],
      [all.length - 3, all.length + 2],
    ] as const) {
      expect([...store.iterate(lo, hi)]).toEqual(all.slice(Math.max(0, lo), hi));
    }
    for (const i of [0, 1, Math.floor(all.length / 2), all.length - 1]) expect(store.get(i)).toEqual(all[i]);
    for (const [from, to] of [
      [0, 10],
      [7, 8],
      [33, 1000],
    ] as const) {
      const fromMs = T0 + from * 60_000;
      const toMs = T0 + to * 60_000;
      const lo = all.findIndex((x) => x.at >= fromMs);
      const hiRaw = all.findIndex((x) => x.at >= toMs);
      const l = lo < 0 ? all.length : lo;
      expect(store.rangeIndex(fromMs, toMs)).toEqual([l, Math.max(l, hiRaw < 0 ? all.length : hiRaw)]);
    }
    return all;
  };

  it('behaves like a sorted store under any sequence of adds, removes and shrinks', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('add' as const), minute: fc.integer({ min: -2, max: 70 }), n: fc.nat(50) }),
      fc.record({ t: fc.constant('remove-gen' as const), i: fc.nat(199) }),
      fc.record({ t: fc.constant('remove-added' as const), n: fc.nat(50) }),
      fc.record({ t: fc.constant('shrink' as const), f: fc.constantFrom(0.1, 0.25, 0.5) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const store = new GeneratedStore(200, gen, { lookup });
        let expected: Set<string> | undefined = new Set(Array.from({ length: 200 }, (_, i) => key(gen(i))));
        for (const o of ops) {
          if (o.t === 'add') {
            const entry = e(`a${o.n}@y.test`, o.minute);
            const already = store.has(entry.email);
            expect(store.add(entry)).toBe(already ? 'exists' : 'added');
            if (!already) expected?.add(key(entry));
          } else if (o.t === 'remove-gen') {
            const before = store.size();
            const n = store.remove(`G${o.i}@x.test`);
            expect(store.size()).toBe(before - n);
            if (expected && n === 1) expected.delete(key(gen(o.i)));
            expect(store.remove(`g${o.i}@x.test`)).toBe(0);
          } else if (o.t === 'remove-added') {
            const before = store.size();
            const n = store.remove(`a${o.n}@y.test`);
            expect(store.size()).toBe(before - n);
            if (expected) for (const k of expected) if (k.startsWith(`a${o.n}@y.test|`)) expected.delete(k);
          } else {
            const before = store.size();
            const removed = store.shrink(o.f);
            expect(store.size()).toBe(before - removed);
            expect(removed).toBeGreaterThanOrEqual(Math.floor(before * o.f) - 2);
            expect(removed).toBeLessThanOrEqual(Math.ceil(before * o.f) + 2);
            expected = undefined; // which ones went is the store's choice; consistency still holds
          }
          checkConsistent(store, expected);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('finds generated addresses without a lookup function by scanning', () => {
    const store = new GeneratedStore(50, gen);
    expect(store.has('G7@x.test')).toBe(true);
    expect(store.add(gen(7))).toBe('exists');
    expect(store.removeWhere((x) => x.email.endsWith('0@x.test'))).toBe(5);
    expect(store.size()).toBe(45);
  });

  it('serves 5,000,000 rows without an array: heap growth stays under 50 MB', () => {
    const count = 5_000_000;
    const store = new GeneratedStore(count, (i) => ({ email: `user${i}@bulk.test`, at: T0 + i * 1000 }), {
      lookup: (email) => {
        const m = /^user(\d+)@bulk\.test$/.exec(email);
        return m ? [Number(m[1])] : [];
      },
    });
    store.add({ email: 'late@bulk.test', at: T0 + count * 1000 });
    expect(store.remove('user4999999@bulk.test')).toBe(1);
    expect(store.size()).toBe(count);
    const [lo, hi] = store.rangeIndex(T0 + 2_500_000 * 1000, T0 + 2_500_500 * 1000);
    expect([lo, hi]).toEqual([2_500_000, 2_500_500]);
    expect(store.get(count - 1)?.email).toBe('late@bulk.test');

    globalThis.gc?.();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    let n = 0;
    let last = 0;
    for (const entry of store.iterate()) {
      if (entry.at < last) throw new Error('out of order');
      last = entry.at;
      if (++n % 250_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(n).toBe(count);
    expect(peak - base).toBeLessThan(50 * 1024 * 1024);
  });
});
