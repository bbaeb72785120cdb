import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  credentialsMatch,
  GeneratedStore,
  json,
  type SimAccountInit,
  type SimContext,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
  text,
} from '../../../../../extractors/core/simulator/index.js';

const SECRET = 'sekrit-Key-123';
const BODY = JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ email: `user${i}@x.test` })) });

let sims: Simulator[] = [];
let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.destroy()));
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
  agents = [];
});

const start = async (
  accounts: SimAccountInit[] = [{ key: 'acct', id: 'main', credentials: { apiKey: SECRET } }],
  extra: Partial<SimulatorOptions> = {},
): Promise<Simulator> => {
  const sim = await startSimulator({
    name: 'test',
    accounts,
    resolveAccount: (req) => req.params['user'] ?? req.headers['x-user']?.toString() ?? 'acct',
    classify: (req) => (req.method === 'POST' ? 'write' : 'read'),
    handler: () => json(JSON.parse(BODY)),
    ...extra,
  });
  sims.push(sim);
  return sim;
};

/** One request with the body fully read; a fresh agent so a killed socket never leaks into the next test. */
const call = async (
  url: string,
  opts: {
    method?: 'GET' | 'POST';
    body?: string;
    headers?: Record<string, string>;
    headersTimeout?: number;
  } = {},
) => {
  const dispatcher = new Agent({ headersTimeout: opts.headersTimeout ?? 10_000 });
  agents.push(dispatcher);
  const started = performance.now();
  const res = await request(url, {
    dispatcher,
    method: opts.method ?? 'GET',
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
};

describe('simulator kit: generic faults over real HTTP', () => {
  it('answers a plain request and journals it', async () => {
    const sim = await start();
    const res = await call(`${sim.url}/api/list?x=1`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(BODY);
    expect(sim.journal.entries()).toMatchObject([
      {
        seq: 1,
        method: 'GET',
        path: '/api/list',
        params: { x: '1' },
        status: 200,
        account: 'main',
        kind: 'read',
      },
    ]);
  });

  it.each([
    ['rate-limit/2', 429, '2'],
    ['rate-limit', 429, '1'],
    ['rate-limit/none', 429, undefined],
    ['server-error', 500, undefined],
    ['server-error/502', 502, undefined],
    ['server-error/503', 503, undefined],
  ])('%s → %i with Retry-After %s', async (faults, status, retryAfter) => {
    const sim = await start();
    sim.setFaults('acct', faults);
    const res = await call(`${sim.url}/`);
    expect(res.status).toBe(status);
    expect(res.headers['retry-after']).toBe(retryAfter);
    expect(res.body).toContain(String(status));
    expect((await call(`${sim.url}/`)).status).toBe(status); // no times → every read
    expect(sim.journal.entries().map((e) => [e.status, e.faults])).toEqual([
      [status, [faults.split('/')[0]]],
      [status, [faults.split('/')[0]]],
    ]);
  });

  it('server-error with retryAfterSeconds sends the header; errorResponse shapes the body', async () => {
    const sim = await start(undefined, { errorResponse: (status) => json({ error: 'busy' }, status) });
    sim.setFaults('acct', [{ kind: 'server-error', status: 503, retryAfterSeconds: 7 }]);
    const res = await call(`${sim.url}/`);
    expect([res.status, res.headers['retry-after'], res.body]).toEqual([503, '7', '{"error":"busy"}']);
  });

  it('applies a fault only to the listed request numbers', async () => {
    const sim = await start();
    sim.setFaults('acct', 'server-error/503@2+3');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(`${sim.url}/`)).status);
    expect(statuses).toEqual([200, 503, 503, 200, 200]);
    sim.setFaults('acct', 'server-error/503@2+3'); // set() restarts the count
    statuses.length = 0;
    for (let i = 0; i < 3; i++) statuses.push((await call(`${sim.url}/`)).status);
    expect(statuses).toEqual([200, 503, 503]);
  });

  it('drop-socket: the client sees a socket error', async () => {
    const sim = await start();
    sim.setFaults('acct', 'drop-socket:1');
    await expect(call(`${sim.url}/`)).rejects.toThrow();
    expect((await call(`${sim.url}/`)).status).toBe(200);
    expect(sim.journal.entries()[0]).toMatchObject({ status: 200, faults: ['drop-socket'] });
  });

  it('truncate: full Content-Length, part of the body, then close', async () => {
    const sim = await start();
    sim.setFaults('acct', 'truncate/0.25');
    const err = await call(`${sim.url}/`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error & { code?: string }).code ?? (err as Error).message)).toMatch(
      /UND_ERR_(SOCKET|RES_CONTENT_LENGTH_MISMATCH)|other side closed|length/i,
    );
  });

  it('malformed: status 200 and a matching Content-Length, but the body is cut', async () => {
    const sim = await start();
    sim.setFaults('acct', 'malformed');
    const res = await call(`${sim.url}/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(BODY.slice(0, Math.floor(BODY.length / 2)));
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(() => JSON.parse(res.body)).toThrow();
  });

  it('slow: a client with a shorter timeout times out; close() does not wait for the delay', async () => {
    const sim = await start();
    sim.setFaults('acct', 'slow/20000');
    await expect(call(`${sim.url}/`, { headersTimeout: 150 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    const closing = performance.now();
    await sim.close();
    expect(performance.now() - closing).toBeLessThan(1000);
  });

  it('slow with a short delay still answers, after the delay', async () => {
    const sim = await start();
    sim.setFaults('acct', 'slow/150');
    const res = await call(`${sim.url}/`);
    expect(res.status).toBe(200);
    expect(res.ms).toBeGreaterThanOrEqual(140);
  });

  it('latency: delays every request, reads and writes', async () => {
    const sim = await start();
    sim.setFaults('acct', 'latency/120');
    for (const method of ['GET', 'POST'] as const) {
      const res = await call(`${sim.url}/`, { method, body: method === 'POST' ? '' : undefined });
      expect(res.status).toBe(200);
      expect(res.ms).toBeGreaterThanOrEqual(110);
    }
  });

  it('shrink: removes part of the store before the handler sees it, once', async () => {
    const sim = await start([
      {
        key: 'acct',
        store: Array.from({ length: 10 }, (_, i) => ({ email: `u${i}@x`, at: i })),
        faults: 'shrink/0.5@2',
      },
    ]);
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await call(`${sim.url}/`);
      sizes.push(sim.account('acct')!.store.size());
    }
    expect(sizes).toEqual([10, 5, 5]);
    expect(sim.journal.entries()[1]?.notes).toEqual(['shrink removed 5 entries']);
  });

  it('exposes provider-specific faults as flags for the handler', async () => {
    const seen: string[][] = [];
    const sim = await start(undefined, {
      handler: (ctx) => {
        seen.push([...ctx.faults.kinds]);
        return ctx.faults.has('inband-error')
          ? json({ error: ctx.faults.spec('inband-error')?.arg })
          : json({});
      },
    });
    sim.setFaults('acct', 'inband-error/temporary@1,duplicate-row@2,repeat-page%3,empty-last-page@2');
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await call(`${sim.url}/`)).body);
    expect(seen).toEqual([['inband-error'], ['duplicate-row', 'empty-last-page'], ['repeat-page']]);
    expect(bodies[0]).toBe('{"error":"temporary"}');
  });
});

describe('simulator kit: accounts, rate limits, journal', () => {
  it('rate limit per key: token bucket answers 429 with Retry-After, other keys unaffected', async () => {
    const sim = await start([
      { key: 'a', rateLimit: { requestsPerSecond: 1, burst: 2 } },
      { key: 'b', rateLimit: { requestsPerSecond: 1, burst: 1, retryAfterSeconds: false } },
    ]);
    const a = [];
    for (let i = 0; i < 3; i++) a.push(await call(`${sim.url}/?user=a`));
    expect(a.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(a[2]?.headers['retry-after']).toBe('1');
    const b = [await call(`${sim.url}/?user=b`), await call(`${sim.url}/?user=b`)];
    expect(b.map((r) => r.status)).toEqual([200, 429]);
    expect(b[1]?.headers['retry-after']).toBeUndefined();
    expect(sim.journal.entries().filter((e) => e.status === 429)).toHaveLength(2);
    sim.setRateLimit('a', undefined);
    expect((await call(`${sim.url}/?user=a`)).status).toBe(200);
  });

  it('resolves accounts, merges query and form params, classifies writes, journals with secrets masked', async () => {
    const contexts: SimContext[] = [];
    const sim = await start(
      [
        { key: 'alice', id: 'sc-alice', credentials: { apiUser: 'alice-user', apiKey: SECRET } },
        { key: 'bob', id: 'sc-bob', credentials: { apiUser: 'bob-user', apiKey: 'bob-secret-456' } },
      ],
      {
        resolveAccount: (req) => (req.params['apiUser'] ?? '').replace(/-user$/, ''),
        handler: (ctx) => {
          contexts.push(ctx);
          ctx.note(`checked ${ctx.params['apiKey']}`);
          return credentialsMatch(ctx.account, ctx.params) ? json({ ok: true }) : json({ ok: false }, 401);
        },
      },
    );
    const form = new URLSearchParams({
      apiKey: SECRET,
      email: 'new@x.test',
      data: `<k>${SECRET}</k>`,
    }).toString();
    const ok = await call(`${sim.url}/apiv2/unsubscribe/add?apiUser=alice-user`, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const bad = await call(`${sim.url}/apiv2/unsubscribe/list?apiUser=bob-user&apiKey=${SECRET}`);
    const nobody = await call(`${sim.url}/apiv2/unsubscribe/list?apiUser=carol-user&apiKey=x`);
    expect([ok.status, bad.status, nobody.status]).toEqual([200, 401, 401]);
    expect(contexts[0]?.params).toMatchObject({ apiUser: 'alice-user', apiKey: SECRET, email: 'new@x.test' });
    expect(contexts.map((c) => c.account?.id)).toEqual(['sc-alice', 'sc-bob', undefined]);

    const journal = sim.journal.entries();
    expect(journal.map((e) => [e.kind, e.account, e.status])).toEqual([
      ['write', 'sc-alice', 200],
      ['read', 'sc-bob', 401],
      ['read', undefined, 401],
    ]);
    expect(sim.journal.writes()).toHaveLength(1);
    expect(journal[0]?.params).toEqual({
      apiUser: '***',
      apiKey: '***',
      email: 'new@x.test',
      data: '<k>***</k>',
    });
    expect(journal[0]?.notes).toEqual(['checked ***']);
    const everything = JSON.stringify([journal, sim.dump()]);
    for (const secret of [SECRET, 'alice-user', 'bob-secret-456', 'bob-user'])
      expect(everything).not.toContain(secret);
    sim.journal.clear();
    expect(sim.journal.size).toBe(0);
  });

  it('parses multipart form bodies', async () => {
    let seen: Record<string, string> = {};
    const sim = await start(undefined, {
      handler: (ctx) => {
        seen = { ...ctx.params };
        return text('SUCCESS: 1 records processed');
      },
    });
    const fd = new FormData();
    fd.append('c', 'unsub');
    fd.append('data', 'email^a@x.test^b@x.test');
    const res = await fetch(`${sim.url}/bin/api_web?r=realm`, { method: 'POST', body: fd });
    expect(await res.text()).toBe('SUCCESS: 1 records processed');
    expect(seen).toEqual({ r: 'realm', c: 'unsub', data: 'email^a@x.test^b@x.test' });
  });

  it('a throwing handler answers 500 and leaves a masked note', async () => {
    const sim = await start(undefined, {
      handler: () => {
        throw new Error(`bad state for ${SECRET}`);
      },
    });
    const res = await call(`${sim.url}/`);
    expect(res.status).toBe(500);
    expect(res.body).not.toContain(SECRET);
    expect(sim.journal.entries()[0]?.notes).toEqual(['handler error: bad state for ***']);
  });

  it('streams 200k rows with backpressure: the generator waits for a slow reader', async () => {
    const rows = 200_000;
    let produced = 0;
    const store = new GeneratedStore(rows, (i) => ({ email: `user${i}@stream.test`, at: i * 1000 }));
    const pad = 'x'.repeat(60);
    const sim = await start([{ key: 'acct', store }], {
      handler: (ctx) => ({
        headers: { 'content-type': 'text/csv; charset=iso-8859-1' },
        body: (function* () {
          yield Buffer.from('email,at,pad\n', 'latin1');
          for (const entry of ctx.account!.store.iterate()) {
            produced++;
            yield `${entry.email},${entry.at},${pad}\n`;
          }
        })(),
      }),
    });
    const dispatcher = new Agent();
    agents.push(dispatcher);
    const res = await request(`${sim.url}/`, { dispatcher });
    await new Promise((r) => setTimeout(r, 300)); // not reading: kernel + stream buffers fill up
    const producedWhilePaused = produced;
    let lines = 0;
    let tail = '';
    for await (const chunk of res.body) {
      const textChunk = tail + (chunk as Buffer).toString('latin1');
      const parts = textChunk.split('\n');
      tail = parts.pop() ?? '';
      lines += parts.length;
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(lines).toBe(rows + 1);
    expect(produced).toBe(rows);
    expect(producedWhilePaused).toBeLessThan(rows);
  });

  it('dump() lists accounts by id with their state and faults, without credentials', async () => {
    const sim = await start([
      {
        key: 'k1',
        id: 'one',
        credentials: { apiKey: SECRET },
        store: [{ email: 'a@x', at: 1 }],
        faults: 'latency/1',
      },
    ]);
    expect(sim.dump()).toEqual({
      name: 'test',
      url: sim.url,
      requests: 0,
      accounts: [{ id: 'one', size: 1, faults: 'latency/1', entries: [{ email: 'a@x', at: 1 }] }],
    });
    expect(() => sim.setFaults('nope', '')).toThrow(RangeError);
  });
});
