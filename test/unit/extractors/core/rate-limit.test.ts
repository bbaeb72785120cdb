import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../extractors/core/rate-limit.js';

/**
 * A virtual clock: `sleep` parks a timer, `run` repeatedly lets every pending microtask settle
 * and then fires the earliest timer, so time only moves when everything is waiting on it.
 */
function virtualClock() {
  let t = 0;
  const timers: { at: number; order: number; resolve: () => void }[] = [];
  let order = 0;
  const clock = {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: t + Math.max(0, ms), order: order++, resolve });
      }),
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      work.then(
        () => {
          done = true;
        },
        () => {
          done = true;
        },
      );
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        if (done) return work;
        timers.sort((a, b) => a.at - b.at || a.order - b.order);
        const next = timers.shift();
        if (!next) throw new Error('deadlock: work pending but no timer armed');
        t = Math.max(t, next.at);
        next.resolve();
      }
    },
  };
  return clock;
}

describe('RateLimiter', () => {
  it('spaces starts 1/R apart and achieves the full rate under load', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({
      requestsPerSecond: 10,
      concurrency: 3,
      now: clock.now,
      sleep: clock.sleep,
    });
    const starts: number[] = [];
    const n = 50;
    const tasks = Array.from({ length: n }, () =>
      limiter.run(async () => {
        starts.push(clock.now());
        await clock.sleep(50); // each request takes 50 ms
      }),
    );
    await clock.run(Promise.all(tasks));

    expect(starts).toEqual(Array.from({ length: n }, (_, i) => i * 100));
    const elapsedS = clock.now() / 1000;
    // (n-1)/R for the starts plus one request's duration: 4.95 s.
    expect(elapsedS).toBeCloseTo((n - 1) / 10 + 0.05, 6);
    expect(n / elapsedS).toBeGreaterThanOrEqual(0.9 * 10);
    // no half-open one-second window ever holds more than R starts
    for (const s of starts)
      expect(starts.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(10);
  });

  it('never runs more than `concurrency` tasks at once, and reaches that limit', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({
      requestsPerSecond: 100,
      concurrency: 4,
      now: clock.now,
      sleep: clock.sleep,
    });
    let inFlight = 0;
    let maxInFlight = 0;
    const tasks = Array.from({ length: 30 }, (_, i) =>
      limiter.run(async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await clock.sleep(1000 + (i % 3) * 250); // slow requests: concurrency is the binding limit
        inFlight--;
      }),
    );
    await clock.run(Promise.all(tasks));
    expect(maxInFlight).toBe(4);
    expect(inFlight).toBe(0);
    expect(limiter.active).toBe(0);
    expect(limiter.pending).toBe(0);
  });

  it('does not bank unused slots during an idle period', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({
      requestsPerSecond: 2,
      concurrency: 5,
      now: clock.now,
      sleep: clock.sleep,
    });
    const starts: number[] = [];
    const go = () => limiter.run(async () => void starts.push(clock.now()));
    await clock.run(go());
    await clock.run(clock.sleep(10_000));
    await clock.run(Promise.all([go(), go(), go()]));
    expect(starts).toEqual([0, 10_000, 10_500, 11_000]);
  });

  it('does not pace with Infinity requests per second', async () => {
    const slept: number[] = [];
    const limiter = new RateLimiter({
      requestsPerSecond: Number.POSITIVE_INFINITY,
      concurrency: 2,
      sleep: async (ms) => void slept.push(ms),
    });
    await Promise.all(Array.from({ length: 10 }, () => limiter.run(async () => 1)));
    expect(slept).toEqual([]);
  });

  it('propagates a rejection and frees the slot', async () => {
    const limiter = new RateLimiter({ requestsPerSecond: 1000, concurrency: 1 });
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });

  it.each([
    [{ requestsPerSecond: 0, concurrency: 1 }, /requestsPerSecond/],
    [{ requestsPerSecond: -1, concurrency: 1 }, /requestsPerSecond/],
    [{ requestsPerSecond: Number.NaN, concurrency: 1 }, /requestsPerSecond/],
    [{ requestsPerSecond: 1, concurrency: 0 }, /concurrency/],
    [{ requestsPerSecond: 1, concurrency: 1.5 }, /concurrency/],
  ])('rejects %o', (options, message) => {
    expect(() => new RateLimiter(options)).toThrow(message);
  });
});
