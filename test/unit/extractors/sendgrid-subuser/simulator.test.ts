// Drives the sendgrid-subuser simulator with raw HTTP built from seed 001's request examples
// (`POST /api/user.unsubscribes.{json,xml}` with `api_user=…&api_key=…&user=…&task=…`) and from
// the Web API v2 `unsubscribes.get|add|delete` page (providers/sendgrid-subuser.md §3b), and checks
// the answers against the seed's response examples. Behaviour shared with sendgrid-reseller
// (window rules, encoding, errors) is covered in depth by that provider's test file.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  PROVIDER_ID,
  type SendgridSubuserSimAccountInput,
  startSendgridSubuserSimulator,
} from '../../../../extractors/sendgrid-subuser/simulator.js';

const PARENT = { api_user: 'parent-login', api_key: 'parent-s3cret' };
// 2024-03-15 15:00 in Chicago (CDT since 10 March).
const NOW = Date.parse('2024-03-15T20:00:00Z');
const MINUTE = 60_000;

// 12 rows, one a day from 2024-03-01 10:00 Chicago (16:00Z CST; 15:00Z from 10 March, CDT).
const ENTRIES = Array.from({ length: 12 }, (_, i) => {
  const day = String(i + 1).padStart(2, '0');
  const cdt = i + 1 >= 10;
  return { email: `r${day}@example.com`, at: Date.parse(`2024-03-${day}T${cdt ? '15' : '16'}:00:00Z`) };
});
ENTRIES.push({ email: 'zoë@example.com', at: ENTRIES[11]!.at + MINUTE });

const accounts = (): SendgridSubuserSimAccountInput[] => [
  {
    key: 'brand-sub',
    id: 'brand',
    credentials: PARENT,
    store: ENTRIES,
    meta: { timezone: 'America/Chicago' },
  },
  {
    key: 'own-login-sub',
    id: 'own',
    credentials: PARENT,
    store: ENTRIES.slice(0, 2),
    meta: { login: { api_user: 'own-login-sub', api_key: 'sub-own-pw' } },
  },
  { key: 'other-sub', id: 'other', credentials: { api_user: 'other-parent', api_key: 'x' }, store: [] },
];

type Sim = Awaited<ReturnType<typeof startSendgridSubuserSimulator>>;
let sim: Sim;
beforeEach(async () => {
  sim = await startSendgridSubuserSimulator({ accounts: accounts(), now: () => NOW });
  return () => sim.close();
});

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

