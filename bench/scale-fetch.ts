/**
 * The extraction limit of bench/scale.ts: a bare HTTP loop that sends the very requests a
 * finished `nightly` sent (same URLs, headers and bodies, the same windows in the same order,
 * the same number of workers per account, every account at once) and discards the answers.
 *
 * The requests are rebuilt from the nightly's own records, not re-planned: each completed window
 * of `stage_extract_windows` (its range, scope and params) through the provider's paginator and
 * `request`, fed with the rows the pipeline parsed from each page (bench/scale-windows.sql).
 * A rebuilt paginator must ask for exactly the pages the pipeline fetched, or the run stops.
 *
 * Run as its own process (`node --import tsx bench/scale-fetch.ts CONFIG WAREHOUSE RUN_ID`,
 * credentials in the environment like the CLI's): the simulators live in the benchmark's process,
 * and a client sharing their one thread would slow them down, which the pipeline's process does
 * not. Prints one JSON object: {seconds, requests, bytes, byAccount}. Only the fetching is timed.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import { Agent, request } from 'undici';
import { type AccountConfig, loadConfig } from '../extractors/core/config.js';
import type { RequestSpec } from '../extractors/core/http.js';
import type { ExtractWindow } from '../extractors/core/provider.js';
import { Warehouse } from '../extractors/core/warehouse.js';
import { PROVIDERS } from '../extractors/registry.js';

const PAGES_SQL = readFileSync(new URL('./scale-windows.sql', import.meta.url), 'utf8');

/** One account's requests, window by window, in the order the pipeline started the windows. */
export interface AccountPlan {
  account: AccountConfig;
  windows: RequestSpec[][];
}

export interface FetchResult {
  seconds: number;
  requests: number;
  /** Requests sent again after a reset socket (as the pipeline's engine does). */
  retries: number;
  bytes: number;
  byAccount: Record<string, { requests: number; retries: number; bytes: number; seconds: number }>;
}

interface PageRow {
  window_no: number;
  scope: string;
  window_from: Date;
  window_to: Date;
  params: string;
  provider_total: bigint | null;
  page: number;
  rows: bigint;
}

/** Rebuilds the requests of run `runId` for every account of `config` it extracted completely. */
export async function plannedRequests(
  warehouse: Warehouse,
  accounts: readonly AccountConfig[],
  runId: string,
) {
  const plans: AccountPlan[] = [];
  for (const account of accounts) {
    const module = PROVIDERS[account.provider];
    const [extraction] = await warehouse.all<{ range_to: Date; status: string }>(
      'SELECT range_to, status FROM stage_extractions WHERE run_id = $1 AND account_id = $2',
      [runId, account.id],
    );
    if (extraction?.status !== 'complete') {
      throw new Error(`run ${runId}: account ${account.id} was not extracted completely`);
    }
    const ctx = { account, now: extraction.range_to.getTime() };
    const rows = await warehouse.all<PageRow>(PAGES_SQL, { run_id: runId, account_id: account.id });
    const byWindow = new Map<number, PageRow[]>();
    for (const row of rows) byWindow.set(row.window_no, [...(byWindow.get(row.window_no) ?? []), row]);
    const windows: RequestSpec[][] = [];
    for (const [windowNo, pages] of byWindow) {
      const first = pages[0]!;
      const window: ExtractWindow = {
        from: first.window_from.getTime(),
        to: first.window_to.getTime(),
        scope: first.scope,
        params: JSON.parse(first.params) as Record<string, string>,
      };
      const paginator = module.paginator(window, ctx);
      const specs: RequestSpec[] = [];
      let pageRequest: unknown = paginator.first();
      for (const page of pages) {
        if (pageRequest === null) {
          throw new Error(`${account.id} window ${windowNo}: the paginator stops before page ${page.page}`);
        }
        specs.push(module.request(window, pageRequest, ctx));
        pageRequest = paginator.next(pageRequest, {
          rows: Number(page.rows),
          fingerprint: `page-${page.page}`,
          ...(page.provider_total !== null ? { total: Number(page.provider_total) } : {}),
        });
      }
      if (pageRequest !== null) {
        throw new Error(
          `${account.id} window ${windowNo}: the paginator asks for more than ${pages.length} pages`,
        );
      }
      windows.push(specs);
    }
    plans.push({ account, windows });
  }
  return plans;
}

/** Socket-level failures the pipeline's engine retries (e.g. a kept-alive socket the server closed). */
const RETRIED_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const MAX_ATTEMPTS = 5;

/** Sends one account's requests with its concurrency (workers over windows, as the engine does). */
async function fetchAccount(
  plan: AccountPlan,
): Promise<{ requests: number; retries: number; bytes: number; seconds: number }> {
  const agent = new Agent();
  const workers = pLimit(Math.max(1, plan.account.rateLimit.concurrency));
  let requests = 0;
  let retries = 0;
  let bytes = 0;
  const started = performance.now();
  const send = async (spec: RequestSpec): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request(spec.url, {
          method: spec.method,
          dispatcher: agent,
          ...(spec.headers ? { headers: spec.headers } : {}),
          ...(spec.body !== undefined ? { body: spec.body } : {}),
        });
        // Read to the end and throw away: what the limit pays for is the transfer only.
        let read = 0;
        for await (const chunk of res.body) read += (chunk as Buffer).length;
        if (res.statusCode >= 300) throw new Error(`${plan.account.id}: HTTP ${res.statusCode}`);
        bytes += read;
        requests += 1;
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || code === undefined || !RETRIED_CODES.has(code)) throw error;
        retries += 1;
      }
    }
  };
  try {
    await Promise.all(
      plan.windows.map((specs) =>
        workers(async () => {
          for (const spec of specs) await send(spec);
        }),
      ),
    );
  } finally {
    await agent.close();
  }
  return { requests, retries, bytes, seconds: (performance.now() - started) / 1000 };
}

/** Every account at once, as `nightly` extracts them. */
export async function bareFetch(plans: readonly AccountPlan[]): Promise<FetchResult> {
  const started = performance.now();
  const results = await Promise.all(plans.map((plan) => fetchAccount(plan)));
  const seconds = (performance.now() - started) / 1000;
  const byAccount = Object.fromEntries(plans.map((p, i) => [p.account.id, results[i]!]));
  return {
    seconds,
    requests: results.reduce((n, r) => n + r.requests, 0),
    retries: results.reduce((n, r) => n + r.retries, 0),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    byAccount,
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [configFile, warehouseFile, runId] = argv;
  if (!configFile || !warehouseFile || !runId) {
    throw new Error('usage: scale-fetch.ts CONFIG WAREHOUSE RUN_ID (credentials in the environment)');
  }
  const config = loadConfig(configFile, { env: process.env });
  const warehouse = await Warehouse.open(warehouseFile, { mode: 'read', command: 'bench' });
  let plans: AccountPlan[];
  try {
    plans = await plannedRequests(warehouse, config.accounts, runId);
  } finally {
    await warehouse.close();
  }
  process.stdout.write(`${JSON.stringify(await bareFetch(plans))}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`scale-fetch: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
