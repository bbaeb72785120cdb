import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpRequestError, ProviderError } from '../../../../extractors/core/errors.js';
import {
  DEFAULT_RETRY,
  HttpEngine,
  type HttpEngineOptions,
  type HttpResponse,
  parseRetryAfter,
  type RequestRecord,
  retryDelay,
} from '../../../../extractors/core/http.js';
import { RateLimiter } from '../../../../extractors/core/rate-limit.js';
import { createRedactor } from '../../../../extractors/core/redact.js';

const SECRET = 'sk-live-0123456789';
const ORIGIN = 'https://api.example.test';
const redact = createRedactor([SECRET]);

/** Engine wiring shared by the tests: sleeps are recorded, not waited; jitter is pinned. */
function harness(options: Partial<HttpEngineOptions> = {}) {
  const delays: number[] = [];
  const records: RequestRecord[] = [];
  const engine = new HttpEngine({
    redact,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0,
    onRecord: (r) => records.push(r),
    ...options,
  });
  return { engine, delays, records };
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the request to fail');
}

function providerError(family: 'retriable' | 'fatal' | 'skippable', message = `${family} error`) {
  return new ProviderError(message, { provider: 'test', family });
}

describe('HttpEngine with MockAgent', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
  const pool = () => agent.get(ORIGIN);

  it('retries a 503 with exponential backoff, then returns the 200', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(503, 'busy').times(2);
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, '{"ok":true}');
    const { engine, delays, records } = harness({ dispatcher: agent });

    const res = await engine.request({ method: 'GET', url: `${ORIGIN}/list` });

    expect(res.status).toBe(200);
    expect(res.text).toBe('{"ok":true}');
    expect(res.attempts).toBe(3);
    expect(delays).toEqual([500, 1000]); // baseMs × factorⁿ, jitter pinned to its maximum wait
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      seq: 1,
      status: 200,
      attempts: 3,
      retries: 2,
      bytes: 11,
      error: null,
    });
    expect(records[0]?.attemptLog.map((a) => [a.status, a.retryDelayMs])).toEqual([
      [503, 500],
      [503, 1000],
      [200, null],
    ]);
  });

  it('gives up with HTTP_RETRIES_EXHAUSTED after maxAttempts retriable statuses', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(502, 'bad gateway').times(4);
    const { engine, delays, records } = harness({
      dispatcher: agent,
      retry: { maxAttempts: 4, maxDelayMs: 1500 },
    });

    const error = await caught(engine.request({ method: 'GET', url: `${ORIGIN}/list` }));

    expect(error).toBeInstanceOf(HttpRequestError);
    expect((error as HttpRequestError).details).toMatchObject({
      code: 'HTTP_RETRIES_EXHAUSTED',
      status: 502,
      attempts: 4,
    });
    expect(delays).toEqual([500, 1000, 1500]); // third retry capped by maxDelayMs
    expect(records[0]).toMatchObject({ status: 502, attempts: 4 });
    expect(records[0]?.error).toMatch(/^HTTP_RETRIES_EXHAUSTED: .*502/);
  });

  it.each([400, 401, 403, 404])(
    'does not retry a %i and throws HTTP_STATUS with a body excerpt',
    async (status) => {
      pool().intercept({ path: '/list', method: 'GET' }).reply(status, 'nope: bad request');
      const { engine, delays } = harness({ dispatcher: agent });

      const error = await caught(engine.request({ method: 'GET', url: `${ORIGIN}/list` }));

      expect((error as HttpRequestError).details).toMatchObject({ code: 'HTTP_STATUS', status, attempts: 1 });
      expect(error.message).toContain('nope: bad request');
      expect(delays).toEqual([]);
    },
  );

  it('hands back a status listed in acceptStatuses, for validate to read', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(404, '{"error":"no such list"}');
    const { engine } = harness({ dispatcher: agent });
    const seen: number[] = [];
    const res = await engine.request({ method: 'GET', url: `${ORIGIN}/list`, acceptStatuses: [404] }, (r) =>
      seen.push(r.status),
    );
    expect(res.status).toBe(404);
    expect(seen).toEqual([404]);
  });

  it('does not retry a POST unless it is marked idempotent', async () => {
    pool().intercept({ path: '/add', method: 'POST' }).reply(503, 'busy');
    const { engine, delays } = harness({ dispatcher: agent });
    const error = await caught(engine.request({ method: 'POST', url: `${ORIGIN}/add`, body: 'email=a@b.c' }));
    expect((error as HttpRequestError).details).toMatchObject({
      code: 'HTTP_STATUS',
      status: 503,
      attempts: 1,
    });
    expect(error.message).toContain('not marked idempotent');
    expect(delays).toEqual([]);

    pool().intercept({ path: '/add', method: 'POST', body: 'email=a@b.c' }).reply(503, 'busy');
    pool().intercept({ path: '/add', method: 'POST', body: 'email=a@b.c' }).reply(201, 'created');
    const res = await engine.request({
      method: 'POST',
      url: `${ORIGIN}/add`,
      body: 'email=a@b.c',
      idempotent: true,
    });
    expect(res).toMatchObject({ status: 201, attempts: 2 });
  });

  it('retries a network error on GET but not on a non-idempotent POST', async () => {
    const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    pool().intercept({ path: '/list', method: 'GET' }).replyWithError(reset());
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'ok');
    pool().intercept({ path: '/add', method: 'POST' }).replyWithError(reset());
    const { engine, records } = harness({ dispatcher: agent });

    expect(await engine.request({ method: 'GET', url: `${ORIGIN}/list` })).toMatchObject({ attempts: 2 });
    expect(records[0]?.attemptLog[0]?.error).toMatch(/^HTTP_NETWORK: ECONNRESET/);

    const error = await caught(engine.request({ method: 'POST', url: `${ORIGIN}/add` }));
    expect((error as HttpRequestError).details).toMatchObject({ code: 'HTTP_NETWORK', attempts: 1 });
  });

  it('retries an in-band retriable ProviderError thrown by validate', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'FAILURE: temporary server error');
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'a@b.c');
    const { engine, delays, records } = harness({ dispatcher: agent });
    const validate = (r: HttpResponse) => {
      if (r.text.startsWith('FAILURE')) throw providerError('retriable', r.text);
    };

    const res = await engine.request({ method: 'GET', url: `${ORIGIN}/list` }, validate);

    expect(res).toMatchObject({ text: 'a@b.c', attempts: 2 });
    expect(delays).toEqual([500]);
    expect(records[0]?.attemptLog[0]).toMatchObject({
      status: 200,
      error: expect.stringContaining('temporary'),
    });
  });

  it('wraps the last retriable ProviderError in HTTP_RETRIES_EXHAUSTED', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'FAILURE').times(3);
    const { engine } = harness({ dispatcher: agent, retry: { maxAttempts: 3 } });
    const error = await caught(
      engine.request({ method: 'GET', url: `${ORIGIN}/list` }, () => {
        throw providerError('retriable');
      }),
    );
    expect((error as HttpRequestError).details).toMatchObject({
      code: 'HTTP_RETRIES_EXHAUSTED',
      attempts: 3,
    });
    expect(error.cause).toBeInstanceOf(ProviderError);
  });

  it.each(['fatal', 'skippable'] as const)('propagates a %s ProviderError at once', async (family) => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'ERROR');
    const { engine, delays, records } = harness({ dispatcher: agent });
    const thrown = providerError(family);
    const error = await caught(
      engine.request({ method: 'GET', url: `${ORIGIN}/list` }, () => {
        throw thrown;
      }),
    );
    expect(error).toBe(thrown);
    expect(delays).toEqual([]);
    expect(records[0]).toMatchObject({
      attempts: 1,
      status: 200,
      error: expect.stringContaining(`${family} error`),
    });
  });

  it('propagates any other error from validate at once, redacted', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, '<broken');
    const { engine, delays } = harness({ dispatcher: agent });
    const error = await caught(
      engine.request({ method: 'GET', url: `${ORIGIN}/list` }, () => {
        throw new SyntaxError(`unexpected end of input near api_key=${SECRET}`);
      }),
    );
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error.message).toBe('unexpected end of input near api_key=***');
    expect(delays).toEqual([]);
  });

  describe('Retry-After', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    it.each([
      ['delay-seconds', '2', {}, [2000]],
      ['HTTP-date', 'Wed, 21 Oct 2015 07:28:05 GMT', {}, [5000]],
      ['date in the past', 'Wed, 21 Oct 2015 07:00:00 GMT', {}, [0]],
      ['capped', '3600', { maxRetryAfterMs: 60_000 }, [60_000]],
      // backoff 500 ms scaled by (1 - jitter × random) = 0.5
      ['unparseable -> backoff', 'soon', {}, [250]],
      ['not honoured -> backoff', '2', { honourRetryAfter: false }, [250]],
    ] as const)('%s', async (_case, header, retry, expected) => {
      pool()
        .intercept({ path: '/list', method: 'GET' })
        .reply(429, 'slow down', { headers: { 'retry-after': header } });
      pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'ok');
      // jitter at its strongest must still not shorten a Retry-After
      const { engine, delays } = harness({ dispatcher: agent, now: () => now, random: () => 1, retry });
      await engine.request({ method: 'GET', url: `${ORIGIN}/list` });
      expect(delays).toEqual(expected);
    });

    it('parses both forms', () => {
      expect(parseRetryAfter(' 120 ', 0)).toBe(120_000);
      expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
      expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', Date.parse('1994-11-06T08:49:30Z'))).toBe(
        7000,
      );
      expect(parseRetryAfter('-1', 0)).toBeUndefined();
      expect(parseRetryAfter('1.5', 0)).toBeUndefined();
      expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    });
  });

  it('keeps jittered backoff within [1 - jitter, 1] of the exponential delay', () => {
    for (const r of [0, 0.25, 0.999]) {
      const d = retryDelay(DEFAULT_RETRY, 3, undefined, () => r);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('decodes an ISO-8859-1 XML body by its declaration', async () => {
    const body = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><list><email>ren', 'latin1'),
      Buffer.from([0xe9]),
      Buffer.from('@example.fr</email></list>', 'latin1'),
    ]);
    pool()
      .intercept({ path: '/list.xml', method: 'GET' })
      .reply(200, body, { headers: { 'content-type': 'text/xml' } });
    const { engine } = harness({ dispatcher: agent });
    const res = await engine.request({ method: 'GET', url: `${ORIGIN}/list.xml` });
    expect(res.text).toContain('<email>rené@example.fr</email>');
    expect(res.charset).toBe('iso-8859-1');
    expect(res.body.includes(0xe9)).toBe(true);
  });

  it('fails with HTTP_BODY, not retried, on an unknown charset or an over-long body', async () => {
    pool()
      .intercept({ path: '/a', method: 'GET' })
      .reply(200, 'x', { headers: { 'content-type': 'text/plain; charset=x-klingon' } });
    pool().intercept({ path: '/b', method: 'GET' }).reply(200, 'x'.repeat(2000));
    const { engine, delays } = harness({ dispatcher: agent });
    const a = await caught(engine.request({ method: 'GET', url: `${ORIGIN}/a` }));
    expect((a as HttpRequestError).details).toMatchObject({ code: 'HTTP_BODY', attempts: 1 });
    expect(a.message).toContain('x-klingon');
    const b = await caught(engine.request({ method: 'GET', url: `${ORIGIN}/b`, maxBodyBytes: 1000 }));
    expect((b as HttpRequestError).details).toMatchObject({ code: 'HTTP_BODY', attempts: 1 });
    expect(delays).toEqual([]);
  });

  it('redacts the api key from records, thrown errors and body excerpts', async () => {
    const path = `/v3/list?api_user=brand&api_key=${SECRET}`;
    pool().intercept({ path, method: 'GET' }).reply(401, `{"error":"bad key ${SECRET}"}`);
    pool().intercept({ path, method: 'GET' }).reply(200, 'ok');
    const { engine, records } = harness({ dispatcher: agent });

    const error = await caught(engine.request({ method: 'GET', url: `${ORIGIN}${path}` }));
    const fromValidate = await caught(
      engine.request({ method: 'GET', url: `${ORIGIN}${path}` }, () => {
        throw providerError('fatal', `provider said: key ${SECRET} revoked`);
      }),
    );

    for (const e of [error, fromValidate]) {
      expect(e.message).not.toContain(SECRET);
      expect(e.stack).not.toContain(SECRET);
    }
    expect((error as HttpRequestError).details.urlRedacted).toBe(
      `${ORIGIN}/v3/list?api_user=***&api_key=***`,
    );
    expect(error.message).toContain('bad key ***');
    expect(records.map((r) => r.urlRedacted)).toEqual([
      `${ORIGIN}/v3/list?api_user=***&api_key=***`,
      `${ORIGIN}/v3/list?api_user=***&api_key=***`,
    ]);
    expect(JSON.stringify(records)).not.toContain(SECRET);
    expect(records[1]?.error).toContain('key *** revoked');
  });

  it('takes a rate slot for every attempt, retries included', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(503, 'busy').times(2);
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'ok');
    const paced: number[] = [];
    const limiter = new RateLimiter({
      requestsPerSecond: 1,
      concurrency: 1,
      now: () => 0, // frozen clock: each reservation must wait one more interval
      sleep: async (ms) => void paced.push(ms),
    });
    const { engine } = harness({ dispatcher: agent, limiter });
    await engine.request({
      method: 'GET',
      url: `${ORIGIN}/list`,
      window: { from: '2024-01-01', to: '2024-02-01' },
    });
    expect(paced).toEqual([1000, 2000]);
  });

  it('copies the window into the record and numbers requests', async () => {
    pool().intercept({ path: '/list', method: 'GET' }).reply(200, 'ok').times(2);
    const { engine, records } = harness({ dispatcher: agent });
    const window = { from: '2024-01-01T00:00:00Z', to: '2024-02-01T00:00:00Z' };
    await engine.request({ method: 'GET', url: `${ORIGIN}/list`, window });
    const second = await engine.request({ method: 'GET', url: `${ORIGIN}/list` });
    expect(records.map((r) => [r.seq, r.windowFrom, r.windowTo])).toEqual([
      [1, window.from, window.to],
      [2, null, null],
    ]);
    expect(second.seq).toBe(2);
  });
});

