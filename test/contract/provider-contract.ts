/**
 * The one standard suite every provider module runs (STYLE.md, after Meltano's tap tests),
 * wired with one line per provider in `test/contract/<provider>.test.ts`.
 *
 * Everything is real: the provider's simulator on 127.0.0.1 serving a generated scenario
 * account, the shared extraction engine, a DuckDB file. Nothing here knows a provider's wire
 * format: a provider that passes this suite can be extracted by the pipeline.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../extractors/core/config.js';
import {
  type AccountExtraction,
  type ExtractRequest,
  extractAccounts,
} from '../../extractors/core/extract.js';
import type { ProviderModule, RunningSimulator } from '../../extractors/core/provider.js';
import { createRedactor } from '../../extractors/core/redact.js';
import { entriesOf, generateScenario } from '../../extractors/core/scenario/generate.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { coverageGaps } from '../../extractors/core/windows.js';
import { PROVIDERS } from '../../extractors/registry.js';
import { scenarioAccountConfig, scenarioSimAccount } from '../../pipelines/sandbox.js';

export interface ContractOptions {
  provider: ProviderModule;
  /** Whether the provider pages within a window (so a repeating page can happen at all). */
  paged: boolean;
}

// Short backoff keeps the suite fast; 10 attempts because with windows read concurrently all
// eight faults below can land on one request.
const FAST_RETRY = { baseMs: 5, maxDelayMs: 20, maxRetryAfterMs: 2_000, maxAttempts: 10 };
const TRANSIENT_FAULTS = [
  'rate-limit/1@1',
  'server-error/503@2',
  'server-error/502@3',
  'drop-socket@4',
  'truncate@5',
  'malformed@6',
  'inband-error@7',
  'slow/1500@8',
].join(',');

