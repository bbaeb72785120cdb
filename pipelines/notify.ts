/**
 * `notify.webhook`: after a nightly run, POST its summary (the same JSON object `nightly --json`
 * prints) to a URL, through the one HTTP engine (extractors/core/http.ts) with its retries.
 *
 * A webhook URL usually carries its token (Slack, Teams, a CI trigger), so the URL is never
 * shown: messages name only its origin ({@link webhookLabel}), and config.ts has put every
 * secret-bearing part of it into the redactor's secrets.
 */
import type { Dispatcher } from 'undici';
import { HttpRequestError, UnsubReconError } from '../extractors/core/errors.js';
import { HttpEngine, type HttpTimeouts, type RetryPolicy } from '../extractors/core/http.js';
import type { Redactor } from '../extractors/core/redact.js';
import { jsonReplacer } from './output.js';

/**
 * 5 attempts, 1 s doubling: rides out a receiver restarting for ~15 s. A notification sent twice
 * is harmless next to one never sent, so the POST is retried like an idempotent request.
 */
export const NOTIFY_RETRY: Partial<RetryPolicy> = { maxAttempts: 5, baseMs: 1000, maxRetryAfterMs: 30_000 };
export const NOTIFY_TIMEOUTS: Partial<HttpTimeouts> = {
  connectMs: 10_000,
  headersMs: 15_000,
  bodyMs: 15_000,
};

/** The webhook did not accept the summary after every retry. */
export class NotifyError extends UnsubReconError {
  readonly code = 'NOTIFY_FAILED';
}

export interface NotifyResult {
  status: 'sent' | 'failed';
  /** Origin only: `https://hooks.example.com/***`. */
  target: string;
  attempts: number;
  http_status: number | null;
  /** Redacted; set when status is `failed`. */
  error: string | null;
  duration_ms: number;
}

export interface NotifyOptions {
  redact: Redactor;
  /** Merged over NOTIFY_RETRY (tests shorten the backoff). */
  retry?: Partial<RetryPolicy>;
  dispatcher?: Dispatcher;
}

/** The URL's scheme, host and port, with `/***` when it has a path or query (where tokens live). */
export function webhookLabel(url: string): string {
  const parsed = new URL(url);
  const hidden = `${parsed.pathname}${parsed.search}`.length > 1 || parsed.username !== '';
  return `${parsed.origin}${hidden ? '/***' : ''}`;
}

/**
 * POSTs `summary` as `application/json` to `webhook`. Any 2xx is success; 429 and 5xx, resets and
 * timeouts are retried (NOTIFY_RETRY); other statuses fail at once. Never throws for the
 * receiver's failure: it is in the result, so the caller decides the exit code.
 */
export async function postSummary(
  webhook: string,
  summary: Record<string, unknown>,
  options: NotifyOptions,
): Promise<NotifyResult> {
  const started = Date.now();
  const target = webhookLabel(webhook);
  const http = new HttpEngine({
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    retry: { ...NOTIFY_RETRY, ...options.retry },
    timeouts: NOTIFY_TIMEOUTS,
    redact: options.redact,
  });
  try {
    const response = await http.request({
      method: 'POST',
      url: webhook,
      headers: { 'content-type': 'application/json', 'user-agent': 'unsub-recon' },
      body: JSON.stringify(summary, jsonReplacer),
      idempotent: true,
    });
    return {
      status: 'sent',
      target,
      attempts: response.attempts,
      http_status: response.status,
      error: null,
      duration_ms: Date.now() - started,
    };
  } catch (error) {
    const details = error instanceof HttpRequestError ? error.details : undefined;
    return {
      status: 'failed',
      target,
      attempts: details?.attempts ?? 1,
      http_status: details?.status ?? null,
      error: options.redact(`${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}`),
      duration_ms: Date.now() - started,
    };
  } finally {
    await http.close();
  }
}
