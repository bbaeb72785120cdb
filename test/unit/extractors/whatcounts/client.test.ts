// WhatCounts client (writes + holds) against the real simulator through a real HttpEngine.
// After every test the simulator's journal is checked for destructive or unscoped writes.
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import { HttpEngine } from '../../../../extractors/core/http.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import type { JournalEntry } from '../../../../extractors/core/simulator/index.js';
import {
  WhatCountsClient,
  type WhatCountsClientOptions,
  WhatCountsDeleteRefusedError,
  WRITE_BATCH_MAX_BYTES,
  WRITE_BATCH_SIZE,
} from '../../../../extractors/whatcounts/client.js';
import { whatcountsProvider } from '../../../../extractors/whatcounts/index.js';
import {
  startWhatCountsSimulator,
  type WhatCountsSimAccountInput,
  type WhatCountsSimulator,
} from '../../../../extractors/whatcounts/simulator.js';

const REALM = 'realm-secret-7';
const PASSWORD = 'pw-secret-9183';
const NOW = Date.parse('2024-06-15T12:00:00Z');
const DAY = 86_400_000;

let sim: WhatCountsSimulator | undefined;
let engine: HttpEngine | undefined;

afterEach(async () => {
  if (sim) assertNoDestructiveWrites(sim.journal.entries());
  await engine?.close();
  await sim?.close();
  sim = undefined;
  engine = undefined;
});

/**
 * The only write this client may send: a global opt-out with explicit addresses. No `sub`
 * (the only "undo", which subscribes people), no unsub without optout, no empty data.
 */
function assertNoDestructiveWrites(entries: readonly JournalEntry[]): void {
  for (const e of entries) {
    const c = (e.params['c'] ?? e.params['cmd'] ?? '').toLowerCase();
    expect(['show_opt', 'show_optglobal', 'unsub']).toContain(c);
    if (c !== 'unsub') continue;
    expect(e.params['list_id']).toBe('0');
    expect(e.params['optout']).toBe('1');
    const rows = (e.params['data'] ?? '').split('^');
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows.slice(1)) expect(row.split(',').at(-1)).toMatch(/@/);
  }
}

async function setup(
  realm: Partial<WhatCountsSimAccountInput> = {},
  options: Record<string, unknown> = { lists: ['5'] },
  clientOptions: WhatCountsClientOptions = {},
) {
  sim = await startWhatCountsSimulator({
    now: () => NOW,
    accounts: [
      {
        realm: REALM,
        password: PASSWORD,
        lists: [5],
        store: [
          { email: 'already@x.test', at: NOW - 10 * DAY },
          { email: 'listed@x.test', at: NOW - 3 * DAY, listId: '5' },
        ],
        subscriptions: { '5': ['sub@x.test'] },
        ...realm,
      },
    ],
  });
  engine = new HttpEngine({ redact: createRedactor([REALM, PASSWORD]), sleep: async () => {} });
  const account: AccountConfig = {
    id: 'wc-main',
    provider: 'whatcounts',
    baseUrl: sim.url,
    credentials: { realm: REALM, password: PASSWORD },
    options,
    timezone: 'America/Los_Angeles',
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 100, concurrency: 2 },
  };
  let t = NOW;
  const client = new WhatCountsClient(account, engine, { now: () => (t += 1000), ...clientOptions });
  return { sim, client, account, engine };
}

const writes = () => sim!.journal.writes();
const dataRows = (e: JournalEntry) => (e.params['data'] ?? '').split('^');

