/**
 * Issue "extract": staging throughput. Our stager (DuckDB appender, with lineage, redaction
 * and JSON serialisation of each record) against DuckDB's own `read_json` loading the same rows
 * from newline-delimited JSON, in the same run, on the same machine. Target ratio ≥ 0.5.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExtractWindow, RawRow } from '../extractors/core/provider.js';
import { createRedactor } from '../extractors/core/redact.js';
import { RawRowStager } from '../extractors/core/staging.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { writeSection } from './results.js';

const ROWS = Number(process.env.BENCH_STAGING_ROWS ?? 1_000_000);
const PAGE = 100;

/**
 * Page p's rows, made on demand: the engine stages page by page and never holds a whole account,
 * so neither does this benchmark (holding 1M row objects makes every GC slow, which is not what
 * staging costs). Making the rows is counted in our time, so the ratio is conservative.
 */
function makePage(p: number): RawRow[] {
  const rows: RawRow[] = [];
  for (let i = p * PAGE; i < Math.min(ROWS, (p + 1) * PAGE); i++) {
    const email = `user${i}@example.com`;
    const time = `2025-0${1 + (i % 9)}-1${i % 10} 12:${String(i % 60).padStart(2, '0')}:00`;
    rows.push({
      email,
      rawTime: time,
      rawExpires: '9999-12-31 23:59:59',
      scope: 'global',
      record: {
        email,
        unsubscribeTime: time,
        expireTime: '9999-12-31 23:59:59',
        labelId: i % 3,
        apiUser: 'brand_trigger',
        unsubscribeType: 0,
      },
    });
  }
  return rows;
}

export async function staging(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-staging-'));
  try {
    const pages = Math.ceil(ROWS / PAGE);
    const window: ExtractWindow = {
      from: Date.UTC(2025, 0, 1),
      to: Date.UTC(2025, 1, 1),
      scope: 'global',
      params: {},
    };

    const warehouse = await Warehouse.open(path.join(dir, 'ours.duckdb'), {
      mode: 'write',
      command: 'bench',
    });
    const runId = await warehouse.beginRun({});
    const started = performance.now();
    const stager = await RawRowStager.open(
      warehouse.connection,
      { runId, accountId: 'sc-main', provider: 'sendcloud' },
      createRedactor(['sim-secret-value-1', 'sim-secret-value-2'], { byName: false }),
    );
    for (let p = 0; p < pages; p++) {
      stager.add({ requestSeq: p + 1, page: p + 1, window, fetchedAt: Date.now(), rows: makePage(p) });
      if (stager.needsFlush) await stager.flush();
    }
    await stager.close();
    const oursSeconds = (performance.now() - started) / 1000;
    const [count] = await warehouse.all<{ n: bigint }>('SELECT count(*) AS n FROM stage_raw_rows');
    await warehouse.finishRun(runId, 'succeeded');
    await warehouse.close();
    if (Number(count!.n) !== ROWS) throw new Error(`staged ${count!.n} rows of ${ROWS}`);

    // The limit: DuckDB's own reader on the same rows, already serialised (serialising is not timed).
    const file = path.join(dir, 'rows.ndjson');
    const lines: string[] = [];
    for (let p = 0; p < pages; p++) {
      for (const [n, r] of makePage(p).entries()) {
        const i = p * PAGE + n;
        lines.push(
          JSON.stringify({
            run_id: runId,
            account_id: 'sc-main',
            provider: 'sendcloud',
            request_seq: Math.floor(i / PAGE) + 1,
            page: Math.floor(i / PAGE) + 1,
            row_no: i % PAGE,
            raw: r.record,
            raw_time: r.rawTime,
            raw_email: r.email,
            scope: r.scope,
            raw_expires: r.rawExpires,
          }),
        );
      }
    }
    writeFileSync(file, lines.join('\n'));
    lines.length = 0;
    const limitDb = await Warehouse.open(path.join(dir, 'limit.duckdb'), { mode: 'write', command: 'bench' });
    const limitStarted = performance.now();
    await limitDb.run(
      `CREATE TABLE loaded AS SELECT * FROM read_json('${file.replace(/'/g, "''")}', format = 'newline_delimited')`,
    );
    const limitSeconds = (performance.now() - limitStarted) / 1000;
    await limitDb.close();

    const ours = ROWS / oursSeconds;
    const limit = ROWS / limitSeconds;
    const markdown = `## Staging throughput (${ROWS.toLocaleString('en-US')} rows, pages of ${PAGE})

| loader | time | rows/s |
|---|---|---|
| ours: \`RawRowStager\` (lineage, value redaction, pages → NDJSON → DuckDB \`read_json\` + unnest) | ${oursSeconds.toFixed(2)} s | ${Math.round(ours).toLocaleString('en-US')} |
| limit: DuckDB \`read_json\` of the same rows as NDJSON (serialising not timed) | ${limitSeconds.toFixed(2)} s | ${Math.round(limit).toLocaleString('en-US')} |

Ratio ours / limit: **${(ours / limit).toFixed(2)}** (target ≥ 0.5).`;
    writeSection('staging', markdown);
    return markdown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