type Step = (req: IncomingMessage, res: ServerResponse) => void;

/** A real server on 127.0.0.1:0 that answers call n with script[n] (the last step repeats). */
async function scriptedServer(script: Step[]) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const step = script[Math.min(seen.length, script.length - 1)]!;
    seen.push(`${req.method} ${req.url}`);
    step(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('HttpEngine against a scripted loopback server', () => {
  const servers: { close: () => Promise<void> }[] = [];
  const engines: HttpEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  async function setup(script: Step[], options: Partial<HttpEngineOptions> = {}) {
    const server = await scriptedServer(script);
    servers.push(server);
    // No dispatcher: the engine builds its own Agent from the timeouts, as in production.
    const h = harness({
      random: () => 0.5,
      timeouts: { connectMs: 1000, headersMs: 1000, bodyMs: 1000 },
      ...options,
    });
    engines.push(h.engine);
    return { ...h, ...server };
  }

  it('survives drop, 500, 429 Retry-After: 1, then returns the 200', async () => {
    const { engine, delays, records, seen, base } = await setup([
      (req) => req.socket.destroy(),
      (_req, res) => res.writeHead(500).end('oops'),
      (_req, res) => res.writeHead(429, { 'retry-after': '1' }).end('slow down'),
      (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rows":[1,2]}'),
    ]);
    const path = `/api/unsubscribes.get.json?api_key=${SECRET}&date=1`;

    const res = await engine.request({ method: 'GET', url: `${base}${path}` });

    expect(seen).toEqual([`GET ${path}`, `GET ${path}`, `GET ${path}`, `GET ${path}`]);
    expect(res).toMatchObject({ status: 200, text: '{"rows":[1,2]}', attempts: 4 });
    // random 0.5 with jitter 0.5: backoff × 0.75; the Retry-After is exact, neither jittered nor backed off
    expect(delays).toEqual([375, 750, 1000]);
    expect(records[0]?.attemptLog.map((a) => [a.status, a.error?.split(':')[0] ?? null])).toEqual([
      [null, 'HTTP_NETWORK'],
      [500, 'HTTP_STATUS'],
      [429, 'HTTP_STATUS'],
      [200, null],
    ]);
    expect(records[0]?.urlRedacted).not.toContain(SECRET);
  });

  it('retries a headers timeout, then fails with HTTP_TIMEOUT', async () => {
    const { engine, seen, base, records } = await setup([() => {}], {
      // undici fires headers timeouts on a ~0.5 s tick, so each attempt costs ~1 s whatever the value
      timeouts: { headersMs: 150 },
      retry: { maxAttempts: 2 },
    });
    const error = await caught(engine.request({ method: 'GET', url: `${base}/slow` }));
    expect((error as HttpRequestError).details).toMatchObject({ code: 'HTTP_TIMEOUT', attempts: 2 });
    expect(error.message).toContain('UND_ERR_HEADERS_TIMEOUT');
    expect(seen).toEqual(['GET /slow', 'GET /slow']);
    expect(records[0]).toMatchObject({
      attempts: 2,
      status: null,
      error: expect.stringMatching(/^HTTP_TIMEOUT/),
    });
  });

  it('retries a body cut short (Content-Length 100, 10 bytes, close)', async () => {
    const { engine, seen, base, records } = await setup([
      (_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789');
        setTimeout(() => res.socket?.destroy(), 10);
      },
      (_req, res) => res.writeHead(200).end('complete'),
    ]);
    const res = await engine.request({ method: 'GET', url: `${base}/page` });
    expect(res).toMatchObject({ text: 'complete', attempts: 2 });
    expect(seen).toHaveLength(2);
    expect(records[0]?.attemptLog[0]).toMatchObject({
      status: null,
      error: expect.stringMatching(/^HTTP_BODY/),
    });
  });

  it('does not resend a POST whose connection dropped', async () => {
    const { engine, seen, base } = await setup([(req) => req.socket.destroy()]);
    const error = await caught(
      engine.request({ method: 'POST', url: `${base}/delete`, body: 'email=a@b.c' }),
    );
    expect((error as HttpRequestError).details).toMatchObject({ code: 'HTTP_NETWORK', attempts: 1 });
    expect(error.message).toContain('not marked idempotent');
    expect(seen).toEqual(['POST /delete']);
  });

  it('does resend a POST refused at connect: it never reached the server', async () => {
    const { base, close } = await scriptedServer([]);
    await close(); // the port is now closed: ECONNREFUSED
    const { engine } = harness({ retry: { maxAttempts: 3 } });
    engines.push(engine);
    const error = await caught(engine.request({ method: 'POST', url: `${base}/add` }));
    expect((error as HttpRequestError).details).toMatchObject({ code: 'HTTP_NETWORK', attempts: 3 });
    expect(error.message).toContain('ECONNREFUSED');
  });
});