describe('add (global opt-out, seed "Global Opt Out Example")', () => {
  it('applies new addresses, reports already-held ones without sending them, one outcome per input', async () => {
    const { client } = await setup();
    const out = await client.add(['new@x.test', 'Already@X.test', 'sub@x.test', 'new@x.test']);
    expect(out.map((o) => [o.email, o.outcome])).toEqual([
      ['new@x.test', 'applied'],
      ['Already@X.test', 'already'],
      ['sub@x.test', 'applied'],
      ['new@x.test', 'applied'],
    ]);
    expect(out[0]!.providerMessage).toMatch(/^SUCCESS: 2 record\(s\) processed\. 2 users unsubscribed/);
    expect(writes()).toHaveLength(1);
    expect(writes()[0]!.params['data']).toBe('email^new@x.test^sub@x.test');
    expect(writes()[0]!.params['r']).toBe('***');
    // The write reached the realm: global opt-out records, subscription gone.
    expect(sim!.realm(REALM).subscriptions['5']).toEqual([]);
    expect(await client.holds('new@x.test')).toBe(true);
  });

  it('sends nothing when every address is already held', async () => {
    const { client } = await setup();
    const out = await client.add(['already@x.test', ' ALREADY@x.test']);
    expect(out.map((o) => o.outcome)).toEqual(['already', 'already']);
    expect(writes()).toHaveLength(0);
    expect(sim!.journal.reads()).toHaveLength(1);
  });

  it('refuses addresses that data rows cannot carry, without sending them', async () => {
    const { client } = await setup();
    const bad = ['a,b@x.test', 'x^y@x.test', '', '   ', 'line\n@x.test'];
    const out = await client.add(bad);
    expect(out.map((o) => o.outcome)).toEqual(bad.map(() => 'failed'));
    expect(sim!.journal.size).toBe(0);
  });

  it(`batches ${WRITE_BATCH_SIZE} addresses per request and reuses one pre-read across calls`, async () => {
    const { client } = await setup();
    const emails = Array.from({ length: 1201 }, (_, i) => `u${i}@x.test`);
    const out = await client.add(emails);
    expect(out.every((o) => o.outcome === 'applied')).toBe(true);
    expect(writes().map((w) => dataRows(w).length - 1)).toEqual([500, 500, 201]);
    expect(writes().flatMap((w) => dataRows(w).slice(1))).toEqual(emails);
    // A second replay call within the TTL does not re-read the whole listing, and knows what it added.
    const again = await client.add(['u7@x.test', 'fresh@x.test']);
    expect(again.map((o) => o.outcome)).toEqual(['already', 'applied']);
    expect(sim!.journal.reads()).toHaveLength(1);
  });

  it(`keeps each request's data under ${WRITE_BATCH_MAX_BYTES} bytes for long addresses`, async () => {
    const { client } = await setup();
    const emails = Array.from({ length: 450 }, (_, i) => `${'l'.repeat(230)}${i}@x.test`);
    await client.add(emails);
    expect(writes().length).toBeGreaterThan(1);
    for (const w of writes())
      expect(encodeURIComponent(w.params['data']!).length).toBeLessThanOrEqual(WRITE_BATCH_MAX_BYTES);
    expect(writes().flatMap((w) => dataRows(w).slice(1))).toEqual(emails);
  });

  it('attributes a partial answer (counts only) by re-reading the listing', async () => {
    const { client } = await setup({ unknownContact: 'fail' });
    const out = await client.add(['sub@x.test', 'ghost@x.test']);
    expect(out.map((o) => o.outcome)).toEqual(['applied', 'failed']);
    expect(out[1]!.providerMessage).toMatch(/Records Failed Other Error 1; NOT held in show_optglobal/);
    expect(sim!.journal.entries().map((e) => e.params['c'])).toEqual([
      'show_optglobal',
      'unsub',
      'show_optglobal',
    ]);
  });

  it('marks every row failed when the answer says none took effect, without a re-read', async () => {
    const { client } = await setup({ unknownContact: 'fail' });
    const out = await client.add(['ghost1@x.test', 'ghost2@x.test']);
    expect(out.map((o) => o.outcome)).toEqual(['failed', 'failed']);
    expect(out[0]!.providerMessage).toMatch(/^FAILURE: 2 record\(s\) processed\. 0 users/);
    expect(sim!.journal.reads()).toHaveLength(1);
  });

  it('retries a temporary FAILURE on the write (adding twice is harmless)', async () => {
    const { client } = await setup({ faults: 'inband-error:1#write' });
    const out = await client.add(['new@x.test']);
    expect(out[0]!.outcome).toBe('applied');
    expect(writes()).toHaveLength(2);
  });

  it('reports a skippable FAILURE per address', async () => {
    const { client } = await setup({
      faults: [{ kind: 'inband-error', arg: 'Something odd happened', on: 'write' }],
    });
    const out = await client.add(['new@x.test']);
    expect(out[0]).toMatchObject({ outcome: 'failed' });
    expect(out[0]!.providerMessage).toMatch(/FAILURE: Something odd happened/);
    expect(writes()).toHaveLength(1);
  });

  it('Customer Key realm: sends customer_key,email rows with keys from the resolver or a list listing; unknown keys are not sent', async () => {
    const { client } = await setup(
      { customerKey: true, customerKeys: { 'listed@x.test': '4242' } },
      { lists: ['5'], customerKey: true },
      { customerKeyOf: (e) => (e === 'given@x.test' ? '11293' : undefined) },
    );
    const out = await client.add(['given@x.test', 'listed@x.test', 'nokey@x.test']);
    expect(out.map((o) => o.outcome)).toEqual(['applied', 'applied', 'failed']);
    expect(out[2]!.providerMessage).toMatch(/no customer_key known/);
    expect(writes()).toHaveLength(1);
    expect(writes()[0]!.params['data']).toBe('customer_key,email^11293,given@x.test^4242,listed@x.test');
  });
});

