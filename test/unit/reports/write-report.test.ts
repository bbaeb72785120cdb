// writeReport on a real DuckDB warehouse holding hand-made transform results with thousands of
// hostile rows (formula leads, quotes, commas, CR/LF, tabs, full-width characters): the CSVs,
// streamed from DuckDB a chunk at a time, must be byte for byte what the in-memory writer
// (reports/csv.ts over every row read at once) gives, and the page must embed only the first
// rows, in the CSV's order, with every count still complete.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../extractors/core/config.js';
import { generateScenario } from '../../../extractors/core/scenario/generate.js';
import { Warehouse } from '../../../extractors/core/warehouse.js';
import { scenarioAccountConfig } from '../../../pipelines/sandbox.js';
import { discrepanciesCsv, rejectsCsv } from '../../../reports/csv.js';
import { ReportError, type WriteReportResult, writeReport } from '../../../reports/index.js';
import type { ReportPayload } from '../../../reports/model.js';
import type { DiscrepancyRow, RejectRow } from '../../../reports/queries.js';

/** More than two DuckDB chunks (2,048 rows) of each, so the stream crosses chunk boundaries. */
const DISCREPANCIES = 5_000;
const REJECTS = 4_500;

/** Hostile text by row number: every case the CSV writer quotes or neutralises, and plain text. */
const HOSTILE_SQL = `CASE i % 9
  WHEN 0 THEN '=HYPERLINK("http://x","y")'
  WHEN 1 THEN '+1-2'
  WHEN 2 THEN '-cmd,with comma'
  WHEN 3 THEN '@SUM(A1)'
  WHEN 4 THEN chr(9) || 'tab "quoted"'
  WHEN 5 THEN 'line' || chr(10) || 'break'
  WHEN 6 THEN chr(13) || chr(10) || 'crlf é'
  WHEN 7 THEN '＝1+1'
  ELSE 'plain' END || i`;

const scenario = generateScenario({ rows: 100 });
const [a, b, c] = scenario.accounts
  .slice(0, 3)
  .map((account) =>
    scenarioAccountConfig(account, 'http://127.0.0.1:9', { requestsPerSecond: 5, concurrency: 1 }),
  ) as [Config['accounts'][number], Config['accounts'][number], Config['accounts'][number]];
const config: Pick<Config, 'accounts' | 'groups' | 'secrets'> = {
  accounts: [a, b, c],
  groups: [
    { id: 'all', accounts: [a.id, b.id, c.id], policy: 'union', scope: 'global', maxDeleteFraction: 0.01 },
    {
      id: 'mirror',
      accounts: [a.id, b.id],
      policy: 'mirror',
      source: a.id,
      scope: 'global',
      maxDeleteFraction: 0.01,
    },
  ],
  secrets: [],
};

