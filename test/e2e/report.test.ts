// `unsub-recon report` end to end: the real CLI on a sandbox scenario; the CSVs must hold the
// scenario's ground truth, in RFC 4180 with the documented columns, formulas neutralised.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GroundTruth, groundTruth } from '../../extractors/core/scenario/truth.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { DISCREPANCY_COLUMNS, REJECT_COLUMNS, SUMMARY_COLUMNS } from '../../reports/csv.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
let truth: GroundTruth;
let warehouse: string;
let outDir: string;
const cli = (args: string[], file = warehouse) =>
  runCli(['--config', sandbox.configFile, '--warehouse', file, ...args], {
    env: sandbox.env,
    timeoutMs: 120_000,
  });

interface ReportJson {
  run_id: string;
  status: string;
  transform_run_id: string;
  reportDir: string;
  files: { html: string; discrepancies: string; summary: string; rejects: string };
  counts: {
    discrepancies: number;
    rejects: number;
    groups: number;
    htmlDiscrepancies: number;
    htmlRejects: number;
    htmlTruncated: boolean;
  };
}

let transformRunId: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 300,
    seed: 5,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-report-')),
  });
  truth = groundTruth(sandbox.scenario);
  warehouse = path.join(sandbox.dir, 'warehouse.duckdb');
  outDir = path.join(sandbox.dir, 'reports');
  expect((await cli(['extract', '--json'])).code).toBe(0);
  const transformed = await cli(['transform', '--json']);
  expect(transformed.code, transformed.stderr).toBe(0);
  transformRunId = JSON.parse(transformed.stdout).run_id;
}, 300_000);
afterAll(async () => {
  await sandbox?.close();
});

/** What a report CSV cell holds for a text value: formula-leading values get a leading `'`. */
const cell = (value: string) => (/^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(value) ? `'${value}` : value);
const iso = (value: string | null) =>
  value === null ? '' : new Date(value).toISOString().replace('.000Z', 'Z');
