import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ReadOnlyViolationError,
  UsageError,
  WarehouseError,
  WarehouseLockedError,
} from '../../../../extractors/core/errors.js';
import { latestSchemaVersion, RUN_SCOPED_TABLES } from '../../../../extractors/core/migrations.js';
import {
  ABANDONED_RUN_ERROR,
  CLOSED_RUN_ERROR,
  configuredMemoryLimit,
  defaultMemoryLimit,
  isMemoryLimit,
  isProcessAlive,
  lockPathFor,
  newRunId,
  quoteIdent,
  Warehouse,
} from '../../../../extractors/core/warehouse.js';
import { temporaryObjects } from '../../../helpers/temporary-objects.js';

let dir: string;
let file: string;
const open: Warehouse[] = [];

/** Migration versions from `first` to the newest: what an upgrade from `first - 1` applies. */
const versionsFrom = (first: number): number[] =>
  Array.from({ length: latestSchemaVersion() - first + 1 }, (_, i) => first + i);

async function openWrite(options: { migrateTo?: number } = {}): Promise<Warehouse> {
  const warehouse = await Warehouse.open(file, { mode: 'write', command: 'test', ...options });
  open.push(warehouse);
  return warehouse;
}

async function openRead(): Promise<Warehouse> {
  const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test-read' });
  open.push(warehouse);
  return warehouse;
}

async function stageRawRow(warehouse: Warehouse, runId: string, rowNo: number): Promise<void> {
  await warehouse.run(
    `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, row_no, fetched_at, raw, raw_time)
     VALUES ($1, 'acct', 'sendcloud', 1, $2, $3, '{"email":"a@example.com"}', '2026-11-23 10:00:00')`,
    [runId, rowNo, new Date()],
  );
}

async function stageRequest(warehouse: Warehouse, runId: string): Promise<void> {
  await warehouse.run(
    `INSERT INTO stage_requests (run_id, account_id, seq, method, url_redacted, status, attempts, started_at)
     VALUES ($1, 'acct', 1, 'GET', 'https://api.example.com/x?key=REDACTED', 500, 4, $2)`,
    [runId, new Date()],
  );
}

async function rowCounts(warehouse: Warehouse, table: string): Promise<Record<string, bigint>> {
  const rows = await warehouse.all<{ run_id: string; n: bigint }>(
    `SELECT run_id, count(*) AS n FROM ${quoteIdent(table)} GROUP BY run_id`,
  );
  return Object.fromEntries(rows.map((r) => [r.run_id, r.n]));
}

async function columns(warehouse: Warehouse, table: string): Promise<string[]> {
  const rows = await warehouse.all<{ column_name: string }>(
    'SELECT column_name FROM duckdb_columns() WHERE table_name = $1 ORDER BY column_index',
    [table],
  );
  return rows.map((r) => r.column_name);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'warehouse-test-'));
  // A nested, not yet existing folder: write mode must create it.
  file = path.join(dir, 'data', 'warehouse.duckdb');
});