let warehouse: Warehouse;
let outDir: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'unsub-report-stream-'));
  outDir = path.join(dir, 'runs');
  warehouse = await Warehouse.open(path.join(dir, 'w.duckdb'), { mode: 'write', command: 'test' });
  const extractRun = await warehouse.beginRun({ command: 'extract' });
  await warehouse.finishRun(extractRun, 'succeeded');
  const transformRun = await warehouse.beginRun({ command: 'transform' });
  const ids = { run: transformRun, a: a.id, b: b.id, c: c.id };
  await warehouse.run(
    `CREATE TABLE group_status AS
     SELECT * FROM (VALUES ($run, 'all', 'union', [$a, $b, $c]), ($run, 'mirror', 'mirror', [$a, $b]))
       AS t(run_id, group_id, policy, members),
     (SELECT true AS diffed, false AS allowed_incomplete, []::VARCHAR[] AS incomplete_accounts, NULL::VARCHAR AS detail)`,
    ids,
  );
  await warehouse.run(
    `CREATE TABLE discrepancies AS
     SELECT $run AS run_id, CASE WHEN i % 3 = 0 THEN 'mirror' ELSE 'all' END AS group_id,
            ${HOSTILE_SQL} || '@x.example' AS email_norm,
            CASE WHEN i % 3 = 0 THEN [$a] ELSE [$a, $b] END AS present_in,
            CASE WHEN i % 3 = 0 THEN [$b] ELSE [$c] END AS missing_from,
            CASE i % 4 WHEN 0 THEN NULL
                       WHEN 1 THEN TIMESTAMPTZ '2025-01-01 08:00:00+00' + to_seconds(i)
                       ELSE TIMESTAMPTZ '2025-03-01 00:00:00.250+00' + to_seconds(i) END AS first_unsubscribed_at,
            CASE WHEN i % 6 = 0 THEN 'extra' ELSE 'missing' END AS kind
     FROM range($n) t(i)`,
    { ...ids, n: DISCREPANCIES },
  );
  await warehouse.run(
    `CREATE TABLE rejects AS
     SELECT $run AS run_id, CASE WHEN i % 2 = 0 THEN $a ELSE 'retired' END AS account_id,
            ${HOSTILE_SQL} AS raw_value, CASE i % 3 WHEN 0 THEN 'missing_at' ELSE 'contains_whitespace' END AS reason
     FROM range($n) t(i)`,
    { run: extractRun, a: a.id, n: REJECTS },
  );
  // Nobody holds the addresses here: the evidence is tested in queries.test.ts.
  await warehouse.run(
    `CREATE TABLE suppressions (account_id VARCHAR, provider VARCHAR, email VARCHAR, email_norm VARCHAR, scope VARCHAR,
       unsubscribed_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, active BOOLEAN, first_seen_run VARCHAR, last_seen_run VARCHAR);
     CREATE TABLE suppression_sources (account_id VARCHAR, scope VARCHAR, email_norm VARCHAR, run_id VARCHAR,
       request_seq INTEGER, page INTEGER, row_no INTEGER);
     CREATE TABLE discrepancy_summary (run_id VARCHAR, group_id VARCHAR, policy VARCHAR, kind VARCHAR,
       present_account VARCHAR, missing_account VARCHAR, addresses BIGINT, present_total BIGINT, pct_of_present DOUBLE);`,
  );
  await warehouse.finishRun(transformRun, 'succeeded');
}, 60_000);
afterAll(async () => {
  await warehouse?.close();
});

/** The rows as the report read them before streaming: every row at once, in the CSV's order. */
async function everyRowAtOnce(): Promise<{ discrepancies: DiscrepancyRow[]; rejects: RejectRow[] }> {
  const discrepancies = await warehouse.allJson<Omit<DiscrepancyRow, 'evidence_idx'>>(
    `SELECT d.run_id, d.group_id, g.policy, d.kind, d.email_norm, d.present_in, d.missing_from, d.first_unsubscribed_at
     FROM discrepancies d JOIN group_status g USING (group_id)
     ORDER BY d.group_id, d.kind, d.email_norm`,
  );
  const rejects = await warehouse.allJson<RejectRow>(
    'SELECT run_id, account_id, raw_value, reason FROM rejects ORDER BY account_id, reason, raw_value',
  );
  return { discrepancies: discrepancies.map((d) => ({ ...d, evidence_idx: 0 })), rejects };
}

/** The file holds exactly this text as UTF-8 (compared as text: a diff on failure, and fast). */
function expectFileText(file: string, text: string): void {
  expect(statSync(file).size).toBe(Buffer.byteLength(text, 'utf8'));
  expect(readFileSync(file, 'utf8')).toBe(text);
}

/** The page's embedded data (report-data), as app.js parses it. */
function pageData(html: string): ReportPayload {
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  return JSON.parse(json!) as ReportPayload;
}

