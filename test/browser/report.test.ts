// The HTML report in a real browser: a scenario from the sandbox's simulators is extracted and
// transformed by the real CLI, `report` writes index.html, and chromium opens it from disk.
// What the page shows is checked against the scenario's ground truth (computed separately, in
// plain JS, by extractors/core/scenario/truth.ts), and the page must stay inert: no request,
// no console error, no dialog, no script from data.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../extractors/core/config.js';
import {
  type ExpectedDiscrepancy,
  type GroundTruth,
  groundTruth,
} from '../../extractors/core/scenario/truth.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { envName, type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { FORMULA_LEAD } from '../../reports/csv.js';
import { type WriteReportResult, writeReport } from '../../reports/index.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { ensureChromium, openReport, type PageWindow, type ReportBrowser } from './browser.js';

// UNSUB_DOCS_SCREENSHOT=1 also refreshes docs/report.png from a demo-size scenario.
const DOCS_SCREENSHOT = process.env.UNSUB_DOCS_SCREENSHOT === '1';
const ROWS = DOCS_SCREENSHOT ? 1000 : 400;

interface ReportResult {
  run_id: string;
  status: string;
  transform_run_id: string;
  reportDir: string;
  files: { html: string; discrepancies: string; summary: string; rejects: string };
}

let sandbox: Sandbox;
const cli = (warehouse: string, args: string[], env: Record<string, string> = sandbox.env) =>
  runCli(['--config', sandbox.configFile, '--warehouse', warehouse, ...args], { env, timeoutMs: 120_000 });

async function buildReport(
  warehouse: string,
  options: { env?: Record<string, string>; extractCode?: number; transformArgs?: string[] } = {},
): Promise<ReportResult> {
  const extracted = await cli(warehouse, ['extract', '--json'], options.env);
  expect(extracted.code, extracted.stderr).toBe(options.extractCode ?? 0);
  const transformed = await cli(
    warehouse,
    ['transform', '--json', ...(options.transformArgs ?? [])],
    options.env,
  );
  expect(transformed.code, transformed.stderr).toBe(0);
  const reported = await cli(warehouse, ['report', '--json'], options.env);
  expect(reported.code, reported.stderr).toBe(0);
  const result = JSON.parse(reported.stdout) as ReportResult;
  expect(result.status).toBe('succeeded');
  expect(result.transform_run_id).toBe(JSON.parse(transformed.stdout).run_id);
  return result;
}

beforeAll(async () => {
  ensureChromium();
  sandbox = await startSandbox({
    rows: ROWS,
    seed: 11,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-browser-')),
  });
}, 600_000);
afterAll(async () => {
  await sandbox?.close();
});

/** The warehouse the first suite builds; the capped-page suite reports on it again. */
const MAIN_WAREHOUSE = 'report.duckdb';

/** How the page writes an instant: `2025-04-13 04:00:00 UTC`. */
const shown = (iso: string | null) =>
  iso === null ? 'no time given' : iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');

