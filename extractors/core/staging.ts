/**
 * Loading into the warehouse's staging tables, in bulk (never one INSERT per row): raw rows with
 * their lineage through DuckDB's own JSON reader, the redacted request log through the appender.
 *
 * Append-only. Rows carry the run id and become visible through the contract views only when
 * the run commits (migration 003). Secrets: every raw record passes through the value layer of
 * the redactor, so a provider echoing a credential back (SendCloud lists rows under the
 * authenticating apiUser after a replay) never puts it into the warehouse.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { RequestRecord } from './http.js';
import type { ExtractWindow, RawRow } from './provider.js';
import type { Redactor } from './redact.js';
import { isProcessAlive } from './warehouse.js';

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
  /**
   * The response text the rows were parsed from. Required when the stager was opened with a
   * `recordsPath`: DuckDB then reads each row's `raw` from these bytes instead of from JavaScript's
   * re-serialisation of `record`.
   */
  body?: string;
}

export interface StagerOptions {
  /**
   * Where the records sit in a JSON answer (ProviderModule.recordsPath): the array whose i-th
   * element is rows[i].record, in order and nothing else. Absent for XML or CSV answers.
   */
  recordsPath?: readonly string[];
}

/**
 * Rows per `read_json` load. Lines go to a spool file as they come (memory holds one page), so
 * this bounds the spool file (~65 MB for SendCloud rows), not memory. Above DuckDB's row-group
 * size (122,880 rows) a load is written straight to the database file; below it, it goes through
 * the write-ahead log and is written twice (measured while tuning: 25,000-row loads cost ~60 % more
 * CPU than 250,000-row ones). Larger loads leave less of JavaScript's work overlapping DuckDB's.
 */
export const STAGE_BATCH_ROWS = 250_000;

/** Spool folders are named `<prefix><pid>-<random>`, so a later run can tell whose they were. */
export const SPOOL_PREFIX = 'unsub-recon-stage-';

/**
 * Removes the spool folders of stagers whose process has died: a `kill -9` leaves one behind,
 * holding raw rows (addresses) that nothing else would ever delete. Folders it cannot remove (another
 * user's) are left alone.
 */
function removeOrphanSpools(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name);
    if (owner === null || isProcessAlive(Number(owner[1]))) continue;
    try {
      rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // Not ours to remove; it does not affect this run.
    }
  }
}

