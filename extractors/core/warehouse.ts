/**
 * The DuckDB warehouse: one file (default `data/warehouse.duckdb`), one writer at a time, schema
 * migrated on open, and the `runs` lifecycle that decides which staged rows are visible.
 *
 * Single writer. DuckDB takes an OS file lock (fcntl) on the database file: a second read-write
 * opener in another process is refused, readers are refused while a writer holds it, and the
 * kernel drops the lock when its holder dies, even by `kill -9`. That lock is the arbiter, so
 * there is no stale-pid guessing and no race between two processes taking over a dead one's
 * lock. Beside it, `<file>.lock` holds JSON about the holder ({@link LockHolder}) purely so a
 * refused process can name it. The holder writes it right after DuckDB granted the lock and
 * removes it before giving the lock up, so a `.lock` file found by a process that has just been
 * granted the DuckDB lock is always stale: its writer died without cleaning up.
 *
 * Visibility. `beginRun` commits a `running` row on its own; staged rows carry the run id and are
 * appended as the run goes; `finishRun` flips the status. Derived tables and contract views read
 * only runs that are `succeeded` or `partial`. A run still `running` when the next writer opens
 * belonged to a process that ended before committing: it is marked `failed` and its rows are
 * purged from the run-scoped tables ({@link RUN_SCOPED_TABLES}). DuckDB's WAL keeps the file
 * itself consistent across crashes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, totalmem } from 'node:os';
import path from 'node:path';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  dateFromTimestampMillisecondsValue,
  dateFromTimestampNanosecondsValue,
  dateFromTimestampSecondsValue,
  type JS,
  type Json,
  JsonDuckDBValueConverter,
  timestampTZValue,
} from '@duckdb/node-api';
import {
  ReadOnlyViolationError,
  UnsubReconError,
  UsageError,
  WarehouseError,
  WarehouseLockedError,
} from './errors.js';
import { latestSchemaVersion, loadMigrations, RUN_SCOPED_TABLES } from './migrations.js';

/** Where the warehouse lives unless the config or `--warehouse` says otherwise. */
export const DEFAULT_WAREHOUSE_FILE = 'data/warehouse.duckdb';

/** `runs.error` of a run whose process ended (crash, kill) before it finished. */
export const ABANDONED_RUN_ERROR = 'abandoned: process ended before commit';

/** `runs.error` of a run still open when its own process closed the warehouse. */
export const CLOSED_RUN_ERROR = 'abandoned: warehouse closed before the run finished';

export type WarehouseMode = 'write' | 'read';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'partial';
export type FinishedRunStatus = Exclude<RunStatus, 'running'>;

/** A bound parameter value. `Date` is bound as TIMESTAMPTZ. */
export type SqlValue = DuckDBValue | Date;
/** Positional (`$1`, `?`) or named (`$name`) parameters; always bound, never spliced into SQL. */
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/** What `<warehouse>.lock` says about the process holding the warehouse for writing. */
export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  /** When the process took the warehouse, ISO 8601 UTC. */
  lockedAt: string;
  /** The run in progress, if one has begun. */
  runId?: string;
  /** When that run started, ISO 8601 UTC (equals `runs.started_at`). */
  runStartedAt?: string;
}

export interface WarehouseOpenOptions {
  /** `write` takes the single-writer lock and migrates; `read` opens DuckDB READ_ONLY. */
  mode: WarehouseMode;
  /** The command on whose behalf the warehouse is opened; shown to a process that is refused. */
  command: string;
  /** Tests only: stop migrating after this version (default: apply all). */
  migrateTo?: number;
  /**
   * When DuckDB refuses because another process holds the file, how long to wait for that
   * process's `.lock` file to appear (it writes it just after DuckDB granted the lock) before
   * naming the holder from DuckDB's error alone. Default 1000 ms.
   */
  holderWaitMs?: number;
}

/** Files opened for writing by this process: DuckDB's OS lock does not guard against ourselves. */
const openWriters = new Map<string, Warehouse>();

