// The report's SQL against a real DuckDB warehouse (migrated by Warehouse.open) holding a few
// hand-made transform results: the evidence JSON DuckDB builds, block by block, and the rows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../../extractors/core/warehouse.js';
import { EVIDENCE_CHUNK, type ReportInputs, readReportInputs } from '../../../reports/queries.js';

const HOSTILE = '</script><!--"\'&\u2028\t\\x@xss.example';
/** Addresses beyond the first block, so the evidence spans two. */
const FILLER = EVIDENCE_CHUNK + 5;

let warehouse: Warehouse;
let extractRun: string;
let transformRun: string;

beforeAll(async () => {
  warehouse = await Warehouse.open(
    path.join(mkdtempSync(path.join(tmpdir(), 'unsub-report-sql-')), 'w.duckdb'),
    {
      mode: 'write',
      command: 'test',
    },
  );
  extractRun = await warehouse.beginRun({ command: 'extract' });
  const raw = `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, page, row_no, fetched_at, raw, raw_time, raw_email, scope, raw_expires)
               VALUES ($1, $2, 'sendcloud', $3, $4, $5, $6, '{}', $7, $8, 'global', $9)`;
  const at = new Date('2026-01-02T03:04:05.250Z');
  // a: two rows for the hostile address (second page first in time), one spelt differently
  await warehouse.run(raw, [
    extractRun,
    'a',
    2,
    1,
    0,
    at,
    '2025-01-01 00:00:00',
    ` ${HOSTILE.toUpperCase()}`,
    null,
  ]);
  await warehouse.run(raw, [extractRun, 'a', 1, 1, 3, at, '2025-01-02 00:00:00', HOSTILE, null]);
  // c: no page (NULL), no time, not in the request log
  await warehouse.run(raw, [extractRun, 'c', 9, null, 0, at, null, HOSTILE, null]);
  await warehouse.run(
    `INSERT INTO stage_requests (run_id, account_id, seq, method, url_redacted, status, attempts, started_at, window_from, window_to, page)
     VALUES ($1, 'a', 1, 'POST', 'http://127.0.0.1:1/list?key=***&<b>', 200, 1, now(), TIMESTAMPTZ '2025-01-01', TIMESTAMPTZ '2025-02-01', 1),
            ($1, 'a', 2, 'POST', 'http://127.0.0.1:1/list?page=2', 200, 2, now(), NULL, NULL, 1)`,
    [extractRun],
  );
  await warehouse.finishRun(extractRun, 'succeeded');
  transformRun = await warehouse.beginRun({ command: 'transform' });
  await warehouse.run(
    `CREATE TABLE group_status AS SELECT $1 AS run_id, 'g' AS group_id, 'union' AS policy, ['a', 'b', 'c'] AS members,
       true AS diffed, false AS allowed_incomplete, []::VARCHAR[] AS incomplete_accounts, NULL::VARCHAR AS detail`,
    [transformRun],
  );
  await warehouse.run(
    `CREATE TABLE discrepancies AS
     SELECT $1 AS run_id, 'g' AS group_id, $2 AS email_norm, ['a', 'c'] AS present_in, ['b'] AS missing_from,
            TIMESTAMPTZ '2025-01-01 08:00:00+00' AS first_unsubscribed_at, 'missing' AS kind
     UNION ALL
     SELECT $1, 'g', 'filler' || lpad(i::VARCHAR, 5, '0') || '@example.com', ['b'], ['a', 'c'], NULL, 'missing'
     FROM range($3) t(i)`,
    [transformRun, HOSTILE.toLowerCase(), FILLER],
  );
  await warehouse.run(
    `CREATE TABLE suppressions AS
     SELECT * FROM (VALUES
       ('a', 'sendcloud', ' ' || upper($1), lower($1), 'global', TIMESTAMPTZ '2025-01-01 08:00:00+00', NULL::TIMESTAMPTZ, true, $2, $2),
       ('c', 'whatcounts', $1, lower($1), 'global', NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, true, $2, $2))
       AS t(account_id, provider, email, email_norm, scope, unsubscribed_at, expires_at, active, first_seen_run, last_seen_run)`,
    [HOSTILE, extractRun],
  );
  await warehouse.run(
    `CREATE TABLE suppression_sources AS
     SELECT * FROM (VALUES ('a', 'global', lower($1), $2, 2, 1, 0), ('a', 'global', lower($1), $2, 1, 1, 3),
                           ('c', 'global', lower($1), $2, 9, NULL, 0))
       AS t(account_id, scope, email_norm, run_id, request_seq, page, row_no)`,
    [HOSTILE, extractRun],
  );
  await warehouse.run(
    `CREATE TABLE discrepancy_summary (run_id VARCHAR, group_id VARCHAR, policy VARCHAR, kind VARCHAR, present_account VARCHAR,
       missing_account VARCHAR, addresses BIGINT, present_total BIGINT, pct_of_present DOUBLE)`,
  );
  await warehouse.run(
    `CREATE TABLE rejects (run_id VARCHAR, account_id VARCHAR, raw_value VARCHAR, reason VARCHAR)`,
  );
  await warehouse.run(`INSERT INTO rejects VALUES ($1, 'retired', '=cmd', 'missing_at')`, [extractRun]);
});
afterAll(async () => {
  await warehouse?.close();
});

