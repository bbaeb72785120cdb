// Every provider × every fault kind of the simulators, through the real extraction engine, the
// real transforms and (for a shrink) the real planner, against the providers' simulators on
// 127.0.0.1 and real DuckDB files. Each case starts from a copy of one clean warehouse, re-reads
// one account in full with the fault switched on, and then either
//  - equals the clean run: the same staged rows (a duplicated row is kept as lineage, so the
//    distinct rows are compared and the copies counted) and, after `transform`, the same
//    discrepancies; or
//  - stops with a clear error naming the account: nothing staged, the derived tables untouched
//    (a page that repeats forever; a body that stays malformed after every retry); or
//  - for a sudden shrink, stages exactly what the provider now holds and the mirror plan refuses
//    to propagate it, with the numbers.
// `make test` runs one fault per provider, rotating with the seed; RELIABILITY_FULL=1 runs all
// pairs and writes results/faults.json.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../extractors/core/config.js';
import { type AccountExtraction, extractAccounts } from '../../extractors/core/extract.js';
import { createRedactor } from '../../extractors/core/redact.js';
import { defaultEmailKey } from '../../extractors/core/simulator/index.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { PROVIDER_IDS, PROVIDERS } from '../../extractors/registry.js';
import { planPatches } from '../../pipelines/plan.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { transformInRun } from '../../pipelines/transform.js';
import {
  RELIABILITY_FULL,
  type ResultRow,
  seededRandom,
  suiteSeed,
  writeSuiteResults,
} from './suite-results.js';
import { type WarehouseDigest, warehouseDigest } from './warehouse-digest.js';

const SCENARIO_SEED = 17;
/** Enough rows that the paged providers (sendcloud, sendgrid-v3) read windows of several pages. */
const ROWS = 3_000;
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const TIMEOUT_MS = 1_000;
// Short backoff keeps the matrix fast; the policy's shape (Retry-After honoured up to a cap,
// exponential backoff, bounded attempts) is the production one.
const FAST_RETRY = { baseMs: 5, maxDelayMs: 20, maxRetryAfterMs: 2_000, maxAttempts: 6 };

type Expectation = 'same-as-clean' | 'stops-cleanly' | 'shrink-refused';

interface FaultCase {
  /** The name for the fault. */
  name: string;
  /** The kit's fault specs (extractors/core/simulator/faults.ts). */
  spec: string;
  expect: Expectation;
}

const FAULTS: readonly FaultCase[] = [
  { name: '429 with Retry-After', spec: 'rate-limit/1:2', expect: 'same-as-clean' },
  { name: '5xx', spec: 'server-error/503@1,server-error/500@2,server-error/502@3', expect: 'same-as-clean' },
  { name: 'dropped socket', spec: 'drop-socket@1+2', expect: 'same-as-clean' },
  { name: 'slow response past the timeout', spec: 'slow/1500@1+2', expect: 'same-as-clean' },
  { name: 'truncated body', spec: 'truncate@1+2', expect: 'same-as-clean' },
  { name: 'malformed body (transient)', spec: 'malformed@1+2', expect: 'same-as-clean' },
  { name: 'malformed body after retries', spec: 'malformed', expect: 'stops-cleanly' },
  { name: 'error inside HTTP 200', spec: 'inband-error@1+2', expect: 'same-as-clean' },
  { name: 'duplicated row across pages', spec: 'duplicate-row', expect: 'same-as-clean' },
  { name: 'repeating page', spec: 'repeat-page', expect: 'stops-cleanly' },
  { name: 'empty last page', spec: 'empty-last-page', expect: 'same-as-clean' },
  { name: 'sudden list shrink', spec: 'shrink/0.5@1', expect: 'shrink-refused' },
];

const seed = suiteSeed('faults', 1);
const random = seededRandom(seed);
/** `make test`: one fault per provider, a different one per provider and per seed. */
const offset = Math.floor(random() * FAULTS.length);
const CASES = PROVIDER_IDS.flatMap((provider, p) =>
  FAULTS.filter((_, f) => RELIABILITY_FULL || f === (offset + p) % FAULTS.length).map((fault) => ({
    provider,
    fault,
  })),
);

const results: ResultRow[] = [];
const sandboxes: Sandbox[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'unsub-faults-'));
let sandbox: Sandbox;
let config: Config;
let cleanFile: string;
const clean = new Map<string, { runId: string; result: AccountExtraction; rows: string[] }>();
let cleanDiscrepancies: string[];
let cleanDerived: WarehouseDigest;

