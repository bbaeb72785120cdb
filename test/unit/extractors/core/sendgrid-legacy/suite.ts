/**
 * Suites both legacy SendGrid providers run against their REAL simulator on 127.0.0.1:0 through
 * a real HttpEngine (wired from test/unit/extractors/sendgrid-{reseller,subuser}/*.test.ts):
 *
 * - `runLegacyReadSuite`: windows → paginator → request → HttpEngine → parse, a ~30-line local
 *   loop, over a few hundred entries incl. rows exactly on window boundaries, DST and month ends;
 *   the rows read must be the simulator's entries exactly once each, byte-exact, in JSON and XML.
 * - `runLegacyClientSuite`: add / remove (applied, already), holds, one address per call, bad
 *   credentials, and the journal never showing a write without `email` or a destructive note.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../../extractors/core/config.js';
import { ProviderError } from '../../../../../extractors/core/errors.js';
import { HttpEngine, type RequestRecord } from '../../../../../extractors/core/http.js';
import { paginate, type SingleShotRequest } from '../../../../../extractors/core/paginate.js';
import type { ExtractContext, ProviderModule, RawRow } from '../../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../../extractors/core/redact.js';
import type { SendgridLegacySimulator } from '../../../../../extractors/core/sendgrid-legacy/simulator.js';
import type { JournalEntry, SimEntry } from '../../../../../extractors/core/simulator/index.js';
import type { InstantRange } from '../../../../../extractors/core/types.js';

export interface LegacySuiteOptions {
  provider: ProviderModule<SingleShotRequest>;
  /** The provider's own simulator start (its simulator.ts), not the module's adapter. */
  start: (options: {
    accounts: Parameters<
      typeof import('../../../../../extractors/core/sendgrid-legacy/simulator.js').startSendgridLegacySimulator
    >[1]['accounts'];
    now?: () => number;
  }) => Promise<SendgridLegacySimulator>;
  /** Path every call must hit, without the format suffix. */
  path: string;
  /** Parameters every call must carry (reseller: method=unsubscribes). */
  fixedParams: Record<string, string>;
  /** The `user` (customer / subuser) of the account under test. */
  user: string;
  zone: string;
}

// api_user is a credential too: the journal masks its value wherever it appears, so no test
// address may contain it.
const CREDENTIALS = { api_user: 'parent-login-7', api_key: 'k3y&s3cret=x' };

export function accountFor(
  o: LegacySuiteOptions,
  baseUrl: string,
  overrides: Partial<AccountConfig> = {},
): AccountConfig {
  return {
    id: 'sg-main',
    provider: o.provider.id,
    baseUrl,
    credentials: { ...CREDENTIALS },
    options: { user: o.user, format: 'json' },
    timezone: o.zone,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 1000, concurrency: 1 },
    ...overrides,
  };
}

function engine(account: AccountConfig, records?: RequestRecord[]): HttpEngine {
  return new HttpEngine({
    redact: createRedactor(Object.values(account.credentials)),
    retry: { baseMs: 1, maxDelayMs: 5 },
    ...(records ? { onRecord: (r: RequestRecord) => records.push(r) } : {}),
  });
}

/** The engine's loop in miniature: windows → pages → request → HttpEngine (parse as validate). */
async function readAll(
  provider: ProviderModule<SingleShotRequest>,
  range: InstantRange,
  account: AccountConfig,
  records?: RequestRecord[],
): Promise<RawRow[]> {
  const http = engine(account, records);
  const ctx: ExtractContext = { account, now: range.to };
  const rows: RawRow[] = [];
  try {
    for (const window of provider.planWindows(range, ctx)) {
      const pages = paginate({
        paginator: provider.paginator(window, ctx),
        fetchPage: async (req) => {
          let page: ReturnType<typeof provider.parse> | undefined;
          const res = await http.request(provider.request(window, req, ctx), (r) => {
            page = provider.parse(r, window, ctx);
          });
          return { page: page!, info: { rows: page!.rows.length, fingerprint: String(res.seq) } };
        },
      });
      for await (const p of pages) rows.push(...p.page.rows);
    }
  } finally {
    await http.close();
  }
  return rows;
}