export function runProviderContract({ provider, paged }: ContractOptions): void {
  describe(`provider contract: ${provider.id}`, () => {
    // A paged provider needs windows of more than one page for paging (and its loops) to happen.
    const scenario = generateScenario({ seed: 11, rows: paged ? 4_000 : 300 });
    const scenarioAccount = scenario.accounts.find((a) => a.provider === provider.id)!;
    const secrets = Object.values(scenarioAccount.credentials);
    let simulator: RunningSimulator;
    let account: AccountConfig;
    const dir = mkdtempSync(path.join(tmpdir(), `contract-${provider.id}-`));
    let runs = 0;

    beforeAll(async () => {
      expect(PROVIDERS[provider.id]).toBe(provider);
      simulator = await provider.startSimulator({ accounts: [scenarioSimAccount(scenarioAccount)] });
      account = scenarioAccountConfig(scenarioAccount, simulator.url, {
        requestsPerSecond: 500,
        concurrency: 2,
      });
    });
    afterAll(async () => {
      await simulator?.close();
    });

    /** One extraction into a fresh warehouse; returns the result and the staged rows. */
    async function extract(
      options: {
        faults?: string;
        credentials?: Record<string, string>;
        request?: ExtractRequest;
        timeoutMs?: number;
      } = {},
    ) {
      simulator.setFaults(scenarioAccount.key, options.faults ?? '');
      const file = path.join(dir, `run-${++runs}.duckdb`);
      const warehouse = await Warehouse.open(file, { mode: 'write', command: 'contract' });
      try {
        const runId = await warehouse.beginRun({});
        const target = options.credentials ? { ...account, credentials: options.credentials } : account;
        const [result] = await extractAccounts({
          warehouse,
          runId,
          accounts: [{ ...target, timeoutMs: options.timeoutMs ?? 5_000 }],
          providers: PROVIDERS,
          request: options.request ?? { mode: 'full' },
          redact: createRedactor(secrets),
          redactValues: createRedactor(secrets, { byName: false }),
          retry: FAST_RETRY,
          timeouts: { headersMs: options.timeoutMs ?? 5_000 },
        });
        await warehouse.finishRun(runId, result!.status === 'complete' ? 'succeeded' : 'partial');
        const rows = await warehouse.allJson<{
          raw_email: string;
          raw_time: string | null;
          scope: string;
          raw: unknown;
        }>(
          'SELECT raw_email, raw_time, scope, raw FROM stage_raw_rows ORDER BY raw_email, raw_time, scope, raw::VARCHAR',
        );
        const requests = await warehouse.allJson<{
          url_redacted: string;
          error: string | null;
          attempts: number;
        }>('SELECT url_redacted, error, attempts FROM stage_requests');
        const texts = await warehouse.allJson<{ text: string }>(
          `SELECT raw::VARCHAR || coalesce(raw_time, '') || raw_email AS text FROM stage_raw_rows
           UNION ALL SELECT url_redacted || coalesce(error, '') FROM stage_requests
           UNION ALL SELECT coalesce(error, '') FROM stage_extractions
           UNION ALL SELECT coalesce(error, '') || params::VARCHAR FROM stage_extract_windows
           UNION ALL SELECT coalesce(error, '') || coalesce(args::VARCHAR, '') FROM runs`,
        );
        return { result: result!, rows, requests, texts: texts.map((t) => t.text) };
      } finally {
        await warehouse.close();
      }
    }

    it('plans windows that cover a range exactly once in every scope, within the provider limits', () => {
      const ctx = { account, now: scenario.now };
      const range = { from: scenario.historyStart + 3_600_000 * 7, to: scenario.now - 3_600_000 * 5 };
      const windows = provider.planWindows(range, ctx);
      expect(windows.length).toBeGreaterThan(0);
      const scopes = new Set(windows.map((w) => w.scope));
      for (const scope of scopes) {
        const { gaps, overlaps } = coverageGaps(
          range,
          windows.filter((w) => w.scope === scope),
        );
        expect({ scope, gaps, overlaps }).toEqual({ scope, gaps: [], overlaps: [] });
      }
    });

    let clean: Awaited<ReturnType<typeof extract>>;

    it('reads every row of the account exactly as the simulator holds it, with the required fields', async () => {
      clean = await extract();
      expect(clean.result).toMatchObject({ status: 'complete', coverageOk: true, windowsFailed: 0 });
      const held = [...entriesOf(scenarioAccount)].map((e) => e.email).sort();
      const staged = [...new Set(clean.rows.map((r) => r.raw_email))].sort();
      expect(staged).toEqual([...new Set(held)].sort());
      for (const row of clean.rows) {
        expect(typeof row.raw_email).toBe('string');
        expect(row.scope).toMatch(/^(global|list:\d+)$/);
        expect(row.raw).toBeTypeOf('object');
        if (provider.capabilities.timePrecision !== 'none')
          expect(row.raw_time).toMatch(/^\d{4}-\d{2}-\d{2}/);
        else expect(row.raw_time).toBeNull();
      }
      expect(clean.result.rows).toBe(clean.rows.length);
    });

    it('retries 429, 5xx, dropped sockets, cut and malformed bodies, in-band and slow answers: same rows as a clean run', async () => {
      const faulty = await extract({ faults: TRANSIENT_FAULTS, timeoutMs: 1_000 });
      expect(faulty.result.error).toBeNull();
      expect(faulty.result.status).toBe('complete');
      expect(faulty.result.retries).toBeGreaterThanOrEqual(7);
      expect(faulty.rows).toEqual(clean.rows);
    });

    it('honours Retry-After', async () => {
      const started = Date.now();
      const limited = await extract({ faults: 'rate-limit/1@1' });
      expect(limited.result.status).toBe('complete');
      expect(limited.result.retries).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    });

    it(
      paged
        ? 'detects a page that repeats forever and marks the account incomplete'
        : 'is not fooled by a repeat-page switch (no paging)',
      async () => {
        const looping = await extract({ faults: 'repeat-page' });
        if (paged) {
          expect(clean.result.windowOutcomes.some((w) => w.pages > 1)).toBe(true);
          expect(looping.result.status).toBe('incomplete');
          expect(looping.result.error).toMatch(/identical to page/);
          expect(looping.rows).toEqual([]);
        } else {
          expect(looping.result.status).toBe('complete');
          expect(looping.rows).toEqual(clean.rows);
        }
      },
    );

    it('stops the account with a clear error naming it on bad credentials, staging nothing', async () => {
      const wrong = Object.fromEntries(Object.keys(account.credentials).map((k) => [k, `wrong-${k}-value`]));
      const denied = await extract({ credentials: wrong });
      expect(denied.result.status).toBe('failed');
      expect(denied.result.error).toContain(account.id);
      expect(denied.result.error).toMatch(/credential|authenticat|permission|denied/i);
      expect(denied.rows).toEqual([]);
      expect(denied.result.requests).toBeLessThanOrEqual(account.rateLimit.concurrency);
    });

    it('keeps every configured secret out of the warehouse', () => {
      expect(clean.texts.length).toBeGreaterThan(0);
      for (const text of clean.texts) for (const secret of secrets) expect(text).not.toContain(secret);
      expect(clean.requests.length).toBeGreaterThan(0);
    });

    it('an incremental run right after a full one reads only the lookback and adds no new row', async () => {
      const file = path.join(dir, 'incremental.duckdb');
      const once = async () => {
        const warehouse = await Warehouse.open(file, { mode: 'write', command: 'contract' });
        try {
          const runId = await warehouse.beginRun({});
          const [result] = await extractAccounts({
            warehouse,
            runId,
            accounts: [account],
            providers: PROVIDERS,
            request: { mode: 'incremental' },
            redact: createRedactor(secrets),
            redactValues: createRedactor(secrets, { byName: false }),
            retry: FAST_RETRY,
          });
          await warehouse.finishRun(runId, 'succeeded');
          return result as AccountExtraction;
        } finally {
          await warehouse.close();
        }
      };
      simulator.setFaults(scenarioAccount.key, '');
      const first = await once();
      const second = await once();
      expect(first.mode).toBe('full');
      expect(second.mode).toBe('incremental');
      expect(second.status).toBe('complete');
      expect(second.range.to - second.range.from).toBeLessThanOrEqual(
        (account.lookbackDays + 1) * 86_400_000,
      );
      // The minimum: one request per window of the lookback (no paging beyond what holds rows).
      expect(second.requests).toBe(second.windowOutcomes.reduce((n, w) => n + Math.max(1, w.pages), 0));
      expect(second.requests).toBeLessThanOrEqual(first.requests);
    });
  });
}