/** A sandbox's config with one mirror group per account (source: that account), for the shrink guard. */
function configFor(s: Sandbox, scopes: ReadonlyMap<string, string>): Config {
  const raw = JSON.parse(readFileSync(s.configFile, 'utf8'));
  const ids: string[] = raw.accounts.map((a: { id: string }) => a.id);
  raw.groups = [
    ...raw.groups,
    ...ids.map((id, i) => ({
      id: `shrink-${id}`,
      accounts: [id, ids[(i + 1) % ids.length]],
      policy: 'mirror',
      source: id,
      scope: scopes.get(id) ?? 'global',
    })),
  ];
  const file = path.join(s.dir, 'faults.config.json');
  writeFileSync(file, JSON.stringify(raw, null, 2));
  return parseConfig(readFileSync(file, 'utf8'), file, { env: s.env });
}

async function withWarehouse<T>(file: string, command: string, work: (w: Warehouse) => Promise<T>) {
  const warehouse = await Warehouse.open(file, { mode: 'write', command });
  try {
    return await work(warehouse);
  } finally {
    await warehouse.close();
  }
}

/** One `extract --full` run of the given accounts, with the test's short retry policy. */
async function extract(file: string, cfg: Config, accountIds: readonly string[]) {
  return withWarehouse(file, 'extract', async (warehouse) => {
    const runId = await warehouse.beginRun({ command: 'extract', args: { account: accountIds, full: true } });
    const results = await extractAccounts({
      warehouse,
      runId,
      accounts: cfg.accounts
        .filter((a) => accountIds.includes(a.id))
        .map((a) => ({ ...a, timeoutMs: TIMEOUT_MS })),
      providers: PROVIDERS,
      request: { mode: 'full' },
      redact: createRedactor(cfg.secrets),
      redactValues: createRedactor(cfg.secrets, { byName: false }),
      retry: FAST_RETRY,
      timeouts: { headersMs: TIMEOUT_MS },
    });
    const complete = results.filter((r) => r.status === 'complete').length;
    const failed = results.filter((r) => r.status !== 'complete');
    await warehouse.finishRun(
      runId,
      complete === results.length ? 'succeeded' : complete === 0 ? 'failed' : 'partial',
      failed.length > 0 ? failed.map((r) => `${r.accountId}: ${r.error}`).join('; ') : undefined,
    );
    return { runId, results };
  });
}

async function transform(file: string, cfg: Config) {
  return withWarehouse(file, 'transform', async (warehouse) => {
    const runId = await warehouse.beginRun({ command: 'transform' });
    const outcome = await transformInRun(warehouse, runId, cfg, {});
    await warehouse.finishRun(runId, outcome.groups.every((g) => g.diffed) ? 'succeeded' : 'partial');
    return outcome;
  });
}

/** The rows one run staged for one account, as comparable text, sorted (duplicates kept). */
async function stagedRows(file: string, runId: string, accountId: string): Promise<string[]> {
  return withWarehouse(file, 'test', async (w) => {
    const rows = await w.allJson<{ row: string }>(
      `SELECT concat_ws('|', raw_email, coalesce(raw_time, ''), scope, coalesce(raw_expires, ''), raw::VARCHAR) AS row
       FROM stage_raw_rows WHERE run_id = $run AND account_id = $account`,
      { run: runId, account: accountId },
    );
    return rows.map((r) => r.row).sort();
  });
}

/** Every group's discrepancies, without the id of the transform run that computed them. */
async function discrepancies(file: string): Promise<string[]> {
  return withWarehouse(file, 'test', async (w) => {
    const rows = await w.allJson('SELECT * EXCLUDE (run_id) FROM discrepancies');
    return rows.map((r) => JSON.stringify(r)).sort();
  });
}

/** The derived tables and the committed raw rows, digested: a stopped run must not touch them. */
async function derivedTables(file: string): Promise<WarehouseDigest> {
  const digest = await warehouseDigest(file);
  return Object.fromEntries(
    ['suppressions', 'rejects', 'discrepancies', 'group_status', 'suppression_events', 'raw_rows'].map(
      (name) => [name, digest[name]!],
    ),
  );
}

function accountOf(provider: string) {
  return sandbox.scenario.accounts.find((a) => a.provider === provider)!;
}

