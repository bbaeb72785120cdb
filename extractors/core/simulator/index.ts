/**
 * Simulator kit: what every `extractors/<provider>/simulator.ts` builds on.
 *
 * The kit owns the HTTP server (real `node:http` on 127.0.0.1, port 0 by default), request
 * parsing (query + urlencoded/multipart form merged into `ctx.params`), account resolution,
 * per-account token-bucket rate limits (429 + Retry-After), deterministic faults, streaming with
 * backpressure, and the journal (secrets masked). A provider writes only a handler: check
 * credentials, validate parameters, select rows from `ctx.account.store`, render them, and honour
 * the provider-specific fault flags (`inband-error`, `duplicate-row`, `repeat-page`,
 * `empty-last-page`). The kit applies the generic ones itself: rate-limit, server-error,
 * drop-socket, slow, truncate, malformed, latency, and `shrink` (store.shrink before the handler).
 *
 * ```ts
 * export const startSendcloudSimulator = (accounts: SimAccountInit[], port?: number) =>
 *   startSimulator({
 *     name: 'sendcloud', port, accounts,
 *     resolveAccount: (req) => req.params['apiUser'],
 *     classify: (req) => (req.path.endsWith('/list') ? 'read' : 'write'),
 *     handler: (ctx) => {
 *       if (!credentialsMatch(ctx.account, ctx.params)) return json({ result: false, statusCode: 40005 });
 *       if (ctx.faults.has('inband-error')) return json({ result: false, statusCode: 500, message: '服务器错误' });
 *       const store = ctx.account!.store;
 *       const [lo, hi] = store.rangeIndex(fromMs, toMs);               // binary search, no copy
 *       const start = lo + Number(ctx.params['start'] ?? 0);
 *       const rows = [...store.iterate(start, Math.min(hi, start + 100))].map(render);
 *       return json({ result: true, statusCode: 200, info: { count: hi - lo, dataList: rows } });
 *     },
 *   });
 * // test: const sim = await startSendcloudSimulator([{ key: 'u1', credentials: { apiUser: 'u1', apiKey: 'k' } }]);
 * //       sim.setFaults('u1', 'server-error/503@2,rate-limit:1#write'); …; sim.journal.writes(); await sim.close();
 * ```
 * Huge accounts: `store: new GeneratedStore(5_000_000, (i) => ({ email: `u${i}@x.test`, at: t0 + i * 1000 }))`
 * and stream the page: `body: (function* () { for (const e of store.iterate(lo, hi)) yield render(e); })()`.
 * Write "today"/`days=N` logic against `ctx.now()` (option `now`), never Date.now().
 * Fault syntax (`kind[/value][:times][@n+n][%every][#read|write|any]`, comma-separated): faults.ts.
 */
export {
  type ActiveFaults,
  DEFAULT_FRACTION,
  DEFAULT_LATENCY_MS,
  DEFAULT_SLOW_MS,
  FAULT_KINDS,
  type FaultKind,
  FaultPlan,
  type FaultSpec,
  formatFault,
  GENERIC_FAULT_KINDS,
  NO_FAULTS,
  parseFaults,
  type RequestKind,
} from './faults.js';
export { Journal, type JournalEntry, maskParams } from './journal.js';
export { type SimRateLimit, TokenBucket } from './ratelimit.js';
export {
  credentialsMatch,
  json,
  mergeParams,
  parseMultipart,
  type SimAccount,
  type SimAccountInit,
  type SimBody,
  type SimContext,
  type SimDump,
  type SimHandler,
  type SimRequest,
  type SimResponse,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
  text,
} from './server.js';
export {
  type AddResult,
  createStore,
  defaultEmailKey,
  type EmailKey,
  type EntryPredicate,
  GeneratedStore,
  type GeneratedStoreOptions,
  MemoryStore,
  page,
  type SimEntry,
  type SimStore,
  sameScope,
} from './store.js';