afterEach(async () => {
  for (const warehouse of open.splice(0)) await warehouse.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('builds the whole schema from an empty file', async () => {
    const warehouse = await openWrite();
    expect(warehouse.appliedMigrations).toEqual(versionsFrom(1));
    expect(await warehouse.schemaVersion()).toBe(latestSchemaVersion());
    const recorded = await warehouse.all('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(recorded).toEqual([
      { version: 1, name: 'runs' },
      { version: 2, name: 'staging' },
      { version: 3, name: 'extract' },
      { version: 4, name: 'replay' },
      { version: 5, name: 'derived_views' },
    ]);
    expect(await columns(warehouse, 'runs')).toEqual([
      'run_id',
      'command',
      'args',
      'started_at',
      'finished_at',
      'status',
      'error',
      'pid',
    ]);
    expect(await columns(warehouse, 'stage_requests')).toEqual([
      'run_id',
      'account_id',
      'seq',
      'method',
      'url_redacted',
      'status',
      'attempts',
      'duration_ms',
      'rows',
      'bytes',
      'window_from',
      'window_to',
      'error',
      'started_at',
      'page',
    ]);
    expect(await columns(warehouse, 'stage_raw_rows')).toEqual([
      'run_id',
      'account_id',
      'provider',
      'request_seq',
      'window_from',
      'window_to',
      'page',
      'row_no',
      'fetched_at',
      'raw',
      'raw_time',
      'raw_email',
      'scope',
      'raw_expires',
    ]);
    // The contract names are views over committed runs.
    const views = await warehouse.all<{ view_name: string }>(
      'SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name',
    );
    expect(views.map((v) => v.view_name)).toEqual([
      'extract_windows',
      'extractions',
      'raw_rows',
      'replay_log',
      'requests',
      'suppression_events',
    ]);
  });

  it('shows staged rows through the raw_rows view only once their run has committed', async () => {
    const warehouse = await openWrite();
    const runId = await warehouse.beginRun();
    await stageRawRow(warehouse, runId, 0);
    expect(await rowCounts(warehouse, 'raw_rows')).toEqual({});
    await warehouse.finishRun(runId, 'succeeded');
    expect(await rowCounts(warehouse, 'raw_rows')).toEqual({ [runId]: 1n });
  });

  it('upgrades a file at version 1 and keeps its data', async () => {
    const old = await openWrite({ migrateTo: 1 });
    expect(old.appliedMigrations).toEqual([1]);
    const runId = await old.beginRun();
    await old.finishRun(runId, 'succeeded');
    expect(await columns(old, 'raw_rows')).toEqual([]);
    await old.close();

    const upgraded = await openWrite();
    expect(upgraded.appliedMigrations).toEqual(versionsFrom(2));
    expect(await upgraded.schemaVersion()).toBe(latestSchemaVersion());
    expect(await upgraded.all('SELECT run_id, status FROM runs')).toEqual([
      { run_id: runId, status: 'succeeded' },
    ]);
    await stageRawRow(upgraded, runId, 0);
    expect(await rowCounts(upgraded, 'raw_rows')).toEqual({ [runId]: 1n });
  });

  it('upgrades a file at the previous version (2): staged rows move to stage_raw_rows and stay visible', async () => {
    const old = await openWrite({ migrateTo: 2 });
    const runId = await old.beginRun();
    await old.run(
      `INSERT INTO raw_rows (run_id, account_id, provider, request_seq, row_no, fetched_at, raw, raw_time)
       VALUES ($1, 'acct', 'sendcloud', 1, 0, now(), '{"email":"a@x.com"}', '2024-01-01 00:00:00')`,
      [runId],
    );
    await old.finishRun(runId, 'succeeded');
    await old.close();

    const upgraded = await openWrite();
    expect(upgraded.appliedMigrations).toEqual(versionsFrom(3));
    expect(await rowCounts(upgraded, 'stage_raw_rows')).toEqual({ [runId]: 1n });
    expect(await upgraded.all('SELECT raw_time, raw_email FROM raw_rows')).toEqual([
      { raw_time: '2024-01-01 00:00:00', raw_email: null },
    ]);
  });

  it('applies nothing on reopen and leaves the migration records alone', async () => {
    const first = await openWrite();
    const before = await first.allJson('SELECT * FROM schema_migrations ORDER BY version');
    await first.close();
    const second = await openWrite();
    expect(second.appliedMigrations).toEqual([]);
    expect(await second.allJson('SELECT * FROM schema_migrations ORDER BY version')).toEqual(before);
  });

  it('refuses a file whose schema is newer than this build', async () => {
    const warehouse = await openWrite();
    await warehouse.run("INSERT INTO schema_migrations VALUES (999, 'future', now())");
    await warehouse.close();
    await expect(openWrite()).rejects.toThrow(/schema version 999, newer than this unsub-recon knows/);
    await expect(openRead()).rejects.toThrow(WarehouseError);
  });

  it('registers the staging tables for run cleanup', () => {
    expect(RUN_SCOPED_TABLES.filter((t) => t.purgeWhenFailed).map((t) => t.table)).toEqual([
      'raw_rows',
      'stage_raw_rows',
    ]);
    expect(RUN_SCOPED_TABLES.map((t) => t.table)).toEqual(
      expect.arrayContaining(['stage_requests', 'stage_extractions', 'stage_extract_windows']),
    );
  });
});

