/**
 * The one extraction engine every provider module runs through (DESIGN.md "Extraction"):
 * windows from the provider's planner → pages from its paginator → requests through the
 * account's own HttpEngine (retries, rate limit, redaction, request log) → rows parsed by the
 * provider → staged in bulk with lineage → a completeness record per account.
 *
 * Failure policy, per account (the others go on):
 *  - a fatal provider error (bad credentials) stops the account: status `failed`;
 *  - any other window failure (retries exhausted, paging loop, unparseable answer, a skippable
 *    provider error) is recorded with the window and the account ends `incomplete`;
 *  - a window that times out or that the provider calls too large is split in two, and the
 *    shrink is logged;
 *  - only `complete` accounts keep their staged rows; the rows of a failed or incomplete
 *    account are removed before the run commits (its request log and window records stay, as
 *    evidence), so the warehouse never holds a partial snapshot and the watermark does not move.
 */
import type { Dispatcher } from 'undici';
import type { AccountConfig } from './config.js';
import { HttpRequestError, ProviderError, UnsubReconError, WindowError } from './errors.js';
import { HttpEngine, type HttpTimeouts, type RequestRecord, type RetryPolicy } from './http.js';
import { fingerprint, paginate } from './paginate.js';
import type { ExtractContext, ExtractWindow, ParsedPage, ProviderModule } from './provider.js';
import type { Redactor } from './redact.js';
import { RawRowStager, type StagedRequest, stageRequests, tsValue } from './staging.js';
import type { InstantRange, ProviderId } from './types.js';
import type { Warehouse } from './warehouse.js';
import { coverageGaps, parseLocalDateTime } from './windows.js';

const DAY_MS = 86_400_000;

export type ExtractMode = 'full' | 'incremental' | 'range';

export interface ExtractRequest {
  mode: ExtractMode;
  /**
   * For mode 'range': `from` and optional `to` (default now) as `YYYY-MM-DD` (local midnight in
   * each account's zone) or an ISO 8601 instant with offset; the range is [from, to).
   */
  from?: string;
  to?: string;
}

/** An instant from a CLI date: `YYYY-MM-DD` is local midnight in `zone`. Throws WindowError. */
export function resolveDate(text: string, zone: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return parseLocalDateTime(text, zone);
  const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(instant)) {
    throw new WindowError(
      `date ${JSON.stringify(text)} is not YYYY-MM-DD or an ISO 8601 instant with a zone (2024-05-01T00:00:00Z)`,
    );
  }
  return instant;
}

export interface WindowOutcome {
  windowNo: number;
  window: ExtractWindow;
  pages: number;
  rows: number;
  providerTotal: number | null;
  stopRule: string | null;
  status: 'complete' | 'failed' | 'split';
  error: string | null;
}

export interface AccountExtraction {
  accountId: string;
  provider: ProviderId;
  mode: 'full' | 'incremental' | 'range';
  range: InstantRange;
  status: 'complete' | 'incomplete' | 'failed';
  windows: number;
  windowsFailed: number;
  requests: number;
  retries: number;
  rows: number;
  bytes: number;
  shrinks: number;
  coverageOk: boolean;
  durationMs: number;
  /** Redacted; set when the account is not complete. */
  error: string | null;
  windowOutcomes: WindowOutcome[];
}

export type ExtractEvent =
  | { type: 'account-start'; accountId: string; windows: number; range: InstantRange; mode: string }
  | { type: 'window-done'; accountId: string; windowsDone: number; windowsTotal: number; rows: number }
  | { type: 'window-split'; accountId: string; window: InstantRange; reason: string }
  | { type: 'window-failed'; accountId: string; window: InstantRange; scope: string; error: string }
  | {
      type: 'account-done';
      accountId: string;
      status: AccountExtraction['status'];
      rows: number;
      error: string | null;
    };

export interface ExtractOptions {
  warehouse: Warehouse;
  runId: string;
  accounts: readonly AccountConfig[];
  providers: Readonly<Record<ProviderId, ProviderModule>>;
  request: ExtractRequest;
  /** End of incremental and full ranges, epoch ms (default Date.now()). */
  now?: number;
  /** Full redactor (values and names), for messages. */
  redact: Redactor;
  /** Value-only redactor, for provider data (see redact.ts). */
  redactValues: Redactor;
  /** Tests inject a dispatcher; by default each account's engine has its own undici Agent. */
  dispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<HttpTimeouts>;
  onEvent?: (event: ExtractEvent) => void;
}

