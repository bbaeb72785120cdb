/**
 * The one HTTP engine every provider client runs on (DESIGN.md "Extraction"): an injected undici
 * dispatcher, retry as data, timeouts, per-account pacing, charset-aware decoding, redaction of
 * everything that leaves it, and one record per logical request for the `requests` table.
 *
 * Shape follows undici's RetryHandler (docs/docs/api/RetryHandler.md): a policy object with
 * documented defaults, `Retry-After` honoured and capped. The engine owns nothing global: the
 * caller passes the dispatcher (or gets a fresh Agent that `close()` releases).
 */
import { Agent, type Dispatcher } from 'undici';
import { decodeBody, UnsupportedCharsetError } from './decode.js';
import { HttpRequestError, ProviderError } from './errors.js';
import { RateLimiter, realSleep } from './rate-limit.js';
import type { Redactor } from './redact.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** When and how often a failed attempt is tried again. */
export interface RetryPolicy {
  /** Response statuses that are retried (unless listed in the request's `acceptStatuses`). */
  statuses: readonly number[];
  /** `error.code`s of transport failures (connect, socket, timeouts, truncated bodies) that are retried. */
  networkCodes: readonly string[];
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Each further retry waits `factor` times longer... */
  factor: number;
  /** ...up to this. */
  maxDelayMs: number;
  /** 0..1: the backoff delay is scaled by a uniform factor in [1 - jitter, 1]. Never applied to Retry-After. */
  jitter: number;
  /** Wait what a `Retry-After` header asks instead of the backoff delay. */
  honourRetryAfter: boolean;
  /** A longer `Retry-After` is cut to this (a misconfigured server must not stall a run for hours). */
  maxRetryAfterMs: number;
}

/**
 * Defaults. 6 attempts with 500 ms × 2ⁿ backoff span ~15 s before the last try, enough to ride
 * out a provider restart; DESIGN.md asks for at least 4. Jitter 0.5 is "equal jitter" from
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ — spreads
 * concurrent retries without ever retrying immediately.
 *
 * Network codes: resets and timeouts are the DESIGN.md list; ECONNREFUSED and EAI_AGAIN cover a
 * provider or resolver that is briefly down; UND_ERR_SOCKET is how undici reports "other side
 * closed", both before the response and mid-body (a body cut short); the content-length
 * mismatch code is undici's other spelling of a truncated body. ENOTFOUND is not retried: a
 * host that does not resolve is a config error.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  statuses: [429, 500, 502, 503, 504],
  networkCodes: [
    'ECONNRESET',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'EPIPE',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  ],
  maxAttempts: 6,
  baseMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  jitter: 0.5,
  honourRetryAfter: true,
  maxRetryAfterMs: 60_000,
};

/**
 * Failures where the request provably never reached the server (nothing listening, connect
 * timed out, name not resolved), so even a non-idempotent write is safe to send again.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Per-attempt time limits. undici checks headers/body timeouts on a coarse ~0.5 s tick
 * (lib/util/timers.js, RESOLUTION_MS = 1000), so they can fire up to ~1 s late: sub-second
 * values are not precise.
 */
export interface HttpTimeouts {
  /** TCP + TLS connect (undici Agent `connect.timeout`). Only applies to the engine's own Agent. */
  connectMs: number;
  /** From sending the request to the complete response headers (undici `headersTimeout`). */
  headersMs: number;
  /** Longest silence between two body chunks (undici `bodyTimeout`, an idle timer, not a total). */
  bodyMs: number;
}

/** Defaults: the config's per-account `timeoutMs` default is 30 s; undici's own 300 s is too patient for a batch. */
export const DEFAULT_TIMEOUTS: HttpTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

/** 256 MiB: far above any provider page, low enough that a runaway body cannot exhaust memory. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

export interface RequestSpec {
  method: HttpMethod;
  /** Absolute URL. May carry secrets in the query; it is redacted everywhere it is reported. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * Whether sending the request twice is harmless. Default: true for GET and HEAD, false
   * otherwise. A non-idempotent request is retried only after failures that happened before it
   * reached the server (see NEVER_SENT_CODES); writes that are safe to repeat (adding a
   * suppression that already exists) should pass `true`.
   */
  idempotent?: boolean;
  /**
   * Non-2xx statuses handed back (and to `validate`) instead of thrown, for APIs whose useful
   * error body comes with a 4xx. A status listed here is not retried even if the policy lists it.
   */
  acceptStatuses?: readonly number[];
  /** The extraction window this request belongs to, copied to the record. */
  window?: { from: string; to: string };
  /** Default DEFAULT_MAX_BODY_BYTES; a longer body fails with HTTP_BODY (not retried). */
  maxBodyBytes?: number;
  /**
   * Reads the provider's own rate-limit headers (e.g. SendGrid v3's `X-RateLimit-Remaining` and
   * `X-RateLimit-Reset`) into a wait in ms, or undefined when they ask for none. Called for every
   * answer: a wait pauses this engine's next attempts until then (a spent budget is waited out
   * instead of earning a 429), and stands in for a missing `Retry-After` on a retriable status.
   * Capped by the policy's `maxRetryAfterMs`.
   */
  rateLimitWait?: (
    status: number,
    headers: Readonly<Record<string, string>>,
    nowMs: number,
  ) => number | undefined;
}