describe('writeReport with more rows than the page holds', () => {
  let result: WriteReportResult;
  let expected: Awaited<ReturnType<typeof everyRowAtOnce>>;

  beforeAll(async () => {
    expected = await everyRowAtOnce();
    result = await writeReport({ warehouse, runId: 'capped', outDir, config, htmlLimit: 3 });
  }, 60_000);

  it('streams discrepancies.csv and rejects.csv byte for byte as the in-memory writer writes every row', () => {
    expect(expected.discrepancies).toHaveLength(DISCREPANCIES);
    expectFileText(result.files.discrepancies, discrepanciesCsv(expected.discrepancies));
    expectFileText(result.files.rejects, rejectsCsv(expected.rejects));
  });

  it('counts every row in SQL and says the page holds the first 3 of each', () => {
    expect(result.counts).toMatchObject({
      discrepancies: DISCREPANCIES,
      rejects: REJECTS,
      htmlDiscrepancies: 3,
      htmlRejects: 3,
      htmlTruncated: true,
      groups: 2,
    });
  });

  it('embeds the first rows of each CSV, in its order, with full totals and the evidence of those addresses only', () => {
    const html = readFileSync(result.files.html, 'utf8');
    const data = pageData(html);
    expect(data.totals).toEqual({ discrepancies: DISCREPANCIES, rejects: REJECTS });
    expect(data.discrepancies.map((d) => [data.groups[d[0]]!.id, data.kinds[d[1]], d[2]])).toEqual(
      expected.discrepancies.slice(0, 3).map((d) => [d.group_id, d.kind, d.email_norm]),
    );
    expect(data.rejects.map((r) => [data.accounts[r[0]], r[1], r[2]])).toEqual(
      expected.rejects.slice(0, 3).map((r) => [r.account_id, r.raw_value, r.reason]),
    );
    // Group figures count every discrepancy, not the rows embedded.
    const byGroup = (id: string) => expected.discrepancies.filter((d) => d.group_id === id).length;
    expect(data.groups.map((g) => [g.id, g.total])).toEqual([
      ['all', byGroup('all')],
      ['mirror', byGroup('mirror')],
    ]);
    // One evidence block, one entry per address shown.
    const blocks = [...html.matchAll(/id="report-evidence-(\d+)">([\s\S]*?)<\/script>/g)];
    expect(blocks.map((m) => m[1])).toEqual(['0']);
    expect(JSON.parse(blocks[0]![2]!)).toHaveLength(new Set(data.discrepancies.map((d) => d[2])).size);
  });

  it('writes the same CSVs whatever the page holds; a page under its limit holds every row', async () => {
    const whole = await writeReport({ warehouse, runId: 'whole', outDir, config, htmlLimit: 10_000 });
    expect(whole.counts).toMatchObject({
      discrepancies: DISCREPANCIES,
      htmlDiscrepancies: DISCREPANCIES,
      htmlRejects: REJECTS,
      htmlTruncated: false,
    });
    expectFileText(whole.files.discrepancies, readFileSync(result.files.discrepancies, 'utf8'));
    expectFileText(whole.files.rejects, readFileSync(result.files.rejects, 'utf8'));
    const data = pageData(readFileSync(whole.files.html, 'utf8'));
    expect(data.discrepancies.map((d) => d[2])).toEqual(expected.discrepancies.map((d) => d.email_norm));
  });

  it('refuses a limit that is not a whole number of rows, writing nothing', async () => {
    for (const htmlLimit of [-1, 1.5]) {
      const runId = `bad-limit-${htmlLimit}`;
      await expect(writeReport({ warehouse, runId, outDir, config, htmlLimit })).rejects.toThrow(ReportError);
      expect(existsSync(path.join(outDir, runId))).toBe(false);
    }
  });

  it('leaves no temp object on the connection and no staging folder', async () => {
    const temp = await warehouse.allJson<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'report%'`,
    );
    expect(temp).toEqual([]);
    expect(readdirSync(path.join(outDir, 'capped'))).toEqual(['report']);
  });
});