/**
 * Extracts every given account into the warehouse's staging tables under `runId`, and writes
 * their completeness records. Never throws for a provider's failure (it is in the result);
 * throws for warehouse errors.
 */
export async function extractAccounts(options: ExtractOptions): Promise<AccountExtraction[]> {
  const now = options.now ?? Date.now();
  const { warehouse, runId } = options;

  // Serial warehouse work first: the connection is not shared by concurrent statements.
  const plans = [];
  for (const account of options.accounts) {
    const { mode, range } = await rangeFor(warehouse, account, options.request, now);
    const stager = await RawRowStager.open(
      warehouse.connection,
      { runId, accountId: account.id, provider: account.provider },
      options.redactValues,
      { recordsPath: options.providers[account.provider]?.recordsPath },
    );
    plans.push({ account, mode, range, stager });
  }

  const results = await Promise.all(
    plans.map(({ account, mode, range, stager }) =>
      extractAccount({
        ...options,
        now,
        account,
        mode,
        range,
        stager,
        module: options.providers[account.provider],
      }),
    ),
  );

  for (const [i, result] of results.entries()) {
    if (result.extraction.status === 'complete') await plans[i]!.stager.close();
    else await plans[i]!.stager.discard();
    await stageRequests(warehouse.connection, runId, result.requestLog);
    await recordExtraction(warehouse, runId, result.extraction);
    if (result.extraction.status !== 'complete') {
      await warehouse.run('DELETE FROM stage_raw_rows WHERE run_id = $1 AND account_id = $2', [
        runId,
        result.extraction.accountId,
      ]);
    }
  }
  return results.map((r) => r.extraction);
}

/** The range an account's extraction covers, and the mode it was read in. */
async function rangeFor(
  warehouse: Warehouse,
  account: AccountConfig,
  request: ExtractRequest,
  now: number,
): Promise<{ mode: AccountExtraction['mode']; range: InstantRange }> {
  if (request.mode === 'range') {
    const from = resolveDate(request.from!, account.timezone);
    const to = request.to ? resolveDate(request.to, account.timezone) : now;
    if (from >= to) {
      throw new WindowError(
        `--from ${request.from} is not before --to ${request.to ?? 'now'} (account ${account.id}, ${account.timezone})`,
      );
    }
    return { mode: 'range', range: { from, to } };
  }
  const since = parseLocalDateTime(account.since, account.timezone);
  if (request.mode === 'full') return { mode: 'full', range: { from: since, to: now } };
  const [row] = await warehouse.all<{ watermark: Date | null }>(
    `SELECT max(e.range_to) AS watermark
       FROM stage_extractions e JOIN runs r USING (run_id)
      WHERE e.account_id = $1 AND e.status = 'complete' AND r.status IN ('succeeded', 'partial')`,
    [account.id],
  );
  const watermark = row?.watermark ? row.watermark.getTime() : null;
  // No complete extraction yet: the first incremental run is a full one.
  if (watermark === null) return { mode: 'full', range: { from: since, to: now } };
  const from = Math.max(since, watermark - account.lookbackDays * DAY_MS);
  return { mode: 'incremental', range: { from: Math.min(from, now), to: now } };
}

interface AccountRun extends ExtractOptions {
  now: number;
  account: AccountConfig;
  mode: AccountExtraction['mode'];
  range: InstantRange;
  stager: RawRowStager;
  module: ProviderModule;
}

class AccountStopped extends Error {}

