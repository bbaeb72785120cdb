/**
 * Issue "extract": staging throughput. Our stager (lineage, value redaction, DuckDB `read_json`)
 * against DuckDB's own `read_json` loading the same rows from newline-delimited JSON into the same
 * table (`stage_raw_rows`, `raw` typed JSON), in the same run, on the same machine. Target ≥ 0.5.
 *
 * Ours is measured on both of its paths: SendCloud answers (the records read from the answer's
 * text, `recordsPath`) and the path of every provider that declares none (records serialised
 * by JavaScript). What is timed is staging only: the answers and their parsed rows exist before
 * the clock starts, as they do when the engine hands a page to the stager.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccountConfig } from '../extractors/core/config.js';
import type { ExtractWindow, RawRow } from '../extractors/core/provider.js';
import { createRedactor } from '../extractors/core/redact.js';
import { RawRowStager } from '../extractors/core/staging.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { listRows, extract as sendcloud } from '../extractors/sendcloud/extract.js';
import { writeSection } from './results.js';

const ROWS = Number(process.env.BENCH_STAGING_ROWS ?? 1_000_000);
const PAGE = 100;
/** Distinct answers generated (100,000 rows); the run cycles through them. */
const POOL_PAGES = 1000;
const ACCOUNT = 'sc-main';
const WINDOW: ExtractWindow = {
  from: Date.UTC(2025, 0, 1),
  to: Date.UTC(2025, 1, 1),
  scope: 'global',
  params: {},
};
const FETCHED_AT = Date.UTC(2025, 1, 1, 3);

/** Wall and CPU time (every thread of the process: JavaScript and DuckDB's) of one phase. */
interface Timing {
  seconds: number;
  cpuSeconds: number;
}

