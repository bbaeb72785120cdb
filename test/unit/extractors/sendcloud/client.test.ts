/**
 * SendCloud client (extractors/sendcloud/client.ts) against the real simulator on 127.0.0.1:0
 * through a real HttpEngine: add (applied / already via 40402 + list check / failed), remove by
 * address (applied / already on `count: 0`), holds (exact, expiry-aware, filtered), one address
 * per POST, retries of an in-band 501, bad credentials → fatal naming the account, and the
 * journal never showing a delete without `email` or with a date frame.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import { HttpEngine } from '../../../../extractors/core/http.js';
import type { ProviderClient } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import {
  createStore,
  type JournalEntry,
  type SimEntry,
} from '../../../../extractors/core/simulator/index.js';
import { deleteRequest, SendcloudClient } from '../../../../extractors/sendcloud/client.js';
import { sendcloudProvider } from '../../../../extractors/sendcloud/index.js';
import {
  type SendcloudSimulator,
  startSendcloudSimulator,
} from '../../../../extractors/sendcloud/simulator.js';

const API_USER = 'sc_client_user';
const API_KEY = 'cl13nt-K3y-Secret';
const t = (wall: string): number => Date.parse(`${wall.replace(' ', 'T')}+08:00`);
const NOW = t('2024-06-01 12:00:00');
const STORE: SimEntry[] = [
  { email: 'held@example.com', at: t('2024-01-02 03:04:05') },
  { email: 'Multi@Example.com', at: t('2024-02-01 00:00:00'), apiUser: 'sc_batch', label: '3' },
  { email: 'Multi@Example.com', at: t('2024-02-02 00:00:00') },
  { email: 'expired@example.com', at: t('2023-01-01 00:00:00'), expiresAt: t('2024-01-01 00:00:00') },
  { email: 'batchonly@example.com', at: t('2024-03-01 00:00:00'), apiUser: 'sc_batch', label: '3' },
  { email: 'keep@example.com', at: t('2024-01-02 03:04:05') }, // same day as held@: must survive every delete
];

let sim: SendcloudSimulator;
const engines: HttpEngine[] = [];
/** Every journal entry of the tests run so far (the journal is cleared before each test). */
const seen: JournalEntry[] = [];

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'sc-main',
    provider: 'sendcloud',
    baseUrl: sim.url,
    credentials: { apiUser: API_USER, apiKey: API_KEY },
    options: {},
    timezone: 'Asia/Shanghai',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 1000, concurrency: 1 },
    ...overrides,
  };
}
function engine(a: AccountConfig): HttpEngine {
  const http = new HttpEngine({
    redact: createRedactor(Object.values(a.credentials)),
    retry: { baseMs: 1, maxDelayMs: 5 },
  });
  engines.push(http);
  return http;
}
const client = (a: AccountConfig = account()): ProviderClient => sendcloudProvider.createClient(a, engine(a));
const writes = () => sim.journal.writes();
const paths = (entries: readonly JournalEntry[]) =>
  entries.map((e) => e.path.replace(/^.*\/unsubscribe\//, ''));

beforeAll(async () => {
  sim = await startSendcloudSimulator({
    now: () => NOW,
    accounts: [{ key: API_USER, id: 'sc-main', credentials: { apiKey: API_KEY } }],
  });
});
beforeEach(() => {
  sim.account(API_USER)!.store = createStore(STORE);
  sim.setFaults(API_USER, '');
  sim.journal.clear();
});
afterEach(() => {
  seen.push(...sim.journal.entries());
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await sim?.close();
});

describe('add', () => {
  it('applies a new address with one POST carrying only the credentials and `email`', async () => {
    const out = await client().add(['new@example.com']);
    expect(out).toEqual([
      { email: 'new@example.com', outcome: 'applied', providerMessage: '40401 "取消订阅记录创建成功"' },
    ]);
    const w = writes();
    expect(paths(w)).toEqual(['add']);
    expect(w[0]!.method).toBe('POST');
    expect(w[0]!.params).toEqual({ apiUser: '***', apiKey: '***', email: 'new@example.com' });
    expect(sim.account(API_USER)!.store.find('new@example.com')).toBeDefined();
  });

  it('40402 for an address already held is confirmed with list?email= and reported as already', async () => {
    const out = await client().add(['held@example.com']);
    expect(out[0]).toMatchObject({ outcome: 'already' });
    expect(out[0]!.providerMessage).toMatch(/^40402 .*already on the list/);
    expect(paths(sim.journal.entries())).toEqual(['add', 'list']);
    expect(sim.journal.reads()[0]!.params).toMatchObject({
      email: 'held@example.com',
      start: '0',
      limit: '100',
    });
  });

  it('an address held only under another apiUser/label is created under the caller', async () => {
    expect((await client().add(['batchonly@example.com']))[0]!.outcome).toBe('applied');
  });

  it('an expired entry is opted out again (applied), not taken as already', async () => {
    expect((await client().add(['expired@example.com']))[0]!.outcome).toBe('applied');
  });

  it('one POST per address; an invalid address fails alone, an empty one is never sent', async () => {
    const out = await client().add(['a@example.com', 'not-an-address', '  ', 'b@example.com']);
    expect(out.map((o) => o.outcome)).toEqual(['applied', 'failed', 'failed', 'applied']);
    expect(out[1]!.providerMessage).toBe('40012 "email格式非法"');
    expect(out[2]!.providerMessage).toMatch(/nothing sent/);
    expect(writes().map((e) => e.params.email)).toEqual(['a@example.com', 'not-an-address', 'b@example.com']);
  });

  it('an in-band 501 is retried and then applied once', async () => {
    sim.setFaults(API_USER, 'inband-error:1#write');
    const out = await client().add(['retry@example.com']);
    expect(out[0]!.outcome).toBe('applied');
    expect(writes()).toHaveLength(2);
    expect(sim.account(API_USER)!.store.size()).toBe(STORE.length + 1);
  });
});

describe('remove', () => {
  it('deletes by address only: applied when count ≥ 1, already when count 0', async () => {
    const out = await client().remove(['Multi@Example.com', 'absent@example.com']);
    expect(out.map((o) => [o.outcome, o.providerMessage])).toEqual([
      ['applied', '200 "请求成功"; count 2'],
      ['already', '200 "请求成功"; count 0: not on the list'],
    ]);
    expect(writes().map((e) => e.params)).toEqual([
      { apiUser: '***', apiKey: '***', email: 'Multi@Example.com' },
      { apiUser: '***', apiKey: '***', email: 'absent@example.com' },
    ]);
    const store = sim.account(API_USER)!.store;
    expect(store.find('Multi@Example.com')).toBeUndefined();
    expect(store.size()).toBe(STORE.length - 2);
  });

  it('an empty address is refused without a request; the request builder cannot build one', async () => {
    const out = await client().remove(['', ' \t']);
    expect(out.map((o) => o.outcome)).toEqual(['failed', 'failed']);
    expect(writes()).toHaveLength(0);
    expect(() => deleteRequest(account(), '')).toThrow(TypeError);
    expect(sim.account(API_USER)!.store.size()).toBe(STORE.length);
  });

  it('an in-band 501 on delete is retried; the second answer (count 1) is applied', async () => {
    sim.setFaults(API_USER, 'inband-error:1#write');
    expect((await client().remove(['held@example.com']))[0]!.outcome).toBe('applied');
    expect(writes()).toHaveLength(2);
    expect(sim.account(API_USER)!.store.find('keep@example.com')).toBeDefined();
  });
});

describe('holds', () => {
  const scClient = (a = account()) => new SendcloudClient(a, engine(a), { now: () => NOW });

  it.each([
    ['held@example.com', true],
    ['  HELD@example.com', true], // normalised equality (DESIGN.md "Transform")
    ['multi@example.com', true],
    ['absent@example.com', false],
    ['expired@example.com', false], // expireTime passed: no longer blocks mail (§5)
  ])('%s → %s', async (email, held) => {
    expect(await scClient().holds(email)).toBe(held);
    expect(
      sim.journal.reads().every((e) => e.params.email === email.trim() && e.params.startDate === undefined),
    ).toBe(true);
  });

  it('applies the account filters, like the extraction', async () => {
    const a = account({ options: { apiUserList: ['sc_batch'], labelIdList: ['3'] } });
    expect(await scClient(a).holds('held@example.com')).toBe(false);
    expect(await scClient(a).holds('batchonly@example.com')).toBe(true);
    expect(sim.journal.reads()[0]!.params).toMatchObject({ apiUserList: 'sc_batch', labelIdList: '3' });
  });

  it('a list scope is not SendCloud’s: null, nothing sent', async () => {
    expect(await scClient().holds('held@example.com', 'list:3')).toBeNull();
    expect(sim.journal.size).toBe(0);
  });
});

describe('bad credentials', () => {
  const bad = () => client(account({ credentials: { apiUser: API_USER, apiKey: 'wr0ng-K3y' } }));

  it.each([
    ['add', (c: ProviderClient) => c.add(['x@example.com'])],
    ['remove', (c: ProviderClient) => c.remove(['held@example.com'])],
    ['holds', (c: ProviderClient) => c.holds('held@example.com')],
  ] as const)(
    '%s → fatal ProviderError naming the account, not retried, secrets kept out',
    async (_, call) => {
      const error = await call(bad()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      const pe = error as ProviderError;
      expect(pe.details).toMatchObject({ family: 'fatal', providerCode: '40005', accountId: 'sc-main' });
      expect(pe.message).toMatch(/account "sc-main".*check the account's credentials/);
      expect(pe.message).not.toMatch(/wr0ng|sc_client_user/);
      expect(sim.journal.size).toBe(1);
      expect(sim.account(API_USER)!.store.size()).toBe(STORE.length);
    },
  );
});

describe('journal over every test', () => {
  it('never saw a delete without `email` or with a date frame, nor a secret', () => {
    const deletes = seen.filter((e) => e.path.endsWith('/unsubscribe/delete'));
    expect(deletes.length).toBeGreaterThan(0);
    for (const d of deletes) {
      expect(d.params.email?.trim()).toBeTruthy();
      expect(Object.keys(d.params).sort()).toEqual(['apiKey', 'apiUser', 'email']);
      expect(d.notes.join(' ')).not.toMatch(/delete by window/);
    }
    expect(JSON.stringify(seen)).not.toMatch(/cl13nt-K3y-Secret|wr0ng-K3y/);
  });
});