/** The simulator's note when it said, on every request it marked, that the fault does not apply. */
function simulatorIgnored(s: Sandbox, accountId: string, since: number, kind: string): string | null {
  const marked = s.simulators
    .get(accountId)!
    .journal.entries((e) => e.seq > since && e.faults.includes(kind as never));
  const notes = marked.map((e) => e.notes.find((n) => /not applicable/.test(n)));
  return notes.length > 0 && notes.every((n) => n !== undefined) ? notes[0]! : null;
}

const record = (row: ResultRow) => results.push(row);

beforeAll(async () => {
  sandbox = await startSandbox({ rows: ROWS, seed: SCENARIO_SEED, now: NOW, dir: path.join(dir, 'clean') });
  sandboxes.push(sandbox);
  cleanFile = path.join(dir, 'clean.duckdb');
  const plain = parseConfig(readFileSync(sandbox.configFile, 'utf8'), sandbox.configFile, {
    env: sandbox.env,
  });
  const ids = plain.accounts.map((a) => a.id);
  const { runId, results: extracted } = await extract(cleanFile, plain, ids);
  const scopes = new Map<string, string>();
  for (const result of extracted) {
    expect(result, result.accountId).toMatchObject({ status: 'complete', windowsFailed: 0 });
    const rows = await stagedRows(cleanFile, runId, result.accountId);
    expect(rows.length, result.accountId).toBeGreaterThan(0);
    clean.set(result.accountId, { runId, result, rows });
    scopes.set(result.accountId, rows[0]!.split('|')[2]!);
  }
  config = configFor(sandbox, scopes);
  const outcome = await transform(cleanFile, config);
  expect(outcome.groups.every((g) => g.diffed)).toBe(true);
  cleanDiscrepancies = await discrepancies(cleanFile);
  expect(cleanDiscrepancies.length).toBeGreaterThan(0);
  cleanDerived = await derivedTables(cleanFile);
}, 240_000);

afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  const file = writeSuiteResults(
    'faults',
    'make reliability (RELIABILITY_FULL=1 npx vitest run test/reliability/faults.test.ts)',
    results,
  );
  if (file) console.log(`faults: ${results.length} rows written to ${file}`);
});

