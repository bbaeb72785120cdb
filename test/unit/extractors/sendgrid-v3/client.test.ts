/**
 * SendGrid v3 client (extractors/sendgrid-v3/client.ts) against the real simulator on
 * 127.0.0.1:0 through a real HttpEngine: batched adds (500 per POST, a refused batch isolated
 * address by address), deletes one address per call (applied / already), the exact single-address
 * check that a prefix match cannot fool, `on-behalf-of` and the EU host, retries of in-band and
 * 5xx answers, fatal refusals naming the account, and the journal never showing the bulk delete.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import { HttpEngine } from '../../../../extractors/core/http.js';
import type { ProviderClient } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import { createStore, type SimEntry } from '../../../../extractors/core/simulator/index.js';
import { addressPath } from '../../../../extractors/sendgrid-v3/client.js';
import { LIST_PATH, WRITE_BATCH_SIZE } from '../../../../extractors/sendgrid-v3/extract.js';
import { sendgridV3Provider } from '../../../../extractors/sendgrid-v3/index.js';
import {
  type SendgridV3Simulator,
  startSendgridV3Simulator,
} from '../../../../extractors/sendgrid-v3/simulator.js';

const API_KEY = 'SG.client-K3y-s3cret';
const SUBUSER = 'brand-v3';
const EU_SUBUSER = 'brand-eu';
const NOW = Date.parse('2024-06-01T12:00:00Z');
const STORE: SimEntry[] = [
  { email: 'held@example.com', at: Date.parse('2024-01-02T03:04:05Z') },
  { email: 'ann@x.com.au', at: Date.parse('2024-01-03T00:00:00Z') },
  { email: ' Padded@Example.COM ', at: Date.parse('2024-01-04T00:00:00Z') },
];

let sim: SendgridV3Simulator;
const engines: HttpEngine[] = [];

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sg-v3',
    provider: 'sendgrid-v3',
    baseUrl: sim.url,
    credentials: { apiKey: API_KEY },
    options: { onBehalfOf: SUBUSER, region: 'global' },
    timezone: 'UTC',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 1000, concurrency: 1 },
    ...overrides,
  };
}
function client(a: AccountConfig = account()): ProviderClient {
  const http = new HttpEngine({ redact: createRedactor([API_KEY]), retry: { baseMs: 1, maxDelayMs: 5 } });
  engines.push(http);
  return sendgridV3Provider.createClient(a, http);
}
const store = () => sim.account(SUBUSER)!.store;
const held = () =>
  store()
    .dump()
    .map((e) => e.email);
const requests = () => sim.journal.entries().map((e) => `${e.method} ${decodeURIComponent(e.path)}`);

beforeAll(async () => {
  sim = await startSendgridV3Simulator({
    now: () => NOW,
    accounts: [
      {
        key: SUBUSER,
        id: 'sg-v3',
        credentials: { apiKey: API_KEY },
        meta: { budget: { limit: 10_000, windowSeconds: 60 } },
      },
      { key: EU_SUBUSER, id: 'sg-eu', credentials: { apiKey: API_KEY }, meta: { region: 'eu' } },
    ],
  });
});
beforeEach(() => {
  sim.account(SUBUSER)!.store = createStore(STORE);
  sim.account(EU_SUBUSER)!.store = createStore(STORE);
  sim.setFaults(SUBUSER, '');
  sim.journal.clear();
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await sim?.close();
});

describe('add', () => {
  it('sends 500 addresses per POST and reports every echoed address as applied, in input order', async () => {
    const emails = Array.from({ length: 1_200 }, (_, i) => `new${i}@example.com`);
    const outcomes = await client().add(emails);
    expect(outcomes.map((o) => o.email)).toEqual(emails);
    expect(new Set(outcomes.map((o) => o.outcome))).toEqual(new Set(['applied']));
    expect(requests()).toEqual(Array(3).fill('POST /v3/asm/suppressions/global'));
    expect(WRITE_BATCH_SIZE).toBe(500);
    expect(held()).toEqual(expect.arrayContaining(emails));
  });

  it('a batch refused for one bad address is retried address by address: only the bad one fails', async () => {
    const outcomes = await client().add(['good1@example.com', 'not an address', 'good2@example.com', '']);
    expect(outcomes.map((o) => [o.email, o.outcome])).toEqual([
      ['good1@example.com', 'applied'],
      ['not an address', 'failed'],
      ['good2@example.com', 'applied'],
      ['', 'failed'],
    ]);
    expect(outcomes[1]!.providerMessage).toMatch(/400 "recipient_emails: invalid email address/);
    expect(outcomes[3]!.providerMessage).toMatch(/nothing sent/);
    // one batch of three, then each of the three alone; the empty address is never sent
    expect(requests()).toHaveLength(4);
    expect(held()).toEqual(expect.arrayContaining(['good1@example.com', 'good2@example.com']));
  });

  it('adding an address already held succeeds and changes nothing', async () => {
    const before = store().size();
    const [outcome] = await client().add(['held@example.com']);
    expect(outcome!.outcome).toBe('applied');
    expect(store().size()).toBe(before);
  });

  it('an in-band error and a 503 are retried; the add lands once', async () => {
    sim.setFaults(SUBUSER, 'server-error/503@1#write,inband-error@2#write');
    const [outcome] = await client().add(['retry@example.com']);
    expect(outcome!.outcome).toBe('applied');
    expect(sim.journal.writes().map((e) => e.status)).toEqual([503, 200, 201]);
    expect(held().filter((e) => e === 'retry@example.com')).toHaveLength(1);
  });
});

describe('remove', () => {
  it('deletes one address per call by path: 204 applied, 404 already; never the bulk delete', async () => {
    const outcomes = await client().remove(['held@example.com', 'absent@example.com', '']);
    expect(outcomes.map((o) => [o.email, o.outcome])).toEqual([
      ['held@example.com', 'applied'],
      ['absent@example.com', 'already'],
      ['', 'failed'],
    ]);
    expect(requests()).toEqual([
      'DELETE /v3/asm/suppressions/global/held@example.com',
      'DELETE /v3/asm/suppressions/global/absent@example.com',
    ]);
    expect(held()).not.toContain('held@example.com');
    expect(held()).toContain('ann@x.com.au');
    expect(sim.journal.entries().some((e) => e.path.endsWith(LIST_PATH) && e.method === 'DELETE')).toBe(
      false,
    );
  });

  it('encodes every reserved character of the address in the path', async () => {
    expect(addressPath('a/b?c#d@x.com')).toBe('/v3/asm/suppressions/global/a%2Fb%3Fc%23d%40x.com');
    store().add({ email: 'a/b?c#d@x.com', at: NOW });
    const [outcome] = await client().remove(['a/b?c#d@x.com']);
    expect(outcome!.outcome).toBe('applied');
  });
});

describe('holds: the exact single-address check', () => {
  it('a prefix of a held address is not held, though the list’s email filter would return it', async () => {
    const c = client();
    expect(await c.holds('ann@x.com')).toBe(false);
    // The trap the simulator sets: the list endpoint's `email` is a prefix pattern.
    const listed = await fetch(`${sim.url}${LIST_PATH}?email=${encodeURIComponent('ann@x.com')}`, {
      headers: { authorization: `Bearer ${API_KEY}`, 'on-behalf-of': SUBUSER, accept: 'application/json' },
    });
    expect(((await listed.json()) as { email: string }[]).map((r) => r.email)).toEqual(['ann@x.com.au']);
    expect(await c.holds('ann@x.com.au')).toBe(true);
    expect(requests().filter((r) => r.startsWith('GET /v3/asm/suppressions/global/'))).toHaveLength(2);
  });

  it('matches after normalisation (case, padding) as the warehouse does; other scopes cannot be told', async () => {
    const c = client();
    expect(await c.holds('padded@example.com')).toBe(true);
    expect(await c.holds(' HELD@example.com')).toBe(true);
    expect(await c.holds('held@example.com', 'list:12')).toBeNull();
    await expect(c.holds('  ')).rejects.toThrow(TypeError);
  });
});

describe('accounts, regions and refusals', () => {
  it('a wrong key is fatal, names the account and the credential to check, and is not retried', async () => {
    const error = await client(account({ credentials: { apiKey: 'SG.wrong' } }))
      .add(['x@example.com'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toMatchObject({ family: 'fatal', providerCode: '401' });
    expect((error as Error).message).toMatch(/"sg-v3": authentication failed .*credentials \(apiKey\)/);
    expect(sim.journal.size).toBe(1);
  });

  it('an unknown on-behalf-of is a 403 naming options.onBehalfOf', async () => {
    const error = await client(account({ options: { onBehalfOf: 'nobody' } }))
      .holds('held@example.com')
      .catch((e: unknown) => e);
    expect((error as ProviderError).details.providerCode).toBe('403');
    expect((error as Error).message).toMatch(/options\.onBehalfOf/);
  });

  it('an EU-pinned account answers 451 on the global host and works on the EU host', async () => {
    const eu = account({ options: { onBehalfOf: EU_SUBUSER, region: 'eu' } });
    const error = await client(eu)
      .holds('held@example.com')
      .catch((e: unknown) => e);
    expect((error as ProviderError).details.providerCode).toBe('451');
    expect((error as Error).message).toMatch(/options\.region "eu"/);
    expect(await client({ ...eu, baseUrl: `${sim.url}/eu` }).holds('held@example.com')).toBe(true);
  });

  it('never puts the key in a journal entry or an outcome message', async () => {
    const outcomes = await client().add(['one@example.com', 'bad address']);
    for (const text of [JSON.stringify(sim.journal.entries()), JSON.stringify(outcomes)]) {
      expect(text).not.toContain(API_KEY);
    }
  });
});
