// WhatCounts simulator driven by raw HTTP built from the seed's request examples
// (shared/seeds/003_…txt) and the Show Optouts docs quoted in shared/providers/whatcounts.md.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GeneratedStore, type SimEntry } from '../../../../extractors/core/simulator/index.js';
import {
  startWhatCountsSimulator,
  type WhatCountsSimAccountInput,
  type WhatCountsSimulator,
} from '../../../../extractors/whatcounts/simulator.js';

const NOW = Date.parse('2024-06-15T12:00:00Z'); // 05:00 in Los Angeles (PDT)
const H = 3_600_000;
const D = 24 * H;

const entries = (): SimEntry[] => [
  { email: 'joe@mydomain.com', at: NOW - 40 * D, listId: '5' },
  { email: 'john@mydomain.com', at: NOW - 10 * D, listId: '5' },
  { email: 'jane@mydomain.com', at: NOW - 2 * D, listId: '5' },
  { email: 'seven@mydomain.com', at: NOW - 1 * D, listId: '7' },
  { email: 'future@mydomain.com', at: NOW + H, listId: '5' },
  { email: 'old.global@x.test', at: NOW - 100 * D },
  { email: 'global@x.test', at: NOW - 23 * H },
  { email: 'yesterday.global@x.test', at: NOW - 25 * H },
];

const realms = (): WhatCountsSimAccountInput[] => [
  {
    realm: 'myrealm',
    password: 'mypass',
    id: 'wc-main',
    store: entries(),
    lists: [5, 7, 9],
    subscriptions: {
      '5': ['john.smith@domain.com', 'jane@domain.com', 'jane.doe@domain.com', 'both@x.test'],
      '7': ['both@x.test'],
    },
  },
  {
    realm: 'ckrealm',
    password: 'ck-password',
    customerKey: true,
    customerKeys: { 'ck@x.test': '11293' },
    store: [{ email: 'ck@x.test', at: NOW - H }],
    lists: [5],
  },
  {
    realm: 'calrealm',
    password: 'cal-password',
    daysMode: 'calendar',
    // 06:00Z on the 15th = 23:00 PDT on the 14th: "yesterday" in the realm's zone.
    store: [{ email: 'late.yesterday@x.test', at: NOW - 6 * H }],
    maxDays: 3650,
    unknownContact: 'fail',
    lists: [5],
    subscriptions: { '5': ['member@x.test'] },
  },
];

let sim: WhatCountsSimulator;
const resetSim = async () => {
  await sim?.close();
  sim = await startWhatCountsSimulator({ accounts: realms(), now: () => NOW });
};
beforeAll(resetSim);
afterAll(() => sim.close());