describe(`faults: ${RELIABILITY_FULL ? 'every provider × every fault' : 'one fault per provider'} (seed ${seed})`, () => {
  it.each(CASES.map((c) => ({ ...c, label: `${c.provider} × ${c.fault.name} (${c.fault.spec})` })))(
    '$label',
    async ({ provider, fault, label }) => {
      const account = accountOf(provider);
      const file = path.join(dir, `${provider}-${fault.spec.replace(/[^a-z0-9]+/gi, '_')}.duckdb`);
      copyFileSync(cleanFile, file);
      const base = clean.get(account.id)!;
      const paged = base.result.windowOutcomes.some((w) => w.pages > 1);
      const caseRow = (outcome: ResultRow['outcome'], expected: string, detail: string) =>
        record({ case: label, expected, outcome, detail });

      if (fault.expect === 'shrink-refused') {
        // A shrink removes entries from the simulator for good: a sandbox of its own.
        const own = await startSandbox({
          rows: ROWS,
          seed: SCENARIO_SEED,
          now: NOW,
          dir: path.join(dir, `shrink-${provider}`),
        });
        sandboxes.push(own);
        const ownConfig = configFor(
          own,
          new Map(config.groups.filter((g) => g.id.startsWith('shrink-')).map((g) => [g.source!, g.scope])),
        );
        const simulator = own.simulators.get(account.id)!;
        simulator.setFaults(account.key, fault.spec);
        const expected = 'staged rows = what the provider now holds; mirror plan refused (PLAN shrink guard)';
        try {
          const {
            runId,
            results: [result],
          } = await extract(file, ownConfig, [account.id]);
          expect(result!.status, result!.error ?? '').toBe('complete');
          const held = simulator
            .dump(1_000_000)
            .accounts.flatMap((a) => a.entries.map((e) => defaultEmailKey(e.email)));
          const staged = (await stagedRows(file, runId, account.id)).map((r) =>
            defaultEmailKey(r.split('|')[0]!),
          );
          expect(new Set(held).size).toBeLessThan(
            new Set(base.rows.map((r) => defaultEmailKey(r.split('|')[0]!))).size,
          );
          expect([...new Set(staged)].sort()).toEqual([...new Set(held)].sort());
          await transform(file, ownConfig);
          const group = ownConfig.groups.find((g) => g.id === `shrink-${account.id}`)!;
          const plan = await withWarehouse(file, 'plan', async (warehouse) => {
            const runId = await warehouse.beginRun({ command: 'plan' });
            // --delete-foreign: without it a mirror deletes only what unsub-recon itself added, so a
            // shrink could not delete anything and the guard has nothing to guard.
            const planned = await planPatches({
              warehouse,
              runId,
              config: ownConfig,
              groups: [group],
              deleteForeign: true,
              outDir: path.join(dir, 'patches'),
            });
            await warehouse.finishRun(runId, 'succeeded');
            return planned.groups[0]!;
          });
          expect(plan.status).toBe('refused');
          expect(plan.patchDir).toBeNull();
          // Replay writes global suppressions only: a list-scoped mirror is refused before any check.
          const pattern = group.scope === 'global' ? /lost \d+ of the \d+ addresses/ : /compares scope list:/;
          const refusal = plan.refusals.find((r) => pattern.test(r));
          expect(refusal, plan.refusals.join('; ')).toBeDefined();
          caseRow(
            'pass',
            expected,
            `the provider kept ${new Set(held).size} addresses (clean run: ${clean.get(account.id)!.rows.length} rows), all staged; plan: ${refusal}`,
          );
        } catch (error) {
          caseRow('fail', expected, (error as Error).message.slice(0, 400));
          throw error;
        }
        return;
      }

      const simulator = sandbox.simulators.get(account.id)!;
      const since =
        simulator.journal.size > 0 ? Math.max(...simulator.journal.entries().map((e) => e.seq)) : 0;
      simulator.setFaults(account.key, fault.spec);
      let extracted: Awaited<ReturnType<typeof extract>>;
      try {
        extracted = await extract(file, config, [account.id]);
      } finally {
        simulator.setFaults(account.key, '');
      }
      const {
        runId,
        results: [result],
      } = extracted;
      const kind = fault.spec.split(/[/:@%#]/)[0]!;
      const ignored = simulatorIgnored(sandbox, account.id, since, kind);
      const stops = fault.expect === 'stops-cleanly' && !(kind === 'repeat-page' && !paged);
      const expected = stops
        ? 'stops with a clear error naming the account; nothing staged; derived tables unchanged'
        : 'staged rows and discrepancies equal the clean run';
      try {
        if (stops) {
          expect(result!.status).not.toBe('complete');
          const runError = await withWarehouse(file, 'test', (w) =>
            w.allJson<{ error: string }>('SELECT error FROM runs WHERE run_id = $run', { run: runId }),
          );
          expect(runError[0]!.error).toContain(`${account.id}: `);
          expect(runError[0]!.error).toMatch(
            kind === 'repeat-page'
              ? /page \d+ is identical to page \d+/
              : /still failing after \d+ attempts: /,
          );
          expect(await stagedRows(file, runId, account.id)).toEqual([]);
          expect(await derivedTables(file)).toEqual(cleanDerived);
          caseRow('pass', expected, `${result!.status}: ${result!.error}`);
          return;
        }
        expect(result!.error, `${result!.error}`).toBeNull();
        expect(result!.status).toBe('complete');
        const rows = await stagedRows(file, runId, account.id);
        let note = `${result!.requests} requests, ${result!.retries} retries`;
        if (kind === 'duplicate-row') {
          // Raw rows are lineage: a row served twice is staged twice; the set must be the clean one.
          expect([...new Set(rows)]).toEqual([...new Set(base.rows)]);
          expect(rows.length).toBeGreaterThanOrEqual(base.rows.length);
          note += `; ${rows.length - base.rows.length} duplicate(s) staged as lineage, distinct rows equal`;
        } else {
          expect(rows).toEqual(base.rows);
          if (ignored === null && kind !== 'empty-last-page') expect(result!.retries).toBeGreaterThan(0);
        }
        const outcome = await transform(file, config);
        expect(outcome.groups.every((g) => g.diffed)).toBe(true);
        expect(await discrepancies(file)).toEqual(cleanDiscrepancies);
        if (ignored !== null || (kind === 'repeat-page' && !paged)) {
          const why =
            ignored !== null ? `the simulator says "${ignored}"` : 'no paging (every window is one request)';
          caseRow(
            'n/a',
            expected,
            `not applicable to ${provider}: ${why}; the run still equals the clean run (${note})`,
          );
        } else
          caseRow(
            'pass',
            expected,
            `${rows.length} rows, ${cleanDiscrepancies.length} discrepancies as clean; ${note}`,
          );
      } catch (error) {
        caseRow('fail', expected, (error as Error).message.slice(0, 400));
        throw error;
      }
    },
    120_000,
  );
});
