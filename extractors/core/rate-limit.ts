/**
 * Per-account request pacing: at most `concurrency` tasks at once (p-limit) and task starts
 * spaced at least 1/`requestsPerSecond` apart.
 *
 * Evenly spaced slots rather than a bursty token bucket: provider limits are stated per second
 * (config `rateLimit.requestsPerSecond`), and spacing never puts more than R starts in any
 * half-open one-second window, so no burst can trip them. Slots are reserved from the previous
 * *reserved* time, not from when a timer actually fired, so late timers do not accumulate
 * drift and a saturated limiter runs at the full rate (N starts take (N-1)/R seconds).
 */
import pLimit, { type LimitFunction } from 'p-limit';

export interface RateLimiterOptions {
  /** Starts per second; `Infinity` disables pacing. Must be > 0. */
  requestsPerSecond: number;
  /** Tasks running at once; a whole number >= 1. */
  concurrency: number;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Waits `ms` milliseconds. Default a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export class RateLimiter {
  readonly requestsPerSecond: number;
  readonly concurrency: number;
  private readonly limit: LimitFunction;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private nextSlot = Number.NEGATIVE_INFINITY;

  /** @throws RangeError when `requestsPerSecond` is not > 0 or `concurrency` is not an integer >= 1. */
  constructor(options: RateLimiterOptions) {
    const { requestsPerSecond, concurrency } = options;
    if (!(requestsPerSecond > 0)) {
      throw new RangeError(`requestsPerSecond must be > 0 (or Infinity), got ${requestsPerSecond}`);
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
    }
    this.requestsPerSecond = requestsPerSecond;
    this.concurrency = concurrency;
    this.intervalMs = 1000 / requestsPerSecond;
    this.limit = pLimit(concurrency);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Tasks holding a concurrency slot (waiting for their rate slot or running). */
  get active(): number {
    return this.limit.activeCount;
  }

  /** Tasks waiting for a concurrency slot. */
  get pending(): number {
    return this.limit.pendingCount;
  }

  /**
   * Runs `task` once a concurrency slot and then a rate slot are free. The concurrency slot is
   * taken first so a reserved rate slot is never wasted waiting for concurrency. The task's
   * rejection propagates unchanged.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      const wait = this.reserve();
      if (wait > 0) await this.sleep(wait);
      return task();
    });
  }

  /** Reserves the next start slot synchronously (no await between read and write) and returns the wait. */
  private reserve(): number {
    if (this.intervalMs === 0) return 0;
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    return slot - now;
  }
}
