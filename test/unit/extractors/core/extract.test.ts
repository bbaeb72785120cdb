// The engine's own decisions, on a real simulator: a window that keeps timing out is split in
// two (and the split is recorded), and a window that cannot be split leaves the account incomplete.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../extractors/core/config.js';
import { type ExtractEvent, extractAccounts } from '../../../../extractors/core/extract.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import { generateScenario } from '../../../../extractors/core/scenario/generate.js';
import { Warehouse } from '../../../../extractors/core/warehouse.js';
import { PROVIDERS } from '../../../../extractors/registry.js';
import { scenarioSimAccount } from '../../../../pipelines/sandbox.js';

const scenario = generateScenario({ seed: 9, rows: 200 });
const sc = scenario.accounts.find((a) => a.provider === 'sendcloud')!;
const dir = mkdtempSync(path.join(tmpdir(), 'engine-'));
const simulator = await PROVIDERS.sendcloud.startSimulator({ accounts: [scenarioSimAccount(sc)] });
afterAll(() => simulator.close());

const account = parseConfig(
  JSON.stringify({
    accounts: [
      {
        id: sc.id,
        provider: 'sendcloud',
        baseUrl: simulator.url,
        credentials: sc.credentials,
        timezone: sc.timezone,
        since: sc.since,
      },
    ],
  }),
  '/x/c.json',
).accounts[0]!;

async function extractRange(from: string, to: string, faults: string) {
  simulator.setFaults(sc.key, faults);
  const warehouse = await Warehouse.open(path.join(dir, `${faults.length}-${Date.now()}.duckdb`), {
    mode: 'write',
    command: 'test',
  });
  const events: ExtractEvent[] = [];
  try {
    const runId = await warehouse.beginRun({});
    const [result] = await extractAccounts({
      warehouse,
      runId,
      accounts: [{ ...account, timeoutMs: 300 }],
      providers: PROVIDERS,
      request: { mode: 'range', from, to },
      redact: createRedactor(Object.values(sc.credentials)),
      redactValues: createRedactor(Object.values(sc.credentials), { byName: false }),
      retry: { maxAttempts: 2, baseMs: 1, maxDelayMs: 5 },
      timeouts: { headersMs: 300 },
      onEvent: (e) => events.push(e),
    });
    const windows = await warehouse.allJson<{ status: string; params: Record<string, string> }>(
      'SELECT status, params FROM stage_extract_windows ORDER BY window_no',
    );
    return { result: result!, events, windows };
  } finally {
    await warehouse.close();
  }
}

describe('extractAccounts', () => {
  it('splits a window whose request keeps timing out, logs the split, and completes', async () => {
    // The first two reads (both attempts of the month's request) answer too slowly.
    const { result, events, windows } = await extractRange('2025-03-01', '2025-04-01', 'slow/1200@1+2');
    expect(result.status).toBe('complete');
    expect(result.shrinks).toBe(1);
    expect(events.filter((e) => e.type === 'window-split')).toHaveLength(1);
    expect(windows.map((w) => [w.status, w.params.startDate, w.params.endDate])).toEqual([
      ['split', '2025-03-01', '2025-03-31'],
      ['complete', '2025-03-01', '2025-03-15'],
      ['complete', '2025-03-16', '2025-03-31'],
    ]);
  });

  it('marks the account incomplete, naming the window, when a window fails for good', async () => {
    const { result, windows } = await extractRange('2025-03-01', '2025-04-01', 'server-error/503');
    expect(result.status).toBe('incomplete');
    expect(result.error).toMatch(
      /1 window\(s\) failed; first: global \[2025-02-28T16:00:00\.000Z, 2025-03-31T16:00:00\.000Z\)/,
    );
    expect(result.rows).toBe(0);
    expect(windows.map((w) => w.status)).toEqual(['failed']);
  });
});