describe('HTML report', () => {
  let report: ReportResult;
  let truth: GroundTruth;
  let browser: ReportBrowser;
  const page = () => browser.page;

  beforeAll(async () => {
    report = await buildReport(path.join(sandbox.dir, MAIN_WAREHOUSE));
    truth = groundTruth(sandbox.scenario);
    browser = await openReport(report.files.html);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(() => {
    // After every step: the page stayed offline, quiet and inert.
    expect(browser.requests).toEqual([]);
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    expect(browser.dialogs).toEqual([]);
  });

  /** The discrepancy table's visible rows as cell texts. */
  const visibleRows = () =>
    page().$$eval('#discrepancies tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
  const matchCount = async () => Number(await page().getAttribute('#discrepancies-count', 'data-matches'));
  const openDiscrepancies = async () => {
    await browser.load();
    await page().click('#tab-discrepancies');
  };

  it('shows the ground truth: discrepancies per group and kind, per account, rejects, completeness', async () => {
    await browser.load();
    const total = truth.discrepancies.length;
    expect(await page().textContent('#tab-discrepancies')).toBe(
      `Discrepancies (${total.toLocaleString('en-US')})`,
    );
    expect(await page().textContent('#tab-rejects')).toBe(
      `Rejects (${truth.rejects.length.toLocaleString('en-US')})`,
    );
    expect(total).toBeGreaterThan(50);

    for (const group of sandbox.scenario.groups) {
      const rows = truth.discrepancies.filter((d) => d.groupId === group.id);
      const card = `article[data-group="${group.id}"]`;
      const figure = (name: string) => page().textContent(`${card} [data-figure="${name}"] .value`);
      expect(Number((await figure('total'))?.replace(/,/g, ''))).toBe(rows.length);
      for (const kind of group.policy === 'mirror' ? ['missing', 'extra'] : ['missing']) {
        const ofKind = rows.filter((d) => d.kind === kind);
        expect(Number((await figure(`kind-${kind}`))?.replace(/,/g, ''))).toBe(ofKind.length);
        // The chart: per member, the addresses it lacks and those it holds that another lacks.
        for (const account of group.accounts) {
          const bars = await page().$$eval(
            `${card} svg[data-kind="${kind}"] g[data-account="${account}"] rect`,
            (rects) => rects.map((r) => Number(r.getAttribute('data-value'))),
          );
          expect(bars).toEqual([
            ofKind.filter((d) => d.missingFrom.includes(account)).length,
            ofKind.filter((d) => d.presentIn.includes(account)).length,
          ]);
        }
      }
    }

    await page().click('#tab-discrepancies');
    expect(await matchCount()).toBe(total);
    await page().click('#tab-rejects');
    expect(Number(await page().getAttribute('#rejects-count', 'data-matches'))).toBe(truth.rejects.length);

    await page().click('#tab-completeness');
    const completeness = await page().$$eval('#completeness-table tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-key'), tr.querySelectorAll('td')[2]?.textContent]),
    );
    expect(completeness).toEqual(sandbox.scenario.accounts.map((a) => [a.id, 'complete']));
  });

  it('finds an address by search and shows its evidence from every account', async () => {
    await openDiscrepancies();
    const target = truth.discrepancies.find((d) => d.emailNorm.startsWith('only-'));
    expect(target).toBeDefined();
    const query = target!.emailNorm.slice(0, -3).toUpperCase(); // a part of it, in other case
    await page().fill('#discrepancies-search', query);
    const expected = truth.discrepancies.filter((d) => d.emailNorm.includes(query.toLowerCase()));
    expect(await matchCount()).toBe(expected.length);
    const rows = await visibleRows();
    expect(rows.map((r) => r[2]).sort()).toEqual(expected.map((d) => d.emailNorm).sort());

    await page().click(`#discrepancies tbody tr:first-child button.link`);
    const shownAddress = await page().textContent('#evidence-address');
    const opened = expected.find((d) => d.emailNorm === shownAddress)!;
    expect(opened).toBeDefined();
    const evidence = await page().$$eval('#evidence-table tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-account'), tr.querySelectorAll('td')[1]?.textContent]),
    );
    const group = sandbox.scenario.groups.find((g) => g.id === opened.groupId)!;
    for (const account of opened.presentIn) expect(evidence).toContainEqual([account, 'holds it']);
    for (const account of opened.missingFrom) {
      expect(evidence.find(([a]) => a === account)?.[1]).not.toBe('holds it');
    }
    // Members first, in the group's order, then other accounts that hold the address.
    const order = [...new Set(evidence.map(([a]) => a))];
    expect(order.slice(0, group.accounts.length)).toEqual(group.accounts);
    // Each held row cites its source rows with the request that delivered them.
    expect(await page().textContent('#evidence-table')).toMatch(/run \S+ · request \d+/);
  });

  it('filters by account and group', async () => {
    await openDiscrepancies();
    await page().selectOption('#discrepancies-filter-missing-from', { label: 'wc-main' });
    const missingFromWc = truth.discrepancies.filter((d) => d.missingFrom.includes('wc-main'));
    expect(missingFromWc.length).toBeGreaterThan(0);
    expect(await matchCount()).toBe(missingFromWc.length);
    for (const row of await visibleRows()) expect(row[4]?.split(', ')).toContain('wc-main');

    await page().selectOption('#discrepancies-filter-group', { label: 'sg-to-sc' });
    await page().selectOption('#discrepancies-filter-missing-from', { label: 'all' });
    await page().selectOption('#discrepancies-filter-present-in', { label: 'sc-main' });
    const expected = truth.discrepancies.filter(
      (d) => d.groupId === 'sg-to-sc' && d.presentIn.includes('sc-main'),
    );
    expect(await matchCount()).toBe(expected.length);
    expect(expected.every((d) => d.kind === 'extra')).toBe(true);
    for (const row of await visibleRows()) expect(row.slice(0, 2)).toEqual(['sg-to-sc', 'extra']);
  });

  it('sorts by date (unknown times last) and pages forward', async () => {
    await openDiscrepancies();
    await page().selectOption('#discrepancies-page-size', '50');
    await page().click('th[data-column="first unsubscribed (UTC)"] button');
    expect(await page().getAttribute('th[data-column="first unsubscribed (UTC)"]', 'aria-sort')).toBe(
      'ascending',
    );
    const byDate = (a: ExpectedDiscrepancy, b: ExpectedDiscrepancy) =>
      a.firstUnsubscribedAt === b.firstUnsubscribedAt
        ? 0
        : a.firstUnsubscribedAt === null
          ? 1
          : b.firstUnsubscribedAt === null
            ? -1
            : a.firstUnsubscribedAt < b.firstUnsubscribedAt
              ? -1
              : 1;
    const ascending = [...truth.discrepancies].sort(byDate).map((d) => shown(d.firstUnsubscribedAt));
    expect((await visibleRows()).map((r) => r[5])).toEqual(ascending.slice(0, 50));
    expect(await page().textContent('#discrepancies-page')).toContain('page 1 of');

    await page().click('#discrepancies-next');
    expect(await page().getAttribute('#discrepancies-page', 'data-page')).toBe('2');
    expect(await page().textContent('#discrepancies-page')).toContain('rows 51–');
    expect((await visibleRows()).map((r) => r[5])).toEqual(ascending.slice(50, 100));

    await page().click('th[data-column="first unsubscribed (UTC)"] button');
    expect(await page().getAttribute('th[data-column="first unsubscribed (UTC)"]', 'aria-sort')).toBe(
      'descending',
    );
    const latest = truth.discrepancies
      .map((d) => d.firstUnsubscribedAt)
      .filter((t) => t !== null)
      .sort()
      .at(-1)!;
    expect((await visibleRows())[0]?.[5]).toBe(shown(latest));
  });

  it('shows an address with HTML-dangerous characters as text and runs no script from data', async () => {
    await openDiscrepancies();
    const dangerous = truth.discrepancies.filter(
      (d) => /<script>/.test(d.emailNorm) && /["'&]/.test(d.emailNorm),
    );
    expect(dangerous.length).toBeGreaterThan(0);
    await page().fill('#discrepancies-search', '<script>alert(');
    expect(await matchCount()).toBe(dangerous.length);
    const addresses = await page().$$eval('#discrepancies tbody button.link', (bs) =>
      bs.map((b) => b.textContent),
    );
    expect(addresses.sort()).toEqual(dangerous.map((d) => d.emailNorm).sort());
    await page().click('#discrepancies tbody tr:first-child button.link');
    expect(dangerous.map((d) => d.emailNorm)).toContain(await page().textContent('#evidence-address'));

    // Still only the page's own script elements: one script, the rest JSON data blocks; no
    // element came from data.
    expect(await page().$$eval('script:not([type="application/json"])', (s) => s.length)).toBe(1);
    expect(
      await page().$$eval('script[type="application/json"]', (s) =>
        s.every((e) => e.parentElement?.tagName === 'BODY' && e.id.startsWith('report-')),
      ),
    ).toBe(true);
    expect(await page().$$eval('#views script, #views iframe, #views object', (s) => s.length)).toBe(0);
    // The policy is in force: no HTML-string sink (Trusted Types), no image or fetch from the network.
    const probes = await page().evaluate(async () => {
      const win = globalThis as unknown as PageWindow;
      const violations: string[] = [];
      win.document.addEventListener('securitypolicyviolation', (e) =>
        violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
      let innerHTML = 'allowed';
      try {
        win.document.body.innerHTML = '<b>from data</b>';
      } catch (error) {
        innerHTML = (error as Error).name;
      }
      const image = win.document.createElement('img');
      image.src = 'http://127.0.0.1:9/pixel.png';
      win.document.body.append(image);
      let fetched = 'allowed';
      try {
        await win.fetch('http://127.0.0.1:9/data.json');
      } catch (error) {
        fetched = (error as Error).name;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { innerHTML, fetched, violations };
    });
    expect(probes.innerHTML).toBe('TypeError');
    expect(probes.fetched).toBe('TypeError');
    expect(probes.violations.sort()).toEqual([
      'connect-src http://127.0.0.1:9/data.json',
      'img-src http://127.0.0.1:9/pixel.png',
      'require-trusted-types-for trusted-types-sink',
    ]);
    // Chromium reports each refusal on the console: expected here. Blocked by the policy,
    // neither URL reached the network (checked after each test).
    expect(browser.consoleErrors.length).toBeGreaterThanOrEqual(3);
    for (const message of browser.consoleErrors)
      expect(message).toMatch(/Content Security Policy|TrustedHTML/);
    browser.consoleErrors.length = 0;
  });

  it('prints every view', async () => {
    await browser.load();
    await page().emulateMedia({ media: 'print' });
    try {
      for (const view of ['summary', 'discrepancies', 'rejects', 'completeness', 'config']) {
        expect(await page().isVisible(`#view-${view}`)).toBe(true);
      }
      expect(await page().isVisible('#tabs')).toBe(false);
      expect(await page().isVisible('#discrepancies-search')).toBe(false);
      const pdf = await page().pdf({ format: 'A4' });
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    } finally {
      await page().emulateMedia({ media: 'screen' });
    }
  });

  it('takes a screenshot into the run directory', async () => {
    await browser.load();
    const runDir = path.dirname(report.reportDir);
    expect(path.basename(runDir)).toBe(report.run_id);
    const file = path.join(runDir, 'report.png');
    await page().screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    if (DOCS_SCREENSHOT) {
      const docs = path.join(REPO_ROOT, 'docs');
      mkdirSync(docs, { recursive: true });
      await page().setViewportSize({ width: 1280, height: 860 });
      await page().screenshot({ path: path.join(docs, 'report.png') });
      copyFileSync(path.join(docs, 'report.png'), path.join(runDir, 'docs-report.png'));
    }
  });
});

describe('HTML report after transform --allow-incomplete', () => {
  let browser: ReportBrowser;
  let victim: string;

  beforeAll(async () => {
    // One account with wrong credentials: its extraction fails, the groups it is in are diffed anyway.
    victim = sandbox.scenario.accounts.at(-1)!.id;
    const prefix = envName(victim, '');
    const env = Object.fromEntries(
      Object.entries(sandbox.env).map(([name, value]) => [
        name,
        name.startsWith(prefix) ? `${value}-wrong` : value,
      ]),
    );
    const report = await buildReport(path.join(sandbox.dir, 'incomplete.duckdb'), {
      env,
      extractCode: 1,
      transformArgs: ['--allow-incomplete'],
    });
    browser = await openReport(report.files.html);
    await browser.load();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the banner on every view and the failed account in completeness', async () => {
    const groups = sandbox.scenario.groups.filter((g) => g.accounts.includes(victim));
    expect(groups.length).toBeGreaterThan(0);
    for (const view of ['summary', 'discrepancies', 'rejects', 'completeness', 'config']) {
      await browser.page.click(`#tab-${view}`);
      const banners = await browser.page.$$eval('[data-banner="allow-incomplete"]', (els) =>
        els.filter((e) => e.offsetParent !== null).map((e) => e.textContent ?? ''),
      );
      expect(banners).toHaveLength(groups.length);
      for (const [i, group] of groups.entries()) {
        expect(banners[i]).toContain(`Group ${group.id} was diffed with --allow-incomplete: ${victim}`);
      }
    }
    const state = await browser.page.$eval(
      `#completeness-table tbody tr[data-key="${victim}"]`,
      (tr) => tr.querySelectorAll('td')[2]?.textContent,
    );
    expect(state).toBe('failed');
    expect(browser.requests).toEqual([]);
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});

describe('HTML report holding only the first rows (htmlLimit 3)', () => {
  const LIMIT = 3;
  let capped: WriteReportResult;
  let truth: GroundTruth;
  let browser: ReportBrowser;
  const fmt = (n: number) => n.toLocaleString('en-US');

  beforeAll(async () => {
    // The same warehouse as the first suite, reported again through writeReport with a small limit.
    truth = groundTruth(sandbox.scenario);
    const config = loadConfig(sandbox.configFile, { env: sandbox.env });
    const warehouse = await Warehouse.open(path.join(sandbox.dir, MAIN_WAREHOUSE), {
      mode: 'read',
      command: 'test',
    });
    try {
      capped = await writeReport({
        warehouse,
        runId: 'capped-report',
        outDir: path.join(sandbox.dir, 'capped'),
        config,
        htmlLimit: LIMIT,
      });
    } finally {
      await warehouse.close();
    }
    browser = await openReport(capped.files.html);
    await browser.load();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('says on every view, and in print, that the page holds the first rows and the CSVs all of them', async () => {
    expect(truth.discrepancies.length).toBeGreaterThan(LIMIT);
    expect(truth.rejects.length).toBeGreaterThan(LIMIT);
    expect(capped.counts).toMatchObject({
      discrepancies: truth.discrepancies.length,
      rejects: truth.rejects.length,
      htmlDiscrepancies: LIMIT,
      htmlRejects: LIMIT,
      htmlTruncated: true,
    });
    const page = browser.page;
    const visibleBanners = () =>
      page.$$eval('[data-banner^="truncated-"]', (els) =>
        els
          .filter((e) => e.offsetParent !== null)
          .map((e) => [e.getAttribute('data-banner'), e.textContent ?? '']),
      );
    for (const view of ['summary', 'discrepancies', 'rejects', 'completeness', 'config']) {
      await page.click(`#tab-${view}`);
      const banners = await visibleBanners();
      expect(banners.map(([name]) => name)).toEqual(['truncated-discrepancies', 'truncated-rejects']);
      expect(banners[0]![1]).toContain(
        `This page shows the first ${LIMIT} of ${fmt(truth.discrepancies.length)} discrepancies; discrepancies.csv beside this file holds all of them.`,
      );
      expect(banners[1]![1]).toContain(
        `This page shows the first ${LIMIT} of ${fmt(truth.rejects.length)} rejected raw values; rejects.csv beside this file holds all of them.`,
      );
    }
    await page.emulateMedia({ media: 'print' });
    try {
      expect((await visibleBanners()).map(([name]) => name)).toEqual([
        'truncated-discrepancies',
        'truncated-rejects',
      ]);
      // Each table's printed view starts with its own notice.
      expect(await page.isVisible('#view-discrepancies [data-notice="truncated-discrepancies"]')).toBe(true);
      expect(await page.isVisible('#view-rejects [data-notice="truncated-rejects"]')).toBe(true);
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    expect(browser.requests).toEqual([]);
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });

  it('counts every discrepancy in the tabs and figures, and shows the first rows of discrepancies.csv', async () => {
    const page = browser.page;
    await browser.load();
    expect(await page.textContent('#tab-discrepancies')).toBe(
      `Discrepancies (${fmt(truth.discrepancies.length)})`,
    );
    expect(await page.textContent('#tab-rejects')).toBe(`Rejects (${fmt(truth.rejects.length)})`);
    for (const group of sandbox.scenario.groups) {
      const total = await page.textContent(`article[data-group="${group.id}"] [data-figure="total"] .value`);
      expect(total).toBe(fmt(truth.discrepancies.filter((d) => d.groupId === group.id).length));
    }

    const csv = parse(readFileSync(capped.files.discrepancies, 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(csv).toHaveLength(truth.discrepancies.length);
    await page.click('#tab-discrepancies');
    expect(Number(await page.getAttribute('#discrepancies-count', 'data-matches'))).toBe(LIMIT);
    const rows = await page.$$eval('#discrepancies tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    // The CSV neutralises formula-leading addresses with a leading '; the page shows them as they are.
    const asInCsv = (address: string) => (FORMULA_LEAD.test(address) ? `'${address}` : address);
    expect(rows.map((r) => [r[0], r[1], asInCsv(r[2]!)])).toEqual(
      csv.slice(0, LIMIT).map((r) => [r.group_id, r.kind, r.email_norm]),
    );

    // A shown address still opens its evidence.
    await page.click('#discrepancies tbody tr:first-child button.link');
    expect(await page.textContent('#evidence-address')).toBe(rows[0]![2]);
    expect(await page.$$eval('#evidence-table tbody tr', (trs) => trs.length)).toBeGreaterThan(0);

    await page.click('#tab-rejects');
    expect(Number(await page.getAttribute('#rejects-count', 'data-matches'))).toBe(LIMIT);
    expect(browser.requests).toEqual([]);
    expect(browser.consoleErrors).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