describe('runs lifecycle', () => {
  it('commits a running row on begin and finishes it once', async () => {
    const warehouse = await openWrite();
    const runId = await warehouse.beginRun({
      command: 'extract',
      args: { account: ['sg-main'], full: true },
    });
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);

    const [running] = await warehouse.allJson('SELECT * FROM runs WHERE run_id = $1', [runId]);
    expect(running).toMatchObject({
      command: 'extract',
      args: { account: ['sg-main'], full: true },
      status: 'running',
      finished_at: null,
      error: null,
      pid: process.pid,
    });
    // The run id's timestamp is the run's start, to the second.
    const startedAt = String(running?.['started_at']);
    expect(startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(startedAt.replaceAll(/[-:]/g, '').slice(0, 15)).toBe(runId.slice(0, 15));

    const lock = JSON.parse(readFileSync(lockPathFor(file), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, command: 'test', runId, runStartedAt: startedAt });

    await warehouse.finishRun(runId, 'partial', 'account sc-main: bad credentials');
    const [finished] = await warehouse.all<{ status: string; error: string; finished_at: Date }>(
      'SELECT status, error, finished_at FROM runs WHERE run_id = $1',
      [runId],
    );
    expect(finished?.status).toBe('partial');
    expect(finished?.error).toBe('account sc-main: bad credentials');
    expect(finished?.finished_at).toBeInstanceOf(Date);
    expect(JSON.parse(readFileSync(lockPathFor(file), 'utf8')).runId).toBeUndefined();

    await expect(warehouse.finishRun(runId, 'succeeded')).rejects.toThrow(/already finished \(partial\)/);
    await expect(warehouse.finishRun('20000101T000000Z-000000', 'succeeded')).rejects.toThrow(
      /does not exist/,
    );
  });

  it('purges a failed run from raw_rows, keeps its request log and other runs', async () => {
    const warehouse = await openWrite();
    const good = await warehouse.beginRun();
    await stageRawRow(warehouse, good, 0);
    await warehouse.finishRun(good, 'succeeded');
    const bad = await warehouse.beginRun();
    await stageRawRow(warehouse, bad, 0);
    await stageRawRow(warehouse, bad, 1);
    await stageRequest(warehouse, bad);

    await warehouse.finishRun(bad, 'failed', 'window 2026-01 still failing after retries');
    expect(await rowCounts(warehouse, 'stage_raw_rows')).toEqual({ [good]: 1n });
    expect(await rowCounts(warehouse, 'stage_requests')).toEqual({ [bad]: 1n });
    expect(await warehouse.all('SELECT status, error FROM runs WHERE run_id = $1', [bad])).toEqual([
      { status: 'failed', error: 'window 2026-01 still failing after retries' },
    ]);
  });

  it('fails a run left running by a dead process on the next open, and only that run', async () => {
    const first = await openWrite();
    const committed = await first.beginRun();
    await stageRawRow(first, committed, 0);
    await first.finishRun(committed, 'succeeded');
    // What a killed process leaves behind: a running row and staged rows, no finishRun.
    const killed = '20261123T091500Z-dead00';
    await first.run(
      "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ($1, 'extract', now(), 'running', 2147483647)",
      [killed],
    );
    await stageRawRow(first, killed, 0);
    await stageRawRow(first, killed, 1);
    await stageRequest(first, killed);
    await first.close();

    const next = await openWrite();
    expect(next.abandonedRuns).toEqual([killed]);
    expect(next.notes.join('\n')).toMatch(`run ${killed} (pid 2147483647) ended before commit`);
    expect(await next.all('SELECT run_id, status, error FROM runs ORDER BY run_id')).toEqual(
      [
        { run_id: committed, status: 'succeeded', error: null },
        { run_id: killed, status: 'failed', error: ABANDONED_RUN_ERROR },
      ].sort((a, b) => a.run_id.localeCompare(b.run_id)),
    );
    expect(await rowCounts(next, 'stage_raw_rows')).toEqual({ [committed]: 1n });
    expect(await rowCounts(next, 'stage_requests')).toEqual({ [killed]: 1n });
    await next.close();

    const again = await openWrite();
    expect(again.abandonedRuns).toEqual([]);
  });

  it('fails its own unfinished run on close', async () => {
    const warehouse = await openWrite();
    const runId = await warehouse.beginRun();
    await stageRawRow(warehouse, runId, 0);
    await warehouse.close();
    const next = await openWrite();
    expect(next.abandonedRuns).toEqual([]);
    expect(await next.all('SELECT status, error FROM runs')).toEqual([
      { status: 'failed', error: CLOSED_RUN_ERROR },
    ]);
    expect(await rowCounts(next, 'stage_raw_rows')).toEqual({});
  });

  it('refuses beginRun inside a transaction, since the running row must commit on its own', async () => {
    const warehouse = await openWrite();
    await expect(warehouse.transaction(() => warehouse.beginRun())).rejects.toThrow(/inside a transaction/);
  });

  it.each(['2026-11-23T09:15:07.000Z', '1999-12-31T23:59:59.999Z'])(
    'derives run ids from the start (%s)',
    (iso) => {
      expect(newRunId(new Date(iso))).toMatch(
        new RegExp(`^${iso.slice(0, 19).replaceAll(/[-:]/g, '')}Z-[0-9a-f]{6}$`),
      );
    },
  );
});

