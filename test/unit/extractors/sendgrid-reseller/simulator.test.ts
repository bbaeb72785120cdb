// Drives the sendgrid-reseller simulator with raw HTTP built from seed 000's request examples
// (`/api/distributor.manage.{xml,json}?api_user=…&api_key=…&method=unsubscribes&user=…&task=…`)
// and checks the answers against the seed's response examples. The legacy Web API logic shared
// with sendgrid-subuser is in extractors/core/sendgrid-legacy/ and is exercised here in full.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCreated, localDayStart } from '../../../../extractors/core/sendgrid-legacy/index.js';
import { GeneratedStore } from '../../../../extractors/core/simulator/index.js';
import {
  PROVIDER_ID,
  type SendgridResellerSimAccountInput,
  startSendgridResellerSimulator,
} from '../../../../extractors/sendgrid-reseller/simulator.js';

const RESELLER = { api_user: 'reseller-login', api_key: 'reseller-s3cret' };
const OTHER_RESELLER = { api_user: 'other-reseller', api_key: 'other-s3cret' };
// 2024-03-15 13:00 in Los Angeles (PDT since 10 March).
const NOW = Date.parse('2024-03-15T20:00:00Z');

// Instants chosen around local midnights and the DST switch of America/Los_Angeles.
const ENTRIES = [
  { email: 'first@example.com', at: Date.parse('2024-01-10T08:00:00Z') }, // 2024-01-10 00:00:00 PST
  { email: 'josé@example.com', at: Date.parse('2024-03-09T12:00:00Z') }, // 2024-03-09 04:00:00 PST
  { email: 'a&b<c>@example.com', at: Date.parse('2024-03-14T07:30:00Z') }, // 2024-03-14 00:30:00 PDT
  { email: 'late@example.com', at: Date.parse('2024-03-15T06:59:59Z') }, // 2024-03-14 23:59:59 PDT
  { email: '用户@例子.test', at: Date.parse('2024-03-15T19:00:00Z') }, // 2024-03-15 12:00:00 PDT
];

const accounts = (): SendgridResellerSimAccountInput[] => [
  { key: 'customer@example.com', id: 'cust', credentials: RESELLER, store: ENTRIES },
  {
    key: 'chicago@example.com',
    id: 'chi',
    credentials: RESELLER,
    store: ENTRIES.slice(0, 1),
    meta: { timezone: 'America/Chicago' },
  },
  { key: 'foreign@example.com', id: 'foreign', credentials: OTHER_RESELLER, store: ENTRIES.slice(0, 2) },
];

type Sim = Awaited<ReturnType<typeof startSendgridResellerSimulator>>;
let sim: Sim;

beforeAll(async () => {
  sim = await startSendgridResellerSimulator({ accounts: accounts(), now: () => NOW });
});
afterAll(async () => {
  await sim.close();
});

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