export class Warehouse {
  /** Migration versions applied by this open, in order (empty when already up to date). */
  readonly appliedMigrations: number[] = [];
  /** Runs found `running` on open (their process had died), now marked failed. */
  readonly abandonedRuns: string[] = [];
  /** The stale `.lock` taken over on open, if a previous writer died holding it. */
  recoveredLock: LockHolder | undefined;
  /** Human-readable notes about recovery on open (stale lock, abandoned runs), for the log. */
  readonly notes: string[] = [];

  private closed = false;
  private inTransaction = false;
  private inWithSettings = false;
  private readonly activeRuns = new Set<string>();
  private holder: LockHolder | undefined;
  private readonly releaseOnExit = (): void => this.removeLockFile();

  private constructor(
    /** Absolute path of the DuckDB file. */
    readonly file: string,
    readonly mode: WarehouseMode,
    readonly command: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /**
   * Opens the warehouse. Write mode creates the parent folder and the file if missing, takes the
   * single-writer lock, applies pending migrations, then fails and cleans up runs left `running`
   * by a dead process. Read mode needs an existing, migrated file and takes no lock file.
   * Sessions run with `TimeZone = 'UTC'`.
   * @throws WarehouseLockedError another process holds the file (a writer, or a reader when
   *   opening for write); the message names its pid, run id, command and start time.
   * @throws WarehouseError the file cannot be opened or is not a warehouse, a migration fails, or
   *   the file's schema is newer than this build knows.
   */
  static async open(file: string, options: WarehouseOpenOptions): Promise<Warehouse> {
    const absolute = path.resolve(file);
    const self = openWriters.get(absolute);
    if (self !== undefined) {
      throw new WarehouseLockedError(absolute, holderForError(self.holder ?? selfHolder(self.command)));
    }
    if (options.mode === 'write') {
      mkdirSync(path.dirname(absolute), { recursive: true });
    } else if (!existsSync(absolute)) {
      throw new WarehouseError(`warehouse ${absolute} does not exist yet; run \`unsub-recon extract\` first`);
    }

    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(
        absolute,
        options.mode === 'read' ? { access_mode: 'READ_ONLY' } : {},
      );
    } catch (error) {
      const message = errorMessage(error);
      if (/could not set lock on file/i.test(message)) {
        const duckPid = /\(PID (\d+)\)/.exec(message)?.[1];
        const holder = await waitForHolder(
          lockPathFor(absolute),
          duckPid === undefined ? undefined : Number(duckPid),
          options.holderWaitMs ?? 1000,
        );
        throw new WarehouseLockedError(absolute, holder);
      }
      throw new WarehouseError(`cannot open warehouse ${absolute}: ${message}`, { cause: error });
    }

    const conn = await instance.connect();
    const warehouse = new Warehouse(absolute, options.mode, options.command, instance, conn);
    try {
      if (options.mode === 'write') {
        openWriters.set(absolute, warehouse);
        warehouse.takeLockFile();
      }
      // Timestamps in the warehouse are UTC; casts and date arithmetic must not depend on the host.
      await warehouse.run("SET TimeZone = 'UTC'");
      if (options.mode === 'write') {
        await warehouse.migrate(options.migrateTo);
        await warehouse.failAbandonedRuns();
      } else {
        await warehouse.checkReadableSchema();
      }
    } catch (error) {
      await warehouse.close();
      throw error;
    }
    return warehouse;
  }

  /** The underlying connection, for the appender (`createAppender`) and prepared statements. */
  get connection(): DuckDBConnection {
    this.assertOpen();
    return this.conn;
  }