function expectFormShape(o: LegacySuiteOptions, entry: JournalEntry, format: string): void {
  expect(entry.method).toBe('POST');
  expect(entry.path).toBe(`${o.path}.${format}`);
  expect(entry.params).toMatchObject({ ...o.fixedParams, user: o.user, api_user: '***', api_key: '***' });
}

export function runLegacyReadSuite(o: LegacySuiteOptions): void {
  describe(`${o.provider.id}: end to end against the simulator`, () => {
    let sim: SendgridLegacySimulator;
    const entries: SimEntry[] = [];
    // 81 local days crossing the spring DST change and three month ends: 31 + 31 + 19 days.
    const start = DateTime.fromISO('2024-02-20', { zone: o.zone });
    const end = DateTime.fromISO('2024-05-11', { zone: o.zone });
    const range = { from: start.toMillis(), to: end.toMillis() };
    const local = (ms: number) => DateTime.fromMillis(ms, { zone: o.zone }).toFormat('yyyy-MM-dd HH:mm:ss');

    beforeAll(async () => {
      let i = 0;
      for (let d = start; d < end; d = d.plus({ days: 1 }).startOf('day'), i++) {
        // the first and last second of every local day: every window boundary has a row on each side
        entries.push({ email: `first-${i}@e2e.test`, at: d.toMillis() });
        entries.push({ email: `Last-${i}@E2E.test`, at: d.endOf('day').startOf('second').toMillis() });
        entries.push({ email: `noon-${i}@e2e.test`, at: d.set({ hour: 12 }).toMillis() });
      }
      const dst = DateTime.fromISO('2024-03-10T01:59:59', { zone: o.zone });
      entries.push(
        { email: 'josé@e2e.test', at: dst.toMillis() },
        { email: '用户@例子.test', at: dst.plus({ seconds: 1 }).toMillis() }, // 03:00:00, clocks jumped
        { email: ' Spaced&Co@E2E.test ', at: dst.plus({ hours: 5 }).toMillis() },
        { email: 'before@e2e.test', at: range.from - 1000 },
        { email: 'after@e2e.test', at: range.to },
      );
      sim = await o.start({
        accounts: [
          {
            key: o.user,
            id: 'sg-main',
            credentials: CREDENTIALS,
            store: entries,
            meta: { timezone: o.zone },
          },
        ],
      });
    });
    afterAll(async () => {
      await sim?.close();
    });
    beforeEach(() => {
      sim.setFaults(o.user, '');
      sim.journal.clear();
    });

    for (const format of ['json', 'xml'] as const) {
      it(`${format}: reads every entry of the range exactly once, byte-exact, with created as local time`, async () => {
        const account = accountFor(o, sim.url, { options: { user: o.user, format } });
        const records: RequestRecord[] = [];
        const rows = await readAll(o.provider, range, account, records);
        const expected = entries.filter((e) => e.at >= range.from && e.at < range.to);
        expect(expected.length).toBeGreaterThan(240);
        expect(rows.map((r) => r.email).sort()).toEqual(expected.map((e) => e.email).sort());
        expect(new Set(rows.map((r) => r.email)).size).toBe(rows.length);
        const at = new Map(expected.map((e) => [e.email, e.at]));
        for (const row of rows) {
          expect(row.rawTime).toBe(local(at.get(row.email)!));
          expect(row.record).toEqual({ email: row.email, created: row.rawTime });
          expect(row.scope).toBe('global');
        }
        const reads = sim.journal.reads('sg-main');
        expect(reads.map((e) => [e.params.start_date, e.params.end_date])).toEqual([
          ['2024-02-20', '2024-03-21'],
          ['2024-03-22', '2024-04-21'],
          ['2024-04-22', '2024-05-10'],
        ]);
        for (const entry of reads) {
          expectFormShape(o, entry, format);
          expect(entry.params).toMatchObject({ task: 'get', date: '1' });
          expect(entry.status).toBe(200);
        }
        // keys stay out of URLs: the request log holds the bare path
        for (const r of records) expect(r.urlRedacted).toBe(`${sim.url}${o.path}.${format}`);
      });
    }

    it('a range inside one local day reads that day and the day before (documented widening), nothing lost', async () => {
      const day = start.plus({ days: 40 });
      const rows = await readAll(
        o.provider,
        { from: day.plus({ hours: 3 }).toMillis(), to: day.plus({ hours: 13 }).toMillis() },
        accountFor(o, sim.url),
      );
      const widened = { from: day.minus({ days: 1 }).toMillis(), to: day.plus({ days: 1 }).toMillis() };
      expect(rows.map((r) => r.email).sort()).toEqual(
        entries
          .filter((e) => e.at >= widened.from && e.at < widened.to)
          .map((e) => e.email)
          .sort(),
      );
      expect(sim.journal.reads('sg-main').map((e) => [e.params.start_date, e.params.end_date])).toEqual([
        [day.minus({ days: 1 }).toISODate(), day.toISODate()],
      ]);
    });

    it('in-band temporary errors (both shapes) are retried until the rows come', async () => {
      const window = { from: start.toMillis(), to: start.plus({ days: 3 }).toMillis() };
      const expected = entries.filter((e) => e.at >= window.from && e.at < window.to).length;
      for (const fault of ['inband-error:2', 'inband-error/error:1']) {
        sim.setFaults(o.user, fault);
        for (const format of ['json', 'xml']) {
          const rows = await readAll(
            o.provider,
            window,
            accountFor(o, sim.url, { options: { user: o.user, format } }),
          );
          expect(rows).toHaveLength(expected);
          sim.setFaults(o.user, fault);
        }
      }
    });

    it('bad credentials (HTTP 401) and an in-band auth error are fatal, name the account, hide the secret', async () => {
      const cases: [string, AccountConfig][] = [
        [
          '401',
          accountFor(o, sim.url, { credentials: { api_user: 'parent-login-7', api_key: 'wrong-k3y-value' } }),
        ],
        ['in-band', accountFor(o, sim.url, { options: { user: o.user, format: 'xml' } })],
      ];
      for (const [what, account] of cases) {
        sim.setFaults(o.user, what === 'in-band' ? 'inband-error/auth' : '');
        const error = await readAll(
          o.provider,
          { from: range.from, to: range.from + 86_400_000 },
          account,
        ).catch((e: unknown) => e);
        expect(error, what).toBeInstanceOf(ProviderError);
        expect((error as ProviderError).details).toMatchObject({ family: 'fatal', providerCode: 'AUTH' });
        expect((error as Error).message).toContain('"sg-main"');
        expect((error as Error).message).toMatch(/check the account's credentials/);
        for (const secret of Object.values(account.credentials))
          expect((error as Error).message).not.toContain(secret);
      }
      // fatal is not retried
      expect(sim.journal.reads().length).toBe(2);
    });

    it(`an unknown ${o.provider.id === 'sendgrid-reseller' ? 'customer' : 'subuser'} is fatal USER_NOT_FOUND`, async () => {
      const error = await readAll(
        o.provider,
        { from: range.from, to: range.from + 86_400_000 },
        accountFor(o, sim.url, { options: { user: 'nobody-here' } }),
      ).catch((e: unknown) => e);
      expect((error as ProviderError).details).toMatchObject({
        family: 'fatal',
        providerCode: 'USER_NOT_FOUND',
      });
      expect((error as Error).message).toMatch(/options\.user/);
    });
  });
}

export function runLegacyClientSuite(o: LegacySuiteOptions): void {
  describe(`${o.provider.id}: client against the simulator`, () => {
    let sim: SendgridLegacySimulator;
    const engines: HttpEngine[] = [];
    /** Every journal entry of every test (the journal is cleared before each test). */
    const seen: JournalEntry[] = [];
    const HELD = ['held@example.com', 'Mixed@Example.com', 'josé@example.com'];

    beforeAll(async () => {
      sim = await o.start({
        now: () => Date.parse('2024-06-01T12:00:00Z'),
        accounts: [
          {
            key: o.user,
            id: 'sg-main',
            credentials: CREDENTIALS,
            // deleteWithoutEmail defaults to 'wipe': a delete without email would really empty the list
            store: HELD.map((email, i) => ({ email, at: Date.parse('2024-01-01T00:00:00Z') + i * 1000 })),
            meta: { timezone: o.zone },
          },
        ],
      });
    });
    beforeEach(() => {
      seen.push(...sim.journal.entries());
      sim.journal.clear();
      sim.setFaults(o.user, '');
    });
    afterAll(async () => {
      seen.push(...sim.journal.entries());
      // The safety net over the whole file: never a write without an address, never a wipe.
      const writes = seen.filter((e) => e.kind === 'write');
      for (const w of writes) {
        expect(w.params.email, JSON.stringify(w.params)).toBeTruthy();
        expect(w.params.email!.trim()).not.toBe('');
        expect(w.params.delete_all).toBeUndefined();
        expect(w.params.start_date).toBeUndefined();
      }
      expect(seen.flatMap((e) => e.notes).filter((n) => /DESTRUCTIVE/.test(n))).toEqual([]);
      expect(seen.some((e) => /\/api\/unsubscribes\./.test(e.path))).toBe(false);
      await Promise.all(engines.map((e) => e.close()));
      await sim?.close();
    });

    const client = (account: AccountConfig = accountFor(o, sim.url)) => {
      const http = engine(account);
      engines.push(http);
      return o.provider.createClient(account, http);
    };
    const writes = () => sim.journal.writes('sg-main');

    for (const format of ['json', 'xml'] as const) {
      it(`${format}: add → applied then already; remove → applied then already; one POST per address`, async () => {
        const c = client(accountFor(o, sim.url, { options: { user: o.user, format } }));
        const address = `new-${format}@example.com`;
        expect(await c.add([address, address.toUpperCase(), 'held@example.com'])).toEqual([
          { email: address, outcome: 'applied', providerMessage: 'success' },
          { email: address.toUpperCase(), outcome: 'already', providerMessage: 'Email already exists' },
          { email: 'held@example.com', outcome: 'already', providerMessage: 'Email already exists' },
        ]);
        expect(await c.holds(address)).toBe(true);
        expect(await c.remove([address, address])).toEqual([
          { email: address, outcome: 'applied', providerMessage: 'success' },
          { email: address, outcome: 'already', providerMessage: 'Email does not exist' },
        ]);
        expect(await c.holds(address)).toBe(false);
        const sent = writes();
        expect(sent.map((e) => [e.params.task, e.params.email])).toEqual([
          ['add', address],
          ['add', address.toUpperCase()],
          ['add', 'held@example.com'],
          ['delete', address],
          ['delete', address],
        ]);
        for (const e of sent) expectFormShape(o, e, format);
        expect(o.provider.capabilities.writeBatchSize).toBe(1);
      });
    }

    it('sends the address byte-exact (non-ASCII, mixed case, & and =) and keeps the list otherwise intact', async () => {
      const c = client();
      const odd = 'Zoë+a&b=c@Example.com';
      expect((await c.add([odd]))[0]!.outcome).toBe('applied');
      expect(writes().map((e) => e.params.email)).toEqual([odd]);
      expect((await c.remove([odd]))[0]!.outcome).toBe('applied');
      for (const email of HELD) expect(await c.holds(email)).toBe(true);
    });

    it('a blank address is never sent: failed outcome, no write in the journal', async () => {
      const c = client();
      expect(await c.remove(['', '   ', '\t'])).toEqual([
        { email: '', outcome: 'failed', providerMessage: 'no address given; nothing sent' },
        { email: '   ', outcome: 'failed', providerMessage: 'no address given; nothing sent' },
        { email: '\t', outcome: 'failed', providerMessage: 'no address given; nothing sent' },
      ]);
      expect(await c.add([''])).toEqual([
        { email: '', outcome: 'failed', providerMessage: 'no address given; nothing sent' },
      ]);
      expect(sim.journal.entries()).toEqual([]);
      await expect(c.holds(' ')).rejects.toThrow(TypeError);
      expect(sim.account(o.user)!.store.size()).toBe(HELD.length);
    });

    it('a refused address is that address failing; the batch goes on', async () => {
      const c = client();
      const out = await c.add(['not-an-address', 'ok-after@example.com']);
      expect(out[0]).toMatchObject({ email: 'not-an-address', outcome: 'failed' });
      expect(out[0]!.providerMessage).toMatch(/not a valid email address/);
      expect(out[1]).toMatchObject({ email: 'ok-after@example.com', outcome: 'applied' });
      await c.remove(['ok-after@example.com']);
    });

    it('holds compares whole addresses after normalisation, never prefixes; other scopes are unknown', async () => {
      const c = client();
      expect(await c.holds('held@example.com')).toBe(true);
      expect(await c.holds(' HELD@example.com\n')).toBe(true);
      expect(await c.holds('mixed@example.com')).toBe(true);
      expect(await c.holds('held@example.co')).toBe(false);
      expect(await c.holds('eld@example.com')).toBe(false);
      expect(await c.holds('held@example.com', 'global')).toBe(true);
      expect(await c.holds('held@example.com', 'list:7')).toBeNull();
      const reads = sim.journal.reads('sg-main');
      for (const r of reads) expect(r.params).toMatchObject({ task: 'get', date: '1' });
      expect(reads.map((r) => r.params.email)).toEqual([
        'held@example.com',
        ' HELD@example.com\n',
        'mixed@example.com',
        'held@example.co',
        'eld@example.com',
        'held@example.com',
      ]);
    });

    it('in-band temporary errors on writes are retried (the write is idempotent)', async () => {
      const c = client();
      sim.setFaults(o.user, 'inband-error:1#write,inband-error/error:1@2#write');
      expect(await c.add(['retry@example.com'])).toEqual([
        { email: 'retry@example.com', outcome: 'applied', providerMessage: 'success' },
      ]);
      expect(writes()).toHaveLength(3);
      sim.setFaults(o.user, '');
      expect((await c.remove(['retry@example.com']))[0]!.outcome).toBe('applied');
    });

    it('bad credentials: add, remove and holds throw a fatal ProviderError naming the account, nothing written', async () => {
      const c = client(
        accountFor(o, sim.url, { credentials: { api_user: 'parent-login-7', api_key: 'nope-wrong' } }),
      );
      for (const call of [
        () => c.add(['x@example.com']),
        () => c.remove(['held@example.com']),
        () => c.holds('held@example.com'),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ProviderError);
        expect((error as ProviderError).details).toMatchObject({
          family: 'fatal',
          providerCode: 'AUTH',
          accountId: 'sg-main',
        });
        expect((error as Error).message).toContain('"sg-main"');
        expect((error as Error).message).not.toContain('nope-wrong');
      }
      expect(sim.journal.entries().map((e) => e.status)).toEqual([401, 401, 401]);
      expect(sim.account(o.user)!.store.size()).toBe(HELD.length);
    });

    it('an in-band auth error on a write stops the replay (fatal), not just that address', async () => {
      const c = client();
      sim.setFaults(o.user, 'inband-error/auth#write');
      await expect(c.add(['y@example.com', 'z@example.com'])).rejects.toMatchObject({
        details: { family: 'fatal', providerCode: 'AUTH' },
      });
      expect(writes()).toHaveLength(1);
    });
  });
}