describe('queries', () => {
  it('binds values, so quotes and SQL in them are just data', async () => {
    const warehouse = await openWrite();
    const hostile = "x'); DROP TABLE runs; --";
    await warehouse.run(
      "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ($id, $cmd, $at, 'succeeded', 1)",
      { id: 'r1', cmd: hostile, at: new Date('2026-11-23T09:15:00Z') },
    );
    expect(await warehouse.all('SELECT command FROM runs WHERE command = ?', [hostile])).toEqual([
      { command: hostile },
    ]);
    expect(await warehouse.all('SELECT count(*) AS n FROM runs')).toEqual([{ n: 1n }]);
  });

  it.each([
    ['runs', '"runs"'],
    ['we"ird', '"we""ird"'],
    ['select', '"select"'],
  ])('quotes identifier %s as %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it('quoted identifiers round-trip through DuckDB', async () => {
    const warehouse = await openWrite();
    await warehouse.run(`CREATE TABLE ${quoteIdent('we"ird table')} (${quoteIdent('select')} INTEGER)`);
    await warehouse.run(`INSERT INTO ${quoteIdent('we"ird table')} VALUES (?)`, [7]);
    expect(
      await warehouse.all(`SELECT ${quoteIdent('select')} AS v FROM ${quoteIdent('we"ird table')}`),
    ).toEqual([{ v: 7 }]);
    expect(() => quoteIdent('')).toThrow(WarehouseError);
  });

  it('keeps BIGINT exact and gives JSON-safe rows with ISO 8601 UTC timestamps', async () => {
    const warehouse = await openWrite();
    const sql = `SELECT 9007199254740993::BIGINT AS big,
                        '2026-11-23 03:15:00.123456-06'::TIMESTAMPTZ AS micro,
                        $1::TIMESTAMPTZ AS bound,
                        DATE '2026-11-23' AS day,
                        '{"a":[1,"x"]}'::JSON AS doc,
                        [TIMESTAMPTZ '2026-01-01 00:00:00+00'] AS list,
                        NULL::TIMESTAMPTZ AS missing`;
    const params = [new Date('2026-11-23T09:15:00.000Z')];
    const [js] = await warehouse.all(sql, params);
    expect(js?.['big']).toBe(9007199254740993n);
    expect(js?.['bound']).toEqual(new Date('2026-11-23T09:15:00.000Z'));
    const [json] = await warehouse.allJson(sql, params);
    expect(json).toEqual({
      big: '9007199254740993',
      micro: '2026-11-23T09:15:00.123456Z',
      bound: '2026-11-23T09:15:00.000Z',
      day: '2026-11-23',
      doc: { a: [1, 'x'] },
      list: ['2026-01-01T00:00:00.000Z'],
      missing: null,
    });
  });

  it('streams the rows of allJson a DuckDB chunk at a time, with the same values', async () => {
    const warehouse = await openWrite();
    const sql = `SELECT i, i::BIGINT * 1000000000000 AS big, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS at,
                        ('{"n":' || i || '}')::JSON AS doc, [i::VARCHAR] AS list
                 FROM range($1) r(i) ORDER BY i`;
    const batches: Record<string, unknown>[][] = [];
    for await (const batch of warehouse.streamJson(sql, [5000])) batches.push(batch);
    expect(batches.map((b) => b.length)).toEqual([2048, 2048, 904]);
    expect(batches.flat()).toEqual(await warehouse.allJson(sql, [5000]));
    expect(batches[1]![0]).toEqual({
      i: '2048',
      big: '2048000000000000',
      at: '2026-01-01T00:34:08.000Z',
      doc: { n: 2048 },
      list: ['2048'],
    });
    // Errors are the warehouse's own, when the query starts and while it runs.
    await expect(warehouse.streamJson('SELECT * FROM nowhere').next()).rejects.toThrow(WarehouseError);
    const drain = async () => {
      let rows = 0;
      const failing = warehouse.streamJson(
        "SELECT CASE WHEN i < 3000 THEN i ELSE error('boom') END AS v FROM range(5000) r(i)",
      );
      for await (const batch of failing) rows += batch.length;
      return rows;
    };
    await expect(drain()).rejects.toThrow(WarehouseError);
    await expect(drain()).rejects.toThrow(/warehouse .*boom/);
  });

  it('changes settings around a step and puts the defaults back, also when the step fails', async () => {
    const warehouse = await openWrite();
    const settings = async () =>
      (
        await warehouse.allJson<{ limit: string; order: boolean }>(
          "SELECT current_setting('memory_limit') AS limit, current_setting('preserve_insertion_order') AS order",
        )
      )[0];
    const before = await settings();
    expect(before?.order).toBe(true);
    const inside = await warehouse.withSettings(
      { memoryLimit: '300MB', preserveInsertionOrder: false },
      settings,
    );
    expect(inside?.limit).not.toBe(before?.limit);
    expect(inside?.limit).toMatch(/^2\d\d\.\d MiB$/); // DuckDB shows 300MB as 286.1 MiB
    expect(inside?.order).toBe(false);
    expect(await settings()).toEqual(before);
    const failing = warehouse.withSettings({ memoryLimit: '300MB' }, async () => {
      throw new Error('step failed');
    });
    await expect(failing).rejects.toThrow('step failed');
    expect(await settings()).toEqual(before);
    await expect(
      warehouse.withSettings({ memoryLimit: "1GB'; DROP TABLE runs; --" }, settings),
    ).rejects.toThrow(/memory limit "1GB'; DROP TABLE runs; --": expected a size such as 1.5GB/);
    expect(await settings()).toEqual(before);
    await expect(
      warehouse.withSettings({ memoryLimit: '300MB' }, () => warehouse.withSettings({}, settings)),
    ).rejects.toThrow(/inside another/);
    expect(await settings()).toEqual(before);
  });

  it('drops the temporary objects a scope made, after success and failure, and keeps the rest', async () => {
    const warehouse = await openWrite();
    await warehouse.run('CREATE TEMP TABLE kept_before (a INTEGER)');
    const makeScratch = async (suffix: string) => {
      await warehouse.run(`CREATE TEMP TABLE scratch_${suffix} (a INTEGER)`);
      // A temp table named as a persistent one: only the temporary one may go.
      await warehouse.run('CREATE TEMP TABLE runs (a INTEGER)');
      await warehouse.run(`CREATE TEMP VIEW scratch_view_${suffix} AS SELECT 1 AS one`);
      await warehouse.run(`CREATE TEMP MACRO scratch_macro_${suffix}(x) AS x + 1`);
      await warehouse.run(`CREATE TEMP MACRO scratch_table_macro_${suffix}() AS TABLE SELECT 1 AS one`);
      await warehouse.run(`CREATE TABLE persistent_${suffix} (a INTEGER)`);
      return temporaryObjects(warehouse);
    };
    const inside = await warehouse.withScratch(() => makeScratch('ok'));
    expect(inside).toEqual([
      'macro scratch_macro_ok',
      'macro scratch_table_macro_ok',
      'table kept_before',
      'table runs',
      'table scratch_ok',
      'view scratch_view_ok',
    ]);
    expect(await temporaryObjects(warehouse)).toEqual(['table kept_before']);
    await expect(
      warehouse.withScratch(async () => {
        await makeScratch('failed');
        throw new Error('step failed');
      }),
    ).rejects.toThrow('step failed');
    expect(await temporaryObjects(warehouse)).toEqual(['table kept_before']);
    // Persistent objects made inside a scope stay, and so does the persistent table `runs`.
    const persistent = await warehouse.allJson<{ table_name: string }>(
      "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND table_name IN ('runs', 'persistent_ok', 'persistent_failed') ORDER BY 1",
    );
    expect(persistent.map((t) => t.table_name)).toEqual(['persistent_failed', 'persistent_ok', 'runs']);
    // Scopes nest: the inner one drops only its own; the outer one, what is left of its own.
    await warehouse.withScratch(async () => {
      await warehouse.run('CREATE TEMP TABLE outer_scratch (a INTEGER)');
      await warehouse.withScratch(() => warehouse.run('CREATE TEMP TABLE inner_scratch (a INTEGER)'));
      expect(await temporaryObjects(warehouse)).toEqual(['table kept_before', 'table outer_scratch']);
    });
    expect(await temporaryObjects(warehouse)).toEqual(['table kept_before']);
  });

  it("takes the heavy steps' memory limit from UNSUB_RECON_MEMORY_LIMIT, else 3 GiB or half the machine", () => {
    const GiB = 2 ** 30;
    expect(configuredMemoryLimit({}, 16 * GiB)).toBe('3GiB');
    expect(configuredMemoryLimit({}, 6 * GiB)).toBe('3GiB');
    // a small machine spills earlier rather than run out of memory
    expect(configuredMemoryLimit({}, 4 * GiB)).toBe('2048MiB');
    expect(configuredMemoryLimit({ UNSUB_RECON_MEMORY_LIMIT: '' }, 3 * GiB)).toBe('1536MiB');
    expect(configuredMemoryLimit({ UNSUB_RECON_MEMORY_LIMIT: '800MB' }, 16 * GiB)).toBe('800MB');
    expect(configuredMemoryLimit({ UNSUB_RECON_MEMORY_LIMIT: '8GB' }, 4 * GiB)).toBe('8GB');
    expect(isMemoryLimit(defaultMemoryLimit())).toBe(true);
    expect(() => configuredMemoryLimit({ UNSUB_RECON_MEMORY_LIMIT: 'lots' })).toThrow(UsageError);
    expect(() => configuredMemoryLimit({ UNSUB_RECON_MEMORY_LIMIT: 'lots' })).toThrow(
      'environment variable UNSUB_RECON_MEMORY_LIMIT is "lots": expected a size such as 1.5GB or 800MB',
    );
    expect(['1.5GB', '800MB', '2 GiB'].map(isMemoryLimit)).toEqual([true, true, true]);
    expect(['', '1.5', 'lots', '1GB; SELECT 1'].map(isMemoryLimit)).toEqual([false, false, false, false]);
  });

  it('rolls a failed transaction back and rethrows', async () => {
    const warehouse = await openWrite();
    const failure = warehouse.transaction(async (w) => {
      await w.run(
        "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ('r1', 'x', now(), 'running', 1)",
      );
      await w.run(
        "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ('r2', 'x', now(), 'bogus', 1)",
      );
    });
    await expect(failure).rejects.toThrow(WarehouseError);
    expect(await warehouse.all('SELECT count(*) AS n FROM runs')).toEqual([{ n: 0n }]);
    await warehouse.transaction(async (w) => {
      await w.run(
        "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ('r3', 'x', now(), 'running', 1)",
      );
    });
    expect(await warehouse.all('SELECT run_id FROM runs')).toEqual([{ run_id: 'r3' }]);
  });

  it('exposes the connection for the appender', async () => {
    const warehouse = await openWrite();
    const appender = await warehouse.connection.createAppender('schema_migrations');
    appender.closeSync();
    await warehouse.close();
    expect(() => warehouse.connection).toThrow(/closed/);
  });
});