  /**
   * Runs a query and returns its rows as objects with JS values: BIGINT/HUGEINT as `bigint`
   * (never a lossy number), TIMESTAMP(TZ) and DATE as `Date`, JSON and VARCHAR as strings.
   * @throws ReadOnlyViolationError in read mode, when the statement would change the warehouse.
   * @throws WarehouseError when DuckDB rejects the statement.
   */
  async all<T = Record<string, JS>>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.execute(() => this.conn.runAndReadAll(sql, bind(params)));
    return reader.getRowObjectsJS() as T[];
  }

  /**
   * Like {@link all}, with values that survive `JSON.stringify`: timestamps as ISO 8601 UTC
   * strings (`2026-11-23T09:15:00.000Z`, microseconds kept when present), DATE as `YYYY-MM-DD`,
   * BIGINT/HUGEINT/DECIMAL as strings, JSON columns parsed.
   * @throws ReadOnlyViolationError, WarehouseError as {@link all}.
   */
  async allJson<T = Record<string, Json>>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.execute(() => this.conn.runAndReadAll(sql, bind(params)));
    const rows = reader.convertRowObjects(jsonConverter);
    parseJsonColumns(rows, jsonColumnsOf(reader));
    return rows as T[];
  }

  /**
   * Like {@link allJson}, one DuckDB chunk (up to 2,048 rows) at a time: the result streams, so
   * DuckDB computes the next chunk only when the consumer asks for it and the rows never pile
   * up in JavaScript, however many there are. Run no other statement on this warehouse before
   * the iteration ends: a new statement cancels the stream.
   * @throws ReadOnlyViolationError, WarehouseError as {@link all}, when the query starts or
   *   while it yields.
   */
  async *streamJson<T = Record<string, Json>>(sql: string, params?: SqlParams): AsyncGenerator<T[]> {
    const result = await this.execute(() => this.conn.stream(sql, bind(params)));
    const jsonColumns = jsonColumnsOf(result);
    const chunks = result.yieldConvertedRowObjects(jsonConverter);
    while (true) {
      const next = await this.execute(() => chunks.next());
      if (next.done) return;
      parseJsonColumns(next.value, jsonColumns);
      yield next.value as T[];
    }
  }

  /**
   * Runs a statement, ignoring any result. Without params the SQL may hold several statements.
   * @returns the number of rows changed, for INSERT/UPDATE/DELETE.
   * @throws ReadOnlyViolationError, WarehouseError as {@link all}.
   */
  async run(sql: string, params?: SqlParams): Promise<number> {
    const result = await this.execute(() => this.conn.run(sql, bind(params)));
    return result.rowsChanged;
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT; any error rolls back and is rethrown. Not reentrant: the
   * warehouse has one connection, so a nested call would share the outer transaction.
   * @throws ReadOnlyViolationError in read mode; WarehouseError when already in a transaction.
   */
  async transaction<T>(fn: (warehouse: this) => Promise<T>): Promise<T> {
    this.assertWritable('transaction');
    if (this.inTransaction) throw new WarehouseError('transaction() called inside another transaction');
    await this.run('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      const result = await fn(this);
      await this.run('COMMIT');
      return result;
    } catch (error) {
      await this.rollbackAfter(error);
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * Starts a run: commits a `runs` row with status `running` on its own (so even a run killed a
   * moment later leaves a trace) and records the run in the `.lock` file.
   * `args` is stored as JSON: pass it through `redact()` first, it must hold no secret.
   * @param options.command defaults to the command the warehouse was opened for.
   * @returns the run id, `YYYYMMDDTHHMMSSZ-xxxxxx`: sortable by start time, safe in a path.
   * @throws ReadOnlyViolationError in read mode; WarehouseError inside a transaction.
   */
  async beginRun(options: { command?: string; args?: unknown } = {}): Promise<string> {
    this.assertWritable('beginRun');
    if (this.inTransaction) {
      throw new WarehouseError('beginRun() inside a transaction: the running row must commit on its own');
    }
    const startedAt = new Date();
    const runId = newRunId(startedAt);
    await this.run(
      `INSERT INTO runs (run_id, command, args, started_at, status, pid)
       VALUES ($1, $2, $3::JSON, $4, 'running', $5)`,
      [
        runId,
        options.command ?? this.command,
        options.args === undefined ? null : JSON.stringify(options.args),
        startedAt,
        process.pid,
      ],
    );
    this.activeRuns.add(runId);
    this.updateLockFile({ runId, runStartedAt: startedAt.toISOString() });
    return runId;
  }

  /**
   * Ends a run that is `running`: sets its status, `finished_at` and `error`. A `failed` run's
   * rows are purged from the run-scoped tables marked `purgeWhenFailed`, in the same transaction.
   * Joins the caller's transaction if there is one.
   * @throws WarehouseError when the run does not exist or has already finished.
   */
  async finishRun(runId: string, status: FinishedRunStatus, error?: string): Promise<void> {
    this.assertWritable('finishRun');
    const work = async (): Promise<void> => {
      const rows = await this.all<{ status: RunStatus }>('SELECT status FROM runs WHERE run_id = $1', [
        runId,
      ]);
      const current = rows[0]?.status;
      if (current === undefined) throw new WarehouseError(`run ${runId} does not exist`);
      if (current !== 'running') throw new WarehouseError(`run ${runId} has already finished (${current})`);
      if (status === 'failed') await this.purgeRuns('run_id = $1', [runId]);
      await this.run('UPDATE runs SET status = $2, finished_at = $3, error = $4 WHERE run_id = $1', [
        runId,
        status,
        new Date(),
        error ?? null,
      ]);
    };
    if (this.inTransaction) await work();
    else await this.transaction(work);
    this.activeRuns.delete(runId);
    if (this.holder?.runId === runId) this.updateLockFile({ runId: undefined, runStartedAt: undefined });
  }

  /**
   * Runs `fn` with DuckDB settings changed and puts DuckDB's defaults back afterwards, whatever
   * happens: settings are not transactional, and the connection outlives the step. (Defaults, not
   * the values before: DuckDB shows a memory limit rounded, `18.7 GiB`, so it cannot be restored
   * exactly. So these two settings are changed only through here, and calls do not nest.)
   * `memoryLimit` (e.g. `1.5GB`, see {@link isMemoryLimit}) caps DuckDB's own memory: what does not
   * fit spills to `<warehouse>.tmp` instead of growing the process; `preserveInsertionOrder: false`
   * lets DuckDB write tables in parallel when row order means nothing.
   * @throws WarehouseError when `memoryLimit` is not a size, or inside another withSettings.
   */
  async withSettings<T>(
    settings: { memoryLimit?: string; preserveInsertionOrder?: boolean },
    fn: () => Promise<T>,
  ): Promise<T> {
    const { memoryLimit, preserveInsertionOrder } = settings;
    if (memoryLimit !== undefined && !isMemoryLimit(memoryLimit)) {
      throw new WarehouseError(`memory limit "${memoryLimit}": expected a size such as 1.5GB or 800MB`);
    }
    if (this.inWithSettings) throw new WarehouseError('withSettings() called inside another withSettings()');
    this.inWithSettings = true;
    try {
      // SET takes no parameters: the size was checked above, the order is a boolean.
      if (memoryLimit !== undefined) await this.run(`SET memory_limit = '${memoryLimit}'`);
      if (preserveInsertionOrder !== undefined) {
        await this.run(`SET preserve_insertion_order = ${preserveInsertionOrder}`);
      }
      return await fn();
    } finally {
      if (memoryLimit !== undefined) await this.run('RESET memory_limit');
      if (preserveInsertionOrder !== undefined) await this.run('RESET preserve_insertion_order');
      this.inWithSettings = false;
    }
  }

  /**
   * Runs `work`, then drops every temporary table, view and macro created while it ran, after
   * success and failure alike. A step's scratch work would otherwise stay in the connection, and
   * under its memory limit, for the steps that follow on it (nightly: transform, report, plan).
   * Temporary objects that existed before are left as they are, so scopes nest.
   * When `work` fails its error is the one thrown; a drop failing then is ignored (what it leaves
   * costs memory until the connection closes).
   */
  async withScratch<T>(work: () => Promise<T>): Promise<T> {
    const before = new Set((await this.temporaryObjects()).map(scratchKey));
    let result: T;
    try {
      result = await work();
    } catch (error) {
      await this.dropScratch(before).catch(() => undefined);
      throw error;
    }
    await this.dropScratch(before);
    return result;
  }

  private async temporaryObjects(): Promise<ScratchObject[]> {
    return this.allJson<ScratchObject>(
      `SELECT 'TABLE' AS kind, table_name AS name FROM duckdb_tables() WHERE temporary
       UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal
       UNION ALL SELECT DISTINCT CASE function_type WHEN 'table_macro' THEN 'MACRO TABLE' ELSE 'MACRO' END,
                                 function_name
                 FROM duckdb_functions() WHERE database_name = 'temp'`,
    );
  }

  private async dropScratch(keep: ReadonlySet<string>): Promise<void> {
    for (const object of await this.temporaryObjects()) {
      if (keep.has(scratchKey(object))) continue;
      // Names from DuckDB's own catalog, quoted; `temp.main.` so a table of the same name stays.
      await this.run(`DROP ${object.kind} IF EXISTS temp.main.${quoteIdent(object.name)}`);
    }
  }

  /** The highest migration version recorded in the file. */
  async schemaVersion(): Promise<number> {
    const rows = await this.all<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0]?.v ?? 0;
  }

  /**
   * Releases the warehouse: a run this instance began and did not finish is marked failed, the
   * `.lock` file is removed, then the DuckDB lock is given up (in that order, so a `.lock` file
   * never outlives its holder's DuckDB lock while the holder is alive). Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.mode === 'write' && !this.inTransaction) {
        for (const runId of [...this.activeRuns]) await this.finishRun(runId, 'failed', CLOSED_RUN_ERROR);
      }
    } finally {
      this.closed = true;
      if (this.mode === 'write') {
        this.removeLockFile();
        process.off('exit', this.releaseOnExit);
        openWriters.delete(this.file);
      }
      this.conn.closeSync();
      this.instance.closeSync();
    }
  }

  private async migrate(migrateTo: number | undefined): Promise<void> {
    await this.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`,
    );
    const applied = new Set(
      (await this.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    const newest = Math.max(0, ...applied);
    if (newest > latestSchemaVersion()) throw this.newerSchemaError(newest);
    for (const migration of loadMigrations()) {
      if (applied.has(migration.version)) continue;
      if (migrateTo !== undefined && migration.version > migrateTo) break;
      try {
        await this.transaction(async () => {
          await this.run(migration.sql);
          await this.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            new Date(),
          ]);
        });
      } catch (error) {
        throw new WarehouseError(
          `warehouse ${this.file}: migration ${migration.version} (${migration.name}) failed: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      this.appliedMigrations.push(migration.version);
    }
  }

  private async checkReadableSchema(): Promise<void> {
    const tables = await this.all<{ n: bigint }>(
      "SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'schema_migrations'",
    );
    if (tables[0]?.n !== 1n) {
      throw new WarehouseError(`${this.file} is not an unsub-recon warehouse (no schema_migrations table)`);
    }
    const version = await this.schemaVersion();
    if (version > latestSchemaVersion()) throw this.newerSchemaError(version);
  }

  private newerSchemaError(version: number): WarehouseError {
    return new WarehouseError(
      `warehouse ${this.file} has schema version ${version}, newer than this unsub-recon knows ` +
        `(${latestSchemaVersion()}); upgrade unsub-recon`,
    );
  }

  /**
   * We hold the DuckDB lock, so no other process is writing: every run still `running` was
   * left by a process that ended before it could finish.
   */
  private async failAbandonedRuns(): Promise<void> {
    const running = await this.all<{ run_id: string; pid: number }>(
      "SELECT run_id, pid FROM runs WHERE status = 'running' ORDER BY run_id",
    );
    if (running.length === 0) return;
    await this.transaction(async () => {
      await this.purgeRuns("run_id IN (SELECT run_id FROM runs WHERE status = 'running')", []);
      await this.run(
        "UPDATE runs SET status = 'failed', finished_at = $1, error = $2 WHERE status = 'running'",
        [new Date(), ABANDONED_RUN_ERROR],
      );
    });
    for (const run of running) {
      this.abandonedRuns.push(run.run_id);
      this.notes.push(
        `run ${run.run_id} (pid ${run.pid}) ended before commit: marked failed, staged rows removed`,
      );
    }
  }

  private async purgeRuns(where: string, params: SqlValue[]): Promise<void> {
    const existing = new Set(
      (
        await this.all<{ table_name: string }>(
          "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'",
        )
      ).map((r) => r.table_name),
    );
    for (const { table, purgeWhenFailed } of RUN_SCOPED_TABLES) {
      if (!purgeWhenFailed || !existing.has(table)) continue;
      await this.run(`DELETE FROM ${quoteIdent(table)} WHERE ${where}`, params);
    }
  }

  private takeLockFile(): void {
    const lockPath = lockPathFor(this.file);
    const previous = readLockFile(lockPath);
    if (previous !== undefined) {
      this.recoveredLock = previous;
      const alive = previous.hostname === hostname() && isProcessAlive(previous.pid);
      this.notes.push(
        `took over stale lock ${lockPath} from pid ${previous.pid} (run ${previous.runId ?? 'none'}, ` +
          `started ${previous.runStartedAt ?? previous.lockedAt})` +
          (alive ? '; that pid is running but does not hold the warehouse (pid reused)' : ''),
      );
    }
    this.holder = selfHolder(this.command);
    writeLockFile(lockPath, this.holder);
    process.on('exit', this.releaseOnExit);
  }

  private updateLockFile(change: Pick<LockHolder, 'runId' | 'runStartedAt'>): void {
    if (this.holder === undefined) return;
    this.holder = { ...this.holder, ...change };
    if (this.holder.runId === undefined) delete this.holder.runId;
    if (this.holder.runStartedAt === undefined) delete this.holder.runStartedAt;
    writeLockFile(lockPathFor(this.file), this.holder);
  }

  /** Synchronous: it also runs from the process 'exit' handler. */
  private removeLockFile(): void {
    if (this.holder === undefined) return;
    const lockPath = lockPathFor(this.file);
    // Only remove our own file; a missing one was already removed and needs nothing.
    if (readLockFile(lockPath)?.pid === process.pid) {
      try {
        unlinkSync(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    this.holder = undefined;
  }

  private async rollbackAfter(original: unknown): Promise<void> {
    try {
      await this.conn.run('ROLLBACK');
    } catch (rollbackError) {
      // DuckDB ends the transaction itself when COMMIT fails; there is nothing left to roll back.
      if (/no transaction is active/i.test(errorMessage(rollbackError))) return;
      throw new WarehouseError(
        `warehouse ${this.file}: rollback failed (${errorMessage(rollbackError)}) after: ${errorMessage(original)}`,
        { cause: rollbackError },
      );
    }
  }

  private async execute<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (error) {
      if (error instanceof UnsubReconError) throw error;
      const message = errorMessage(error);
      if (this.mode === 'read' && /read-only mode/i.test(message)) {
        throw new ReadOnlyViolationError(
          `the warehouse is open read-only and cannot be changed: ${message}`,
          {
            cause: error,
          },
        );
      }
      throw new WarehouseError(`warehouse ${this.file}: ${message}`, { cause: error });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new WarehouseError(`warehouse ${this.file} is closed`);
  }

  private assertWritable(what: string): void {
    this.assertOpen();
    if (this.mode !== 'write') {
      throw new ReadOnlyViolationError(`${what}() needs the warehouse open for write; it is open read-only`);
    }
  }
}

/**
 * DuckDB's `memory_limit` for the heavy steps (extract, transform, plan) when none is configured:
 * 3 GiB, or half the machine's memory where that is less (DuckDB's own default, 80 % of it, leaves
 * a shared machine too little). 3 GiB holds the transform's per-account aggregation of 10 million
 * addresses in memory: at 1.5 GB it spilled, and 5 × 10M rows took 134.6 s instead of 115.3 s on
 * the 2-core machine, while 5 × 1M rows peak at the same ~1.4 GB RSS with either limit (their
 * working set is smaller than both). What a step needs beyond the limit spills to
 * `<warehouse>.tmp`.
 */
export function defaultMemoryLimit(machineBytes: number = totalmem()): string {
  const halfMiB = Math.floor(machineBytes / 2 / 2 ** 20);
  return halfMiB >= 3 * 1024 ? '3GiB' : `${halfMiB}MiB`;
}

/** A temporary object of the connection, as {@link Warehouse.withScratch} drops it. */
interface ScratchObject {
  kind: 'TABLE' | 'VIEW' | 'MACRO' | 'MACRO TABLE';
  name: string;
}

const scratchKey = (o: ScratchObject) => `${o.kind} ${o.name}`;

/** A size DuckDB's `memory_limit` takes: digits and a unit (`1.5GB`, `800MB`, `2GiB`). */
export function isMemoryLimit(value: string): boolean {
  return /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value);
}

/**
 * The memory limit of the heavy steps (extract, transform, plan): env `UNSUB_RECON_MEMORY_LIMIT`,
 * else {@link defaultMemoryLimit}.
 * @throws UsageError when the variable is set to something that is not a size.
 */
export function configuredMemoryLimit(
  env: NodeJS.ProcessEnv = process.env,
  machineBytes: number = totalmem(),
): string {
  const configured = env.UNSUB_RECON_MEMORY_LIMIT;
  if (!configured) return defaultMemoryLimit(machineBytes);
  if (!isMemoryLimit(configured)) {
    throw new UsageError(
      `environment variable UNSUB_RECON_MEMORY_LIMIT is "${configured}": expected a size such as 1.5GB or 800MB`,
    );
  }
  return configured;
}

/** Quotes an SQL identifier (table, column) for DuckDB; values go in bound parameters instead. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0'))
    throw new WarehouseError(`invalid SQL identifier ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** A run id: UTC start second plus 6 random hex digits, e.g. `20261123T091500Z-a1b2c3`. */
export function newRunId(startedAt: Date = new Date()): string {
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** `<warehouse>.lock`: where the writer describes itself for processes it turns away. */
export function lockPathFor(warehouseFile: string): string {
  return `${path.resolve(warehouseFile)}.lock`;
}

/** Whether a process with this pid exists here. EPERM means it exists under another user. */
export function isProcessAlive(pid: number): boolean {
  // pid 0 and negatives address process groups, not a process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function selfHolder(command: string): LockHolder {
  return { pid: process.pid, hostname: hostname(), command, lockedAt: new Date().toISOString() };
}

function holderForError(holder: LockHolder): WarehouseLockedError['holder'] {
  return {
    pid: holder.pid,
    runId: holder.runId ?? 'none yet',
    command: holder.command,
    startedAt: holder.runStartedAt ?? holder.lockedAt,
  };
}

/**
 * The holder DuckDB refused us for. Its `.lock` file may lag DuckDB's lock by a moment (it is
 * written just after the lock is granted) or be a dead process's leftover, so poll until it
 * names a live process; otherwise fall back to the pid in DuckDB's message (a reader, which
 * writes no `.lock`, or a holder between DuckDB open and writing its file).
 */
async function waitForHolder(
  lockPath: string,
  duckPid: number | undefined,
  waitMs: number,
): Promise<WarehouseLockedError['holder']> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const holder = readLockFile(lockPath);
    if (
      holder !== undefined &&
      (holder.pid === duckPid || (duckPid === undefined && isProcessAlive(holder.pid)))
    ) {
      return holderForError(holder);
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: duckPid ?? 0,
    runId: 'unknown',
    command: 'unknown (no lock file: a read-only session or another DuckDB client)',
    startedAt: 'unknown',
  };
}

function readLockFile(lockPath: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WarehouseError(`cannot read lock file ${lockPath}: ${errorMessage(error)}`, { cause: error });
  }
  // The DuckDB lock is the arbiter and this file only describes its holder, so an unreadable
  // file (say, a disk that filled up) is treated as a missing one rather than blocking everyone.
  let parsed: Partial<LockHolder> | null;
  try {
    parsed = JSON.parse(text) as Partial<LockHolder> | null;
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.pid !== 'number') return undefined;
  return {
    pid: parsed.pid,
    hostname: String(parsed.hostname ?? 'unknown'),
    command: String(parsed.command ?? 'unknown'),
    lockedAt: String(parsed.lockedAt ?? 'unknown'),
    ...(typeof parsed.runId === 'string' ? { runId: parsed.runId } : {}),
    ...(typeof parsed.runStartedAt === 'string' ? { runStartedAt: parsed.runStartedAt } : {}),
  };
}

/** Write-then-rename so a reader never sees a half-written file. Only the DuckDB lock holder writes. */
function writeLockFile(lockPath: string, holder: LockHolder): void {
  const temp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  renameSync(temp, lockPath);
}

function bind(params: SqlParams | undefined): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map(toDuckDBValue);
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, toDuckDBValue(value)]));
}

