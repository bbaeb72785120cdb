/**
 * BlueHornet client (extractors/bluehornet/client.ts) against the real simulator on 127.0.0.1:0
 * through a real HttpEngine: add (applied / already), remove (refused, nothing sent), holds,
 * one write per POST, and the journal never showing a destructive `manage_subscriber`
 * (no `remove=1`, never a call without `optout=1` + `check_optout=1`).
 */
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteUnsupportedError } from '../../../../extractors/bluehornet/client.js';
import { bluehornetProvider } from '../../../../extractors/bluehornet/index.js';
import type { BlueHornetSimulator } from '../../../../extractors/bluehornet/simulator.js';
import { startBlueHornetSimulator } from '../../../../extractors/bluehornet/simulator.js';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import { HttpEngine } from '../../../../extractors/core/http.js';
import type { ProviderClient } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import type { JournalEntry } from '../../../../extractors/core/simulator/index.js';

const LA = 'America/Los_Angeles';
const KEY = 'bh-client-key';
const SECRET = 'cl13nt-S3cret';
const OTHER_KEY = 'bh-other-key';
const NOW = Date.UTC(2024, 2, 10, 20);

let sim: BlueHornetSimulator;
const engines: HttpEngine[] = [];
/** Every journal entry of the tests run so far (the journal is cleared before each test). */
const seen: JournalEntry[] = [];

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'bh-main',
    provider: 'bluehornet',
    baseUrl: sim.url,
    credentials: { apiKey: KEY, sharedSecret: SECRET },
    options: {},
    timezone: LA,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 100, concurrency: 1 },
    ...overrides,
  };
}
function client(a: AccountConfig = account()): ProviderClient {
  const http = new HttpEngine({ redact: createRedactor(Object.values(a.credentials)), retry: { baseMs: 1 } });
  engines.push(http);
  return bluehornetProvider.createClient(a, http);
}

/** The methodCalls of a journaled POST, as name → fields (from the masked `data` envelope). */
function calls(entry: JournalEntry): { method: string; fields: Record<string, string> }[] {
  const xml = entry.params.data ?? '';
  return [...xml.matchAll(/<methodCall>(.*?)<\/methodCall>/g)].map((m) => {
    const fields: Record<string, string> = {};
    for (const f of m[1]!.matchAll(/<(\w+)>(.*?)<\/\1>/g)) fields[f[1]!] = f[2]!;
    const { methodName, ...rest } = fields;
    return { method: methodName ?? '', fields: rest };
  });
}
const manageCalls = () =>
  sim.journal
    .entries()
    .flatMap(calls)
    .filter((c) => c.method === 'legacy.manage_subscriber');

beforeAll(async () => {
  sim = await startBlueHornetSimulator({
    now: () => NOW,
    accounts: [
      {
        key: KEY,
        id: 'bh-main',
        credentials: { sharedSecret: SECRET },
        meta: { timezone: LA, contacts: ['active@example.com'] },
        store: [
          { email: 'Held@Example.com', at: Date.UTC(2012, 6, 4, 19) },
          { email: 'old@example.com', at: Date.UTC(2003, 0, 1) }, // before any `since`
        ],
      },
      { key: OTHER_KEY, id: 'bh-other', credentials: { sharedSecret: 'other-secret' }, store: [] },
    ],
  });
});
beforeEach(() => {
  seen.push(...sim.journal.entries());
  sim.journal.clear();
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await sim.close();
});

describe('holds', () => {
  it.each([
    ['Held@Example.com', true],
    ['held@example.com', true], // equality after the DESIGN.md normalisation
    ['  HELD@example.com', true],
    ['held@example.co', false], // not a prefix match
    ['old@example.com', true], // whole history: no date bounds
    ['nobody@example.com', false],
    ['active@example.com', false], // a contact, not opted out
  ])('%s → %s', async (email, held) => {
    expect(await client().holds(email)).toBe(held);
    const reads = sim.journal.reads('bh-main');
    expect(reads).toHaveLength(1);
    expect(calls(reads[0]!)).toEqual([{ method: 'legacy.retrieve_unsub', fields: { email } }]);
  });

  it('a list scope cannot be asked about (null, nothing sent); an empty address throws', async () => {
    expect(await client().holds('held@example.com', 'list:5')).toBeNull();
    expect(await client().holds('held@example.com', 'global')).toBe(true);
    await expect(client().holds('')).rejects.toThrow(TypeError);
    expect(sim.journal.size).toBe(1);
  });

  it('is bound to its account: another account does not hold it', async () => {
    const other = client(
      account({ id: 'bh-other', credentials: { apiKey: OTHER_KEY, sharedSecret: 'other-secret' } }),
    );
    expect(await other.holds('held@example.com')).toBe(false);
  });
});