async function extractAccount(
  run: AccountRun,
): Promise<{ extraction: AccountExtraction; requestLog: StagedRequest[] }> {
  const { account, module, stager, range } = run;
  const started = Date.now();
  const requestLog: StagedRequest[] = [];
  const bySeq = new Map<number, StagedRequest>();
  const http = new HttpEngine({
    ...(run.dispatcher ? { dispatcher: run.dispatcher } : {}),
    ...(run.retry ? { retry: run.retry } : {}),
    timeouts: { headersMs: account.timeoutMs, bodyMs: account.timeoutMs, ...run.timeouts },
    rateLimit: account.rateLimit,
    redact: run.redact,
    onRecord: (record: RequestRecord) => {
      const staged: StagedRequest = { ...record, accountId: account.id, rows: null, page: null };
      requestLog.push(staged);
      bySeq.set(record.seq, staged);
    },
  });
  const ctx: ExtractContext = { account, now: run.now };
  const outcomes: WindowOutcome[] = [];
  let fatal: string | null = null;
  let shrinks = 0;
  let windowNo = 0;
  let done = 0;
  let bytes = 0;

  let planned: ExtractWindow[];
  try {
    planned = module.planWindows(range, ctx);
  } catch (error) {
    planned = [];
    fatal = messageOf(error, run.redact);
  }
  let total = planned.length;
  run.onEvent?.({ type: 'account-start', accountId: account.id, windows: total, range, mode: run.mode });

  const readWindow = async (window: ExtractWindow): Promise<void> => {
    if (fatal !== null) throw new AccountStopped();
    const outcome: WindowOutcome = {
      windowNo: ++windowNo,
      window,
      pages: 0,
      rows: 0,
      providerTotal: null,
      stopRule: null,
      status: 'complete',
      error: null,
    };
    outcomes.push(outcome);
    try {
      const pages = paginate<unknown, ParsedPage>({
        paginator: module.paginator(window, ctx),
        fetchPage: async (pageRequest, pageNo) => {
          let parsed: ParsedPage | undefined;
          const response = await http.request(
            {
              ...module.request(window, pageRequest, ctx),
              window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
            },
            (res) => {
              parsed = module.parse(res, window, ctx);
            },
          );
          const page = parsed!;
          const record = bySeq.get(response.seq);
          if (record) {
            record.rows = page.rows.length;
            record.page = pageNo;
          }
          bytes += response.body.length;
          stager.add({
            requestSeq: response.seq,
            page: pageNo,
            window,
            fetchedAt: Date.now(),
            rows: page.rows,
            body: response.text,
          });
          if (stager.needsFlush) await stager.flush();
          return {
            page,
            info: {
              rows: page.rows.length,
              fingerprint: fingerprint(response.body),
              ...(page.total !== undefined ? { total: page.total } : {}),
              ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
            },
          };
        },
      });
      let next = await pages.next();
      while (!next.done) {
        outcome.pages += 1;
        outcome.rows += next.value.info.rows;
        if (next.value.info.total !== undefined && next.value.info.total !== null)
          outcome.providerTotal = next.value.info.total;
        next = await pages.next();
      }
      outcome.stopRule = next.value.stopRule;
    } catch (error) {
      if (error instanceof ProviderError && error.details.family === 'fatal') {
        fatal ??= messageOf(error, run.redact);
        outcome.status = 'failed';
        outcome.error = messageOf(error, run.redact);
        throw new AccountStopped();
      }
      const halves = isTooLarge(error) ? module.splitWindow(window, ctx) : null;
      if (halves) {
        outcome.status = 'split';
        outcome.error = messageOf(error, run.redact);
        shrinks += 1;
        total += 2;
        run.onEvent?.({ type: 'window-split', accountId: account.id, window, reason: outcome.error });
        for (const half of halves) await readWindow(half);
        return;
      }
      outcome.status = 'failed';
      outcome.error = messageOf(error, run.redact);
      run.onEvent?.({
        type: 'window-failed',
        accountId: account.id,
        window,
        scope: window.scope,
        error: outcome.error,
      });
    } finally {
      done += 1;
      run.onEvent?.({
        type: 'window-done',
        accountId: account.id,
        windowsDone: done,
        windowsTotal: total,
        rows: stager.rows,
      });
    }
  };

  const limit = Math.max(1, account.rateLimit.concurrency);
  const queue = [...planned];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let window = queue.shift(); window !== undefined; window = queue.shift()) {
      try {
        await readWindow(window);
      } catch (error) {
        if (error instanceof AccountStopped) return;
        throw error;
      }
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    await http.close();
  }

  const leaves = outcomes.filter((o) => o.status !== 'split');
  const failed = leaves.filter((o) => o.status === 'failed');
  const coverageOk =
    planned.length > 0 &&
    coversExactly(
      range,
      leaves.map((o) => o.window),
    );
  const status: AccountExtraction['status'] =
    fatal !== null ? 'failed' : failed.length > 0 || !coverageOk ? 'incomplete' : 'complete';
  const error =
    fatal ??
    (failed.length > 0
      ? `${failed.length} window(s) failed; first: ${describeWindow(failed[0]!.window)}: ${failed[0]!.error}`
      : coverageOk
        ? null
        : 'the planned windows do not cover the range exactly once');
  const extraction: AccountExtraction = {
    accountId: account.id,
    provider: account.provider,
    mode: run.mode,
    range,
    status,
    windows: leaves.length,
    windowsFailed: failed.length,
    requests: requestLog.length,
    retries: requestLog.reduce((n, r) => n + r.retries, 0),
    rows: status === 'complete' ? stager.rows : 0,
    bytes,
    shrinks,
    coverageOk,
    durationMs: Date.now() - started,
    error,
    windowOutcomes: outcomes,
  };
  run.onEvent?.({ type: 'account-done', accountId: account.id, status, rows: extraction.rows, error });
  return { extraction, requestLog };
}

