/**
 * The simulator HTTP server: a real `node:http` server on 127.0.0.1 that parses the request,
 * resolves the account, applies the account's faults and rate limit, calls the provider handler
 * and writes its answer (streamed with backpressure when the body is an iterable), journaling
 * every request with secrets masked. See index.ts for how a provider simulator uses it.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedactor, type Redactor } from '../redact.js';
import {
  type ActiveFaults,
  DEFAULT_FRACTION,
  DEFAULT_LATENCY_MS,
  DEFAULT_SLOW_MS,
  FaultPlan,
  type FaultSpec,
  NO_FAULTS,
  type RequestKind,
} from './faults.js';
import { Journal } from './journal.js';
import { type SimRateLimit, TokenBucket } from './ratelimit.js';
import { MemoryStore, type SimEntry, type SimStore } from './store.js';

/** A response body: bytes, text (sent as UTF-8), or chunks streamed with backpressure. */
export type SimBody =
  | string
  | Uint8Array
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

export interface SimResponse {
  /** Default 200. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>;
  /**
   * Default empty. Strings are UTF-8: for ISO-8859-1 XML pass `Buffer.from(xml, 'latin1')` (or
   * yield such Buffers). Iterables/generators are sent chunked, coalesced to ~64 KiB writes,
   * awaiting 'drain': a generator over `store.iterate(lo, hi)` serves any page in constant memory.
   */
  readonly body?: SimBody;
}

/** What the kit parsed from the request, before any account or fault logic. */
export interface SimRequest {
  readonly method: string;
  /** URL pathname, as sent (not percent-decoded). */
  readonly path: string;
  readonly url: URL;
  readonly query: URLSearchParams;
  /** Form fields of an application/x-www-form-urlencoded or multipart/form-data body, else empty. */
  readonly form: URLSearchParams;
  /** Query and form merged (providers accept GET or POST); form wins, and for repeats the last. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
}

export interface SimAccount<M = Record<string, unknown>> {
  /** What identifies the account in requests (SendGrid user, SendCloud apiUser, realm, api key). */
  readonly key: string;
  /** Non-secret name used in the journal and dumps (default "account-N"). */
  readonly id: string;
  /** Expected secret values, by the request parameter name the provider uses. */
  readonly credentials: Readonly<Record<string, string>>;
  store: SimStore;
  readonly faults: FaultPlan;
  /** Token bucket; assign to change it at run time (undefined = unlimited). */
  rateLimit: SimRateLimit | undefined;
  /** Provider-specific account settings (time zone, lists, feature flags…). */
  readonly meta: M;
}

interface SimAccountBase {
  readonly key: string;
  readonly id?: string;
  readonly credentials?: Readonly<Record<string, string>>;
  /** A store, or entries for a new MemoryStore. Default empty. */
  readonly store?: SimStore | Iterable<SimEntry>;
  /** Compact string (see faults.ts) or specs. Default none. */
  readonly faults?: string | readonly FaultSpec[];
  readonly rateLimit?: SimRateLimit;
}
/** `meta` may be omitted only when every field of M is optional. */
export type SimAccountInit<M = Record<string, unknown>> = SimAccountBase &
  (Record<never, never> extends M ? { readonly meta?: M } : { readonly meta: M });

export interface SimContext<M = Record<string, unknown>> extends SimRequest {
  /** Journal sequence number of this request. */
  readonly seq: number;
  readonly kind: RequestKind;
  /** The account `resolveAccount` named (undefined if none or unknown: answer an auth error). */
  readonly account: SimAccount<M> | undefined;
  /** Faults chosen for this request. Generic ones are applied by the kit; honour the others. */
  readonly faults: ActiveFaults;
  /** Aborted when the client goes away or the simulator closes: stop streaming. */
  readonly signal: AbortSignal;
  readonly accounts: ReadonlyMap<string, SimAccount<M>>;
  /** The simulated clock (option `now`, default Date.now): use it for "today", `days=N`… */
  now(): number;
  /** Adds a note to this request's journal entry (masked). */
  note(text: string): void;
}

export type SimHandler<M> = (ctx: SimContext<M>) => SimResponse | Promise<SimResponse>;