async function measure(work: () => Promise<unknown>): Promise<Timing> {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

interface Answer {
  body: string;
  rows: readonly RawRow[];
}

/** Page p as the SendCloud simulator serialises it, and the rows the provider's parse gives. */
function answer(p: number): Answer {
  const dataList = [];
  for (let i = p * PAGE; i < Math.min(ROWS, (p + 1) * PAGE); i++) {
    const time = `2025-0${1 + (i % 9)}-1${i % 10} 12:${String(i % 60).padStart(2, '0')}:00`;
    dataList.push({
      email: `user${i}@example.com`,
      unsubscribeTime: time,
      expireTime: '9999-12-31 23:59:59',
      labelId: i % 3,
      apiUser: 'brand_trigger',
      unsubscribeType: 0,
    });
  }
  const body = JSON.stringify({
    result: true,
    statusCode: 200,
    message: '请求成功',
    info: { count: ROWS, dataList },
  });
  const info = (JSON.parse(body) as { info: Record<string, unknown> }).info;
  const env = { result: true, statusCode: 200, message: '', info };
  return { body, rows: listRows(env, { id: ACCOUNT } as AccountConfig, 'bench').rows };
}

async function timeStager(
  warehouse: Warehouse,
  answers: readonly Answer[],
  fromAnswers: boolean,
): Promise<Timing> {
  const runId = await warehouse.beginRun({});
  const timing = await measure(async () => {
    const stager = await RawRowStager.open(
      warehouse.connection,
      { runId, accountId: ACCOUNT, provider: 'sendcloud' },
      createRedactor(['sim-secret-value-1', 'sim-secret-value-2'], { byName: false }),
      fromAnswers ? { recordsPath: sendcloud.recordsPath } : {},
    );
    for (const [p, a] of answers.entries()) {
      stager.add({
        requestSeq: p + 1,
        page: p + 1,
        window: WINDOW,
        fetchedAt: FETCHED_AT,
        rows: a.rows,
        body: a.body,
      });
      if (stager.needsFlush) await stager.flush();
    }
    await stager.close();
  });
  await warehouse.finishRun(runId, 'succeeded');
  const [count] = await warehouse.all<{ n: bigint }>(
    'SELECT count(*) AS n FROM raw_rows WHERE run_id = $runId',
    {
      runId,
    },
  );
  const expected = answers.reduce((sum, a) => sum + a.rows.length, 0);
  if (Number(count!.n) !== expected) throw new Error(`staged ${count!.n} rows of ${expected}`);
  return timing;
}

/** The same rows, one flat NDJSON object per row with every column of stage_raw_rows. */
function writeFlatRows(file: string, answers: readonly Answer[], runId: string): void {
  const fd = openSync(file, 'w');
  const window = { from: new Date(WINDOW.from).toISOString(), to: new Date(WINDOW.to).toISOString() };
  const fetchedAt = new Date(FETCHED_AT).toISOString();
  for (const [p, a] of answers.entries()) {
    const lines: string[] = [];
    for (const [n, r] of a.rows.entries()) {
      lines.push(
        JSON.stringify({
          run_id: runId,
          account_id: ACCOUNT,
          provider: 'sendcloud',
          request_seq: p + 1,
          window_from: window.from,
          window_to: window.to,
          page: p + 1,
          row_no: n,
          fetched_at: fetchedAt,
          raw: r.record,
          raw_time: r.rawTime,
          raw_email: r.email,
          scope: r.scope,
          raw_expires: r.rawExpires ?? null,
        }),
      );
    }
    writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
}

const rate = (seconds: number): string => Math.round(ROWS / seconds).toLocaleString('en-US');

export async function staging(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-staging-'));
  try {
    // A pool of answers, handed over in turn: the engine holds one batch of parsed pages at a time,
    // and a million parsed records held at once would make every garbage collection (on our clock,
    // not the limit's) trace them all.
    const pool = Array.from({ length: Math.min(POOL_PAGES, Math.ceil(ROWS / PAGE)) }, (_, p) => answer(p));
    const answers = Array.from({ length: Math.ceil(ROWS / PAGE) }, (_, p) => pool[p % pool.length]!);
    const warehouse = await Warehouse.open(path.join(dir, 'ours.duckdb'), {
      mode: 'write',
      command: 'bench',
    });
    // Untimed warm-up of both paths: neither pays the first load's one-off costs on the clock.
    await timeStager(warehouse, pool.slice(0, 100), false);
    await timeStager(warehouse, pool.slice(0, 100), true);
    const serialised = await timeStager(warehouse, answers, false);
    const fromAnswers = await timeStager(warehouse, answers, true);
    await warehouse.close();

    // The limit: DuckDB's own reader on the same rows, already serialised (serialising is not
    // timed), into the same table with the same column types (`raw` JSON).
    const file = path.join(dir, 'rows.ndjson');
    const limitDb = await Warehouse.open(path.join(dir, 'limit.duckdb'), { mode: 'write', command: 'bench' });
    const limitRun = await limitDb.beginRun({});
    writeFlatRows(file, answers, limitRun);
    const limit = await measure(() =>
      limitDb.run(
        `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
         fetched_at, raw, raw_time, raw_email, scope, raw_expires)
       SELECT run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
         fetched_at, raw, raw_time, raw_email, scope, raw_expires
         FROM read_json($file, format = 'newline_delimited', columns = {run_id: 'VARCHAR', account_id: 'VARCHAR',
           provider: 'VARCHAR', request_seq: 'INTEGER', window_from: 'TIMESTAMPTZ', window_to: 'TIMESTAMPTZ',
           page: 'INTEGER', row_no: 'INTEGER', fetched_at: 'TIMESTAMPTZ', raw: 'JSON', raw_time: 'VARCHAR',
           raw_email: 'VARCHAR', scope: 'VARCHAR', raw_expires: 'VARCHAR'})`,
        { file },
      ),
    );
    // For comparison with earlier figures: the reader left to detect the columns itself, into a
    // table of its own (it then keeps `raw` as a STRUCT, not the JSON text staging must store).
    const detected = await measure(() =>
      limitDb.run(`CREATE TABLE detected AS SELECT * FROM read_json($file, format = 'newline_delimited')`, {
        file,
      }),
    );
    await limitDb.finishRun(limitRun, 'succeeded');
    await limitDb.close();

    const row = (t: Timing): string =>
      `${t.seconds.toFixed(2)} s | ${rate(t.seconds)} | **${(limit.seconds / t.seconds).toFixed(2)}** | ${t.cpuSeconds.toFixed(2)} s | ${(limit.cpuSeconds / t.cpuSeconds).toFixed(2)}`;
    const markdown = `## Staging throughput (${ROWS.toLocaleString('en-US')} rows, pages of ${PAGE})

| loader | time | rows/s | ratio to the limit | CPU time | CPU ratio |
|---|---|---|---|---|---|
| ours, JSON answers: \`RawRowStager\` with \`recordsPath\` (SendCloud; \`raw\` read by DuckDB from the answers' text) | ${row(fromAnswers)} |
| ours, other answers: \`RawRowStager\` without \`recordsPath\` (records serialised by JavaScript; BlueHornet XML, WhatCounts, SendGrid) | ${row(serialised)} |
| limit: DuckDB \`read_json\` of the same rows as flat NDJSON into \`stage_raw_rows\` (typed columns, \`raw\` JSON; serialising not timed) | ${row(limit)} |
| for reference: \`read_json\` detecting the columns itself into its own table (\`raw\` becomes a STRUCT) | ${row(detected)} |

Target: ours ≥ 0.5 of the limit's rows/s, within one run. Both of ours include lineage, value
redaction and the spool file; the answers and their parsed rows exist before the clock starts (the
engine hands the stager pages it has already parsed; ${POOL_PAGES.toLocaleString('en-US')} distinct answers are handed over in
turn). CPU time counts every thread of the process (JavaScript's and DuckDB's): on a shared 2-core
machine the wall-clock ratio swings between runs as other work takes the cores, the CPU ratio less.`;
    writeSection('staging', markdown);
    return markdown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