describe('read mode', () => {
  it('reads but refuses every write with a clear error', async () => {
    const writer = await openWrite();
    await writer.finishRun(await writer.beginRun(), 'succeeded');
    await writer.close();

    const reader = await openRead();
    expect(existsSync(lockPathFor(file))).toBe(false);
    expect(await reader.all('SELECT status FROM runs')).toEqual([{ status: 'succeeded' }]);
    await expect(reader.run('DELETE FROM runs')).rejects.toThrow(ReadOnlyViolationError);
    await expect(
      reader.all("INSERT INTO runs VALUES ('x', 'x', NULL, now(), NULL, 'running', NULL, 1)"),
    ).rejects.toThrow(/open read-only and cannot be changed/);
    await expect(reader.run('CREATE TABLE t (a INTEGER)')).rejects.toThrow(ReadOnlyViolationError);
    await expect(reader.beginRun()).rejects.toThrow(ReadOnlyViolationError);
    await expect(reader.transaction(async () => undefined)).rejects.toThrow(ReadOnlyViolationError);
  });

  it('explains a missing file or one that is not a warehouse', async () => {
    await expect(openRead()).rejects.toThrow(/does not exist yet/);
    const other = path.join(dir, 'other.duckdb');
    const warehouse = await Warehouse.open(other, { mode: 'write', command: 'test' });
    await warehouse.run('DROP TABLE schema_migrations');
    await warehouse.close();
    await expect(Warehouse.open(other, { mode: 'read', command: 'test' })).rejects.toThrow(
      /is not an unsub-recon warehouse/,
    );
  });
});

