// WhatCounts extraction: parsing of the seed/doc answers (fixtures), error classification, the
// `days` window plan under both readings of `days`, request shapes, and an end-to-end read
// through the real HttpEngine against the simulator.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../../../extractors/core/config.js';
import { ProviderError } from '../../../../extractors/core/errors.js';
import { HttpEngine, type HttpResponse } from '../../../../extractors/core/http.js';
import { fingerprint, paginate } from '../../../../extractors/core/paginate.js';
import type { ExtractContext, ExtractWindow, RawRow } from '../../../../extractors/core/provider.js';
import { createRedactor } from '../../../../extractors/core/redact.js';
import type { SimEntry } from '../../../../extractors/core/simulator/index.js';
import { coverageGaps } from '../../../../extractors/core/windows.js';
import {
  classifyAnswer,
  DAY_MS,
  daysReaching,
  MAX_DAYS,
  parse,
  parseListing,
  parseWriteResult,
  planWindows,
  request,
  SEND_DELAY_SLACK_MS,
  splitWindow,
} from '../../../../extractors/whatcounts/extract.js';
import { whatcountsProvider } from '../../../../extractors/whatcounts/index.js';
import {
  startWhatCountsSimulator,
  type WhatCountsAccountMeta,
  type WhatCountsSimulator,
  windowStart,
} from '../../../../extractors/whatcounts/simulator.js';

const FIXTURES = new URL('../../../../extractors/whatcounts/fixtures/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

const REALM = 'realm-secret-7';
const PASSWORD = 'pw-secret-9183';
const ZONE = 'America/Los_Angeles';

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'wc-main',
    provider: 'whatcounts',
    baseUrl: 'https://api.whatcounts.test',
    credentials: { realm: REALM, password: PASSWORD },
    options: { lists: ['5', '12'], customerKey: false },
    timezone: ZONE,
    since: '2010-01-01',
    lookbackDays: 2,
    timeoutMs: 30_000,
    rateLimit: { requestsPerSecond: 50, concurrency: 2 },
    ...overrides,
  };
}

function response(body: string | Buffer, contentType = 'text/csv; charset=UTF-8'): HttpResponse {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const text = new TextDecoder('utf-8').decode(bytes);
  return {
    seq: 1,
    status: 200,
    headers: { 'content-type': contentType },
    body: bytes,
    text,
    charset: 'utf-8',
    malformed: text.includes('\uFFFD'),
    attempts: 1,
    durationMs: 1,
  };
}

