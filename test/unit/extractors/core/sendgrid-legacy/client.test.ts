/**
 * Answers the simulator never gives, for the shared legacy SendGrid client
 * (extractors/core/sendgrid-legacy/client.ts), scripted per call with undici's MockAgent (net
 * connect disabled): a server that ignores the `email` filter of holds, "already" answers with
 * HTTP 400 (their status is undocumented, §4 [A]), a `{"error": …}` refusal, and the bare XML
 * `<result>success</result>`. The behaviour against the real simulator is in suite.ts.
 */
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../../extractors/core/config.js';
import { HttpEngine } from '../../../../../extractors/core/http.js';
import { createRedactor } from '../../../../../extractors/core/redact.js';
import { SendgridLegacyClient } from '../../../../../extractors/core/sendgrid-legacy/client.js';
import type { LegacyEndpoint } from '../../../../../extractors/core/sendgrid-legacy/extract.js';

const ORIGIN = 'https://api.sendgrid.test';
const endpoint: LegacyEndpoint = {
  provider: 'sendgrid-subuser',
  path: '/api/user.unsubscribes',
  fixedParams: {},
  userKind: 'subuser',
};
const account = (format: 'json' | 'xml' = 'json'): AccountConfig => ({
  id: 'sg-sub',
  provider: 'sendgrid-subuser',
  baseUrl: ORIGIN,
  credentials: { api_user: 'parent', api_key: 'mock-key-1' },
  options: { user: 'brand-sub', format },
  timezone: 'America/Chicago',
  since: '2010-01-01',
  lookbackDays: 2,
  timeoutMs: 30_000,
  rateLimit: { requestsPerSecond: 100, concurrency: 1 },
});

let agent: MockAgent;
let http: HttpEngine;
const bodies: string[] = [];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  http = new HttpEngine({ dispatcher: agent, redact: createRedactor(['mock-key-1']), retry: { baseMs: 1 } });
  bodies.length = 0;
});
afterEach(async () => {
  await agent.close();
});

function answer(format: 'json' | 'xml', status: number, body: string, times = 1): void {
  agent
    .get(ORIGIN)
    .intercept({
      path: `/api/user.unsubscribes.${format}`,
      method: 'POST',
      body: (b: string) => {
        bodies.push(b);
        return true;
      },
    })
    .reply(status, body, { headers: { 'content-type': format === 'json' ? 'application/json' : 'text/xml' } })
    .times(times);
}

describe('holds', () => {
  it('compares every listed address exactly: a server ignoring the email filter cannot fake a hit', async () => {
    const client = new SendgridLegacyClient(endpoint, account(), http);
    answer(
      'json',
      200,
      JSON.stringify([
        { email: 'held@example.com.au', created: '2024-01-01 00:00:00' },
        { email: 'xheld@example.com', created: '2024-01-01 00:00:00' },
        { email: 'held@example.co', created: '2024-01-01 00:00:00' },
      ]),
    );
    expect(await client.holds('held@example.com')).toBe(false);
    answer('json', 200, JSON.stringify([{ email: 'other@example.com' }, { email: ' HELD@Example.com ' }]));
    expect(await client.holds('held@example.com')).toBe(true);
    expect(Object.fromEntries(new URLSearchParams(bodies[0]))).toMatchObject({
      user: 'brand-sub',
      task: 'get',
      date: '1',
      email: 'held@example.com',
    });
  });

  it('an error answer is thrown, not read as "not held"', async () => {
    const client = new SendgridLegacyClient(endpoint, account(), http);
    answer('json', 400, '{"message":"error","errors":["User not found"]}');
    await expect(client.holds('held@example.com')).rejects.toMatchObject({
      details: { family: 'fatal', providerCode: 'USER_NOT_FOUND' },
    });
  });
});

describe('writes', () => {
  it('"already" answers count as success whether they come with HTTP 200 or 400', async () => {
    const client = new SendgridLegacyClient(endpoint, account(), http);
    answer('json', 400, '{"message":"Email already exists"}');
    answer('json', 400, '{"message":"error","errors":["Email does not exist"]}');
    expect(await client.add(['a@example.com'])).toEqual([
      { email: 'a@example.com', outcome: 'already', providerMessage: 'Email already exists' },
    ]);
    expect(await client.remove(['b@example.com'])).toEqual([
      { email: 'b@example.com', outcome: 'already', providerMessage: 'Email does not exist' },
    ]);
  });

  it('"Email does not exist" answering an add is not success (the texts are per task)', async () => {
    const client = new SendgridLegacyClient(endpoint, account(), http);
    answer('json', 200, '{"message":"Email does not exist"}');
    expect((await client.add(['a@example.com']))[0]!.outcome).toBe('failed');
  });

  it('the bare XML <result>success</result> is applied; a {"error": …} refusal fails that address only', async () => {
    const client = new SendgridLegacyClient(endpoint, account('xml'), http);
    answer('xml', 200, '<?xml version="1.0" encoding="ISO-8859-1"?>\n<result>success</result>\n');
    answer(
      'xml',
      400,
      '<?xml version="1.0" encoding="ISO-8859-1"?>\n<result><error>email: not allowed</error></result>',
    );
    expect(await client.remove(['a@example.com', 'b@example.com'])).toEqual([
      { email: 'a@example.com', outcome: 'applied', providerMessage: 'success' },
      { email: 'b@example.com', outcome: 'failed', providerMessage: 'email: not allowed' },
    ]);
    for (const body of bodies) expect(new URLSearchParams(body).get('email')).toMatch(/^[ab]@example\.com$/);
  });

  it('a cut-short answer is retried; the provider message never carries the key', async () => {
    const client = new SendgridLegacyClient(endpoint, account(), http);
    answer('json', 200, '{"message":"succ');
    answer('json', 200, '{"message":"error","errors":["bad key mock-key-1"]}');
    const [out] = await client.add(['a@example.com']);
    expect(out).toMatchObject({ outcome: 'failed' });
    expect(out!.providerMessage).not.toContain('mock-key-1');
    agent.assertNoPendingInterceptors(); // both answers were used: the cut one was retried
  });
});
