/**
 * Issue "extract", speed figures (each against its limit, measured in the same run):
 *  1. JSON extraction of ~1M rows from the SendCloud simulator through the whole engine (windows,
 *     paging, retries, parsing, staging into DuckDB) vs a bare loop that fetches the same pages
 *     with undici at the same concurrency and discards them. Target ≥ 0.5.
 *  2. XML parsing: the BlueHornet module's parse (validation, entity safety, rows) vs
 *     fast-xml-parser's own parse of the same bodies. Target ≥ 0.7.
 *  3. Rate limit: 50 ms added latency and a 10 requests/s limit: achieved rate ≥ 90% of the limit,
 *     and requests = windows × pages + retries, nothing more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import pLimit from 'p-limit';
import { Agent, request } from 'undici';
import type { AccountConfig } from '../extractors/core/config.js';
import { extractAccounts } from '../extractors/core/extract.js';
import { HttpEngine, type HttpResponse } from '../extractors/core/http.js';
import { createRedactor } from '../extractors/core/redact.js';
import { generateScenario } from '../extractors/core/scenario/generate.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';
import { scenarioAccountConfig, scenarioSimAccount } from '../pipelines/sandbox.js';
import { writeSection } from './results.js';

const ROWS = Number(process.env.BENCH_EXTRACT_ROWS ?? 1_000_000);

async function extractOnce(account: AccountConfig, secrets: string[], dir: string, name: string) {
  const warehouse = await Warehouse.open(path.join(dir, `${name}.duckdb`), {
    mode: 'write',
    command: 'bench',
  });
  try {
    const runId = await warehouse.beginRun({});
    const started = performance.now();
    const [result] = await extractAccounts({
      warehouse,
      runId,
      accounts: [account],
      providers: PROVIDERS,
      request: { mode: 'full' },
      redact: createRedactor(secrets),
      redactValues: createRedactor(secrets, { byName: false }),
    });
    const seconds = (performance.now() - started) / 1000;
    await warehouse.finishRun(runId, 'succeeded');
    if (result!.status !== 'complete')
      throw new Error(`bench extraction ${result!.status}: ${result!.error}`);
    return { result: result!, seconds };
  } finally {
    await warehouse.close();
  }
}

/** The limit for (1): the same requests, fetched and thrown away. */
async function bareFetch(account: AccountConfig) {
  const module = PROVIDERS.sendcloud;
  const ctx = { account, now: Date.now() };
  const agent = new Agent({ connections: account.rateLimit.concurrency });
  const limit = pLimit(account.rateLimit.concurrency);
  let rows = 0;
  let pages = 0;
  const started = performance.now();
  await Promise.all(
    module
      .planWindows({ from: Date.parse(`${account.since}T00:00:00Z`), to: Date.now() }, ctx)
      .map((window) =>
        limit(async () => {
          const paginator = module.paginator(window, ctx);
          for (let req: unknown = paginator.first(); req !== null; ) {
            const spec = module.request(window, req, ctx);
            const res = await request(spec.url, {
              method: spec.method,
              dispatcher: agent,
              ...(spec.headers ? { headers: spec.headers } : {}),
              ...(spec.body !== undefined ? { body: spec.body } : {}),
            });
            const body = await res.body.text();
            const got = (body.match(/"email":/g) ?? []).length;
            rows += got;
            pages += 1;
            req = paginator.next(req, { rows: got, fingerprint: String(pages) });
          }
        }),
      ),
  );
  await agent.close();
  return { rows, pages, seconds: (performance.now() - started) / 1000 };
}

async function jsonThroughput(dir: string) {
  const scenario = generateScenario({ seed: 3, rows: ROWS });
  const account = scenario.accounts.find((a) => a.provider === 'sendcloud')!;
  const sim = await PROVIDERS.sendcloud.startSimulator({ accounts: [scenarioSimAccount(account)] });
  try {
    const config = scenarioAccountConfig(account, sim.url, { requestsPerSecond: 100_000, concurrency: 2 });
    const bare = await bareFetch(config);
    const ours = await extractOnce(config, Object.values(account.credentials), dir, 'json');
    return { bare, ours };
  } finally {
    await sim.close();
  }
}