/** One call; GET puts everything in the query like the seed's examples, POST sends a form. */
async function call(
  params: Record<string, string>,
  opts: {
    format?: 'json' | 'xml';
    method?: 'GET' | 'POST';
    path?: string;
    auth?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const format = opts.format ?? 'json';
  const all = new URLSearchParams({ ...(opts.auth ?? RESELLER), method: 'unsubscribes', ...params });
  const path = opts.path ?? `/api/distributor.manage.${format}`;
  const res =
    opts.method === 'POST'
      ? await fetch(sim.url + path, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: all.toString(),
        })
      : await fetch(`${sim.url}${path}?${all}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  // Decode as the answer declares: XML says ISO-8859-1, JSON is UTF-8.
  const text = bytes.toString(format === 'xml' ? 'latin1' : 'utf8');
  return { status: res.status, headers: res.headers, bytes, text };
}

const get = (params: Record<string, string>, opts?: Parameters<typeof call>[1]) =>
  call({ user: 'customer@example.com', task: 'get', ...params }, opts);
const emails = (a: Answer): string[] => (JSON.parse(a.text) as { email: string }[]).map((r) => r.email);

describe(`${PROVIDER_ID} simulator: reads`, () => {
  it('answers the seed XML call (`date=` empty) with the seed shape and no <created>', async () => {
    const a = await get({ date: '' }, { format: 'xml' });
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toBe('text/xml');
    expect(
      a.text.startsWith('<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<unsubscribes>\n   <unsubscribe>\n'),
    ).toBe(true);
    expect(a.text).toContain('      <email>first@example.com</email>\n   </unsubscribe>');
    expect(a.text).not.toContain('<created>');
    expect(a.text.match(/<unsubscribe>/g)).toHaveLength(ENTRIES.length);
  });

  it('renders `created` only with date=1, as YYYY-MM-DD HH:MM:SS in Los Angeles time, sorted by time', async () => {
    const a = await get({ date: '1' });
    expect(a.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(a.text)).toEqual([
      { email: 'first@example.com', created: '2024-01-10 00:00:00' },
      { email: 'josé@example.com', created: '2024-03-09 04:00:00' },
      { email: 'a&b<c>@example.com', created: '2024-03-14 00:30:00' },
      { email: 'late@example.com', created: '2024-03-14 23:59:59' },
      { email: '用户@例子.test', created: '2024-03-15 12:00:00' },
    ]);
    for (const date of ['0', 'true', '']) {
      const rows = JSON.parse((await get({ date })).text) as object[];
      expect(
        rows.every((r) => !('created' in r)),
        `date=${date}`,
      ).toBe(true);
    }
  });

  it('renders `created` in the account zone from meta.timezone', async () => {
    const a = await call({ user: 'chicago@example.com', task: 'get', date: '1' });
    expect(JSON.parse(a.text)).toEqual([{ email: 'first@example.com', created: '2024-01-10 02:00:00' }]);
  });

  it('encodes XML in ISO-8859-1: é is one byte, non-Latin-1 as &#N;, & < > escaped', async () => {
    const a = await get({ date: '1' }, { format: 'xml' });
    expect(a.bytes.includes(Buffer.from([0x6a, 0x6f, 0x73, 0xe9, 0x40]))).toBe(true); // "jos\xe9@"
    expect(a.bytes.includes(Buffer.from('josé', 'utf8'))).toBe(false);
    expect(a.text).toContain('<email>&#29992;&#25143;@&#20363;&#23376;.test</email>');
    expect(a.text).toContain('<email>a&amp;b&lt;c&gt;@example.com</email>');
    expect(a.text).toContain('<created>2024-03-09 04:00:00</created>');
  });

  it('answers an empty list as [] and <unsubscribes/>', async () => {
    const window = { start_date: '2020-01-01', end_date: '2020-02-01' };
    expect((await get(window)).text).toBe('[]');
    expect((await get(window, { format: 'xml' })).text).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<unsubscribes/>\n',
    );
  });

  // days=N = today and the N−1 days before, in the account zone; dates inclusive at both ends.
  it.each([
    ['days=1 is today (local)', { days: '1' }, ['用户@例子.test']],
    [
      'days=2 starts at yesterday 00:00 local',
      { days: '2' },
      ['a&b<c>@example.com', 'late@example.com', '用户@例子.test'],
    ],
    [
      'start_date is inclusive from local midnight',
      { start_date: '2024-01-10', end_date: '2024-01-11' },
      ['first@example.com'],
    ],
    [
      'end_date is inclusive to local 23:59:59',
      { start_date: '2024-01-09', end_date: '2024-01-10' },
      ['first@example.com'],
    ],
    [
      'a day before start_date is excluded',
      { start_date: '2024-01-11', end_date: '2024-03-09' },
      ['josé@example.com'],
    ],
    [
      '23:59:59 local belongs to its day',
      { start_date: '2024-03-13', end_date: '2024-03-14' },
      ['a&b<c>@example.com', 'late@example.com'],
    ],
    ['email filter is exact and case-insensitive', { email: 'LATE@example.com' }, ['late@example.com']],
  ])('window: %s', async (_name, params, expected) => {
    const a = await get(params);
    expect(a.status).toBe(200);
    expect(emails(a)).toEqual(expected);
  });

  it.each([
    ['days=0', { days: '0' }, 'days: "0" is not an integer greater than 0'],
    ['days=abc', { days: 'abc' }, 'days: "abc" is not an integer greater than 0'],
    [
      'days with dates',
      { days: '3', start_date: '2024-01-01', end_date: '2024-01-02' },
      'days: use either days or start_date and end_date, not both',
    ],
    ['start_date alone', { start_date: '2024-01-01' }, 'end_date: required with start_date (YYYY-MM-DD)'],
    ['end_date alone', { end_date: '2024-01-01' }, 'start_date: required with end_date (YYYY-MM-DD)'],
    [
      'impossible date',
      { start_date: '2024-02-30', end_date: '2024-03-02' },
      'start_date: "2024-02-30" is not a date in YYYY-MM-DD format',
    ],
    [
      'wrong date format',
      { start_date: '2024-01-01', end_date: '03/02/2024' },
      'end_date: "03/02/2024" is not a date in YYYY-MM-DD format',
    ],
    [
      'start = end',
      { start_date: '2024-03-14', end_date: '2024-03-14' },
      'start_date: must be earlier than end_date',
    ],
    [
      'start > end',
      { start_date: '2024-03-15', end_date: '2024-03-14' },
      'start_date: must be earlier than end_date',
    ],
  ])('refuses %s with 400 and the generic error body', async (_name, params, error) => {
    const a = await get(params);
    expect(a.status).toBe(400);
    expect(JSON.parse(a.text)).toEqual({ message: 'error', errors: [error] });
  });

  it('treats a POST form exactly like the GET query (2018 doc revision)', async () => {
    const viaGet = await get({ date: '1', days: '2' });
    const viaPost = await get({ date: '1', days: '2' }, { method: 'POST' });
    expect(viaPost.status).toBe(200);
    expect(viaPost.text).toBe(viaGet.text);
  });

  it('serves the v2 successor path apiv2/reseller.manage the same way', async () => {
    const a = await get({ days: '1' }, { path: '/apiv2/reseller.manage.json' });
    expect(emails(a)).toEqual(['用户@例子.test']);
  });
});

describe(`${PROVIDER_ID} simulator: authentication and parameters`, () => {
  const generic = (errors: string[]) => ({ message: 'error', errors });
  it.each([
    [
      'wrong api_key',
      { task: 'get', user: 'customer@example.com' },
      { ...RESELLER, api_key: 'nope' },
      401,
      generic(['Permission denied, wrong credentials']),
    ],
    [
      'no credentials',
      { task: 'get', user: 'customer@example.com' },
      {},
      401,
      generic(['Permission denied, wrong credentials']),
    ],
    [
      'unknown customer',
      { task: 'get', user: 'nobody@example.com' },
      RESELLER,
      400,
      generic(['User not found']),
    ],
    [
      "another reseller's customer",
      { task: 'get', user: 'foreign@example.com' },
      RESELLER,
      400,
      generic(['User not found']),
    ],
    ['missing user', { task: 'get' }, RESELLER, 400, generic(['user: missing'])],
    [
      'unknown task',
      { task: 'list', user: 'customer@example.com' },
      RESELLER,
      400,
      generic(['task: unknown task "list", expected get, add or delete']),
    ],
    [
      'missing task',
      { user: 'customer@example.com' },
      RESELLER,
      400,
      generic(['task: missing, expected get, add or delete']),
    ],
    [
      'wrong method',
      { method: 'bounces', task: 'get', user: 'customer@example.com' },
      RESELLER,
      400,
      generic(['method: unknown method "bounces", expected unsubscribes']),
    ],
  ])('%s', async (_name, params, auth, status, body) => {
    const a = await call(params, { auth });
    expect(a.status).toBe(status);
    expect(JSON.parse(a.text)).toEqual(body);
  });

  it('renders the auth error in XML as <result><message>error</message><errors><error>…', async () => {
    const a = await call(
      { task: 'get', user: 'customer@example.com' },
      { format: 'xml', auth: { ...RESELLER, api_key: 'x' } },
    );
    expect(a.status).toBe(401);
    expect(a.text).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<result>\n   <message>error</message>\n   <errors>\n' +
        '      <error>Permission denied, wrong credentials</error>\n   </errors>\n</result>\n',
    );
  });

  it('answers unknown paths with 404 and the generic error body', async () => {
    const a = await call({ task: 'get' }, { path: '/api/distributor.list.json' });
    expect(a.status).toBe(404);
    expect(JSON.parse(a.text)).toEqual({
      message: 'error',
      errors: ['Unknown API call: /api/distributor.list.json'],
    });
  });

  it('journals every request with api_user and api_key masked', async () => {
    sim.journal.clear();
    await get({ days: '1' });
    const [entry] = sim.journal.entries();
    expect(entry?.params).toMatchObject({
      api_user: '***',
      api_key: '***',
      task: 'get',
      user: 'customer@example.com',
    });
    expect(entry?.account).toBe('cust');
    expect(entry?.kind).toBe('read');
    expect(JSON.stringify(sim.journal.entries())).not.toContain(RESELLER.api_key);
  });
});

describe(`${PROVIDER_ID} simulator: writes`, () => {
  let w: Sim;
  beforeAll(async () => {
    w = await startSendgridResellerSimulator({
      accounts: [
        { key: 'cust', id: 'cust', credentials: RESELLER, store: ENTRIES },
        {
          key: 'safe',
          id: 'safe',
          credentials: RESELLER,
          store: ENTRIES,
          meta: { deleteWithoutEmail: 'reject' },
        },
      ],
      now: () => NOW,
    });
  });
  afterAll(() => w.close());
  const write = async (params: Record<string, string>, format: 'json' | 'xml' = 'json') => {
    const q = new URLSearchParams({ ...RESELLER, method: 'unsubscribes', user: 'cust', ...params });
    const res = await fetch(`${w.url}/api/distributor.manage.${format}?${q}`);
    return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString('latin1') };
  };
  const xmlMessage = (m: string) =>
    `<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<result>\n   <message>${m}</message>\n</result>\n`;

  it('add → success, again (other case) → "Email already exists", delete → success, again → "Email does not exist"', async () => {
    const steps: [Record<string, string>, 'json' | 'xml', number, string][] = [
      [{ task: 'add', email: 'unsubscribe@sample.com' }, 'json', 200, '{"message":"success"}'],
      [{ task: 'add', email: 'Unsubscribe@Sample.com' }, 'json', 200, '{"message":"Email already exists"}'],
      [{ task: 'add', email: 'unsubscribe@sample.com' }, 'xml', 200, xmlMessage('Email already exists')],
      [{ task: 'delete', email: 'UNSUBSCRIBE@sample.com' }, 'xml', 200, xmlMessage('success')],
      [
        { task: 'delete', email: 'unsubscribe@sample.com' },
        'json',
        200,
        '{"message":"Email does not exist"}',
      ],
      [{ task: 'delete', email: 'unsubscribe@sample.com' }, 'xml', 200, xmlMessage('Email does not exist')],
      [{ task: 'add', email: 'unsubscribe@sample.com' }, 'xml', 200, xmlMessage('success')],
    ];
    for (const [params, format, status, body] of steps) {
      const a = await write(params, format);
      expect([a.status, a.text], JSON.stringify(params)).toEqual([status, body]);
    }
    expect(w.account('cust')?.store.find('unsubscribe@sample.com')?.at).toBe(NOW);
  });

  it('a read right after a write reflects it', async () => {
    await write({ task: 'add', email: 'fresh@sample.com' });
    const a = await write({ task: 'get', days: '1', date: '1' });
    expect(JSON.parse(a.text)).toContainEqual({ email: 'fresh@sample.com', created: '2024-03-15 13:00:00' });
  });

  it.each([
    ['add without email', { task: 'add' }, 'email: missing, you must specify the unsubscribe record to add'],
    [
      'add with an invalid address',
      { task: 'add', email: 'not-an-address' },
      'email: "not-an-address" is not a valid email address',
    ],
  ])('refuses %s with 400', async (_name, params, error) => {
    const a = await write(params);
    expect(a.status).toBe(400);
    expect(JSON.parse(a.text)).toEqual({ message: 'error', errors: [error] });
  });

  it('delete WITHOUT email wipes the whole list (the destructive form the seed allows) and journals it', async () => {
    expect(w.account('cust')!.store.size()).toBeGreaterThan(0);
    w.journal.clear();
    const a = await write({ task: 'delete' });
    expect([a.status, a.text]).toEqual([200, '{"message":"success"}']);
    expect(w.account('cust')!.store.size()).toBe(0);
    const [entry] = w.journal.writes('cust');
    expect(entry?.params['email']).toBeUndefined();
    expect(entry?.notes.join()).toMatch(/DESTRUCTIVE delete without email: removed all \d+ entries/);
  });

  it("refuses delete without email when the account's meta says 'reject'", async () => {
    const a = await write({ task: 'delete', user: 'safe' });
    expect(a.status).toBe(400);
    expect(JSON.parse(a.text)).toEqual({
      message: 'error',
      errors: ['email: missing, you must specify the unsubscribe record to remove'],
    });
    expect(w.account('safe')!.store.size()).toBe(ENTRIES.length);
  });
});

describe(`${PROVIDER_ID} simulator: faults and rate limit`, () => {
  let f: Sim;
  beforeAll(async () => {
    f = await startSendgridResellerSimulator({
      accounts: [{ key: 'cust', id: 'cust', credentials: RESELLER, store: ENTRIES }],
      now: () => NOW,
    });
  });
  afterAll(() => f.close());
  const url = (params: Record<string, string> = {}) =>
    `${f.url}/api/distributor.manage.json?${new URLSearchParams({ ...RESELLER, method: 'unsubscribes', user: 'cust', task: 'get', ...params })}`;
  const withFaults = (faults: string) => f.setFaults('cust', faults);
  const notes = () => f.journal.entries().at(-1)?.notes.join(' | ') ?? '';

  it('rate-limit: 429 with Retry-After, then normal', async () => {
    withFaults('rate-limit/7:1');
    const first = await fetch(url());
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    await first.arrayBuffer();
    expect((await fetch(url())).status).toBe(200);
  });

  it.each([500, 502, 503])('server-error/%i', async (status) => {
    withFaults(`server-error/${status}:1`);
    const res = await fetch(url());
    expect(res.status).toBe(status);
    await res.arrayBuffer();
  });

  it('drop-socket: the connection is reset mid-body', async () => {
    withFaults('drop-socket:1');
    await expect(fetch(url()).then((r) => r.arrayBuffer())).rejects.toThrow();
  });

  it('truncate: fewer bytes than Content-Length, then close', async () => {
    withFaults('truncate:1');
    await expect(fetch(url()).then((r) => r.arrayBuffer())).rejects.toThrow();
  });

  it('malformed: HTTP 200 with a body that is not JSON', async () => {
    withFaults('malformed:1');
    const res = await fetch(url());
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(() => JSON.parse(body)).toThrow();
  });

  it('slow and latency delay the answer', async () => {
    withFaults('slow/250:1,latency/100:1');
    const t0 = performance.now();
    const res = await fetch(url());
    await res.arrayBuffer();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(340);
  });

  it('inband-error: the generic error body inside an HTTP 200; a write under it changes nothing', async () => {
    withFaults('inband-error:1,inband-error:1#write');
    const res = await fetch(url());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      message: 'error',
      errors: ['Internal error, please try again later'],
    });
    const w = await fetch(url({ task: 'add', email: 'x@y.test' }));
    expect(await w.json()).toEqual({ message: 'error', errors: ['Internal error, please try again later'] });
    expect(f.account('cust')!.store.has('x@y.test')).toBe(false);
  });

  it('duplicate-row: a window answer starts with the last row of the previous window', async () => {
    withFaults('duplicate-row:1');
    const res = await fetch(url({ start_date: '2024-03-13', end_date: '2024-03-14' }));
    expect(((await res.json()) as { email: string }[]).map((r) => r.email)).toEqual([
      'josé@example.com',
      'a&b<c>@example.com',
      'late@example.com',
    ]);
    const plain = await fetch(url({ start_date: '2024-03-13', end_date: '2024-03-14' }));
    expect(await plain.json()).toHaveLength(2);
  });

  it('duplicate-row: without an earlier row the first row is sent twice', async () => {
    withFaults('duplicate-row:1');
    const rows = (await (await fetch(url())).json()) as { email: string }[];
    expect(rows.map((r) => r.email).slice(0, 2)).toEqual(['first@example.com', 'first@example.com']);
    expect(rows).toHaveLength(ENTRIES.length + 1);
  });

  it.each(['repeat-page', 'empty-last-page'])(
    '%s: not applicable (no paging) — answer unchanged, journal says so',
    async (kind) => {
      withFaults('');
      const plain = await (await fetch(url({ date: '1' }))).text();
      withFaults(`${kind}:1`);
      expect(await (await fetch(url({ date: '1' }))).text()).toBe(plain);
      expect(notes()).toMatch(/not applicable/);
    },
  );

  it('shrink: the list suddenly loses a fraction of its rows', async () => {
    withFaults('shrink/0.4');
    const rows = (await (await fetch(url())).json()) as unknown[];
    expect(rows).toHaveLength(ENTRIES.length - 2);
    expect(f.account('cust')!.store.size()).toBe(ENTRIES.length - 2);
  });

  it('per-key rate limit: 429 with Retry-After once the bucket is empty', async () => {
    withFaults('');
    f.setRateLimit('cust', { requestsPerSecond: 0.5, burst: 1 });
    expect((await fetch(url())).status).toBe(200);
    const limited = await fetch(url());
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    f.setRateLimit('cust', undefined);
  });
});

describe(`${PROVIDER_ID} simulator: scale`, () => {
  it('streams a 1,000,000-row account chunked, in order, without building the body', async () => {
    const t0 = Date.parse('2015-01-01T00:00:00Z');
    const big = await startSendgridResellerSimulator({
      accounts: [
        {
          key: 'big',
          credentials: RESELLER,
          store: new GeneratedStore(1_000_000, (i) => ({ email: `u${i}@big.test`, at: t0 + i * 60_000 })),
        },
      ],
    });
    try {
      const q = new URLSearchParams({
        ...RESELLER,
        method: 'unsubscribes',
        user: 'big',
        task: 'get',
        date: '1',
      });
      const res = await fetch(`${big.url}/api/distributor.manage.xml?${q}`);
      expect(res.headers.get('content-length')).toBeNull();
      // Count rows on the bytes as they arrive (a marker may straddle two chunks: carry a tail).
      const marker = Buffer.from('</unsubscribe>');
      let rows = 0;
      let carry = Buffer.alloc(0);
      let tail = Buffer.alloc(0);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const buf = Buffer.concat([carry, chunk]);
        let at = buf.indexOf(marker);
        let end = 0;
        while (at >= 0) {
          rows++;
          end = at + marker.length;
          at = buf.indexOf(marker, end);
        }
        carry = buf.subarray(Math.max(end, buf.length - marker.length));
        tail = Buffer.concat([tail, chunk]).subarray(-300);
      }
      const last =
        /<email>([^<]*)<\/email>\s*<created>[^<]*<\/created>\s*<\/unsubscribe>\s*<\/unsubscribes>\s*$/.exec(
          tail.toString('latin1'),
        )?.[1];
      expect(rows).toBe(1_000_000);
      expect(last).toBe('u999999@big.test');
    } finally {
      await big.close();
    }
  }, 30_000);
});

describe('legacy SendGrid local time helpers', () => {
  it.each([
    ['PST', '2024-01-10T08:00:00Z', 'America/Los_Angeles', '2024-01-10 00:00:00'],
    ['last second of PST', '2024-03-10T09:59:59Z', 'America/Los_Angeles', '2024-03-10 01:59:59'],
    ['first second of PDT', '2024-03-10T10:00:00Z', 'America/Los_Angeles', '2024-03-10 03:00:00'],
    ['fall-back hour, first pass', '2024-11-03T08:30:00Z', 'America/Los_Angeles', '2024-11-03 01:30:00'],
    ['fall-back hour, second pass', '2024-11-03T09:30:00Z', 'America/Los_Angeles', '2024-11-03 01:30:00'],
    ['half-hour zone', '2024-01-01T00:00:00Z', 'Asia/Kolkata', '2024-01-01 05:30:00'],
  ])('formatCreated: %s', (_name, iso, zone, expected) => {
    expect(formatCreated(Date.parse(iso), zone)).toBe(expected);
  });

  it('localDayStart honours DST', () => {
    expect(new Date(localDayStart('2024-03-10', 'America/Los_Angeles')).toISOString()).toBe(
      '2024-03-10T08:00:00.000Z',
    );
    expect(new Date(localDayStart('2024-03-11', 'America/Los_Angeles')).toISOString()).toBe(
      '2024-03-11T07:00:00.000Z',
    );
  });
});