describe('lock', () => {
  it('refuses a second writer in the same process and names the holder', async () => {
    const warehouse = await openWrite();
    const runId = await warehouse.beginRun();
    const second = openWrite();
    await expect(second).rejects.toThrow(WarehouseLockedError);
    await expect(second).rejects.toThrow(`pid ${process.pid} (run ${runId}, test, started `);
    // A file the process has open for write cannot be opened for read beside it either.
    await expect(openRead()).rejects.toThrow(WarehouseLockedError);
  });

  it('writes the lock file on open and removes it on close', async () => {
    const warehouse = await openWrite();
    const lock = JSON.parse(readFileSync(lockPathFor(file), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, command: 'test' });
    expect(lock.runId).toBeUndefined();
    await warehouse.close();
    expect(existsSync(lockPathFor(file))).toBe(false);
    await warehouse.close();
  });

  it.each([
    ['a dead pid', JSON.stringify({ pid: 2147483647, hostname: 'h', command: 'nightly', lockedAt: 'then' })],
    ['garbage', 'not json'],
  ])('takes over a stale lock file holding %s', async (_, content) => {
    await openWrite().then((w) => w.close());
    writeFileSync(lockPathFor(file), content);
    const warehouse = await openWrite();
    expect(warehouse.recoveredLock?.pid).toBe(content.startsWith('{') ? 2147483647 : undefined);
    expect(JSON.parse(readFileSync(lockPathFor(file), 'utf8')).pid).toBe(process.pid);
  });

  it('tells live and dead pids apart', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2147483647)).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
  });
});
