// `unsub-recon sql`: the real CLI on a warehouse filled by a real `extract` against the sandbox.
// Read statements print in three formats; anything that could write or read outside the
// warehouse is refused with SQL_READ_ONLY and exit 2, and leaves the warehouse as it was.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
let warehouse: string;
let expected: Array<{ account_id: string; n: string; first_fetch: string }>;
let runsBefore: unknown[];

const sql = (query: string, args: string[] = []) =>
  runCli(['--config', sandbox.configFile, '--warehouse', warehouse, 'sql', query, ...args], {
    env: sandbox.env,
  });

async function read<T>(query: string): Promise<T[]> {
  const wh = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
  try {
    return await wh.allJson<T>(query);
  } finally {
    await wh.close();
  }
}

const PER_ACCOUNT = `SELECT account_id, count(*)::VARCHAR AS n, min(fetched_at) AS first_fetch
  FROM raw_rows GROUP BY account_id ORDER BY account_id`;

beforeAll(async () => {
  sandbox = await startSandbox({ rows: 200, seed: 7, dir: mkdtempSync(path.join(tmpdir(), 'unsub-sql-')) });
  warehouse = path.join(sandbox.dir, 'warehouse.duckdb');
  const extracted = await runCli(
    ['--config', sandbox.configFile, '--warehouse', warehouse, 'extract', '--json'],
    { env: sandbox.env },
  );
  expect(extracted.code).toBe(0);
  expected = await read(PER_ACCOUNT);
  runsBefore = await read('SELECT * FROM runs ORDER BY run_id');
  expect(expected.length).toBe(sandbox.scenario.accounts.length);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('sql: read queries', () => {
  it('--format json prints a JSON array of row objects with ISO 8601 UTC timestamps', async () => {
    const { code, stdout, stderr } = await sql(PER_ACCOUNT, ['--format', 'json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout);
    expect(Array.isArray(rows)).toBe(true);
    expect(rows).toEqual(expected);
    for (const row of rows) expect(row.first_fetch).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$/);
  });

  it('the global --json flag means --format json', async () => {
    const { code, stdout } = await sql('SELECT 42::BIGINT AS answer, true AS yes', ['--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([{ answer: '42', yes: true }]);
  });

  it('--format csv prints RFC 4180 CSV with a header row', async () => {
    const query = `SELECT account_id, count(*) AS n, 'a "quoted", value' AS tricky, true AS flag
      FROM raw_rows GROUP BY account_id ORDER BY account_id`;
    const { code, stdout } = await sql(query, ['--format', 'csv']);
    expect(code).toBe(0);
    expect(stdout.split('\r\n')[0]).toBe('account_id,n,tricky,flag');
    expect(stdout).toContain('"a ""quoted"", value"');
    const records = parse(stdout, { columns: true }) as Array<Record<string, string>>;
    expect(records).toEqual(
      expected.map((e) => ({ account_id: e.account_id, n: e.n, tricky: 'a "quoted", value', flag: 'true' })),
    );
  });

  it('--format table (the default) prints a header and one line per row, and a header for no rows', async () => {
    const { code, stdout } = await sql(PER_ACCOUNT);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^account_id\s+n\s+first_fetch$/);
    expect(lines).toHaveLength(2 + expected.length);
    for (const [i, e] of expected.entries()) {
      expect(lines[i + 2]).toMatch(
        new RegExp(`^${e.account_id}\\s+${e.n}\\s+${e.first_fetch.replaceAll('.', '\\.')}$`),
      );
    }
    const empty = await sql('SELECT run_id, status FROM runs WHERE false');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^run_id\s+status\n-+\s+-+\n\(no rows\)\n$/);
  });

  it('DESCRIBE and EXPLAIN are read statements', async () => {
    const described = await sql('DESCRIBE raw_rows', ['--format', 'json']);
    expect(described.code).toBe(0);
    expect(JSON.parse(described.stdout).map((r: { column_name: string }) => r.column_name)).toContain(
      'raw_email',
    );
    const explained = await sql('EXPLAIN SELECT count(*) FROM raw_rows');
    expect(explained.code).toBe(0);
  });
});

describe('sql: locking', () => {
  it('runs beside another reader, and is refused (exit 1, WAREHOUSE_LOCKED) while a writer holds the file', async () => {
    const reader = await Warehouse.open(warehouse, { mode: 'read', command: 'test-reader' });
    try {
      const beside = await sql('SELECT count(*) AS n FROM runs', ['--format', 'json']);
      expect(beside.code).toBe(0);
      expect(JSON.parse(beside.stdout)).toEqual([{ n: String(runsBefore.length) }]);
    } finally {
      await reader.close();
    }
    const writer = await Warehouse.open(warehouse, { mode: 'write', command: 'test-writer' });
    try {
      const refused = await sql('SELECT 1');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/WAREHOUSE_LOCKED.*test-writer/);
    } finally {
      await writer.close();
    }
  });
});

describe('sql: refusals', () => {
  const copyTarget = () => path.join(sandbox.dir, 'copied.csv');
  const secretFile = () => path.join(sandbox.dir, 'secret.csv');

  it.each([
    ['DROP TABLE runs', /statement of type DROP/],
    [
      "INSERT INTO runs (run_id, command, started_at, status, pid) VALUES ('x', 'x', now(), 'failed', 1)",
      /statement of type INSERT/,
    ],
    ["UPDATE runs SET status = 'failed'", /statement of type UPDATE/],
    ['DELETE FROM runs', /statement of type DELETE/],
    ['CREATE TABLE evil AS SELECT 1', /statement of type CREATE/],
    ["ATTACH ':memory:' AS other", /statement of type ATTACH/],
    ['SET threads = 1', /statement of type SET/],
    ['PRAGMA threads = 1', /statement of type SET/],
    ['INSTALL httpfs', /statement of type LOAD/],
    ["EXPORT DATABASE '/tmp/unsub-sql-export-refused'", /statement of type EXPORT/],
    ['CALL duckdb_tables()', /statement of type CALL/],
    ['SELECT 1; DROP TABLE runs', /exactly one read statement.*2 statements/],
    ['SELECT 1; SELECT 2', /exactly one read statement.*2 statements/],
  ])('refuses %s with SQL_READ_ONLY and exit 2', async (query, message) => {
    const { code, stdout, stderr } = await sql(query);
    expect(code).toBe(2);
    expect(stderr).toMatch(/SQL_READ_ONLY/);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    expect(await read('SELECT * FROM runs ORDER BY run_id')).toEqual(runsBefore);
    expect(await read(PER_ACCOUNT)).toEqual(expected);
  });

  it('refuses COPY … TO and writes no file', async () => {
    const target = copyTarget().replaceAll("'", "''");
    const { code, stderr } = await sql(`COPY (SELECT * FROM raw_rows) TO '${target}' (FORMAT csv)`);
    expect(code).toBe(2);
    expect(stderr).toMatch(/SQL_READ_ONLY.*statement of type COPY/);
    expect(existsSync(copyTarget())).toBe(false);
  });

  it('refuses to read a local file (external access is off) and prints none of it', async () => {
    writeFileSync(secretFile(), 'token\nsecret-value-123\n');
    const file = secretFile().replaceAll("'", "''");
    for (const query of [
      `SELECT * FROM read_csv('${file}')`,
      `SELECT * FROM '${file}'`,
      `SELECT * FROM glob('${path.dirname(file)}/*')`,
    ]) {
      const { code, stdout, stderr } = await sql(query, ['--format', 'json']);
      expect(code).toBe(2);
      expect(stderr).toMatch(/SQL_READ_ONLY.*disabled/);
      expect(stdout).not.toContain('secret-value-123');
      expect(stderr).not.toContain('secret-value-123');
    }
  });

  it('an unknown table is a query error (exit 1), not a refusal', async () => {
    const { code, stderr } = await sql('SELECT * FROM no_such_view');
    expect(code).toBe(1);
    expect(stderr).toMatch(/no_such_view/);
    expect(stderr).not.toMatch(/SQL_READ_ONLY/);
  });

  it('rejects an unknown --format and --json with --format csv as usage errors', async () => {
    expect((await sql('SELECT 1', ['--format', 'xml'])).code).toBe(2);
    const mixed = await sql('SELECT 1', ['--json', '--format', 'csv']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--json .*--format csv/);
  });
});
