/** Per-account token bucket of a simulator: how real providers answer 429. */
export interface SimRateLimit {
  /** Sustained rate; tokens refill continuously. */
  readonly requestsPerSecond: number;
  /** Bucket size (requests allowed at once). Default max(1, requestsPerSecond). */
  readonly burst?: number;
  /** Send `Retry-After` (whole seconds until a token is back) with the 429. Default true. */
  readonly retryAfterSeconds?: boolean;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    readonly limit: SimRateLimit,
    now: number,
  ) {
    if (!(limit.requestsPerSecond > 0)) throw new RangeError('requestsPerSecond must be > 0');
    this.capacity = Math.max(1, limit.burst ?? limit.requestsPerSecond);
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Takes a token: 0 when allowed, else the seconds (>= 1) until one is available. */
  take(now: number): number {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.last) / 1000) * this.limit.requestsPerSecond,
    );
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.limit.requestsPerSecond));
  }
}