async function xmlParseRate() {
  const scenario = generateScenario({ seed: 4, rows: 200_000 });
  const account = scenario.accounts.find((a) => a.provider === 'bluehornet')!;
  const module = PROVIDERS.bluehornet;
  const sim = await module.startSimulator({ accounts: [scenarioSimAccount(account)] });
  try {
    const config = scenarioAccountConfig(account, sim.url, { requestsPerSecond: 1000, concurrency: 2 });
    const ctx = { account: config, now: Date.now() };
    const windows = module
      .planWindows({ from: Date.parse(`${config.since}T00:00:00Z`), to: Date.now() }, ctx)
      .slice(0, 12);
    const http = new HttpEngine({ redact: createRedactor(Object.values(account.credentials)) });
    const bodies: Array<{ response: HttpResponse; window: (typeof windows)[number] }> = [];
    for (const window of windows) {
      const response = await http.request(module.request(window, module.paginator(window, ctx).first(), ctx));
      bodies.push({ response, window });
    }
    await http.close();
    const bytes = bodies.reduce((n, b) => n + b.response.body.length, 0);
    const rounds = 3;
    let rows = 0;
    let started = performance.now();
    for (let r = 0; r < rounds; r++)
      for (const b of bodies) rows += module.parse(b.response, b.window, ctx).rows.length;
    const oursSeconds = (performance.now() - started) / 1000;
    const parser = new XMLParser({ processEntities: false, ignoreDeclaration: true });
    started = performance.now();
    for (let r = 0; r < rounds; r++) for (const b of bodies) parser.parse(b.response.text);
    const limitSeconds = (performance.now() - started) / 1000;
    return { bytes: bytes * rounds, rows, oursSeconds, limitSeconds };
  } finally {
    await sim.close();
  }
}

async function rateLimited(dir: string) {
  const scenario = generateScenario({ seed: 5, rows: 20_000 });
  const account = scenario.accounts.find((a) => a.provider === 'sendcloud')!;
  const sim = await PROVIDERS.sendcloud.startSimulator({
    accounts: [scenarioSimAccount(account, 'latency/50')],
  });
  try {
    const config = scenarioAccountConfig(account, sim.url, { requestsPerSecond: 10, concurrency: 4 });
    const { result, seconds } = await extractOnce(config, Object.values(account.credentials), dir, 'rate');
    const pages = result.windowOutcomes
      .filter((w) => w.status === 'complete')
      .reduce((n, w) => n + w.pages, 0);
    return {
      requests: result.requests,
      retries: result.retries,
      pages,
      windows: result.windows,
      seconds,
      served: sim.journal.size,
    };
  } finally {
    await sim.close();
  }
}

export async function extraction(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-extract-'));
  try {
    const { bare, ours } = await jsonThroughput(dir);
    const xml = await xmlParseRate();
    const rate = await rateLimited(dir);
    const oursRate = ours.result.rows / ours.seconds;
    const bareRate = bare.rows / bare.seconds;
    const achieved = rate.requests / rate.seconds;
    const markdown = `## Extraction speed

**JSON (SendCloud simulator, ${ours.result.rows.toLocaleString('en-US')} rows, ${bare.pages.toLocaleString('en-US')} pages, concurrency 2)**

| path | time | rows/s |
|---|---|---|
| ours: engine + parse + staging into DuckDB | ${ours.seconds.toFixed(1)} s | ${Math.round(oursRate).toLocaleString('en-US')} |
| limit: bare undici loop fetching the same pages, discarding them | ${bare.seconds.toFixed(1)} s | ${Math.round(bareRate).toLocaleString('en-US')} |

Ratio: **${(oursRate / bareRate).toFixed(2)}** (target ≥ 0.5). Both are bounded by the simulator serving pages.

**XML parsing (BlueHornet answers, ${(xml.bytes / 2 ** 20).toFixed(0)} MiB, ${xml.rows.toLocaleString('en-US')} rows)**

| parser | time | MiB/s |
|---|---|---|
| ours: the module's \`parse\` (safety checks, rows) | ${xml.oursSeconds.toFixed(2)} s | ${(xml.bytes / 2 ** 20 / xml.oursSeconds).toFixed(1)} |
| limit: fast-xml-parser \`parse\` of the same bodies | ${xml.limitSeconds.toFixed(2)} s | ${(xml.bytes / 2 ** 20 / xml.limitSeconds).toFixed(1)} |

Ratio: **${(xml.limitSeconds / xml.oursSeconds).toFixed(2)}** (target ≥ 0.7).

**Rate limit (50 ms added latency, limit 10 requests/s, concurrency 4)**

${rate.requests} requests in ${rate.seconds.toFixed(1)} s = ${achieved.toFixed(2)} requests/s, **${((achieved / 10) * 100).toFixed(0)}%** of the limit (target ≥ 90%).
Requests made ${rate.requests} = windows × pages (${rate.pages} pages over ${rate.windows} windows) + retries (${rate.retries}); the simulator served ${rate.served}.`;
    writeSection('extraction', markdown);
    return markdown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