/** GET with the query written exactly as in the docs (`api_web?…`). */
const get = async (query: string, init: RequestInit = {}) => {
  const res = await fetch(`${sim.url}/bin/${query}`, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};
/** POST as every public client does: the same arguments, form-encoded. */
const post = async (args: Record<string, string>) => {
  const res = await fetch(`${sim.url}/bin/api_web`, { method: 'POST', body: new URLSearchParams(args) });
  return { status: res.status, body: await res.text() };
};
const auth = 'r=myrealm&p=mypass';

describe('show_opt / show_optglobal (Show Optouts docs)', () => {
  it('answers the documented CSV example with headers=1, oldest first, within `days`', async () => {
    const r = await get(`api_web?c=show_opt&${auth}&list_id=5&days=30&output_format=csv&headers=1`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/csv/);
    expect(r.body).toBe('"Email"\n"john@mydomain.com"\n"jane@mydomain.com"\n');
  });

  it.each([
    [
      'plain text by default, one address per line',
      `c=show_opt&${auth}&list_id=5&days=7`,
      'jane@mydomain.com\n',
    ],
    ['CSV without headers', `c=show_opt&${auth}&list_id=5&days=7&output_format=csv`, '"jane@mydomain.com"\n'],
    [
      'XML with the <data> root',
      `c=show_opt&${auth}&list_id=5&days=30&output_format=xml`,
      '<data><email>john@mydomain.com</email><email>jane@mydomain.com</email></data>',
    ],
    ['only the named list', `c=show_opt&${auth}&list_id=7&days=30`, 'seven@mydomain.com\n'],
    ['the show_optout spelling', `c=show_optout&${auth}&list_id=7&days=30`, 'seven@mydomain.com\n'],
    ['global opt-outs only', `c=show_optglobal&${auth}&days=30`, 'yesterday.global@x.test\nglobal@x.test\n'],
    [
      'a large days reaches the whole history',
      `c=show_optglobal&${auth}&days=3650`,
      'old.global@x.test\nyesterday.global@x.test\nglobal@x.test\n',
    ],
    ['nothing at all when no row matches', `c=show_opt&${auth}&list_id=5&days=1`, ''],
    [
      'nothing, not a header-only CSV',
      `c=show_opt&${auth}&list_id=9&days=30&output_format=csv&headers=1`,
      '',
    ],
    ['long argument names', 'cmd=show_optglobal&realm=myrealm&pwd=mypass&days=1', 'global@x.test\n'],
  ])('%s', async (_name, query, expected) => {
    expect((await get(`api_web?${query}`)).body).toBe(expected);
  });

  it('answers a POSTed form (urlencoded and multipart) exactly like the GET', async () => {
    const args = { c: 'show_opt', r: 'myrealm', p: 'mypass', list_id: '5', days: '30' };
    const expected = 'john@mydomain.com\njane@mydomain.com\n';
    expect((await post(args)).body).toBe(expected);
    const form = new FormData();
    for (const [k, v] of Object.entries(args)) form.append(k, v);
    const res = await fetch(`${sim.url}/bin/api_web`, { method: 'POST', body: form });
    expect(await res.text()).toBe(expected);
  });

  it('never lists an opt-out dated after "now"', async () => {
    expect((await get(`api_web?c=show_opt&${auth}&list_id=5&days=99999`)).body).not.toContain('future@');
  });

  it('rolling days: days=1 is the last 24 h (23 h ago in, 25 h ago out)', async () => {
    expect((await get(`api_web?c=show_optglobal&${auth}&days=1`)).body).toBe('global@x.test\n');
    expect((await get(`api_web?c=show_optglobal&${auth}&days=2`)).body).toBe(
      'yesterday.global@x.test\nglobal@x.test\n',
    );
  });

  it('calendar days (realm option): days=1 starts at local midnight in America/Los_Angeles', async () => {
    const q = (days: number) => `api_web?c=show_optglobal&r=calrealm&p=cal-password&days=${days}`;
    expect((await get(q(1))).body).toBe(''); // 6 h ago, but before today's local midnight
    expect((await get(q(2))).body).toBe('late.yesterday@x.test\n');
  });

  it('Customer Key realms get the extra customer_key column', async () => {
    const q = 'c=show_optglobal&r=ckrealm&p=ck-password&days=1';
    expect((await get(`api_web?${q}&output_format=csv&headers=1`)).body).toBe(
      '"Email","customer_key"\n"ck@x.test","11293"\n',
    );
    expect((await get(`api_web?${q}`)).body).toBe('ck@x.test,11293\n');
    expect((await get(`api_web?${q}&output_format=xml`)).body).toBe(
      '<data><email>ck@x.test</email><customer_key>11293</customer_key></data>',
    );
  });

  it('streams a window of a 5M-row realm from the lazy store', async () => {
    const big = 5_000_000;
    const store = new GeneratedStore(big, (i) => ({ email: `u${i}@big.test`, at: NOW - (big - i) * 1000 }));
    sim.addAccount({ realm: 'bigrealm', password: 'big-password', store });
    // The last day holds 86 400 rows (one per second); the answer is never built whole.
    const r = await get('api_web?c=show_optglobal&r=bigrealm&p=big-password&days=1&output_format=csv');
    const lines = r.body.split('\n');
    expect(lines.length - 1).toBe(86_400);
    expect(lines[0]).toBe(`"u${big - 86_400}@big.test"`);
    expect(lines.at(-2)).toBe(`"u${big - 1}@big.test"`);
  });
});

describe('errors: one line in an HTTP 200', () => {
  it.each([
    ['wrong password', 'c=show_optglobal&r=myrealm&p=nope&days=1', 'Invalid credentials'],
    ['unknown realm', 'c=show_optglobal&r=other&p=mypass&days=1', 'Invalid credentials'],
    ['no credentials', 'c=show_optglobal&days=1', 'Invalid credentials'],
    ['unknown command', `c=delete_everything&${auth}`, 'FAILURE: Invalid command'],
    [
      'show_opt without list_id',
      `c=show_opt&${auth}&days=1`,
      'FAILURE: Missing or invalid argument: list_id',
    ],
    ['show_opt of a missing list', `c=show_opt&${auth}&list_id=8&days=1`, 'FAILURE: List 8 does not exist'],
    ['no days', `c=show_optglobal&${auth}`, 'FAILURE: Missing or invalid argument: days'],
    ['days=0', `c=show_optglobal&${auth}&days=0`, 'FAILURE: Missing or invalid argument: days'],
    ['days not a number', `c=show_optglobal&${auth}&days=7d`, 'FAILURE: Missing or invalid argument: days'],
    [
      'days over the realm maximum',
      'c=show_optglobal&r=calrealm&p=cal-password&days=3651',
      'FAILURE: days must be between 1 and 3650',
    ],
    ['unsub without data', `c=unsub&${auth}&list_id=5`, 'FAILURE: Missing required argument: data'],
    [
      'unsub without list_id',
      `c=unsub&${auth}&data=email^a@x.test`,
      'FAILURE: Missing or invalid argument: list_id',
    ],
    [
      'unsub on a missing list',
      `c=unsub&${auth}&list_id=8&data=email^a@x.test`,
      'FAILURE: List 8 does not exist',
    ],
    [
      'data header without email',
      `c=unsub&${auth}&list_id=5&data=first^Jane`,
      'FAILURE: Email address is required in the data header',
    ],
    [
      'data with a header only',
      `c=unsub&${auth}&list_id=5&data=email`,
      'FAILURE: No contact records in data',
    ],
    [
      'Customer Key realm without customer_key (seed)',
      'c=unsubscribe&r=ckrealm&p=ck-password&list_id=5&data=email^jane@domain.com',
      'FAILURE: Customer Key is required for this realm',
    ],
    [
      'sub without format',
      `c=sub&${auth}&list_id=5&data=email^a@x.test`,
      'FAILURE: Missing or invalid argument: format (1, 2 or 99)',
    ],
    [
      'sub to list 0',
      `c=sub&${auth}&list_id=0&format=1&data=email^a@x.test`,
      'FAILURE: list_id must be a list, not 0',
    ],
  ])('%s', async (_name, query, expected) => {
    const r = await get(`api_web?${query}`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(expected);
  });

  it('answers 404 off the api_web path', async () => {
    expect((await get(`other?c=show_optglobal&${auth}&days=1`)).status).toBe(404);
  });
});

describe('unsub (seed "HTTP Unsubscribe from List")', () => {
  beforeEach(resetSim);
  const optouts = async (list: string) =>
    (await get(`api_web?c=${list === '0' ? 'show_optglobal' : `show_opt&list_id=${list}`}&${auth}&days=1`))
      .body;

  it('seed example: removes the subscription, creates no opt-out record without optout=1', async () => {
    const r = await get(`api_web?${auth}&c=unsub&list_id=5&data=email^john.smith@domain.com`);
    expect(r.body).toBe(
      'SUCCESS: 1 record(s) processed. 1 users unsubscribed from list(s) 5 (1 total contacts), Records Failed Other Error 0',
    );
    expect(sim.realm('myrealm').subscriptions['5']).not.toContain('john.smith@domain.com');
    expect(await optouts('5')).toBe('');
  });

  it('seed example with optout=1: the contact shows in show_opt', async () => {
    const r = await get(`api_web?${auth}&c=unsub&list_id=5&optout=1&data=email,first^jane@domain.com,Jane`);
    expect(r.body).toBe(
      'SUCCESS: 1 record(s) processed. 1 users unsubscribed from list(s) 5 (1 total contacts), Records Failed Other Error 0',
    );
    expect(await optouts('5')).toBe('jane@domain.com\n');
    expect(await optouts('0')).not.toContain('jane@domain.com');
  });

  it('seed global opt-out example (stray space before ^): every list left, global record made', async () => {
    const r = await get(
      `api_web?${auth}&c=unsubscribe&list_id=0&optout=1&data=email,first ^both@x.test,Jayne`,
    );
    expect(r.body).toBe(
      'SUCCESS: 1 record(s) processed. 1 users unsubscribed from list(s) 0 (1 total contacts), Records Failed Other Error 0',
    );
    const subs = sim.realm('myrealm').subscriptions;
    expect([...(subs['5'] ?? []), ...(subs['7'] ?? [])]).not.toContain('both@x.test');
    expect(await optouts('0')).toBe('global@x.test\nboth@x.test\n');
    expect(sim.dump().accounts[0]?.entries.find((e) => e.email === 'both@x.test')).toEqual({
      email: 'both@x.test',
      at: NOW,
    });
  });

  it('list_id=0 without optout leaves every list but records nothing', async () => {
    const r = await get(`api_web?${auth}&c=unsub&list_id=0&data=email^both@x.test`);
    expect(r.body).toMatch(/^SUCCESS: 1 record\(s\) processed\. 1 users unsubscribed from list\(s\) 0 /);
    expect(await optouts('0')).toBe('global@x.test\n');
  });

  it('seed multiple-contact example: partial failure reported only as a count', async () => {
    const r = await get(
      `api_web?${auth}&c=unsubscribe&list_id=5&data=email,first^jane@domain.com,Jayne^jane.doe@domain.com,Jane^jdoe@domain.com,Jane`,
    );
    expect(r.body).toBe(
      'SUCCESS: 3 record(s) processed. 2 users unsubscribed from list(s) 5 (2 total contacts), Records Failed Other Error 1',
    );
  });

  it('one row per line (newer doc page) and a repeated address count as rows, not contacts', async () => {
    const data = 'email\n^jane@domain.com\n^JANE@domain.com\n^jane.doe@domain.com';
    const r = await post({ c: 'unsub', r: 'myrealm', p: 'mypass', list_id: '5', optout: '1', data });
    expect(r.body).toBe(
      'SUCCESS: 3 record(s) processed. 3 users unsubscribed from list(s) 5 (2 total contacts), Records Failed Other Error 0',
    );
    expect(await optouts('5')).toBe('jane.doe@domain.com\njane@domain.com\n');
  });

  it('is idempotent with optout=1: an address already opted out counts as done, keeps its date', async () => {
    const r = await get(`api_web?${auth}&c=unsub&list_id=5&optout=1&data=email^jane@mydomain.com`);
    expect(r.body).toMatch(/^SUCCESS: 1 record\(s\) processed\. 1 users unsubscribed/);
    expect(sim.dump().accounts[0]?.entries.filter((e) => e.email === 'jane@mydomain.com')).toEqual([
      { email: 'jane@mydomain.com', at: NOW - 2 * D, listId: '5' },
    ]);
  });

  it('an address never seen gets an opt-out record with optout=1 (default realm)', async () => {
    const r = await post({
      c: 'unsub',
      r: 'myrealm',
      p: 'mypass',
      list_id: '0',
      optout: '1',
      data: 'email^new@x.test',
    });
    expect(r.body).toMatch(/^SUCCESS: 1 record/);
    expect(await optouts('0')).toContain('new@x.test');
  });

  it.each([
    ['no subscription and no optout', 'c=unsub&list_id=5&data=email^stranger@x.test'],
    ['an invalid address', 'c=unsub&list_id=5&optout=1&data=email^not-an-address'],
    ['an unencoded + in a GET (decodes to a space)', 'c=unsub&list_id=5&optout=1&data=email^a+b@x.test'],
    ['a row with the wrong field count', 'c=unsub&list_id=5&optout=1&data=email,first^x@x.test,X,extra'],
  ])('FAILURE with the counter sentence when no row takes effect: %s', async (_name, query) => {
    expect((await get(`api_web?${auth}&${query}`)).body).toBe(
      'FAILURE: 1 record(s) processed. 0 users unsubscribed from list(s) 5 (0 total contacts), Records Failed Other Error 1',
    );
  });

  it("unknownContact 'fail' realms refuse an unknown address even with optout=1", async () => {
    const base = 'c=unsub&r=calrealm&p=cal-password&list_id=5&optout=1';
    expect((await get(`api_web?${base}&data=email^stranger@x.test^member@x.test`)).body).toBe(
      'SUCCESS: 2 record(s) processed. 1 users unsubscribed from list(s) 5 (1 total contacts), Records Failed Other Error 1',
    );
  });

  it('seed Customer Key example: customer_key accepted, key shown in the listing', async () => {
    const r = await get(
      'api_web?r=ckrealm&p=ck-password&c=unsubscribe&list_id=5&optout=1&data=customer_key,email^55,jane@domain.com',
    );
    expect(r.body).toMatch(/^SUCCESS: 1 record\(s\) processed\. 1 users unsubscribed from list\(s\) 5/);
    const listing = await get(
      'api_web?c=show_opt&r=ckrealm&p=ck-password&list_id=5&days=1&output_format=csv&headers=1',
    );
    expect(listing.body).toBe('"Email","customer_key"\n"jane@domain.com","55"\n');
    // an empty customer_key value fails the row
    const empty = await get(
      'api_web?r=ckrealm&p=ck-password&c=unsub&list_id=5&optout=1&data=customer_key,email^,x@x.test',
    );
    expect(empty.body).toMatch(/^FAILURE: 1 record\(s\) processed\. 0 users/);
  });
});

describe('sub with force_sub=1: the only undo', () => {
  beforeEach(resetSim);
  const sub = (extra: string) => get(`api_web?${auth}&c=sub&list_id=5&format=1&${extra}`);

  it('refuses a list opt-out without force_sub, clears it and subscribes with force_sub=1', async () => {
    expect((await sub('data=email^jane@mydomain.com')).body).toBe(
      'FAILURE: 1 record(s) processed. 0 users subscribed to list(s) 5 (0 total contacts), Records Failed Opt Out 1, Records Failed Other Error 0',
    );
    expect((await sub('force_sub=1&data=email^jane@mydomain.com')).body).toBe(
      'SUCCESS: 1 record(s) processed. 1 users subscribed to list(s) 5 (1 total contacts), Records Failed Opt Out 0, Records Failed Other Error 0',
    );
    expect((await get(`api_web?c=show_opt&${auth}&list_id=5&days=30`)).body).toBe('john@mydomain.com\n');
    expect(sim.realm('myrealm').subscriptions['5']).toContain('jane@mydomain.com');
  });

  it('a global opt-out blocks every list and force_sub clears it', async () => {
    expect((await sub('data=email^global@x.test')).body).toMatch(/Records Failed Opt Out 1/);
    expect((await sub('force_sub=1&data=email^global@x.test')).body).toMatch(/^SUCCESS: 1 record/);
    expect((await get(`api_web?c=show_optglobal&${auth}&days=1`)).body).toBe('');
  });

  it('subscribes a new contact (doc example with first name)', async () => {
    expect((await sub('data=email,first^fresh@x.test,Jane')).body).toMatch(/^SUCCESS: 1 record/);
    expect(sim.realm('myrealm').subscriptions['5']).toContain('fresh@x.test');
  });
});

describe('journal and dump', () => {
  beforeEach(resetSim);

  it('records method, path, masked secrets, kind and status', async () => {
    await get(`api_web?c=show_optglobal&${auth}&days=1`);
    await post({ c: 'unsub', r: 'myrealm', p: 'mypass', list_id: '5', optout: '1', data: 'email^a@x.test' });
    await get('api_web?c=nope&r=myrealm&p=mypass');
    const [read, write, other] = sim.journal.entries();
    expect(read).toMatchObject({
      method: 'GET',
      path: '/bin/api_web',
      status: 200,
      kind: 'read',
      account: 'wc-main',
    });
    expect(read?.params).toMatchObject({ r: '***', p: '***', c: 'show_optglobal', days: '1' });
    expect(write).toMatchObject({
      method: 'POST',
      kind: 'write',
      params: { data: 'email^a@x.test', p: '***' },
    });
    expect(other?.kind).toBe('other');
    expect(JSON.stringify(sim.journal.entries())).not.toMatch(/mypass|myrealm/);
    expect(JSON.stringify(sim.dump())).not.toMatch(/mypass|myrealm/);
    expect(sim.journal.writes('wc-main')).toHaveLength(1);
  });
});

describe('faults (per realm, deterministic)', () => {
  beforeEach(resetSim);
  const read = (init: RequestInit = {}) => get(`api_web?c=show_opt&${auth}&list_id=5&days=30`, init);
  const full = 'john@mydomain.com\njane@mydomain.com\n';

  it('rate-limit: 429 with Retry-After, then served', async () => {
    sim.setFaults('myrealm', 'rate-limit/7:1');
    const res = await fetch(`${sim.url}/bin/api_web?c=show_opt&${auth}&list_id=5&days=30`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    await res.text();
    expect((await read()).body).toBe(full);
  });

  it('per-realm token bucket answers 429 when exceeded', async () => {
    sim.setRateLimit('myrealm', { requestsPerSecond: 1, burst: 1 });
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(429);
  });

  it.each([500, 502, 503])('server-error/%i', async (status) => {
    sim.setFaults('myrealm', `server-error/${status}:1`);
    expect((await read()).status).toBe(status);
    expect((await read()).body).toBe(full);
  });

  it('drop-socket: the connection dies mid-response', async () => {
    sim.setFaults('myrealm', 'drop-socket:1');
    await expect(read()).rejects.toThrow();
  });

  it('slow: no answer before the client timeout', async () => {
    sim.setFaults('myrealm', 'slow/2000:1');
    await expect(read({ signal: AbortSignal.timeout(200) })).rejects.toThrow();
  });

  it('truncate: body shorter than its Content-Length', async () => {
    sim.setFaults('myrealm', 'truncate/0.5:1');
    await expect(read()).rejects.toThrow();
  });

  it('malformed: a cut listing with a consistent Content-Length', async () => {
    sim.setFaults('myrealm', 'malformed/0.5:1');
    const r = await read();
    expect(r.status).toBe(200);
    expect(r.body).toBe(full.slice(0, Math.floor(full.length / 2)));
  });

  it('latency: every request waits', async () => {
    sim.setFaults('myrealm', 'latency/150');
    const t = performance.now();
    await read();
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  it.each([
    ['inband-error', 'FAILURE: Temporary database error, please try again later'],
    ['inband-error/auth', 'Invalid credentials'],
    ['inband-error/Database_unavailable', 'FAILURE: Database_unavailable'],
  ])('%s: a FAILURE line inside HTTP 200', async (spec, body) => {
    sim.setFaults('myrealm', `${spec}:1`);
    const r = await read();
    expect([r.status, r.body]).toEqual([200, body]);
    expect((await read()).body).toBe(full);
  });

  it('inband-error on a write changes nothing', async () => {
    sim.setFaults('myrealm', 'inband-error:1#write');
    const r = await get(`api_web?${auth}&c=unsub&list_id=5&optout=1&data=email^jane@domain.com`);
    expect(r.body).toMatch(/^FAILURE: Temporary/);
    expect(sim.realm('myrealm').subscriptions['5']).toContain('jane@domain.com');
    expect((await get(`api_web?c=show_opt&${auth}&list_id=5&days=1`)).body).toBe('');
  });

  it('duplicate-row: the first row of the answer comes twice', async () => {
    sim.setFaults('myrealm', 'duplicate-row:1');
    expect((await read()).body).toBe('john@mydomain.com\njohn@mydomain.com\njane@mydomain.com\n');
  });

  it('empty-last-page: a trailing empty record; an empty window answers just that record', async () => {
    sim.setFaults('myrealm', 'empty-last-page');
    expect((await read()).body).toBe(`${full}\n`);
    expect((await get(`api_web?c=show_opt&${auth}&list_id=5&days=1&output_format=csv&headers=1`)).body).toBe(
      '"Email"\n\n',
    );
    expect((await get(`api_web?c=show_opt&${auth}&list_id=5&days=30&output_format=xml`)).body).toBe(
      '<data><email>john@mydomain.com</email><email>jane@mydomain.com</email><email></email></data>',
    );
  });

  it('repeat-page: not applicable (no paging) — answer unchanged, noted in the journal', async () => {
    sim.setFaults('myrealm', 'repeat-page:1');
    expect((await read()).body).toBe(full);
    expect(sim.journal.reads().at(-1)?.notes.join(' ')).toMatch(/repeat-page: not applicable/);
  });

  it('shrink: half the opt-out records vanish at once, before the answer is built', async () => {
    const before = sim.dump().accounts[0]?.size ?? 0;
    sim.setFaults('myrealm', 'shrink/0.5');
    // every second record in time order goes (joe, jane, seven, future): list 5 keeps john only
    expect((await read()).body).toBe('john@mydomain.com\n');
    expect(sim.dump().accounts[0]?.size).toBe(before - before / 2);
    expect((await read()).body).toBe('john@mydomain.com\n'); // shrink defaults to once
  });
});
