/**
 * Issue "Patch files and controlled replay", speed: with 50 ms added latency on every answer and
 * the account's rate limit, `replay --apply` reaches ≥ 90 % of the allowed request rate, and
 * providers that take many addresses per call use ⌈rows / batch size⌉ write calls.
 *
 * For every provider of the registry (through the scenario's account of it): a simulator with
 * `latency/50` and a token bucket at the same rate as the account's `rateLimit` (so a burst
 * beyond the limit would show as 429 retries), a real DuckDB warehouse for the journal, and a
 * patch of fresh addresses replayed through `replayInRun` — the command's own code, journal
 * included — without the verifying re-extraction (that is extraction's figure). Achieved rate =
 * HTTP requests made (reads included: BlueHornet checks before it writes, WhatCounts reads its
 * listing once) / wall time; limit = the account's requestsPerSecond; ratio reported.
 * A bulk provider makes a handful of calls, too few for a rate: its figure is the call count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../extractors/core/config.js';
import { generateScenario } from '../extractors/core/scenario/generate.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import { Output } from '../pipelines/output.js';
import { loadPatch, type PatchRow, writePatchFolder } from '../pipelines/patch/format.js';
import { replayInRun } from '../pipelines/replay.js';
import { scenarioConfigEntry, scenarioSimAccount } from '../pipelines/sandbox.js';
import { writeSection } from './results.js';

const RATE = Number(process.env.BENCH_REPLAY_RATE ?? 20);
const CONCURRENCY = 4;
/** Rows for providers writing one address per call: ~5 s of requests at 20/s. */
const SINGLE_ROWS = Number(process.env.BENCH_REPLAY_ROWS ?? 100);
/** Rows for bulk providers: several full batches and a partial one. */
const BULK_ROWS = 2_100;
const TARGET_RATIO = 0.9;

interface Figure {
  provider: string;
  rows: number;
  batch: number;
  writeCalls: number;
  expectedCalls: number;
  requests: number;
  retries429: number;
  seconds: number;
  rate: number;
  ok: boolean;
}

async function benchProvider(dir: string, account: ReturnType<typeof generateScenario>['accounts'][number]) {
  const provider = PROVIDERS[account.provider];
  const batch = provider.capabilities.writeBatchSize;
  const rows = batch > 1 ? BULK_ROWS : SINGLE_ROWS;
  const sim = await provider.startSimulator({
    accounts: [{ ...scenarioSimAccount(account, 'latency/50'), rateLimit: { requestsPerSecond: RATE } }],
  });
  const warehouse = await Warehouse.open(path.join(dir, `${account.id}.duckdb`), {
    mode: 'write',
    command: 'bench',
  });
  try {
    const config = parseConfig(
      JSON.stringify({
        accounts: [
          scenarioConfigEntry(account, sim.url, {
            rateLimit: { requestsPerSecond: RATE, concurrency: CONCURRENCY },
          }),
        ],
      }),
      path.join(dir, 'unsub-recon.config.json'),
    );
    const runId = '20250101T000000Z-bbbbbb';
    const patchRows: PatchRow[] = Array.from({ length: rows }, (_, i) => ({
      email: `bench-${i}@replay.example`,
      op: 'add',
      target_account: account.id,
      reason: 'bench',
      source_accounts: 'bench',
      source_unsubscribed_at: '',
    }));
    const folder = path.join(dir, account.id, 'patches', 'bench');
    await writePatchFolder(
      folder,
      {
        run_id: runId,
        created_at: new Date().toISOString(),
        group: 'bench',
        policy: 'union',
        source: null,
        scope: 'global',
        members: [account.id],
        diff_run_id: null,
        delete_rule: 'none',
        forced: false,
        source_shrink: null,
        checks: [],
      },
      [{ target: account.id, provider: account.provider, op: 'add', rows: patchRows }],
    );
    const patch = loadPatch(folder, config);
    const replayRun = await warehouse.beginRun({ command: 'replay' });
    const before = sim.journal.writes().length;
    const started = performance.now();
    const result = await replayInRun({
      warehouse,
      runId: replayRun,
      config,
      patch,
      out: new Output({ json: true, quiet: true }),
      apply: true,
      verify: false,
    });
    const seconds = (performance.now() - started) / 1000;
    await warehouse.finishRun(replayRun, 'succeeded');
    const [target] = result.targets;
    if (!result.ok || target!.succeeded !== rows) {
      throw new Error(`bench replay to ${account.id} incomplete: ${result.problems.join('; ')}`);
    }
    const writeCalls = sim.journal.writes().length - before;
    const retries429 = sim.journal.entries((e) => e.status === 429).length;
    const expectedCalls = Math.ceil(rows / batch);
    const rate = target!.requests / seconds;
    const ok = writeCalls === expectedCalls && (batch > 1 || rate / RATE >= TARGET_RATIO);
    return {
      provider: account.provider,
      rows,
      batch,
      writeCalls,
      expectedCalls,
      requests: target!.requests,
      retries429,
      seconds,
      rate,
      ok,
    } satisfies Figure;
  } finally {
    await warehouse.close();
    await sim.close();
  }
}

export async function replay(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'unsub-bench-replay-'));
  try {
    const scenario = generateScenario({ seed: 9, rows: 200 });
    const figures: Figure[] = [];
    for (const account of scenario.accounts) figures.push(await benchProvider(dir, account));
    const table = [
      '| provider | rows | batch | write calls (⌈rows / batch⌉) | requests | 429s | seconds | achieved req/s | limit | ratio | target |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...figures.map(
        (f) =>
          `| ${f.provider} | ${f.rows} | ${f.batch} | ${f.writeCalls} (${f.expectedCalls}) | ${f.requests} | ${f.retries429} | ${f.seconds.toFixed(2)} | ` +
          `${f.rate.toFixed(1)} | ${RATE} | ${f.batch > 1 ? 'n/a (bulk)' : (f.rate / RATE).toFixed(3)} | ` +
          `${f.ok ? 'met' : 'MISSED'} (${f.batch > 1 ? 'calls = ⌈rows / batch⌉' : `≥ ${TARGET_RATIO} and calls = rows`}) |`,
      ),
    ].join('\n');
    const markdown = `### Replay throughput (50 ms added latency, limit ${RATE} requests/s, concurrency ${CONCURRENCY})

\`replayInRun\` with --apply (journal in a real DuckDB file, no verify) against each provider's
simulator. Requests include the reads a provider's add makes (BlueHornet checks each address first;
WhatCounts reads its listing once per batch run).

${table}`;
    writeSection('replay', markdown);
    return markdown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