function toDuckDBValue(value: SqlValue): DuckDBValue {
  if (!(value instanceof Date)) return value;
  const ms = value.getTime();
  if (Number.isNaN(ms)) throw new WarehouseError('cannot bind an invalid Date');
  return timestampTZValue(BigInt(ms) * 1000n);
}

/** ISO 8601 UTC; microseconds only when the value has them, so whole-ms values match `toISOString()`. */
function isoFromMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let sub = micros % 1000n;
  if (sub < 0n) {
    ms -= 1n;
    sub += 1000n;
  }
  const iso = new Date(Number(ms)).toISOString();
  return sub === 0n ? iso : `${iso.slice(0, -1)}${sub.toString().padStart(3, '0')}Z`;
}

const MAX_DATE_MICROS = 8_640_000_000_000_000_000n;

const jsonConverter: DuckDBValueConverter<Json> = (value, type, converter) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP: {
      const { micros } = value as { micros: bigint };
      // infinity, and years beyond what a JS Date holds, keep DuckDB's own rendering
      return micros > -MAX_DATE_MICROS && micros < MAX_DATE_MICROS ? isoFromMicros(micros) : String(value);
    }
    case DuckDBTypeId.TIMESTAMP_S:
      return dateFromTimestampSecondsValue(value).toISOString();
    case DuckDBTypeId.TIMESTAMP_MS:
      return dateFromTimestampMillisecondsValue(value).toISOString();
    case DuckDBTypeId.TIMESTAMP_NS:
      return dateFromTimestampNanosecondsValue(value).toISOString();
    default:
      // Recursion goes through `converter` (this function), so nested timestamps are ISO too.
      return JsonDuckDBValueConverter(value, type, converter);
  }
};

/**
 * The result's top-level JSON columns. The JSON alias lives only on the result's column types,
 * not on the vectors the converter sees, so these are parsed after conversion (JSON nested in a
 * STRUCT stays a string).
 */
function jsonColumnsOf(result: { columnNames(): string[]; columnTypes(): DuckDBType[] }): string[] {
  const names = result.columnNames();
  return result
    .columnTypes()
    .flatMap((type, index) => (type.alias === 'JSON' && names[index] !== undefined ? [names[index]] : []));
}

function parseJsonColumns(rows: Record<string, Json>[], jsonColumns: readonly string[]): void {
  if (jsonColumns.length === 0) return;
  for (const row of rows) {
    for (const column of jsonColumns) {
      const value = row[column];
      if (typeof value === 'string') row[column] = JSON.parse(value) as Json;
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