describe('add', () => {
  it('applied for new and active contacts, already for held ones; one write per POST, only for those', async () => {
    const c = client();
    const outcomes = await c.add([
      'new-1@example.com',
      'active@example.com',
      'HELD@example.com',
      'new-2@example.com',
    ]);
    expect(outcomes.map((o) => [o.email, o.outcome])).toEqual([
      ['new-1@example.com', 'applied'],
      ['active@example.com', 'applied'],
      ['HELD@example.com', 'already'],
      ['new-2@example.com', 'applied'],
    ]);
    expect(outcomes[0]!.providerMessage).toBe('status 1: User has been added');
    expect(outcomes[1]!.providerMessage).toBe('status 2: User has been updated');
    const writes = sim.journal.writes('bh-main');
    expect(writes).toHaveLength(3);
    for (const w of writes) expect(calls(w)).toHaveLength(1);
    expect(manageCalls().map((m) => m.fields)).toEqual(
      ['new-1@example.com', 'active@example.com', 'new-2@example.com'].map((email) => ({
        email,
        optout: '1',
        check_optout: '1',
      })),
    );
    // visible at once, dated today in the account zone
    expect(await c.holds('new-1@example.com')).toBe(true);
    const dump = sim.dump().accounts.find((a) => a.id === 'bh-main')!;
    const added = dump.entries.find((e) => e.email === 'new-1@example.com')!;
    expect(DateTime.fromMillis(added.at, { zone: LA }).toISODate()).toBe('2024-03-10');
    // a second add is 'already' and sends no write
    sim.journal.clear();
    expect((await c.add(['new-1@example.com']))[0]!.outcome).toBe('already');
    expect(sim.journal.writes()).toHaveLength(0);
  });

  it('keeps the address byte-exact and escapes it in the XML', async () => {
    const email = 'o\'brien&<co>"x"@example.com';
    const [outcome] = await client().add([email]);
    expect(outcome!.outcome).toBe('applied');
    const [call] = manageCalls();
    expect(call!.fields.email).toBe('o&apos;brien&amp;&lt;co&gt;&quot;x&quot;@example.com');
    expect(await client().holds(email)).toBe(true);
  });

  it('an address the provider refuses is failed; an unsendable one is failed without a request', async () => {
    const outcomes = await client().add(['no-at-sign', '', 'bell\u0007@example.com']);
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(outcomes[0]!.providerMessage).toBe('error 432: Invalid email address');
    expect(outcomes[1]!.providerMessage).toMatch(/nothing sent/);
    expect(outcomes[2]!.providerMessage).toMatch(/nothing sent/);
    expect(manageCalls().map((m) => m.fields.email)).toEqual(['no-at-sign']);
  });

  it('an in-band 500 on the write is retried (idempotent opt-out) and applied once', async () => {
    sim.setFaults(KEY, 'inband-error:1#write');
    try {
      const [outcome] = await client().add(['retry@example.com']);
      expect(outcome!.outcome).toBe('applied');
      expect(sim.journal.writes('bh-main')).toHaveLength(2);
      expect(
        sim
          .dump()
          .accounts.find((a) => a.id === 'bh-main')!
          .entries.filter((e) => e.email === 'retry@example.com'),
      ).toHaveLength(1);
    } finally {
      sim.setFaults(KEY, '');
    }
  });

  it('bad credentials → fatal ProviderError naming the account, before any write', async () => {
    const bad = client(
      account({ id: 'bh-brand-x', credentials: { apiKey: KEY, sharedSecret: 'wrong-secret' } }),
    );
    const error = await bad.add(['x@example.com']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details.family).toBe('fatal');
    expect((error as Error).message).toContain('"bh-brand-x"');
    expect((error as Error).message).toMatch(/credentials/);
    expect((error as Error).message).not.toContain('wrong-secret');
    expect(manageCalls()).toHaveLength(0);
  });
});

describe('remove', () => {
  it('is refused with a typed error and sends nothing', async () => {
    const error = await client()
      .remove(['held@example.com'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeleteUnsupportedError);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details).toMatchObject({
      family: 'fatal',
      providerCode: 'DELETE_UNSUPPORTED',
    });
    expect(sim.journal.size).toBe(0);
    expect(await client().holds('held@example.com')).toBe(true);
  });
});

describe('the journal of this whole file', () => {
  it('never shows remove=1, a bare update, a re-activation or a secret', async () => {
    // Run a mixed workload first so this test does not pass vacuously.
    const c = client();
    await c.add(['journal-1@example.com', 'held@example.com', 'active@example.com']);
    await c.remove(['journal-1@example.com']).catch(() => undefined);
    const all = [...seen, ...sim.journal.entries()];
    expect(all.length).toBeGreaterThan(20);
    const manage = all.flatMap(calls).filter((m) => m.method === 'legacy.manage_subscriber');
    expect(manage.length).toBeGreaterThan(0);
    for (const m of manage) {
      expect(m.fields.email).toBeTruthy();
      expect(m.fields.optout).toBe('1');
      expect(m.fields.check_optout).toBe('1');
      expect(m.fields.remove).toBeUndefined();
    }
    for (const e of all) {
      expect(e.notes.join(' ')).not.toMatch(/RE-ACTIVATED/);
      expect(JSON.stringify(e)).not.toContain(SECRET);
    }
  });
});
