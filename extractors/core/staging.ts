/**
 * Loading into the warehouse's staging tables, in bulk (never one INSERT per row): raw rows with
 * their lineage through DuckDB's own JSON reader, the redacted request log through the appender.
 *
 * Append-only. Rows carry the run id and become visible through the contract views only when
 * the run commits (migration 003). Secrets: every raw record passes through the value layer of
 * the redactor, so a provider echoing a credential back (SendCloud lists rows under the
 * authenticating apiUser after a replay) never puts it into the warehouse.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { RequestRecord } from './http.js';
import type { ExtractWindow, RawRow } from './provider.js';
import type { Redactor } from './redact.js';

const queues = new WeakMap<DuckDBConnection, Promise<unknown>>();

/**
 * Runs `work` after every earlier piece of work queued on the same connection: accounts are
 * extracted concurrently, but one DuckDB connection runs one statement at a time.
 */
export function onConnection<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(connection) ?? Promise.resolve();
  const next = previous.then(work, work);
  queues.set(
    connection,
    next.catch(() => undefined),
  );
  return next;
}

export const tsValue = (ms: number): DuckDBTimestampTZValue =>
  new DuckDBTimestampTZValue(BigInt(Math.round(ms)) * 1000n);

const appendNullable = (appender: DuckDBAppender, value: string | null | undefined): void => {
  if (value === null || value === undefined) appender.appendNull();
  else appender.appendVarchar(value);
};

export interface StagedPage {
  requestSeq: number;
  page: number;
  window: ExtractWindow;
  fetchedAt: number;
  rows: readonly RawRow[];
}

/** Rows buffered before they are handed to DuckDB (bounded memory: ~25 MB of JSON text). */
export const STAGE_BATCH_ROWS = 100_000;

/**
 * Stages one account's raw rows for one run: rows are serialised once to newline-delimited JSON
 * and loaded by DuckDB's own `read_json` in batches. Measured (bench/RESULTS.md, "staging"), this
 * is ~4× faster than the row appender, whose per-value native calls dominate. Value redaction is
 * one regex pass over each batch's text. Call `close()` once; it loads what is left.
 */