describe('readReportInputs', () => {
  let inputs: ReportInputs;
  beforeAll(async () => {
    inputs = await readReportInputs(warehouse, ['c', 'b', 'a']);
  });

  it('numbers the configured accounts first, in config order, then the others by id', () => {
    expect(inputs.accounts).toEqual(['c', 'b', 'a', 'retired']);
    expect(inputs.transformRun.run_id).toBe(transformRun);
  });

  it('reads discrepancy rows with lists, ISO times and the evidence number of each address', () => {
    const hostile = inputs.discrepancies.find((d) => d.email_norm === HOSTILE.toLowerCase());
    expect(hostile).toMatchObject({
      run_id: transformRun,
      policy: 'union',
      present_in: ['a', 'c'],
      missing_from: ['b'],
      first_unsubscribed_at: '2025-01-01T08:00:00Z',
    });
    const filler = inputs.discrepancies.filter((d) => d.email_norm.startsWith('filler'));
    expect(filler).toHaveLength(FILLER);
    expect(filler[0]).toMatchObject({
      present_in: ['b'],
      missing_from: ['a', 'c'],
      first_unsubscribed_at: null,
    });
    // Numbers follow email_norm order; the hostile address sorts first ('<' before 'f').
    expect(hostile!.evidence_idx).toBe(0);
    expect(filler.map((d) => d.evidence_idx)).toEqual(filler.map((_, i) => i + 1));
  });

  it('builds valid evidence JSON: every holder, its sources in order, requests by index, in blocks', () => {
    expect(inputs.evidence.chunks).toHaveLength(2);
    const blocks = inputs.evidence.chunks.map((c) => JSON.parse(c) as unknown[][]);
    expect(blocks[0]).toHaveLength(EVIDENCE_CHUNK);
    expect(blocks[1]).toHaveLength(FILLER + 1 - EVIDENCE_CHUNK);
    expect(blocks[1]!.at(-1)).toEqual([]); // a filler address nobody holds here

    const index = JSON.parse(inputs.evidence.index);
    expect(index.runs).toEqual([extractRun]);
    expect(index.requests).toEqual([
      [
        0,
        2,
        1,
        'POST',
        'http://127.0.0.1:1/list?key=***&<b>',
        200,
        '2025-01-01T00:00:00Z',
        '2025-02-01T00:00:00Z',
        1,
      ],
      [0, 2, 2, 'POST', 'http://127.0.0.1:1/list?page=2', 200, null, null, 1],
    ]);

    const [c, a] = blocks[0]![0] as unknown[][];
    // c (account 0): spelt as the address itself (0), no time → first fetch shown, page NULL, no request
    expect(c).toEqual([
      0,
      'global',
      0,
      null,
      null,
      true,
      '2026-01-02T03:04:05.250Z',
      0,
      0,
      [[0, 9, null, 0, 0, null, null, -1]],
    ]);
    // a (account 2): its own spelling; sources by request then row; the second raw value differs
    expect(a).toEqual([
      2,
      'global',
      ` ${HOSTILE.toUpperCase()}`,
      '2025-01-01T08:00:00Z',
      null,
      true,
      null,
      0,
      0,
      [
        [0, 1, 1, 3, HOSTILE, '2025-01-02 00:00:00', null, 0],
        [0, 2, 1, 0, 0, '2025-01-01 00:00:00', null, 1],
      ],
    ]);
  });

  it('with a group, reads only that group; an unknown group reads nothing', async () => {
    const none = await readReportInputs(warehouse, ['a', 'b', 'c'], 'nope');
    expect(none.discrepancies).toEqual([]);
    expect(none.rejects).toEqual([]);
    expect(none.evidence.chunks).toEqual([]);
  });

  it('leaves no temp object behind on the connection', async () => {
    const temp = await warehouse.allJson<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'report%'
       UNION ALL SELECT function_name FROM duckdb_functions() WHERE function_name = 'report_iso'`,
    );
    expect(temp).toEqual([]);
  });
});
