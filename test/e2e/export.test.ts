// `unsub-recon export --format parquet`: the real CLI on a warehouse filled by a real `extract`;
// the Parquet files are read back by a fresh in-memory DuckDB and compared with the views.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBValue, listValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { CONTRACT_VIEWS } from '../../pipelines/export.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
let warehouse: string;

const exportTo = (out: string, args: string[] = []) =>
  runCli(
    [
      '--config',
      sandbox.configFile,
      '--warehouse',
      warehouse,
      'export',
      '--format',
      'parquet',
      '--out',
      out,
      ...args,
    ],
    { env: sandbox.env },
  );

/**
 * The Parquet files of an export entry, as a DuckDB list: explicit names rather than a glob, since
 * the test folder's name holds a backslash, which is an escape character in DuckDB globs.
 */
function parquetFiles(entry: string): DuckDBValue {
  const files = entry.endsWith('.parquet')
    ? [entry]
    : (readdirSync(entry, { recursive: true }) as string[])
        .filter((f) => f.endsWith('.parquet'))
        .map((f) => path.join(entry, f));
  expect(files.length).toBeGreaterThan(0);
  return listValue(files);
}

/** Rows of a query on a fresh in-memory DuckDB (no warehouse attached), as JSON values. */
async function freshDuckDb<T>(query: string, params: DuckDBValue[] = []): Promise<T[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(query, params);
    return reader.getRowObjectsJson() as T[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function warehouseCounts(): Promise<Record<string, string>> {
  const wh = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
  try {
    const names = new Set(
      (
        await wh.all<{ name: string }>(
          'SELECT view_name AS name FROM duckdb_views() WHERE NOT internal UNION SELECT table_name FROM duckdb_tables()',
        )
      ).map((r) => r.name),
    );
    const counts: Record<string, string> = {};
    for (const view of CONTRACT_VIEWS) {
      if (!names.has(view)) continue;
      const rows = await wh.allJson<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM "${view}"`);
      counts[view] = rows[0]!.n;
    }
    return counts;
  } finally {
    await wh.close();
  }
}

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 200,
    seed: 9,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-export-')),
  });
  warehouse = path.join(sandbox.dir, 'warehouse.duckdb');
  const extracted = await runCli(
    ['--config', sandbox.configFile, '--warehouse', warehouse, 'extract', '--json'],
    { env: sandbox.env },
  );
  expect(extracted.code).toBe(0);
  const transformed = await runCli(
    ['--config', sandbox.configFile, '--warehouse', warehouse, 'transform', '--json'],
    { env: sandbox.env },
  );
  expect(transformed.code, transformed.stderr).toBe(0);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('export --format parquet', () => {
  // Quotes, a space and a backslash in the user-given folder: the path is bound, never spliced.
  const outDir = () => path.join(sandbox.dir, `exp o'brien "q" \\ dir`);

  it('writes every contract view; the files read back with the same counts', async () => {
    const { code, stdout, stderr } = await exportTo(outDir(), ['--json']);
    expect(stderr).not.toMatch(/INTERNAL|ERROR/);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.status).toBe('ok');
    expect(result.out).toBe(outDir());

    const counts = await warehouseCounts();
    // Every view but replay_log (written by `replay` only) exists after extract + transform.
    for (const view of CONTRACT_VIEWS.filter((v) => v !== 'replay_log')) {
      expect(counts[view], view).toBeDefined();
    }
    expect(Number(counts.discrepancy_summary)).toBeGreaterThan(0);
    expect(Number(counts.group_status)).toBe(sandbox.scenario.groups.length);
    expect(result.files.map((f: { view: string }) => f.view)).toEqual(Object.keys(counts));
    expect(Number(counts.raw_rows)).toBeGreaterThanOrEqual(200 * sandbox.scenario.accounts.length);

    for (const file of result.files as Array<{
      view: string;
      rows: number;
      path: string;
      partitionBy: string | null;
    }>) {
      expect(String(file.rows), file.view).toBe(counts[file.view]);
      const partitioned = [
        'raw_rows',
        'requests',
        'suppressions',
        'suppression_sources',
        'suppression_events',
      ].includes(file.view);
      expect(file.partitionBy).toBe(partitioned ? 'account_id' : null);
      expect(file.path).toBe(path.join(outDir(), partitioned ? file.view : `${file.view}.parquet`));
      const [back] = await freshDuckDb<{ n: string }>(
        'SELECT count(*)::VARCHAR AS n FROM read_parquet($1, hive_partitioning = true)',
        [parquetFiles(file.path)],
      );
      expect(back!.n, file.view).toBe(counts[file.view]);
    }
  });

  it('partitions raw_rows by account (Hive folders) with the same rows per account and typed columns', async () => {
    const dir = path.join(outDir(), 'raw_rows');
    expect(readdirSync(dir).sort()).toEqual(
      sandbox.scenario.accounts.map((a) => `account_id=${a.id}`).sort(),
    );
    const wh = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
    let inWarehouse: unknown[];
    try {
      inWarehouse = await wh.allJson(
        `SELECT account_id, count(*)::VARCHAR AS n, count(DISTINCT raw_email)::VARCHAR AS emails,
                epoch_us(min(fetched_at))::VARCHAR AS first_fetch
           FROM raw_rows GROUP BY account_id ORDER BY account_id`,
      );
    } finally {
      await wh.close();
    }
    const fromParquet = await freshDuckDb(
      `SELECT account_id, count(*)::VARCHAR AS n, count(DISTINCT raw_email)::VARCHAR AS emails,
              epoch_us(min(fetched_at))::VARCHAR AS first_fetch
         FROM read_parquet($1, hive_partitioning = true) GROUP BY account_id ORDER BY account_id`,
      [parquetFiles(dir)],
    );
    expect(fromParquet).toEqual(inWarehouse);
    const types = await freshDuckDb<{ column_name: string; column_type: string }>(
      'SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($1))',
      [parquetFiles(dir)],
    );
    const typeOf = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
    expect(typeOf.fetched_at).toBe('TIMESTAMP WITH TIME ZONE');
    expect(typeOf.row_no).toBe('INTEGER');
  });

  it('refuses a non-empty folder (exit 2) unless --overwrite, and leaves other files alone', async () => {
    const dir = path.join(sandbox.dir, 'busy');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    const refused = await exportTo(dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not empty.*--overwrite/);
    expect(readdirSync(dir)).toEqual(['keep.txt']);

    const first = await exportTo(dir, ['--overwrite', '--json']);
    expect(first.code).toBe(0);
    const again = await exportTo(dir, ['--overwrite', '--json']);
    expect(again.code).toBe(0);
    const listing = readdirSync(dir).sort();
    expect(listing).toContain('keep.txt');
    expect(listing).toContain('runs.parquet');
    expect(listing.some((f) => f.startsWith('.unsub-export'))).toBe(false);
    const [back] = await freshDuckDb<{ n: string }>(
      'SELECT count(*)::VARCHAR AS n FROM read_parquet($1, hive_partitioning = true)',
      [parquetFiles(path.join(dir, 'raw_rows'))],
    );
    expect(back!.n).toBe((await warehouseCounts()).raw_rows);
  });

  it('exports an empty warehouse, and any further contract view that exists, partitioned when per account', async () => {
    const file = path.join(sandbox.dir, 'empty.duckdb');
    const wh = await Warehouse.open(file, { mode: 'write', command: 'test' });
    let hasSuppressions: boolean;
    try {
      const found = await wh.all<{ n: bigint }>(
        "SELECT count(*) AS n FROM duckdb_columns() WHERE table_name = 'suppressions' AND column_name = 'account_id'",
      );
      hasSuppressions = found[0]!.n > 0n;
      if (!hasSuppressions) {
        // Stands in for the transform's table when this build has none yet.
        await wh.run(`CREATE TABLE suppressions AS
          SELECT * FROM (VALUES ('acct-a', 'x@example.com'), ('acct-a', 'y@example.com'), ('acct-b', 'x@example.com'))
            AS t(account_id, email_norm)`);
      }
    } finally {
      await wh.close();
    }
    const dir = path.join(sandbox.dir, 'empty-export');
    const { code, stdout } = await runCli(
      ['--config', sandbox.configFile, '--warehouse', file, '--json', 'export', '--out', dir],
      { env: sandbox.env },
    );
    expect(code).toBe(0);
    const files = JSON.parse(stdout).files as Array<{
      view: string;
      rows: number;
      path: string;
      parquetFiles: string[];
    }>;
    const byView = Object.fromEntries(files.map((f) => [f.view, f]));
    expect(byView.raw_rows).toMatchObject({ rows: 0, parquetFiles: [] });
    expect(byView.runs).toMatchObject({ rows: 0, parquetFiles: ['runs.parquet'] });
    const [runs] = await freshDuckDb<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM read_parquet($1)', [
      parquetFiles(byView.runs!.path),
    ]);
    expect(runs!.n).toBe('0');
    expect(byView.suppressions).toBeDefined();
    if (!hasSuppressions) {
      expect(byView.suppressions!.rows).toBe(3);
      expect(readdirSync(byView.suppressions!.path).sort()).toEqual([
        'account_id=acct-a',
        'account_id=acct-b',
      ]);
    }
  });

  it('needs --out (exit 2)', async () => {
    const { code, stderr } = await runCli(
      ['--config', sandbox.configFile, '--warehouse', warehouse, 'export', '--format', 'parquet'],
      { env: sandbox.env },
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/--out DIR is required/);
  });
});