/** Per scope, the windows cover [range.from, range.to) with no gap and overlap nothing. */
function coversExactly(range: InstantRange, windows: readonly ExtractWindow[]): boolean {
  const scopes = new Map<string, ExtractWindow[]>();
  for (const w of windows) scopes.set(w.scope, [...(scopes.get(w.scope) ?? []), w]);
  for (const list of scopes.values()) {
    // Providers widen ranges to whole days (or to "now"); what matters is the asked-for range.
    const { gaps, overlaps } = coverageGaps(range, list);
    if (gaps.length > 0 || overlaps.length > 0) return false;
  }
  return scopes.size > 0;
}

function isTooLarge(error: unknown): boolean {
  if (error instanceof HttpRequestError) return error.details.code === 'HTTP_TIMEOUT';
  return error instanceof ProviderError && error.details.providerCode === 'TOO_LARGE';
}

function describeWindow(window: ExtractWindow): string {
  const params = Object.entries(window.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${window.scope} [${new Date(window.from).toISOString()}, ${new Date(window.to).toISOString()}) (${params})`;
}

function messageOf(error: unknown, redact: Redactor): string {
  const message = error instanceof UnsubReconError || error instanceof Error ? error.message : String(error);
  return redact(message);
}

async function recordExtraction(warehouse: Warehouse, runId: string, e: AccountExtraction): Promise<void> {
  const finished = Date.now();
  await warehouse.run(
    `INSERT INTO stage_extractions (run_id, account_id, provider, mode, range_from, range_to, status, windows,
       windows_failed, requests, retries, rows, bytes, coverage_ok, error, started_at, finished_at)
     VALUES ($run, $account, $provider, $mode, $from, $to, $status, $windows, $failed, $requests, $retries,
       $rows, $bytes, $coverage, $error, $started, $finished)`,
    {
      run: runId,
      account: e.accountId,
      provider: e.provider,
      mode: e.mode,
      from: tsValue(e.range.from),
      to: tsValue(e.range.to),
      status: e.status,
      windows: e.windows,
      failed: e.windowsFailed,
      requests: e.requests,
      retries: e.retries,
      rows: BigInt(e.rows),
      bytes: BigInt(e.bytes),
      coverage: e.coverageOk,
      error: e.error,
      started: tsValue(finished - e.durationMs),
      finished: tsValue(finished),
    },
  );
  for (const w of e.windowOutcomes) {
    await warehouse.run(
      `INSERT INTO stage_extract_windows (run_id, account_id, window_no, scope, window_from, window_to, params,
         pages, rows, provider_total, stop_rule, status, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7::JSON, $8, $9, $10, $11, $12, $13)`,
      [
        runId,
        e.accountId,
        w.windowNo,
        w.window.scope,
        tsValue(w.window.from),
        tsValue(w.window.to),
        JSON.stringify(w.window.params),
        w.pages,
        BigInt(w.rows),
        w.providerTotal === null ? null : BigInt(w.providerTotal),
        w.stopRule,
        w.status,
        w.error,
      ],
    );
  }
}