describe('remove', () => {
  it('is refused with a typed error and sends nothing', async () => {
    const { client } = await setup();
    const error = await client.remove(['already@x.test']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WhatCountsDeleteRefusedError);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toMatchObject({
      family: 'fatal',
      providerCode: 'DELETE_UNSUPPORTED',
    });
    expect((error as Error).message).toMatch(/force_sub=1.*subscribes/);
    expect(sim!.journal.size).toBe(0);
    expect(whatcountsProvider.capabilities.canDelete).toBe(false);
  });
});

describe('holds (exact check by reading the listing)', () => {
  it.each([
    ['already@x.test', 'global', true],
    [' ALREADY@X.test\t', 'global', true],
    ['already@x.tes', 'global', false],
    ['lready@x.test', 'global', false],
    ['already@x.test.org', 'global', false],
    ['listed@x.test', 'list:5', true],
    ['listed@x.test', 'global', false],
    ['already@x.test', 'list:5', false],
  ] as const)('%j in %s → %s', async (email, scope, expected) => {
    const { client } = await setup();
    expect(await client.holds(email, scope)).toBe(expected);
  });

  it('reads each scope once within the TTL; reads again after a write (verification is a real re-read)', async () => {
    const { client } = await setup();
    await client.holds('a@x.test');
    await client.holds('b@x.test');
    await client.holds('listed@x.test', 'list:5');
    expect(sim!.journal.reads()).toHaveLength(2);
    await client.add(['new@x.test']); // reuses the global read for its pre-check
    expect(sim!.journal.reads()).toHaveLength(2);
    expect(await client.holds('new@x.test')).toBe(true);
    expect(sim!.journal.reads()).toHaveLength(3);
  });

  it('asks the listing back to the account since', async () => {
    const { client } = await setup();
    await client.holds('a@x.test');
    const days = Number(sim!.journal.reads()[0]!.params['days']);
    expect(NOW - days * DAY).toBeLessThanOrEqual(Date.parse('2010-01-01T08:00:00Z'));
  });

  it('rejects a malformed scope', async () => {
    const { client } = await setup();
    await expect(client.holds('a@x.test', 'list:abc')).rejects.toThrow(RangeError);
    await expect(client.holds('a@x.test', 'global ')).rejects.toThrow(RangeError);
  });
});

describe('bad credentials', () => {
  it.each(['add', 'holds'] as const)(
    '%s fails fatally, naming the account, never the secrets',
    async (op) => {
      const { client } = await setup({ password: 'the-real-password' });
      const error = await (op === 'add' ? client.add(['new@x.test']) : client.holds('x@x.test')).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).details.family).toBe('fatal');
      expect((error as Error).message).toMatch(/wc-main.*check the account's credentials/);
      expect((error as Error).message).not.toContain(PASSWORD);
      expect((error as Error).message).not.toContain(REALM);
      expect(writes()).toHaveLength(0);
      expect(sim!.journal.size).toBe(1);
    },
  );
});

describe('createClient', () => {
  it('builds a client per account from the module', async () => {
    const { account, engine: http } = await setup();
    const a = whatcountsProvider.createClient(account, http);
    const b = whatcountsProvider.createClient(account, http);
    expect(a).not.toBe(b);
    expect(await a.holds('already@x.test')).toBe(true);
  });
});

describe('startSimulator (module signature)', () => {
  it('takes kit accounts (key = realm, credentials.password, meta = options) and serves the client', async () => {
    const started = await whatcountsProvider.startSimulator({
      now: () => NOW,
      accounts: [
        {
          key: REALM,
          credentials: { password: PASSWORD },
          store: [{ email: 'k@x.test', at: NOW - DAY }],
          meta: { lists: ['5'] },
        },
      ],
    });
    const http = new HttpEngine({ redact: createRedactor([REALM, PASSWORD]), sleep: async () => {} });
    try {
      const account: AccountConfig = {
        id: 'wc-kit',
        provider: 'whatcounts',
        baseUrl: started.url,
        credentials: { realm: REALM, password: PASSWORD },
        options: { lists: ['5'] },
        timezone: 'America/Los_Angeles',
        since: '2020-01-01',
        lookbackDays: 2,
        timeoutMs: 30_000,
        rateLimit: { requestsPerSecond: 100, concurrency: 2 },
      };
      const client = whatcountsProvider.createClient(account, http);
      expect(await client.holds('K@x.test')).toBe(true);
      expect(await client.holds('k@x.test', 'list:5')).toBe(false);
    } finally {
      await http.close();
      await started.close();
    }
  });
});