/** POST form as in seed 001 ("POST Data api_user=…"), or GET query as in its 2012 revision. */
async function call(
  path: string,
  params: Record<string, string>,
  method: 'GET' | 'POST' = 'POST',
): Promise<Answer> {
  const form = new URLSearchParams(params).toString();
  const res =
    method === 'POST'
      ? await fetch(sim.url + path, {
          method,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
        })
      : await fetch(`${sim.url}${path}?${form}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    bytes,
    text: bytes.toString(path.endsWith('.xml') ? 'latin1' : 'utf8'),
  };
}
const user = (params: Record<string, string>, format: 'json' | 'xml' = 'json', method?: 'GET' | 'POST') =>
  call(`/api/user.unsubscribes.${format}`, { ...PARENT, user: 'brand-sub', ...params }, method);
// The account-level endpoints: the subuser logs in itself (default password = the parent's [A]).
const self = (
  op: 'get' | 'add' | 'delete',
  params: Record<string, string>,
  format: 'json' | 'xml' = 'json',
) => call(`/api/unsubscribes.${op}.${format}`, { api_user: 'brand-sub', api_key: PARENT.api_key, ...params });
const emails = (a: Answer): string[] => (JSON.parse(a.text) as { email: string }[]).map((r) => r.email);

describe(`${PROVIDER_ID} simulator: user.unsubscribes (seed 001)`, () => {
  it('answers the seed JSON call with the seed shape; `created` in the subuser zone with date=1', async () => {
    const plain = await user({ task: 'get', date: '' });
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.text)[0]).toEqual({ email: 'r01@example.com' });
    const dated = await user({ task: 'get', date: '1' });
    expect(JSON.parse(dated.text).slice(-2)).toEqual([
      { email: 'r12@example.com', created: '2024-03-12 10:00:00' },
      { email: 'zoë@example.com', created: '2024-03-12 10:01:00' },
    ]);
  });

  it('answers the seed XML call in ISO-8859-1 with the seed layout', async () => {
    const a = await user({ task: 'get', date: '1', days: '4' }, 'xml');
    expect(a.headers.get('content-type')).toBe('text/xml');
    expect(a.text).toBe(
      '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<unsubscribes>\n' +
        '   <unsubscribe>\n      <email>r12@example.com</email>\n      <created>2024-03-12 10:00:00</created>\n   </unsubscribe>\n' +
        '   <unsubscribe>\n      <email>zoë@example.com</email>\n      <created>2024-03-12 10:01:00</created>\n   </unsubscribe>\n' +
        '</unsubscribes>\n',
    );
    expect(a.bytes.includes(Buffer.from([0x7a, 0x6f, 0xeb]))).toBe(true); // "zo\xeb"
  });

  it('accepts the 2012 GET form identically', async () => {
    const viaPost = await user({ task: 'get', date: '1', start_date: '2024-03-09', end_date: '2024-03-10' });
    const viaGet = await user(
      { task: 'get', date: '1', start_date: '2024-03-09', end_date: '2024-03-10' },
      'json',
      'GET',
    );
    expect(viaGet.text).toBe(viaPost.text);
    // Both ends inclusive, local Chicago days across the DST switch of 10 March.
    expect(emails(viaPost)).toEqual(['r09@example.com', 'r10@example.com']);
  });

  it.each([
    [
      'wrong api_key',
      { ...PARENT, api_key: 'no', user: 'brand-sub', task: 'get' },
      401,
      ['Permission denied, wrong credentials'],
    ],
    ["another parent's subuser", { ...PARENT, user: 'other-sub', task: 'get' }, 400, ['User not found']],
    ['unknown subuser', { ...PARENT, user: 'ghost', task: 'get' }, 400, ['User not found']],
    [
      'start_date not before end_date',
      { ...PARENT, user: 'brand-sub', task: 'get', start_date: '2024-03-10', end_date: '2024-03-10' },
      400,
      ['start_date: must be earlier than end_date'],
    ],
  ])('%s → documented error body', async (_name, params, status, errors) => {
    const a = await call('/api/user.unsubscribes.json', params);
    expect(a.status).toBe(status);
    expect(JSON.parse(a.text)).toEqual({ message: 'error', errors });
  });

  it('add / delete answer the seed bodies, "already exists" and "does not exist" included', async () => {
    const steps: [Record<string, string>, 'json' | 'xml', string][] = [
      [{ task: 'add', email: 'unsubscribe@sample.com' }, 'json', '{"message":"success"}'],
      [{ task: 'add', email: 'unsubscribe@sample.com' }, 'json', '{"message":"Email already exists"}'],
      [
        { task: 'delete', email: 'unsubscribe@sample.com' },
        'xml',
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<result>\n   <message>success</message>\n</result>\n',
      ],
      [{ task: 'delete', email: 'unsubscribe@sample.com' }, 'json', '{"message":"Email does not exist"}'],
    ];
    for (const [params, format, body] of steps) {
      const a = await user(params, format);
      expect([a.status, a.text], JSON.stringify(params)).toEqual([200, body]);
    }
    expect(sim.journal.writes('brand')).toHaveLength(4);
  });

  it('delete without email wipes the subuser list (destructive form) and the journal shows it', async () => {
    const a = await user({ task: 'delete' });
    expect(a.text).toBe('{"message":"success"}');
    expect(sim.account('brand-sub')!.store.size()).toBe(0);
    expect(sim.journal.writes('brand')[0]?.notes.join()).toContain('DESTRUCTIVE delete without email');
  });
});

describe(`${PROVIDER_ID} simulator: account-level unsubscribes.get|add|delete`, () => {
  it('pages with limit/offset in (created, email) order; an empty page past the end', async () => {
    const pages: string[][] = [];
    for (let offset = 0; ; offset += 5) {
      const page = emails(await self('get', { limit: '5', offset: String(offset) }));
      pages.push(page);
      if (page.length < 5) break;
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 3]);
    expect(pages.flat()).toEqual(ENTRIES.map((e) => e.email));
    expect(emails(await self('get', { limit: '5', offset: '13' }))).toEqual([]);
    expect((await self('get', { limit: '5', offset: '13' }, 'xml')).text).toContain('<unsubscribes/>');
  });

  it('pages within a window and with an email filter', async () => {
    expect(emails(await self('get', { days: '5', limit: '2', offset: '2' }))).toEqual(['zoë@example.com']);
    expect(emails(await self('get', { email: 'R03@example.com', limit: '1' }))).toEqual(['r03@example.com']);
  });

  it.each([
    ['limit=-1', { limit: '-1' }, 'limit: "-1" is not a non-negative integer'],
    ['limit=ten', { limit: 'ten' }, 'limit: "ten" is not a non-negative integer'],
    ['offset=1.5', { offset: '1.5' }, 'offset: "1.5" is not a non-negative integer'],
  ])('refuses %s with 400', async (_name, params, error) => {
    const a = await self('get', params);
    expect(a.status).toBe(400);
    expect(JSON.parse(a.text)).toEqual({ message: 'error', errors: [error] });
  });

  it('authenticates the subuser itself: meta.login, else its key with the parent password', async () => {
    expect((await self('get', { api_key: 'wrong' })).status).toBe(401);
    expect((await self('get', { api_user: 'parent-login' })).status).toBe(401);
    const own = await call('/api/unsubscribes.get.json', {
      api_user: 'own-login-sub',
      api_key: 'sub-own-pw',
    });
    expect(emails(own)).toEqual(['r01@example.com', 'r02@example.com']);
    const ownWithParentPw = await call('/api/unsubscribes.get.json', {
      api_user: 'own-login-sub',
      api_key: PARENT.api_key,
    });
    expect(JSON.parse(ownWithParentPw.text)).toEqual({
      message: 'error',
      errors: ['Permission denied, wrong credentials'],
    });
  });

  it('add and delete answer like user.unsubscribes', async () => {
    expect((await self('add', { email: 'n@x.test' })).text).toBe('{"message":"success"}');
    expect((await self('add', { email: 'N@x.test' })).text).toBe('{"message":"Email already exists"}');
    expect((await self('delete', { email: 'n@x.test' })).text).toBe('{"message":"success"}');
    expect((await self('delete', { email: 'n@x.test' })).text).toBe('{"message":"Email does not exist"}');
  });

  it('delete with no parameter is refused with the {"error": …} body; nothing removed', async () => {
    const a = await self('delete', {});
    expect(a.status).toBe(400);
    expect(JSON.parse(a.text)).toEqual({
      error: 'error in email: no valid parameters provided. Use delete_all=1 to remove everything',
    });
    const x = await self('delete', {}, 'xml');
    expect(x.text).toContain(
      '<result>\n   <error>error in email: no valid parameters provided. Use delete_all=1 to remove everything</error>\n</result>',
    );
    expect(sim.account('brand-sub')!.store.size()).toBe(ENTRIES.length);
  });

  it('delete by window (2012 form) removes that window; delete_all=1 empties the list', async () => {
    expect((await self('delete', { start_date: '2024-03-01', end_date: '2024-03-10' })).text).toBe(
      '{"message":"success"}',
    );
    expect(emails(await self('get', {}))).toEqual(['r11@example.com', 'r12@example.com', 'zoë@example.com']);
    expect((await self('delete', { delete_all: '1' })).text).toBe('{"message":"success"}');
    expect(sim.account('brand-sub')!.store.size()).toBe(0);
    expect(sim.journal.writes('brand').map((e) => e.notes.join())).toEqual([
      'DESTRUCTIVE delete by window: removed 10 entries',
      'DESTRUCTIVE delete_all=1: removed all 3 entries',
    ]);
  });
});

describe(`${PROVIDER_ID} simulator: faults`, () => {
  const page = (offset: number) => self('get', { limit: '5', offset: String(offset) });

  it('repeat-page: every offset serves the first page (a paging loop for offset-advancing clients)', async () => {
    sim.setFaults('brand-sub', 'repeat-page');
    const first = await page(0);
    expect((await page(5)).text).toBe(first.text);
    expect((await page(10)).text).toBe(first.text);
  });

  it('duplicate-row: a page starts with the last row of the previous page (first page: row 1 twice)', async () => {
    sim.setFaults('brand-sub', 'duplicate-row');
    expect(emails(await page(0))).toEqual(['r01@example.com', ...ENTRIES.slice(0, 5).map((e) => e.email)]);
    expect(emails(await page(5))).toEqual(ENTRIES.slice(4, 10).map((e) => e.email));
  });

  it('duplicate-row on the non-paged endpoint: the row before the window is repeated in this window', async () => {
    sim.setFaults('brand-sub', 'duplicate-row:1');
    expect(emails(await user({ task: 'get', start_date: '2024-03-11', end_date: '2024-03-12' }))).toEqual([
      'r10@example.com',
      'r11@example.com',
      'r12@example.com',
      'zoë@example.com',
    ]);
  });

  it('empty-last-page: not applicable, answer unchanged and journalled', async () => {
    const plain = (await page(10)).text;
    sim.setFaults('brand-sub', 'empty-last-page');
    expect((await page(10)).text).toBe(plain);
    expect(sim.journal.entries().at(-1)?.notes.join()).toContain('not applicable');
  });

  it.each([
    ['inband-error:1', { message: 'error', errors: ['Internal error, please try again later'] }],
    ['inband-error/auth:1', { message: 'error', errors: ['Permission denied, wrong credentials'] }],
    ['inband-error/error:1', { error: 'Internal error, please try again later' }],
  ])('%s → error body with HTTP 200, then a normal page', async (faults, body) => {
    sim.setFaults('brand-sub', faults);
    const a = await page(0);
    expect([a.status, JSON.parse(a.text)]).toEqual([200, body]);
    expect(emails(await page(0))).toHaveLength(5);
  });

  it('inband-error with a free text (spec object)', async () => {
    sim.setFaults('brand-sub', [{ kind: 'inband-error', arg: 'Database timeout', times: 1 }]);
    expect(JSON.parse((await page(0)).text)).toEqual({ message: 'error', errors: ['Database timeout'] });
  });

  it('shrink: the list loses rows between two page requests', async () => {
    sim.setFaults('brand-sub', 'shrink/0.5@2');
    expect(emails(await page(0))).toHaveLength(5);
    const second = await page(5);
    expect(sim.account('brand-sub')!.store.size()).toBe(7);
    expect(emails(second)).toHaveLength(2);
  });

  it.each([
    ['rate-limit/3:1', 429],
    ['server-error/502:1', 502],
  ])('%s → HTTP %i from the kit before the handler', async (faults, status) => {
    sim.setFaults('brand-sub', faults);
    expect((await page(0)).status).toBe(status);
    expect((await page(0)).status).toBe(200);
  });

  it.each(['drop-socket:1', 'truncate:1'])('%s → the body cannot be read whole', async (faults) => {
    sim.setFaults('brand-sub', faults);
    await expect(page(0)).rejects.toThrow();
  });

  it('malformed:1 → 200 with a cut XML body', async () => {
    sim.setFaults('brand-sub', 'malformed/0.3:1');
    const a = await self('get', {}, 'xml');
    expect(a.status).toBe(200);
    expect(a.text.startsWith('<?xml')).toBe(true);
    expect(a.text).not.toContain('</unsubscribes>');
  });

  it('slow/200 and latency/50 delay the answer', async () => {
    sim.setFaults('brand-sub', 'slow/200:1,latency/50:1');
    const t0 = performance.now();
    await page(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
  });
});

describe(`${PROVIDER_ID} simulator: setup`, () => {
  it('refuses an unknown time zone and missing credentials', async () => {
    await expect(
      startSendgridSubuserSimulator({
        accounts: [{ key: 's', credentials: PARENT, meta: { timezone: 'Mars/Olympus' } }],
      }),
    ).rejects.toThrow(/not an IANA time zone/);
    await expect(startSendgridSubuserSimulator({ accounts: [{ key: 's' }] })).rejects.toThrow(
      /credentials need api_user and api_key/,
    );
  });

  it('dumps state without secrets', () => {
    const dump = JSON.stringify(sim.dump());
    expect(dump).toContain('zoë@example.com');
    expect(dump).not.toContain(PARENT.api_key);
  });
});