export interface SimulatorOptions<M = Record<string, unknown>> {
  /** Provider id, for messages and dumps. */
  readonly name: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly accounts?: readonly SimAccountInit<M>[];
  readonly handler: SimHandler<M>;
  /**
   * The account key a request names (param, header, or inside an XML body). Default: the only
   * account when exactly one is registered. A throw counts as "no account".
   */
  readonly resolveAccount?: (req: SimRequest) => string | undefined;
  /** read / write / other, for fault targeting and `journal.writes()`. Default 'read'. */
  readonly classify?: (req: SimRequest) => RequestKind;
  /** Body for the kit's own 429/5xx answers. Default a small HTML page, as many real gateways send. */
  readonly errorResponse?: (status: number, req: SimRequest) => SimResponse;
  /** Simulated clock, epoch ms. Default Date.now. Rate limits and delays use the wall clock. */
  readonly now?: () => number;
  /** Request bodies above this answer 413. Default 16 MiB. */
  readonly maxBodyBytes?: number;
}

export interface SimDump {
  readonly name: string;
  readonly url: string;
  readonly requests: number;
  readonly accounts: readonly {
    readonly id: string;
    readonly size: number;
    readonly faults: string;
    readonly rateLimit?: SimRateLimit;
    readonly entries: readonly SimEntry[];
  }[];
}

export interface Simulator<M = Record<string, unknown>> {
  readonly name: string;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly journal: Journal;
  readonly accounts: ReadonlyMap<string, SimAccount<M>>;
  addAccount(init: SimAccountInit<M>): SimAccount<M>;
  account(key: string): SimAccount<M> | undefined;
  /** Replaces an account's faults and restarts its request count. Throws on an unknown key. */
  setFaults(key: string, faults: string | readonly FaultSpec[]): void;
  setRateLimit(key: string, limit: SimRateLimit | undefined): void;
  now(): number;
  /** Accounts (first `maxEntries` entries each, default 10 000), faults, request count. No secrets. */
  dump(maxEntries?: number): SimDump;
  /** Stops listening, drops open connections, cancels pending delays. */
  close(): Promise<void>;
}

const CHUNK_BYTES = 64 * 1024;

