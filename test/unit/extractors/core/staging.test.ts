import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExtractWindow, RawRow } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import {
  RawRowStager,
  SPOOL_PREFIX,
  type StagedPage,
  type StagerOptions,
} from '../../../../extractors/core/staging.js';
import { Warehouse } from '../../../../extractors/core/warehouse.js';

const SECRET = 'sim-secret-value-1';
const LINEAGE = { accountId: 'sc-main', provider: 'sendcloud' };
const WINDOW: ExtractWindow = {
  from: Date.UTC(2025, 0, 1),
  to: Date.UTC(2025, 1, 1),
  scope: 'global',
  params: {},
};
const RECORDS_PATH = ['info', 'dataList'];

let dir: string;
let warehouse: Warehouse;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'staging-test-'));
  warehouse = await Warehouse.open(path.join(dir, 'w.duckdb'), { mode: 'write', command: 'test' });
});

afterEach(async () => {
  await warehouse.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An answer as a JSON provider sends it, and the rows its parse gives (record = element i). */
function answer(records: Record<string, unknown>[], scope = 'global'): { body: string; rows: RawRow[] } {
  const body = JSON.stringify({
    result: true,
    statusCode: 200,
    info: { count: records.length, dataList: records },
  });
  const parsed = (JSON.parse(body) as { info: { dataList: Record<string, unknown>[] } }).info.dataList;
  const rows = parsed.map(
    (record): RawRow => ({
      email: typeof record.email === 'string' ? record.email : '',
      rawTime: typeof record.time === 'string' ? record.time : null,
      ...(typeof record.expires === 'string' ? { rawExpires: record.expires } : {}),
      scope,
      record,
    }),
  );
  return { body, rows };
}

const PAGES = [
  answer([
    { email: ' Üser@Example.com ', time: '2025-01-02 03:04:05', expires: '9999-12-31 23:59:59', labelId: 1 },
    {
      email: 'quote"back\\slash@example.com',
      time: '2025-01-03 00:00:00',
      nested: { a: [1, 2.5, null, true] },
    },
    { email: 'line\nbreak@example.com', time: null, note: 'tab\tand \u2028 and 中文' },
  ]),
  answer([{ email: 'b@example.com', time: '2025-01-04 00:00:00', unsubscribeType: 0 }], 'list:7'),
];

/** Stages `pages` under a fresh committed run and returns that run's rows, in lineage order. */
async function stage(
  pages: readonly { body: string; rows: readonly RawRow[] }[],
  options: StagerOptions,
  batchEvery = Number.POSITIVE_INFINITY,
): Promise<Record<string, unknown>[]> {
  const runId = await warehouse.beginRun({});
  const stager = await RawRowStager.open(
    warehouse.connection,
    { runId, ...LINEAGE },
    createRedactor([SECRET], { byName: false }),
    options,
  );
  for (const [i, page] of pages.entries()) {
    const staged: StagedPage = {
      requestSeq: 10 + i,
      page: i + 1,
      window: WINDOW,
      fetchedAt: Date.UTC(2025, 1, 1, 3, 0, 0, 0),
      rows: page.rows,
      body: page.body,
    };
    stager.add(staged);
    if ((i + 1) % batchEvery === 0) await stager.flush();
  }
  await stager.close();
  await warehouse.finishRun(runId, 'succeeded');
  return warehouse.allJson(
    `SELECT account_id, provider, request_seq, window_from::VARCHAR AS window_from, window_to::VARCHAR AS window_to,
       page, row_no, fetched_at::VARCHAR AS fetched_at, raw, raw_time, raw_email, scope, raw_expires
       FROM raw_rows WHERE run_id = $runId ORDER BY request_seq, row_no`,
    { runId },
  );
}

describe('RawRowStager', () => {
  it('stages every row with its lineage, the record as JSON and the strings exactly as received', async () => {
    const rows = await stage(PAGES, {});
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({
      account_id: 'sc-main',
      provider: 'sendcloud',
      request_seq: 10,
      page: 1,
      row_no: 0,
      raw_email: ' Üser@Example.com ',
      raw_time: '2025-01-02 03:04:05',
      raw_expires: '9999-12-31 23:59:59',
      scope: 'global',
      raw: PAGES[0]!.rows[0]!.record,
    });
    expect(new Date(String(rows[0]!.window_from)).getTime()).toBe(WINDOW.from);
    expect(new Date(String(rows[0]!.window_to)).getTime()).toBe(WINDOW.to);
    expect(new Date(String(rows[0]!.fetched_at)).getTime()).toBe(Date.UTC(2025, 1, 1, 3));
    expect(rows[2]).toMatchObject({
      row_no: 2,
      raw_time: null,
      raw_expires: null,
      raw_email: 'line\nbreak@example.com',
    });
    expect(rows[3]).toMatchObject({ request_seq: 11, page: 2, row_no: 0, scope: 'list:7' });
    expect(rows.map((r) => r.raw)).toEqual(PAGES.flatMap((p) => p.rows.map((r) => r.record)));
  });

  it('reading records from the answers stages the same rows as serialising them, in one batch or many', async () => {
    const serialised = await stage(PAGES, {});
    expect(await stage(PAGES, { recordsPath: RECORDS_PATH })).toEqual(serialised);
    expect(await stage(PAGES, { recordsPath: RECORDS_PATH }, 1)).toEqual(serialised);
  });

  it('stages an unpaged answer of more rows than one spool line holds, every row once and in order', async () => {
    // 45,001 rows: three spool lines of the serialised path (20,000 rows each at most).
    const big = answer(
      Array.from({ length: 45_001 }, (_, i) => ({ email: `u${i}@example.com`, time: null, i })),
    );
    const rows = await stage([big], {});
    expect(rows).toHaveLength(45_001);
    expect(rows.map((r) => r.row_no)).toEqual(Array.from({ length: 45_001 }, (_, i) => i));
    expect(
      rows.every((r, i) => r.raw_email === `u${i}@example.com` && (r.raw as { i: number }).i === i),
    ).toBe(true);
    expect(new Set(rows.map((r) => `${r.request_seq}/${r.page}`))).toEqual(new Set(['10/1']));
  });

  it('keeps a pretty-printed answer (line breaks between tokens) one record per row', async () => {
    const page = PAGES[0]!;
    const pretty = {
      body: JSON.stringify(JSON.parse(page.body), null, 2).replace(/\n/g, '\r\n'),
      rows: page.rows,
    };
    expect(pretty.body).toContain('\r\n');
    const rows = await stage([pretty], { recordsPath: RECORDS_PATH });
    expect(rows.map((r) => r.raw)).toEqual(page.rows.map((r) => r.record));
  });

  it('keeps what JSON.parse would lose from the answer: repeated keys and integers beyond 2^53', async () => {
    const body =
      '{"info":{"dataList":[{"email":"a@example.com","labelId":1,"labelId":2,"id":12345678901234567890}]}}';
    const record = JSON.parse(body).info.dataList[0] as Record<string, unknown>;
    const runId = await warehouse.beginRun({});
    const stager = await RawRowStager.open(warehouse.connection, { runId, ...LINEAGE }, createRedactor([]), {
      recordsPath: RECORDS_PATH,
    });
    stager.add({
      requestSeq: 1,
      page: 1,
      window: WINDOW,
      fetchedAt: 0,
      rows: [{ email: 'a@example.com', rawTime: null, scope: 'global', record }],
      body,
    });
    await stager.close();
    await warehouse.finishRun(runId, 'succeeded');
    const [row] = await warehouse.all<{ raw: string }>('SELECT raw::VARCHAR AS raw FROM raw_rows');
    expect(row!.raw).toBe('{"email":"a@example.com","labelId":1,"labelId":2,"id":12345678901234567890}');
  });

  it('redacts a configured secret a provider echoes back, on both paths', async () => {
    const echoed = [answer([{ email: 'c@example.com', time: null, apiUser: SECRET, note: `x${SECRET}y` }])];
    for (const options of [{}, { recordsPath: RECORDS_PATH }]) {
      const rows = await stage(echoed, options);
      expect(JSON.stringify(rows)).not.toContain(SECRET);
      expect(rows[0]!.raw).toEqual({ email: 'c@example.com', time: null, apiUser: '***', note: 'x***y' });
    }
  });

  it('refuses an answer holding a different number of records than its parse gave rows, staging nothing', async () => {
    const page = PAGES[0]!;
    const runId = await warehouse.beginRun({});
    const stager = await RawRowStager.open(warehouse.connection, { runId, ...LINEAGE }, createRedactor([]), {
      recordsPath: RECORDS_PATH,
    });
    stager.add({
      requestSeq: 7,
      page: 1,
      window: WINDOW,
      fetchedAt: 0,
      rows: page.rows.slice(1),
      body: page.body,
    });
    await expect(stager.close()).rejects.toThrow(/request 7 holds 3 records where its parse gave 2 rows/);
    const [count] = await warehouse.all<{ n: bigint }>('SELECT count(*) AS n FROM stage_raw_rows');
    expect(count!.n).toBe(0n);
  });

  it('refuses a records path that is not plain identifiers, and a page without its answer', async () => {
    const runId = await warehouse.beginRun({});
    await expect(
      RawRowStager.open(warehouse.connection, { runId, ...LINEAGE }, createRedactor([]), {
        recordsPath: ['info', 'x") FROM t; --'],
      }),
    ).rejects.toThrow(/recordsPath .* must be one or more plain identifiers/);
    const stager = await RawRowStager.open(warehouse.connection, { runId, ...LINEAGE }, createRedactor([]), {
      recordsPath: RECORDS_PATH,
    });
    const { body: _body, ...withoutBody } = {
      ...PAGES[0]!,
      requestSeq: 3,
      page: 1,
      window: WINDOW,
      fetchedAt: 0,
    };
    expect(() => stager.add(withoutBody)).toThrow(/page 1 of request 3 has no body/);
    await stager.discard();
  });

  it('removes the spool folder a killed process left behind, and only when its process is dead', async () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(exited.status).toBe(0);
    const orphan = path.join(tmpdir(), `${SPOOL_PREFIX}${exited.pid}-test`);
    const live = path.join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-test`);
    for (const folder of [orphan, live]) {
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, 'batch-1.ndjson'), '{"e":["a@example.com"]}\n');
    }
    try {
      const runId = await warehouse.beginRun({});
      const stager = await RawRowStager.open(warehouse.connection, { runId, ...LINEAGE }, createRedactor([]));
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(live)).toBe(true);
      await stager.close();
    } finally {
      rmSync(orphan, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
    }
  });
});