export interface HttpResponse {
  /** The record's sequence number, to link raw rows to their request. */
  seq: number;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The bytes as received. */
  body: Buffer;
  /** `body` decoded by the declared charset (see decodeBody in decode.ts). */
  text: string;
  /** Declared charset label, lower-cased, or `utf-8` when none was declared. */
  charset: string;
  /** True when the body had bytes invalid in that charset (they are U+FFFD in `text`). */
  malformed: boolean;
  /** Attempts made, this one included. */
  attempts: number;
  /** From the first attempt to the end of this one, backoff included. */
  durationMs: number;
}

/** One attempt inside a logical request. Strings are redacted. */
export interface AttemptRecord {
  attempt: number;
  status: number | null;
  /** `CODE: message` of the failure, or null when this attempt was the answer. */
  error: string | null;
  durationMs: number;
  bytes: number;
  /** Delay waited after this attempt before the next one; null for the last attempt. */
  retryDelayMs: number | null;
}

/** One logical request, for the `requests` table. Every string has passed through the redactor. */
export interface RequestRecord {
  seq: number;
  method: string;
  urlRedacted: string;
  /** Status of the last attempt that got a response, null if none did. */
  status: number | null;
  attempts: number;
  retries: number;
  durationMs: number;
  /** Body bytes of the last attempt. */
  bytes: number;
  /** Why the request failed for good, or null when it succeeded. */
  error: string | null;
  windowFrom: string | null;
  windowTo: string | null;
  /** ISO 8601 UTC. */
  startedAt: string;
  attemptLog: AttemptRecord[];
}