export class RawRowStager {
  private lines: string[] = [];
  private buffered = 0;
  private inFlight: Promise<void> | undefined;
  private longestLine = 0;
  private staged = 0;
  private batches = 0;
  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly lineage: { runId: string; accountId: string; provider: string },
    private readonly redactValues: Redactor,
    private readonly spoolDir: string,
  ) {}

  static async open(
    connection: DuckDBConnection,
    lineage: { runId: string; accountId: string; provider: string },
    redactValues: Redactor,
  ): Promise<RawRowStager> {
    const spoolDir = mkdtempSync(path.join(tmpdir(), 'unsub-recon-stage-'));
    return new RawRowStager(connection, lineage, redactValues, spoolDir);
  }

  /** Rows added so far (loaded or buffered). */
  get rows(): number {
    return this.staged + this.buffered;
  }

  add(page: StagedPage): void {
    if (page.rows.length === 0) return;
    // One JSON line per page: V8 serialises a page of plain objects ~5x faster than it builds
    // the same text row by row, and DuckDB unnests it.
    this.lines.push(
      JSON.stringify({
        s: page.requestSeq,
        p: page.page,
        wf: page.window.from,
        wt: page.window.to,
        f: page.fetchedAt,
        rows: page.rows,
      }),
    );
    this.buffered += page.rows.length;
  }

  /**
   * Hands the buffered rows to DuckDB and returns once the PREVIOUS batch is loaded: DuckDB loads
   * one batch on its own threads while JavaScript serialises the next (measured: the two halves
   * cost about the same, so overlapping them nearly halves the staging time).
   */
  async flush(): Promise<void> {
    const previous = this.inFlight;
    this.inFlight = undefined;
    if (this.lines.length > 0) {
      const file = path.join(this.spoolDir, `batch-${++this.batches}.ndjson`);
      writeFileSync(file, this.redactValues(this.lines.join('\n')));
      const count = this.buffered;
      // DuckDB sizes its read buffers by this limit: the batch's longest line, not a fixed maximum
      // (a 256 MiB limit costs ~1 s per batch; an unpaged provider's page can exceed the 16 MiB default).
      const maxObject = 2 * Math.max(1 << 20, this.longestLine);
      this.longestLine = 0;
      this.lines = [];
      this.buffered = 0;
      this.staged += count;
      this.inFlight = this.load(file, maxObject);
      // Surfaced by the next flush() or close(); never left unhandled meanwhile.
      this.inFlight.catch(() => undefined);
    }
    await previous;
  }

  private async load(file: string, maxObject: number): Promise<void> {
    try {
      await onConnection(this.connection, () =>
        this.connection.run(
          `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
             fetched_at, raw, raw_time, raw_email, scope, raw_expires)
           SELECT $run, $account, $provider, s, to_timestamp(wf / 1000), to_timestamp(wt / 1000), p, n,
             to_timestamp(f / 1000), r.record, r.rawTime, r.email, r.scope, r.rawExpires
             FROM (SELECT s, p, wf, wt, f, unnest(rows) AS r, unnest(range(len(rows))) AS n
                     FROM read_json($file, format = 'newline_delimited', maximum_object_size = $maxObject,
                       columns = {s: 'INTEGER', p: 'INTEGER', wf: 'BIGINT', wt: 'BIGINT', f: 'BIGINT',
                         rows: 'STRUCT(email VARCHAR, rawTime VARCHAR, rawExpires VARCHAR, scope VARCHAR, record JSON)[]'}))`,
          {
            run: this.lineage.runId,
            account: this.lineage.accountId,
            provider: this.lineage.provider,
            file,
            maxObject,
          },
        ),
      );
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Loads what is left, waits for every load, and removes the spool folder. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.inFlight;
    } finally {
      rmSync(this.spoolDir, { recursive: true, force: true });
    }
  }

  /** Drops buffered rows without loading them (the account failed). */
  async discard(): Promise<void> {
    // A load still running must end before the caller deletes the account's rows.
    await this.inFlight?.catch(() => undefined);
    this.lines = [];
    this.buffered = 0;
    rmSync(this.spoolDir, { recursive: true, force: true });
  }

  get needsFlush(): boolean {
    return this.buffered >= STAGE_BATCH_ROWS;
  }
}

export interface StagedRequest extends RequestRecord {
  accountId: string;
  rows: number | null;
  page: number | null;
}

/** Appends the redacted request log (records are already redacted by the HTTP engine). */
export async function stageRequests(
  connection: DuckDBConnection,
  runId: string,
  records: readonly StagedRequest[],
): Promise<void> {
  if (records.length === 0) return;
  const a = await connection.createAppender('stage_requests');
  try {
    for (const r of records) {
      a.appendVarchar(runId);
      a.appendVarchar(r.accountId);
      a.appendInteger(r.seq);
      a.appendVarchar(r.method);
      a.appendVarchar(r.urlRedacted);
      if (r.status === null) a.appendNull();
      else a.appendInteger(r.status);
      a.appendInteger(r.attempts);
      a.appendInteger(Math.round(r.durationMs));
      if (r.rows === null) a.appendNull();
      else a.appendInteger(r.rows);
      a.appendBigInt(BigInt(r.bytes));
      if (r.windowFrom === null) a.appendNull();
      else a.appendTimestampTZ(tsValue(Date.parse(r.windowFrom)));
      if (r.windowTo === null) a.appendNull();
      else a.appendTimestampTZ(tsValue(Date.parse(r.windowTo)));
      appendNullable(a, r.error);
      a.appendTimestampTZ(tsValue(Date.parse(r.startedAt)));
      if (r.page === null) a.appendNull();
      else a.appendInteger(r.page);
      a.endRow();
    }
  } finally {
    a.flushSync();
    a.closeSync();
  }
}