/** RFC 4180 as csv-parse reads it strictly: CRLF records, quotes only where allowed. */
const readCsv = (file: string) => {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\r\n')).toBe(true);
  expect(text.charCodeAt(0)).not.toBe(0xfeff);
  return {
    text,
    header: text.slice(0, text.indexOf('\r\n')).split(','),
    rows: parse(text, { columns: true, record_delimiter: '\r\n', relax_quotes: false }) as Record<
      string,
      string
    >[],
  };
};
const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('report', () => {
  let result: ReportJson;

  it('writes the four files into <outDir>/<its run id>/report and records its run', async () => {
    const { code, stdout, stderr } = await cli(['report', '--out', outDir, '--json']);
    expect(code, stderr).toBe(0);
    result = JSON.parse(stdout);
    expect(result.status).toBe('succeeded');
    expect(result.transform_run_id).toBe(transformRunId);
    expect(result.reportDir).toBe(path.join(outDir, result.run_id, 'report'));
    expect(readdirSync(result.reportDir).sort()).toEqual([
      'discrepancies.csv',
      'index.html',
      'rejects.csv',
      'summary.csv',
    ]);
    expect(result.counts).toMatchObject({
      discrepancies: truth.discrepancies.length,
      rejects: truth.rejects.length,
      groups: sandbox.scenario.groups.length,
      // Under the page's limit: index.html holds every row too.
      htmlDiscrepancies: truth.discrepancies.length,
      htmlRejects: truth.rejects.length,
      htmlTruncated: false,
    });
    const db = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
    try {
      const [run] = await db.allJson<{ command: string; status: string; args: { out: string } }>(
        'SELECT command, status, args FROM runs WHERE run_id = $1',
        [result.run_id],
      );
      expect(run).toEqual({ command: 'report', status: 'succeeded', args: { group: null, out: outDir } });
    } finally {
      await db.close();
    }
  });

  it('discrepancies.csv holds the ground truth, one row per group and address, formulas neutralised', () => {
    const { header, rows, text } = readCsv(result.files.discrepancies);
    expect(header).toEqual([...DISCREPANCY_COLUMNS]);
    const policy = new Map(sandbox.scenario.groups.map((g) => [g.id, g.policy]));
    expect(sorted(rows)).toEqual(
      sorted(
        truth.discrepancies.map((d) => ({
          run_id: transformRunId,
          group_id: d.groupId,
          policy: policy.get(d.groupId)!,
          kind: d.kind,
          email_norm: cell(d.emailNorm),
          present_in: d.presentIn.join(';'),
          missing_from: d.missingFrom.join(';'),
          first_unsubscribed_at: iso(d.firstUnsubscribedAt),
        })),
      ),
    );
    // The scenario's hard cases are there: formula-leading addresses and HTML-dangerous ones.
    const formula = truth.discrepancies.filter((d) => /^[=+\-@]/.test(d.emailNorm));
    expect(formula.length).toBeGreaterThan(0);
    for (const d of formula) expect(text).toContain(`"'${d.emailNorm}"`);
    const dangerous = truth.discrepancies.find((d) => d.emailNorm.includes('"'));
    expect(dangerous).toBeDefined();
    expect(text).toContain(`"${dangerous!.emailNorm.replaceAll('"', '""')}"`);
  });

  it('summary.csv: per group and account pair, the counts and percentages of the ground truth', () => {
    const { header, rows } = readCsv(result.files.summary);
    expect(header).toEqual([...SUMMARY_COLUMNS]);
    const expected = sandbox.scenario.groups.flatMap((group) => {
      const kinds = group.policy === 'mirror' ? ['missing', 'extra'] : ['missing'];
      return kinds.flatMap((kind) =>
        group.accounts.flatMap((present) =>
          group.accounts
            .filter((missing) => missing !== present)
            // mirror: the source is never the one lacking a `missing`, nor the holder of an `extra`
            .filter(
              (missing) =>
                group.policy !== 'mirror' ||
                (kind === 'missing' ? missing !== group.source : present !== group.source),
            )
            .map((missing) => {
              const addresses = truth.discrepancies.filter(
                (d) =>
                  d.groupId === group.id &&
                  d.kind === kind &&
                  d.presentIn.includes(present) &&
                  d.missingFrom.includes(missing),
              ).length;
              const presentTotal = truth.suppressions.filter(
                (s) => s.accountId === present && s.scope === 'global' && s.active,
              ).length;
              return { group: group.id, kind, present, missing, addresses, presentTotal };
            }),
        ),
      );
    });
    expect(rows).toHaveLength(expected.length);
    for (const e of expected) {
      const row = rows.find(
        (r) =>
          r.group_id === e.group &&
          r.kind === e.kind &&
          r.present_account === e.present &&
          r.missing_account === e.missing,
      );
      expect(row, JSON.stringify(e)).toBeDefined();
      expect(row!.run_id).toBe(transformRunId);
      expect(Number(row!.addresses)).toBe(e.addresses);
      expect(Number(row!.present_total)).toBe(e.presentTotal);
      expect(Number(row!.pct_of_present)).toBeCloseTo((100 * e.addresses) / e.presentTotal, 9);
    }
  });

  it('rejects.csv holds every rejected raw value with its reason', () => {
    const { header, rows } = readCsv(result.files.rejects);
    expect(header).toEqual([...REJECT_COLUMNS]);
    expect(sorted(rows.map((r) => ({ account: r.account_id, raw: r.raw_value, reason: r.reason })))).toEqual(
      sorted(truth.rejects.map((r) => ({ account: r.accountId, raw: cell(r.rawValue), reason: r.reason }))),
    );
  });

  it('--group reports one group and its members only; a second report leaves the first untouched', async () => {
    const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = Object.values(result.files).map(hash);
    const { code, stdout, stderr } = await cli(['report', '--group', 'sg-to-sc', '--out', outDir]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/index\.html\s+\S+\/report\/index\.html/);
    const dir = /(\S+)\/index\.html/.exec(stdout.split('\n').find((l) => l.startsWith('index.html'))!)![1]!;
    expect(dir).not.toBe(result.reportDir);
    expect(Object.values(result.files).map(hash)).toEqual(before);

    const group = sandbox.scenario.groups.find((g) => g.id === 'sg-to-sc')!;
    const discrepancies = readCsv(path.join(dir, 'discrepancies.csv')).rows;
    expect(discrepancies).toHaveLength(truth.discrepancies.filter((d) => d.groupId === group.id).length);
    expect(new Set(readCsv(path.join(dir, 'summary.csv')).rows.map((r) => r.group_id))).toEqual(
      new Set([group.id]),
    );
    expect(readCsv(path.join(dir, 'rejects.csv')).rows).toHaveLength(
      truth.rejects.filter((r) => group.accounts.includes(r.accountId)).length,
    );
  });

  it('refuses an unknown group with exit 2, naming the configured ones', async () => {
    const { code, stderr } = await cli(['report', '--group', 'nope', '--out', outDir]);
    expect(code).toBe(2);
    expect(stderr).toContain('USAGE');
    expect(stderr).toContain('"nope"');
    for (const g of sandbox.scenario.groups) expect(stderr).toContain(g.id);
  });

  it('without a transform, exits 1 with REPORT_FAILED, writes nothing and records the failed run', async () => {
    const empty = path.join(sandbox.dir, 'empty.duckdb');
    const emptyOut = path.join(sandbox.dir, 'empty-out');
    const { code, stderr } = await cli(['report', '--out', emptyOut, '--json'], empty);
    expect(code).toBe(1);
    expect(stderr).toMatch(/REPORT_FAILED: .*run `unsub-recon transform` first/);
    const db = await Warehouse.open(empty, { mode: 'read', command: 'test' });
    try {
      const runs = await db.allJson<{ run_id: string; command: string; status: string }>(
        'SELECT run_id, command, status FROM runs',
      );
      expect(runs.map((r) => [r.command, r.status])).toEqual([['report', 'failed']]);
      expect(existsSync(path.join(emptyOut, runs[0]!.run_id, 'report'))).toBe(false);
    } finally {
      await db.close();
    }
  });
});