/** Writes all of `bytes` (a write to a regular file may in principle be partial). */
function writeAll(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The `read_json` column type and the SQL expression of the records list: the page's own `r`
 * array, or the array at `recordsPath` inside the answer `b`. Path parts are provider constants,
 * checked to be plain identifiers before they become SQL.
 */
function recordsColumn(recordsPath: readonly string[] | undefined): { type: string; expression: string } {
  if (recordsPath === undefined) return { type: "r: 'JSON[]'", expression: 'r' };
  if (recordsPath.length === 0 || !recordsPath.every((part) => IDENTIFIER.test(part))) {
    throw new TypeError(
      `staging: recordsPath ${JSON.stringify(recordsPath)} must be one or more plain identifiers (letters, digits, _)`,
    );
  }
  const type = recordsPath.reduceRight((inner, part) => `STRUCT("${part}" ${inner})`, 'JSON[]');
  return { type: `b: '${type}'`, expression: `b.${recordsPath.map((part) => `"${part}"`).join('.')}` };
}

/** Rows per spool line when JavaScript serialises the records (see RawRowStager.add). */
const ROWS_PER_LINE = 20_000;

/** A spool line's columns: the page's lineage, and its rows' values from row `offset` on. */
function lineColumns(page: StagedPage, rows: StagedPage['rows'], offset: number) {
  return {
    s: page.requestSeq,
    p: page.page,
    o: offset,
    wf: page.window.from,
    wt: page.window.to,
    f: page.fetchedAt,
    e: rows.map((row) => row.email),
    t: rows.map((row) => row.rawTime),
    x: rows.map((row) => row.rawExpires ?? null),
    c: rows.map((row) => row.scope),
  };
}

/**
 * Stages one account's raw rows for one run. Each page becomes one JSON line holding its lineage
 * and one array per column, loaded by DuckDB's own `read_json` in batches of STAGE_BATCH_ROWS.
 * For a JSON provider that declares where its records sit (`recordsPath`), the line carries the
 * answer's own text and DuckDB takes `raw` from it: JavaScript does not re-serialise the records,
 * and `raw` keeps what JSON.parse drops (a repeated key, an integer beyond 2^53). Each line is
 * redacted (value layer) and appended to the batch's spool file as it is added. Measured in
 * bench/RESULTS.md, "staging". Call `close()` once; it loads what is left.
 */
export class RawRowStager {
  private spool: { fd: number; file: string } | undefined;
  private buffered = 0;
  private inFlight: Promise<void> | undefined;
  private longestLine = 0;
  private staged = 0;
  private batches = 0;
  private readonly insertSql: string;
  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly lineage: { runId: string; accountId: string; provider: string },
    private readonly redactValues: Redactor,
    private readonly spoolDir: string,
    private readonly recordsPath: readonly string[] | undefined,
  ) {
    const records = recordsColumn(recordsPath);
    // The CASE stops a load whose answer holds a different number of records than the provider's
    // parse returned rows: raw rows would otherwise be paired with the wrong lineage silently.
    this.insertSql = `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
        fetched_at, raw, raw_time, raw_email, scope, raw_expires)
      SELECT $run, $account, $provider, s, to_timestamp(wf / 1000), to_timestamp(wt / 1000), p, o + n,
        to_timestamp(f / 1000), r, t, e, c, x
        FROM (SELECT s, p, o, wf, wt, f, unnest(e) AS e, unnest(t) AS t, unnest(x) AS x, unnest(c) AS c,
                unnest(${records.expression}) AS r, unnest(range(len(e))) AS n
                FROM read_json($file, format = 'newline_delimited', maximum_object_size = $maxObject,
                  columns = {s: 'INTEGER', p: 'INTEGER', o: 'INTEGER', wf: 'BIGINT', wt: 'BIGINT', f: 'BIGINT',
                    e: 'VARCHAR[]', t: 'VARCHAR[]', x: 'VARCHAR[]', c: 'VARCHAR[]', ${records.type}})
                WHERE CASE WHEN len(${records.expression}) = len(e) THEN true
                  ELSE error('staging: request ' || s || ' holds ' || coalesce(len(${records.expression}), 0)
                    || ' records where its parse gave ' || len(e) || ' rows') END)`;
  }

  /** @throws TypeError when `options.recordsPath` is not a list of plain identifiers. */
  static async open(
    connection: DuckDBConnection,
    lineage: { runId: string; accountId: string; provider: string },
    redactValues: Redactor,
    options: StagerOptions = {},
  ): Promise<RawRowStager> {
    recordsColumn(options.recordsPath);
    removeOrphanSpools();
    const spoolDir = mkdtempSync(path.join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
    return new RawRowStager(connection, lineage, redactValues, spoolDir, options.recordsPath);
  }

  /** Rows added so far (loaded or buffered). */
  get rows(): number {
    return this.staged + this.buffered;
  }

  /** @throws TypeError when the stager reads records from answers and the page has no body. */
  add(page: StagedPage): void {
    const rows = page.rows;
    if (rows.length === 0) return;
    if (this.recordsPath === undefined) {
      // An unpaged provider's answer can hold millions of rows: one line per slice of them keeps
      // each line far below V8's longest string (~512 M characters) and DuckDB's object limit.
      for (let offset = 0; offset < rows.length; offset += ROWS_PER_LINE) {
        const slice = rows.slice(offset, offset + ROWS_PER_LINE);
        this.append(
          JSON.stringify({ ...lineColumns(page, slice, offset), r: slice.map((row) => row.record) }),
        );
      }
    } else {
      if (page.body === undefined) {
        throw new TypeError(
          `staging: page ${page.page} of request ${page.requestSeq} has no body to read records from`,
        );
      }
      // A raw CR or LF can only be whitespace between tokens of valid JSON (the parse accepted
      // this text), so turning them into spaces keeps the answer one line without changing it.
      const body = /[\r\n]/.test(page.body) ? page.body.replace(/[\r\n]/g, ' ') : page.body;
      const head = JSON.stringify(lineColumns(page, rows, 0));
      this.append(`${head.slice(0, -1)},"b":${body}}`);
    }
    this.buffered += rows.length;
  }

  private append(line: string): void {
    if (line.length > this.longestLine) this.longestLine = line.length;
    if (this.spool === undefined) {
      const file = path.join(this.spoolDir, `batch-${++this.batches}.ndjson`);
      this.spool = { fd: openSync(file, 'w'), file };
    }
    writeAll(this.spool.fd, Buffer.from(`${this.redactValues(line)}\n`));
  }

  /**
   * Hands the batch's rows to DuckDB and returns once the PREVIOUS batch is loaded: DuckDB loads
   * one batch on its own threads while JavaScript writes the next.
   */
  async flush(): Promise<void> {
    const previous = this.inFlight;
    this.inFlight = undefined;
    if (this.spool !== undefined) {
      const { fd, file } = this.spool;
      this.spool = undefined;
      closeSync(fd);
      const count = this.buffered;
      // DuckDB sizes its read buffers by this limit: the batch's longest line, not a fixed maximum
      // (a 256 MiB limit costs ~1 s per batch; an unpaged provider's page can exceed the 16 MiB default).
      // Three UTF-8 bytes at most per UTF-16 unit of the line's length.
      const maxObject = Math.max(2 << 20, 3 * this.longestLine + 1024);
      this.longestLine = 0;
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
        this.connection.run(this.insertSql, {
          run: this.lineage.runId,
          account: this.lineage.accountId,
          provider: this.lineage.provider,
          file,
          maxObject,
        }),
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
    if (this.spool !== undefined) closeSync(this.spool.fd);
    this.spool = undefined;
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