function thrown(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

const NOW = Date.parse('2024-06-15T12:00:00Z');
const ctx = (acc = account(), now = NOW): ExtractContext => ({ account: acc, now });
const listWindow: ExtractWindow = {
  from: NOW - 10 * DAY_MS,
  to: NOW,
  scope: 'list:5',
  params: { c: 'show_opt', list_id: '5', days: '11' },
};

describe('parse (fixtures from the Show Optouts doc and the seed)', () => {
  it('reads the documented CSV example: header skipped, addresses untouched, no time, scope of the window', () => {
    const page = parse(response(fixture('show_opt.csv')), listWindow, ctx());
    expect(page.rows.map((r) => r.email)).toEqual(['jane@mydomain.com', 'john@mydomain.com']);
    for (const row of page.rows) {
      expect(row.rawTime).toBeNull();
      expect(row.scope).toBe('list:5');
      expect(row.record['_time']).toMatch(/fetched_at is the observation time/);
    }
    expect(page.rows[0]!.record['Email']).toBe('jane@mydomain.com');
  });

  it('finds the email column by name in a Customer Key realm and keeps the key in the record', () => {
    const [row] = parse(response(fixture('show_opt_customer_key.csv')), listWindow, ctx()).rows;
    expect(row?.email).toBe('jane@domain.com');
    expect(row?.record).toMatchObject({ Email: 'jane@domain.com', customer_key: '11293' });
    const swapped = parseListing('"customer_key","EMAIL"\n"7","a@x.test"\n', 'wc-main');
    expect(swapped[0]?.email).toBe('a@x.test');
  });

  it.each([
    ['empty body (documented "nothing is returned")', fixture('show_opt_empty.csv'), []],
    ['blank lines only', '\n\r\n', []],
    [
      'an empty last record (blank line) is not a row',
      fixture('show_opt_empty_last_record.csv'),
      ['jane@mydomain.com'],
    ],
    ['a quoted empty cell IS a row (rejected later in SQL)', '"Email"\n""\n', ['']],
    ['whitespace and case kept as received', '"Email"\n" Jane@X.test "\n', [' Jane@X.test ']],
    ['no header row: first column is the address', '"a@x.test"\n"b@x.test"\n', ['a@x.test', 'b@x.test']],
    [
      'a repeated row is staged twice (dedupe is SQL)',
      '"Email"\n"a@x.test"\n"a@x.test"\n',
      ['a@x.test', 'a@x.test'],
    ],
    ['CRLF line ends and a BOM', '\uFEFF"Email"\r\n"a@x.test"\r\n', ['a@x.test']],
  ])('%s', (_name, body, emails) => {
    expect(parse(response(body), listWindow, ctx()).rows.map((r: RawRow) => r.email)).toEqual(emails);
  });

  it('falls back to Latin-1 when a body declared UTF-8 does not decode (§6)', () => {
    const body = Buffer.concat([
      Buffer.from('"Email"\n"jos'),
      Buffer.from([0xe9]),
      Buffer.from('@x.test"\n'),
    ]);
    expect(parse(response(body), listWindow, ctx()).rows[0]?.email).toBe('josé@x.test');
  });

  it.each([
    ['Invalid credentials', fixture('invalid_credentials.txt'), 'fatal', 'AUTH'],
    ['auth-like FAILURE', 'FAILURE: Invalid password for realm', 'fatal', 'AUTH'],
    ['temporary FAILURE', fixture('failure_temporary.txt'), 'retriable', 'TEMPORARY'],
    ['server busy', 'FAILURE: Server busy, try again', 'retriable', 'TEMPORARY'],
    ['list does not exist', fixture('failure_list_not_found.txt'), 'skippable', 'LIST_NOT_FOUND'],
    ['days too large', fixture('failure_days_too_large.txt'), 'skippable', 'DAYS_TOO_LARGE'],
    ['other FAILURE', 'FAILURE: Missing or invalid argument: days', 'skippable', 'FAILURE'],
    [
      'customer key FAILURE is not an auth error',
      'FAILURE: Customer Key is required for this realm',
      'skippable',
      'FAILURE',
    ],
    ['a body cut inside a quoted cell', fixture('show_opt_truncated.csv'), 'retriable', 'BAD_CSV'],
    ['ragged rows', '"Email"\n"a@x.test","1"\n', 'retriable', 'BAD_CSV'],
    ['an HTML page in a 200', '<html><body>Maintenance</body></html>', 'retriable', 'NOT_CSV'],
    ['a write result to a read', fixture('unsub_success.txt'), 'skippable', 'UNEXPECTED_ANSWER'],
  ])('%s → %s', (_name, body, family, code) => {
    const error = thrown(() => parse(response(body), listWindow, ctx()));
    expect(error.details).toMatchObject({
      family,
      providerCode: code,
      accountId: 'wc-main',
      provider: 'whatcounts',
    });
    expect(error.message).toContain('wc-main');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(REALM);
  });

  it('tells the user to check the credentials on an auth error', () => {
    expect(thrown(() => classifyAnswer('Invalid credentials', 'wc-x')).message).toMatch(
      /account wc-x.*check the account's credentials/,
    );
  });

  it('does not treat a write result in which no row took effect as an error (seed FAILURE template)', () => {
    expect(() => classifyAnswer(fixture('unsub_failure_counts.txt'), 'a')).not.toThrow();
  });
});

describe('parseWriteResult (seed "Results")', () => {
  it.each([
    ['unsub_success.txt', { ok: true, processed: 1, unsubscribed: 1, listId: '5', contacts: 1, failed: 0 }],
    ['unsub_partial.txt', { ok: true, processed: 3, unsubscribed: 2, listId: '5', contacts: 2, failed: 1 }],
    [
      'unsub_failure_counts.txt',
      { ok: false, processed: 2, unsubscribed: 0, listId: '0', contacts: 0, failed: 2 },
    ],
  ])('%s', (name, expected) => {
    expect(parseWriteResult(fixture(name))).toMatchObject(expected);
  });
  it('returns null for anything else', () => {
    expect(parseWriteResult('FAILURE: List 5 does not exist')).toBeNull();
    expect(parseWriteResult('')).toBeNull();
  });
});

describe('days windows', () => {
  const meta = (daysMode: 'rolling' | 'calendar'): WhatCountsAccountMeta => ({ daysMode, timezone: ZONE });

  it.each([
    // [name, now, target, expected days]
    ['exactly one day back (rolling needs 1, calendar 2)', '2024-06-15T12:00:00Z', '2024-06-14T12:00:00Z', 2],
    ['a minute into today (LA)', '2024-06-15T12:00:00Z', '2024-06-15T07:01:00Z', 1],
    ['local midnight yesterday', '2024-06-15T12:00:00Z', '2024-06-14T07:00:00Z', 2],
    ['one ms before local midnight yesterday', '2024-06-15T12:00:00Z', '2024-06-14T06:59:59.999Z', 3],
    ['across the spring-forward day (23 h)', '2024-03-11T19:00:00Z', '2024-03-09T08:00:00Z', 3],
    ['across the fall-back day (25 h)', '2024-11-04T08:30:00Z', '2024-11-02T07:00:00Z', 3],
    ['month end / leap day', '2024-03-01T08:00:00Z', '2024-02-28T08:00:00Z', 3],
  ])('%s', (_name, now, target, days) => {
    expect(daysReaching(Date.parse(target), Date.parse(now), ZONE)).toBe(days);
  });

  it('property: the planned days reach the target under both readings, and one day less does not', () => {
    const t0 = Date.parse('2015-01-01T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 * 365 * DAY_MS }),
        fc.integer({ min: 1, max: 400 * DAY_MS }),
        fc.constantFrom(ZONE, 'UTC', 'Asia/Shanghai', 'Australia/Sydney'),
        (offset, back, zone) => {
          const now = t0 + offset;
          const target = now - back;
          const days = daysReaching(target, now, zone);
          const starts = (d: number) =>
            (['rolling', 'calendar'] as const).map((m) =>
              windowStart(now, d, { daysMode: m, timezone: zone }),
            );
          expect(Math.max(...starts(days))).toBeLessThanOrEqual(target);
          if (days > 1) expect(Math.max(...starts(days - 1))).toBeGreaterThan(target);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('plans one window per scope: global, then each configured list, each [range.from, now)', () => {
    const range = { from: NOW - 3 * DAY_MS, to: NOW - DAY_MS }; // `to` before now: rows after it still come back
    const windows = planWindows(range, ctx(account({ options: { lists: ['5', 12, '5'] } })));
    expect(windows.map((w) => w.scope)).toEqual(['global', 'list:5', 'list:12']);
    for (const w of windows) {
      expect(w.from).toBe(range.from);
      expect(w.to).toBe(NOW);
      expect(coverageGaps(range, [w])).toEqual({ gaps: [], overlaps: [] });
    }
    expect(windows[0]!.params).toEqual({ c: 'show_optglobal', days: '4' });
    expect(windows[2]!.params).toEqual({ c: 'show_opt', list_id: '12', days: '4' });
    // The slack: a request sent up to SEND_DELAY_SLACK_MS late still reaches range.from (rolling).
    expect(NOW + SEND_DELAY_SLACK_MS - 4 * DAY_MS).toBeLessThanOrEqual(range.from);
    expect(windowStart(NOW, 4, meta('calendar'))).toBeLessThanOrEqual(range.from);
  });

  it('property: every scope covers the range exactly once, whatever the range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 * DAY_MS }),
        fc.integer({ min: 0, max: 5000 * DAY_MS }),
        (len, gap) => {
          const range = { from: NOW - gap - len, to: NOW - gap };
          const windows = planWindows(range, ctx());
          expect(windows).toHaveLength(3);
          for (const scope of ['global', 'list:5', 'list:12']) {
            const mine = windows.filter((w) => w.scope === scope);
            expect(mine).toHaveLength(1);
            expect(coverageGaps(range, mine)).toEqual({ gaps: [], overlaps: [] });
            expect(Number(mine[0]!.params['days'])).toBeLessThanOrEqual(MAX_DAYS);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('caps days at MAX_DAYS and moves `from` to what that request really covers', () => {
    const range = { from: Date.parse('1900-01-01T00:00:00Z'), to: NOW };
    const [w] = planWindows(range, ctx());
    expect(w!.params['days']).toBe(String(MAX_DAYS));
    expect(w!.from).toBeGreaterThan(range.from);
    expect(w!.from).toBeGreaterThanOrEqual(windowStart(NOW, MAX_DAYS, meta('calendar')));
    expect(w!.from).toBeGreaterThanOrEqual(windowStart(NOW, MAX_DAYS, meta('rolling')));
  });

  it('plans nothing for an empty range or one that starts at or after now; never splits', () => {
    expect(planWindows({ from: NOW - DAY_MS, to: NOW - DAY_MS }, ctx())).toEqual([]);
    expect(planWindows({ from: NOW, to: NOW + DAY_MS }, ctx())).toEqual([]);
    expect(splitWindow()).toBeNull();
    expect(whatcountsProvider.splitWindow(listWindow, ctx())).toBeNull();
  });
});

describe('request', () => {
  it('POSTs the listing form with credentials in the body, never in the URL', () => {
    const spec = request(listWindow, {}, ctx());
    expect(spec.method).toBe('POST');
    expect(spec.url).toBe('https://api.whatcounts.test/bin/api_web');
    expect(spec.idempotent).toBe(true);
    expect(spec.headers?.['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(String(spec.body)))).toEqual({
      c: 'show_opt',
      r: REALM,
      p: PASSWORD,
      list_id: '5',
      days: '11',
      output_format: 'csv',
      headers: '1',
    });
    expect(spec.window).toEqual({
      from: new Date(listWindow.from).toISOString(),
      to: new Date(listWindow.to).toISOString(),
    });
  });

  it('asks show_optglobal without list_id for the global scope; honours a baseUrl path prefix', () => {
    const acc = account({ baseUrl: 'https://mail.example.test/wc/' });
    const spec = request({ ...listWindow, scope: 'global', params: { days: '3' } }, {}, ctx(acc));
    expect(spec.url).toBe('https://mail.example.test/wc/bin/api_web');
    const args = new URLSearchParams(String(spec.body));
    expect(args.get('c')).toBe('show_optglobal');
    expect(args.has('list_id')).toBe(false);
    expect(args.get('days')).toBe('3');
  });
});

describe('end to end: windows → paging → HttpEngine → parse, against the simulator', () => {
  let sim: WhatCountsSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  async function readAll(acc: AccountConfig, range: { from: number; to: number }, now: number) {
    const http = new HttpEngine({ redact: createRedactor([REALM, PASSWORD]), sleep: async () => {} });
    const c = ctx(acc, now);
    const rows: RawRow[] = [];
    const windows = whatcountsProvider.planWindows(range, c);
    for (const window of windows) {
      const pages = paginate({
        paginator: whatcountsProvider.paginator(window, c),
        fetchPage: async (req) => {
          let page = { rows: [] as readonly RawRow[] };
          const res = await http.request(whatcountsProvider.request(window, req, c), (r) => {
            page = whatcountsProvider.parse(r, window, c);
          });
          return { page, info: { rows: page.rows.length, fingerprint: fingerprint(res.body) } };
        },
      });
      for await (const p of pages) rows.push(...p.page.rows);
    }
    await http.close();
    return { rows, windows };
  }

  it.each(['rolling', 'calendar'] as const)(
    'reads every entry of each configured scope exactly once (%s days)',
    async (daysMode) => {
      // Around the spring-forward change in Los Angeles, so calendar days of 23 h are involved.
      const now = Date.parse('2024-03-12T18:30:00Z');
      const range = { from: Date.parse('2024-03-08T05:00:00Z'), to: now }; // 21:00 PST: calendar needs a day more than rolling
      const days = daysReaching(range.from - SEND_DELAY_SLACK_MS, now, ZONE);
      const start = windowStart(now, days, { daysMode, timezone: ZONE });
      const entries: SimEntry[] = [];
      const scopes = [undefined, '5', '12', '7']; // list 7 exists but is not configured: never read
      for (let i = 0; i < 320; i++) {
        const listId = scopes[i % 4];
        const at = start + Math.floor(((now - start) * i) / 320);
        entries.push({ email: `u${i}@x.test`, at, ...(listId ? { listId } : {}) });
      }
      // Boundaries: the window's first instant, range.from itself, now itself (all read), and one
      // ms before the window start (not read: outside what `days` asks).
      entries.push(
        { email: 'start@x.test', at: start },
        { email: 'from@x.test', at: range.from, listId: '5' },
      );
      entries.push({ email: 'now@x.test', at: now, listId: '12' }, { email: 'before@x.test', at: start - 1 });
      entries.push({ email: 'Mixed.Case@X.test ', at: range.from + 1 });
      sim = await startWhatCountsSimulator({
        now: () => now,
        accounts: [
          { realm: REALM, password: PASSWORD, store: entries, lists: [5, 7, 12], daysMode, timezone: ZONE },
        ],
      });
      const { rows, windows } = await readAll(account({ baseUrl: sim.url }), range, now);
      expect(windows.map((w) => w.params['days'])).toEqual([String(days), String(days), String(days)]);

      const key = (scope: string, email: string) => `${scope} ${email}`;
      const expected = entries
        .filter((e) => e.at >= start && e.at <= now && e.listId !== '7')
        .map((e) => key(e.listId ? `list:${e.listId}` : 'global', e.email))
        .sort();
      expect(rows.map((r) => key(r.scope, r.email)).sort()).toEqual(expected);
      expect(new Set(expected).size).toBe(expected.length); // exactly once each
      expect(expected).toContain(key('list:5', 'from@x.test'));
      expect(expected).toContain(key('global', 'Mixed.Case@X.test '));
      expect(rows.some((r) => r.email === 'before@x.test')).toBe(false);
      // Everything in the planned range is in (the plan's coverage claim).
      for (const e of entries.filter((x) => x.at >= range.from && x.listId !== '7'))
        expect(expected).toContain(key(e.listId ? `list:${e.listId}` : 'global', e.email));
      // One request per scope, all reads, nothing else.
      expect(sim.journal.entries().map((e) => e.params['c'])).toEqual([
        'show_optglobal',
        'show_opt',
        'show_opt',
      ]);
      expect(sim.journal.writes()).toHaveLength(0);
    },
  );

  it('retries a temporary FAILURE and reads the window once it passes', async () => {
    const now = NOW;
    sim = await startWhatCountsSimulator({
      now: () => now,
      accounts: [
        {
          realm: REALM,
          password: PASSWORD,
          store: [{ email: 'g@x.test', at: now - DAY_MS }],
          faults: 'inband-error:1',
        },
      ],
    });
    const { rows } = await readAll(
      account({ baseUrl: sim.url, options: { lists: [] } }),
      { from: now - 2 * DAY_MS, to: now },
      now,
    );
    expect(rows.map((r) => r.email)).toEqual(['g@x.test']);
    expect(sim.journal.reads()).toHaveLength(2);
  });

  it('fails fatally, naming the account and not the secrets, on bad credentials', async () => {
    sim = await startWhatCountsSimulator({ accounts: [{ realm: REALM, password: 'other-password' }] });
    const error = await readAll(account({ baseUrl: sim.url }), { from: NOW - DAY_MS, to: NOW }, NOW).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).details.family).toBe('fatal');
    expect((error as Error).message).toContain('wc-main');
    expect((error as Error).message).not.toContain(PASSWORD);
    expect(sim.journal.size).toBe(1); // not retried
  });

  it('a missing list is skippable: the error names the list', async () => {
    sim = await startWhatCountsSimulator({
      now: () => NOW,
      accounts: [{ realm: REALM, password: PASSWORD, lists: [5] }],
    });
    const error = await readAll(account({ baseUrl: sim.url }), { from: NOW - DAY_MS, to: NOW }, NOW).catch(
      (e) => e,
    );
    expect((error as ProviderError).details).toMatchObject({
      family: 'skippable',
      providerCode: 'LIST_NOT_FOUND',
    });
    expect((error as Error).message).toMatch(/list 12 does not exist.*options\.lists/);
  });
});