export interface HttpEngineOptions {
  /** Injected dispatcher (an Agent shared by a run, or a MockAgent). Default: a new Agent from `timeouts`, closed by `close()`. */
  dispatcher?: Dispatcher;
  /** Merged over DEFAULT_RETRY. */
  retry?: Partial<RetryPolicy>;
  /** Merged over DEFAULT_TIMEOUTS. */
  timeouts?: Partial<HttpTimeouts>;
  /** Per-account pacing; each *attempt* takes a slot. Ignored when `limiter` is given. Default: none. */
  rateLimit?: { requestsPerSecond: number; concurrency: number };
  /** A limiter shared with other code paths of the same account. */
  limiter?: RateLimiter;
  /** Applied to every URL, body excerpt and error message before it is recorded or thrown. */
  redact: Redactor;
  /** Receives one record per logical request, success or failure, before `request` settles. */
  onRecord?: (record: RequestRecord) => void;
  /** Default: 1, 2, 3, … per engine. */
  nextSeq?: () => number;
  /** Default: setTimeout. Used for backoff and pacing. */
  sleep?: (ms: number) => Promise<void>;
  /** Default Math.random; jitter only. */
  random?: () => number;
  /** Default Date.now; durations, `startedAt` and HTTP-date `Retry-After`. */
  now?: () => number;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into a delay
 * in milliseconds from `nowMs`; a date in the past gives 0. Undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // All three HTTP-date forms (IMF-fixdate, rfc850, asctime) open with a day name; checking
  // that keeps V8's lenient Date.parse from reading "-1" as the year -1.
  if (!/^(?:mon|tue|wed|thu|fri|sat|sun)/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Delay before retry number `retry` (1 = first retry). A honoured Retry-After is used as is,
 * capped, and never jittered: waiting less than the server asked just earns another 429.
 */
export function retryDelay(
  policy: RetryPolicy,
  retry: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  if (policy.honourRetryAfter && retryAfterMs !== undefined) {
    return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseMs * policy.factor ** (retry - 1));
  return Math.round(exp * (1 - policy.jitter * random()));
}

type FailureCode = HttpRequestError['details']['code'];

/** A classified failed attempt; internal to the retry loop. Messages are already redacted. */
interface Failure {
  kind: 'transport' | 'status' | 'provider' | 'rejected';
  code: FailureCode;
  message: string;
  retriable: boolean;
  /** Retriable by kind, but not retried because the request is not idempotent. */
  heldBack: boolean;
  status: number | null;
  bytes: number;
  retryAfterMs?: number;
  /** What to throw when this failure ends the request, if not an HttpRequestError built from the rest. */
  error?: Error;
}

/** What stays the same across the attempts of one logical request. */
interface Call {
  spec: RequestSpec;
  url: URL;
  idempotent: boolean;
  seq: number;
  startedAt: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const EXCERPT_CHARS = 200;

/** Wraps a failure while reading the body, so it is told apart from one before the headers. */
class BodyReadError {
  constructor(readonly cause: unknown) {}
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function normaliseHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Redacts an error's message and stack in place, so the thrown object keeps its class and details. */
function redactError<E extends Error>(error: E, redact: Redactor): E {
  error.message = redact(error.message);
  if (error.stack) error.stack = redact(error.stack);
  return error;
}

export class HttpEngine {
  readonly retry: RetryPolicy;
  readonly timeouts: HttpTimeouts;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly limiter: RateLimiter | undefined;
  private readonly redact: Redactor;
  private readonly onRecord: ((record: RequestRecord) => void) | undefined;
  private readonly nextSeq: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  /** No attempt starts before this instant (epoch ms): set from a request's `rateLimitWait`. */
  private pausedUntil = 0;

  /** @throws RangeError for a retry policy with maxAttempts < 1 or jitter outside 0..1, or a bad rateLimit. */
  constructor(options: HttpEngineOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1) {
      throw new RangeError(`retry.maxAttempts must be a whole number >= 1, got ${this.retry.maxAttempts}`);
    }
    if (!(this.retry.jitter >= 0 && this.retry.jitter <= 1)) {
      throw new RangeError(`retry.jitter must be within 0..1, got ${this.retry.jitter}`);
    }
    this.redact = options.redact;
    this.onRecord = options.onRecord;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    let seq = 0;
    this.nextSeq = options.nextSeq ?? (() => ++seq);
    this.limiter =
      options.limiter ??
      (options.rateLimit
        ? new RateLimiter({ ...options.rateLimit, now: this.now, sleep: this.sleep })
        : undefined);
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        connect: { timeout: this.timeouts.connectMs },
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      this.ownsDispatcher = true;
    }
  }

  /**
   * Sends `spec`, retrying per the policy, and returns the accepted response (2xx, or a status
   * in `spec.acceptStatuses`) once `validate` accepts it.
   *
   * `validate` is where a provider parser classifies errors inside an accepted answer: throwing
   * a ProviderError with family `retriable` retries (same backoff and attempt budget); `fatal` or
   * `skippable` ProviderErrors, and any other error, propagate at once, redacted.
   *
   * @throws HttpRequestError
   *   - HTTP_STATUS: a status that is neither accepted nor retriable (400, 401, 403, 404, …), or a
   *     retriable status on a non-idempotent request; message has a redacted body excerpt.
   *   - HTTP_RETRIES_EXHAUSTED: the server kept answering with a retriable status or a retriable
   *     in-band error for `maxAttempts` attempts (`cause` is the last ProviderError, if any).
   *   - HTTP_TIMEOUT / HTTP_NETWORK / HTTP_BODY: the last transport failure (connect, headers or
   *     body timeout; reset/refused/socket; truncated, over-long or undecodable body) after the
   *     attempts it was allowed.
   * @throws ProviderError from `validate`: non-retriable families, or retriable on a non-idempotent request.
   * @throws TypeError when `spec.url` is not an absolute URL (message redacted).
   */
  async request(spec: RequestSpec, validate?: (response: HttpResponse) => void): Promise<HttpResponse> {
    const seq = this.nextSeq();
    const urlRedacted = this.redact(spec.url);
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new TypeError(`invalid request URL ${JSON.stringify(urlRedacted)}`);
    }
    const idempotent = spec.idempotent ?? (spec.method === 'GET' || spec.method === 'HEAD');
    const startedAt = this.now();
    const attemptLog: AttemptRecord[] = [];
    const record = (status: number | null, bytes: number, error: string | null): void => {
      this.onRecord?.({
        seq,
        method: spec.method,
        urlRedacted,
        status,
        attempts: attemptLog.length,
        retries: attemptLog.length - 1,
        durationMs: this.now() - startedAt,
        bytes,
        error,
        windowFrom: spec.window?.from ?? null,
        windowTo: spec.window?.to ?? null,
        startedAt: new Date(startedAt).toISOString(),
        attemptLog,
      });
    };

    let lastStatus: number | null = null;
    for (let attempt = 1; ; attempt++) {
      const attemptStart = this.now();
      const outcome = await this.attempt({ spec, url, idempotent, seq, startedAt }, attempt, validate);
      const durationMs = this.now() - attemptStart;
      if ('response' in outcome) {
        const { response } = outcome;
        attemptLog.push({
          attempt,
          status: response.status,
          error: null,
          durationMs,
          bytes: response.body.length,
          retryDelayMs: null,
        });
        response.durationMs = this.now() - startedAt;
        record(response.status, response.body.length, null);
        return response;
      }

      const { failure } = outcome;
      if (failure.status !== null) lastStatus = failure.status;
      const entry: AttemptRecord = {
        attempt,
        status: failure.status,
        error: `${failure.code}: ${failure.message}`,
        durationMs,
        bytes: failure.bytes,
        retryDelayMs: null,
      };
      attemptLog.push(entry);

      if (failure.retriable && attempt < this.retry.maxAttempts) {
        const delay = retryDelay(this.retry, attempt, failure.retryAfterMs, this.random);
        entry.retryDelayMs = delay;
        await this.sleep(delay);
        continue;
      }

      const error = this.finalError(spec, failure, urlRedacted, attempt);
      record(lastStatus, failure.bytes, `${errorCode(error) ?? error.name}: ${error.message}`);
      throw error;
    }
  }

  /** Closes the dispatcher if the engine created it; an injected one belongs to the caller. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private finalError(spec: RequestSpec, failure: Failure, urlRedacted: string, attempts: number): Error {
    const exhausted = failure.retriable; // retriable but out of attempts
    if (failure.kind === 'provider' && !exhausted) return failure.error!;
    if (failure.kind === 'rejected') return failure.error!; // validate threw a non-provider error
    const where = `${spec.method} ${urlRedacted}`;
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    if (exhausted && (failure.kind === 'status' || failure.kind === 'provider')) {
      return new HttpRequestError(
        `${where} still failing after ${tries}: ${failure.message}`,
        {
          code: 'HTTP_RETRIES_EXHAUSTED',
          urlRedacted,
          attempts,
          ...(failure.status !== null ? { status: failure.status } : {}),
        },
        failure.error ? { cause: failure.error } : undefined,
      );
    }
    const notRetried = failure.heldBack ? ' (not retried: the request is not marked idempotent)' : '';
    return new HttpRequestError(
      `${where} failed after ${tries}: ${failure.message}${notRetried}`,
      {
        code: failure.code,
        urlRedacted,
        attempts,
        ...(failure.status !== null ? { status: failure.status } : {}),
      },
      failure.error ? { cause: failure.error } : undefined,
    );
  }

  /** One attempt: send, read, decode, validate. Never throws; returns the response or a classified failure. */
  private async attempt(
    call: Call,
    attempt: number,
    validate: ((response: HttpResponse) => void) | undefined,
  ): Promise<{ response: HttpResponse } | { failure: Failure }> {
    const { spec, url, idempotent, seq, startedAt } = call;
    const paused = this.pausedUntil - this.now();
    if (paused > 0) await this.sleep(paused);
    let raw: RawResponse;
    try {
      raw = this.limiter ? await this.limiter.run(() => this.send(spec, url)) : await this.send(spec, url);
    } catch (error) {
      return { failure: this.transportFailure(error, idempotent) };
    }
    const hintedWait = spec.rateLimitWait?.(raw.status, raw.headers, this.now());
    if (hintedWait !== undefined && hintedWait > 0) {
      const until = this.now() + Math.min(hintedWait, this.retry.maxRetryAfterMs);
      this.pausedUntil = Math.max(this.pausedUntil, until);
    }

    const accepted =
      (raw.status >= 200 && raw.status < 300) || (spec.acceptStatuses ?? []).includes(raw.status);
    let decoded: ReturnType<typeof decodeBody> | undefined;
    let decodeError: UnsupportedCharsetError | undefined;
    try {
      decoded = decodeBody(raw.body, raw.headers['content-type']);
    } catch (error) {
      if (!(error instanceof UnsupportedCharsetError)) throw error;
      decodeError = error;
    }

    if (!accepted) {
      const excerpt = this.excerpt(decoded?.text ?? raw.body.toString('latin1'));
      const retriableStatus = this.retry.statuses.includes(raw.status);
      return {
        failure: {
          kind: 'status',
          code: 'HTTP_STATUS',
          message: `HTTP ${raw.status}${excerpt ? `: ${excerpt}` : ''}`,
          retriable: retriableStatus && idempotent,
          heldBack: retriableStatus && !idempotent,
          status: raw.status,
          bytes: raw.body.length,
          ...(retriableStatus
            ? { retryAfterMs: parseRetryAfter(raw.headers['retry-after'], this.now()) ?? hintedWait }
            : {}),
        },
      };
    }
    if (!decoded) {
      return {
        failure: {
          kind: 'transport',
          code: 'HTTP_BODY',
          message: this.redact(decodeError?.message ?? 'undecodable body'),
          retriable: false,
          heldBack: false,
          status: raw.status,
          bytes: raw.body.length,
        },
      };
    }

    const response: HttpResponse = {
      seq,
      status: raw.status,
      headers: raw.headers,
      body: raw.body,
      text: decoded.text,
      charset: decoded.charset,
      malformed: decoded.malformed,
      attempts: attempt,
      durationMs: this.now() - startedAt,
    };
    if (!validate) return { response };
    try {
      validate(response);
      return { response };
    } catch (thrown) {
      const redacted = redactError(thrown instanceof Error ? thrown : new Error(String(thrown)), this.redact);
      if (redacted instanceof ProviderError) {
        const retriable = redacted.details.family === 'retriable';
        return {
          failure: {
            kind: 'provider',
            code: 'HTTP_RETRIES_EXHAUSTED',
            message: redacted.message,
            retriable: retriable && idempotent,
            heldBack: retriable && !idempotent,
            status: raw.status,
            bytes: raw.body.length,
            error: redacted,
          },
        };
      }
      return {
        failure: {
          kind: 'rejected',
          code: 'HTTP_BODY',
          message: redacted.message,
          retriable: false,
          heldBack: false,
          status: raw.status,
          bytes: raw.body.length,
          error: redacted,
        },
      };
    }
  }

  private transportFailure(thrown: unknown, idempotent: boolean): Failure {
    if (thrown instanceof HttpRequestError) {
      // Raised by send() itself (body over maxBodyBytes): final, and its message holds no URL.
      return {
        kind: 'transport',
        code: thrown.details.code,
        message: thrown.message,
        retriable: false,
        heldBack: false,
        status: null,
        bytes: 0,
      };
    }
    const inBody = thrown instanceof BodyReadError;
    const error = inBody ? thrown.cause : thrown;
    const code = errorCode(error);
    const text = error instanceof Error ? `${code ?? error.name}: ${error.message}` : String(error);
    const listed = code !== undefined && this.retry.networkCodes.includes(code);
    const safeToResend = idempotent || (code !== undefined && NEVER_SENT_CODES.has(code));
    return {
      kind: 'transport',
      code:
        code !== undefined && TIMEOUT_CODES.has(code)
          ? 'HTTP_TIMEOUT'
          : inBody
            ? 'HTTP_BODY'
            : 'HTTP_NETWORK',
      message: this.redact(inBody ? `body cut short: ${text}` : text),
      retriable: listed && safeToResend,
      heldBack: listed && !safeToResend,
      status: null,
      bytes: 0,
    };
  }

  /** Sends one request and reads the whole body, bounded by maxBodyBytes. */
  private async send(spec: RequestSpec, url: URL): Promise<RawResponse> {
    const res = await this.dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: spec.method,
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyMs,
    });
    const max = spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        bytes += buf.length;
        if (bytes > max) {
          res.body.destroy();
          throw new HttpRequestError(`response body exceeds maxBodyBytes (${max} bytes)`, {
            code: 'HTTP_BODY',
            urlRedacted: this.redact(spec.url),
            attempts: 0,
            status: res.statusCode,
          });
        }
        chunks.push(buf);
      }
    } catch (error) {
      // Failures after the headers arrived mean the body was cut short: reported as HTTP_BODY.
      throw error instanceof HttpRequestError ? error : new BodyReadError(error);
    }
    return {
      status: res.statusCode,
      headers: normaliseHeaders(res.headers as Record<string, string | string[] | undefined>),
      body: Buffer.concat(chunks, bytes),
    };
  }

  private excerpt(text: string): string {
    const flat = this.redact(text).replace(/\s+/g, ' ').trim();
    return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
  }
}