/** Starts a simulator; resolves once it listens. */
export async function startSimulator<M = Record<string, unknown>>(
  options: SimulatorOptions<M>,
): Promise<Simulator<M>> {
  const accounts = new Map<string, SimAccount<M>>();
  const buckets = new Map<string, TokenBucket>();
  const clock = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const lifetime = new AbortController();
  let redactor: Redactor = createRedactor([]);
  const journal = new Journal(() => redactor);
  let seqCounter = 0;

  const mustGet = (key: string): SimAccount<M> => {
    const account = accounts.get(key);
    if (!account) throw new RangeError(`simulator ${options.name}: no such account`);
    return account;
  };

  const addAccount = (init: SimAccountInit<M>): SimAccount<M> => {
    const store = init.store;
    const account: SimAccount<M> = {
      key: init.key,
      id: init.id ?? `account-${accounts.size + 1}`,
      credentials: { ...init.credentials },
      store: store === undefined ? new MemoryStore() : isStore(store) ? store : new MemoryStore(store),
      faults: new FaultPlan(init.faults ?? []),
      rateLimit: init.rateLimit,
      // Sound: SimAccountInit makes `meta` required unless every field of M is optional.
      meta: (init.meta ?? {}) as M,
    };
    accounts.set(account.key, account);
    redactor = createRedactor([...accounts.values()].flatMap((a) => Object.values(a.credentials)));
    return account;
  };
  for (const init of options.accounts ?? []) addAccount(init);

  const errorResponse = (
    status: number,
    req: SimRequest,
    retryAfter: number | null | undefined,
  ): SimResponse => {
    const custom = options.errorResponse?.(status, req);
    const response = custom ?? {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><head><title>${status}</title></head><body><h1>${status} ${STATUS_TEXT[status] ?? 'Error'}</h1></body></html>\n`,
    };
    const headers: Record<string, string | number | readonly string[]> = { ...response.headers };
    const hasRetryAfter = Object.keys(headers).some((h) => h.toLowerCase() === 'retry-after');
    if (retryAfter !== null && retryAfter !== undefined && !hasRetryAfter)
      headers['retry-after'] = String(retryAfter);
    return { ...response, status, headers };
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const seq = ++seqCounter;
    const started = performance.now();
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const signal = AbortSignal.any([aborted.signal, lifetime.signal]);

    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLarge && !res.headersSent) res.writeHead(413).end();
      else res.destroy();
      return;
    }
    const request = parseRequest(req, rawBody);
    let key: string | undefined;
    try {
      key = options.resolveAccount
        ? options.resolveAccount(request)
        : accounts.size === 1
          ? accounts.keys().next().value
          : undefined;
    } catch {
      key = undefined; // an unparsable request names no account; the handler answers it
    }
    const account = key === undefined ? undefined : accounts.get(key);
    const kind = options.classify?.(request) ?? 'read';
    const faults = account ? account.faults.next(kind) : NO_FAULTS;
    const entry = journal.open({
      seq,
      at: Date.now(),
      method: request.method,
      path: request.path,
      params: request.params,
      account: account?.id,
      kind,
      faults: faults.kinds,
    });
    res.once('close', () => {
      entry.durationMs = Math.round(performance.now() - started);
    });
    const send = (response: SimResponse, bodyFaults: ActiveFaults): Promise<void> =>
      writeResponse(res, response, bodyFaults, signal, (status) => {
        entry.status = status;
      });

    try {
      const latency = faults.spec('latency');
      if (latency) await delay(latency.delayMs ?? DEFAULT_LATENCY_MS, signal);
      if (signal.aborted) return;

      const limited = faults.spec('rate-limit');
      if (limited) {
        await send(
          errorResponse(
            429,
            request,
            limited.retryAfterSeconds === undefined ? 1 : limited.retryAfterSeconds,
          ),
          NO_FAULTS,
        );
        return;
      }
      if (account?.rateLimit) {
        let bucket = buckets.get(account.key);
        if (!bucket || bucket.limit !== account.rateLimit) {
          bucket = new TokenBucket(account.rateLimit, performance.now());
          buckets.set(account.key, bucket);
        }
        const wait = bucket.take(performance.now());
        if (wait > 0) {
          entry.notes.push(`rate limit: ${account.rateLimit.requestsPerSecond}/s exceeded`);
          const retryAfter = account.rateLimit.retryAfterSeconds === false ? null : wait;
          await send(errorResponse(429, request, retryAfter), NO_FAULTS);
          return;
        }
      }
      const failure = faults.spec('server-error');
      if (failure) {
        await send(errorResponse(failure.status ?? 500, request, failure.retryAfterSeconds), NO_FAULTS);
        return;
      }
      const shrink = faults.spec('shrink');
      if (shrink && account) {
        const removed = account.store.shrink(shrink.fraction ?? DEFAULT_FRACTION);
        entry.notes.push(`shrink removed ${removed} entries`);
      }

      const ctx: SimContext<M> = {
        ...request,
        seq,
        kind,
        account,
        faults,
        signal,
        accounts,
        now: clock,
        note: (text) => {
          entry.notes.push(journal.redact(text));
        },
      };
      const response = await options.handler(ctx);
      // Slow answers come after the handler ran: a write is applied even if the client gave up.
      const slow = faults.spec('slow');
      if (slow) await delay(slow.delayMs ?? DEFAULT_SLOW_MS, signal);
      if (signal.aborted) return;
      await send(response, faults);
    } catch (error) {
      const message = journal.redact(error instanceof Error ? error.message : String(error));
      entry.notes.push(`handler error: ${message}`);
      if (!res.headersSent && !res.destroyed) {
        entry.status = 500;
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`simulator ${options.name} handler error: ${message}\n`);
      } else res.destroy();
    }
  };

  const server = createServer((req, res) => {
    void serve(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    name: options.name,
    url,
    port,
    journal,
    accounts,
    addAccount,
    account: (key) => accounts.get(key),
    setFaults: (key, faults) => mustGet(key).faults.set(faults),
    setRateLimit: (key, limit) => {
      mustGet(key).rateLimit = limit;
    },
    now: clock,
    dump: (maxEntries = 10_000) => ({
      name: options.name,
      url,
      requests: journal.size,
      accounts: [...accounts.values()].map((a) => ({
        id: a.id,
        size: a.store.size(),
        faults: a.faults.toString(),
        ...(a.rateLimit ? { rateLimit: a.rateLimit } : {}),
        entries: a.store.dump(maxEntries),
      })),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        lifetime.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** True when every credential of the account equals the supplied value of the same name. */
export function credentialsMatch(
  account: { readonly credentials: Readonly<Record<string, string>> } | undefined,
  supplied: Readonly<Record<string, string | undefined>>,
): boolean {
  if (!account) return false;
  return Object.entries(account.credentials).every(([name, value]) => supplied[name] === value);
}

/** A JSON response (UTF-8). */
export const json = (value: unknown, status = 200, headers: Record<string, string> = {}): SimResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(value),
});

/** A text response; pass a Buffer for a non-UTF-8 charset. */
export const text = (
  body: string | Uint8Array,
  status = 200,
  contentType = 'text/plain; charset=utf-8',
): SimResponse => ({ status, headers: { 'content-type': contentType }, body });

/** Form fields of a multipart/form-data body (text fields only; files are read as UTF-8 text). */
export function parseMultipart(raw: Buffer, contentType: string): URLSearchParams {
  const out = new URLSearchParams();
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) return out;
  for (const part of raw.toString('utf8').split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name === undefined) continue;
    const value = part.slice(split + 4);
    out.append(name, value.endsWith('\r\n') ? value.slice(0, -2) : value);
  }
  return out;
}

/** Merges query and form into one map (form wins; for repeated names the last wins). */
export function mergeParams(query: URLSearchParams, form: URLSearchParams): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of query) params[name] = value;
  for (const [name, value] of form) params[name] = value;
  return params;
}

function parseRequest(req: IncomingMessage, rawBody: Buffer): SimRequest {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const contentType = req.headers['content-type'] ?? '';
  const form = /^application\/x-www-form-urlencoded/i.test(contentType)
    ? new URLSearchParams(rawBody.toString('utf8'))
    : /^multipart\/form-data/i.test(contentType)
      ? parseMultipart(rawBody, contentType)
      : new URLSearchParams();
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    url,
    query: url.searchParams,
    form,
    params: mergeParams(url.searchParams, form),
    headers: req.headers,
    rawBody,
  };
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const isStore = (value: SimStore | Iterable<SimEntry>): value is SimStore =>
  typeof (value as SimStore).rangeIndex === 'function';

const isStreaming = (
  body: SimBody,
): body is Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array> =>
  typeof body !== 'string' && !(body instanceof Uint8Array);

const toBuffer = (chunk: string | Uint8Array): Buffer =>
  typeof chunk === 'string'
    ? Buffer.from(chunk, 'utf8')
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** Resolves after ms, or at once when the signal aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const waitDrainOrClose = (res: ServerResponse): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });

const writeAndWait = (res: ServerResponse, chunk: Buffer): Promise<void> =>
  new Promise<void>((resolve) => {
    res.write(chunk, () => resolve());
  });

/**
 * Writes the response, applying the body faults: drop-socket (headers + part, then a TCP reset),
 * truncate (full Content-Length, part of the body, then a clean close), malformed (the body cut,
 * status and a matching Content-Length kept). Bodies under a body fault are buffered first.
 */
async function writeResponse(
  res: ServerResponse,
  response: SimResponse,
  faults: ActiveFaults,
  signal: AbortSignal,
  onStatus: (status: number) => void,
): Promise<void> {
  if (res.destroyed) return;
  const status = response.status ?? 200;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === 'object' ? [...value] : value;
  }
  const body = response.body ?? '';
  const drop = faults.spec('drop-socket');
  const truncate = faults.spec('truncate');
  const malformed = faults.spec('malformed');

  if (isStreaming(body) && !drop && !truncate && !malformed) {
    onStatus(status);
    res.writeHead(status, headers);
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const chunk = Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      if (!res.write(chunk)) await waitDrainOrClose(res);
    };
    for await (const part of body) {
      if (signal.aborted || res.destroyed) return; // leaving the loop calls the generator's return()
      const chunk = toBuffer(part);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
    if (!res.destroyed) res.end();
    return;
  }

  let bytes: Buffer;
  if (isStreaming(body)) {
    const chunks: Buffer[] = [];
    for await (const part of body) chunks.push(toBuffer(part));
    bytes = Buffer.concat(chunks);
  } else bytes = toBuffer(body);
  if (res.destroyed) return;

  const cut = drop ?? truncate;
  if (cut) {
    headers['content-length'] = bytes.length;
    delete headers['transfer-encoding'];
    onStatus(status);
    res.writeHead(status, headers);
    await writeAndWait(res, bytes.subarray(0, Math.floor(bytes.length * (cut.fraction ?? DEFAULT_FRACTION))));
    const socket = res.socket;
    if (drop) socket?.resetAndDestroy();
    else socket?.end();
    return;
  }
  if (malformed)
    bytes = bytes.subarray(0, Math.floor(bytes.length * (malformed.fraction ?? DEFAULT_FRACTION)));
  headers['content-length'] = bytes.length;
  delete headers['transfer-encoding'];
  onStatus(status);
  res.writeHead(status, headers);
  res.end(bytes);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
