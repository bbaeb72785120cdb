/**
 * The SendCloud simulator driven with raw HTTP built from seed 002's request examples
 * (shared/seeds/002_9aa9b1da9cce908a.txt), answers checked against the seed's response examples
 * and shared/providers/sendcloud.md. Every request goes over a real loopback socket.
 */
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GeneratedStore, type SimEntry } from '../../../../extractors/core/simulator/index.js';
import {
  PROVIDER_ID,
  type SendcloudSimAccountInput,
  type SendcloudSimulator,
  startSendcloudSimulator,
} from '../../../../extractors/sendcloud/simulator.js';

const API_USER = 'delong_test';
const API_KEY = 'k3y-Secret-77';
/** A UTC+8 wall time as epoch ms (SendCloud shows every time in UTC+8, provider notes §5). */
const t = (wall: string): number => Date.parse(`${wall.replace(' ', 'T')}+08:00`);
const NOW = t('2021-07-20 10:00:00');
const SEED_ROW = {
  email: 'cxybfq@163.com',
  unsubscribeTime: '2021-07-15 17:55:20',
  expireTime: '2021-07-15 17:55:20',
  domain: '163.com',
  labelId: 0,
  labelName: '',
  apiUser: 'delong_test',
  unsubscribeType: 0,
  unsubscribeTypeDesc: '我不想再收到此类邮件',
};
const ROW_KEYS = Object.keys(SEED_ROW);
const AUTH_FAILED = '{"result":false,"statusCode":40005,"message":"认证失败","info":{}}';

/** 250 rows in June 2021, one a minute, alternating sub-apiUsers and labels 0/1/2. */
const JUNE: SimEntry[] = Array.from({ length: 250 }, (_, i) => ({
  email: `june${String(i).padStart(3, '0')}@example.com`,
  at: t('2021-06-01 00:00:00') + i * 60_000,
  apiUser: i % 2 === 0 ? 'delong_test' : 'delong_batch',
  label: String(i % 3),
  expiresAt: t('2031-01-01 00:00:00'),
}));
const JULY: SimEntry[] = [
  // The seed's row: expired the moment it was recorded, and still listed (README "Expiry").
  {
    email: 'cxybfq@163.com',
    at: t('2021-07-15 17:55:20'),
    apiUser: API_USER,
    expiresAt: t('2021-07-15 17:55:20'),
  },
  // The same address under another sub-apiUser and label: its own row.
  { email: 'cxybfq@163.com', at: t('2021-07-15 18:00:00'), apiUser: 'delong_batch', label: '1' },
  { email: 'midnight@example.com', at: t('2021-07-15 00:00:00') },
  { email: 'lastsecond@example.com', at: t('2021-07-14 23:59:59') },
  { email: 'today@example.com', at: t('2021-07-20 08:00:00') },
];

const account = (over: Partial<SendcloudSimAccountInput> = {}): SendcloudSimAccountInput => ({
  key: API_USER,
  id: 'sc-main',
  credentials: { apiUser: API_USER, apiKey: API_KEY },
  store: [...JUNE, ...JULY],
  meta: { labelNames: { '1': '促销' } },
  ...over,
});

let sim: SendcloudSimulator;
let agent: Agent;
beforeEach(async () => {
  sim = await startSendcloudSimulator({ accounts: [account()], now: () => NOW });
  agent = new Agent({ keepAliveTimeout: 1, pipelining: 0 });
});
afterEach(async () => {
  await agent.destroy();
  await sim.close();
});

type Op = 'list' | 'add' | 'delete';
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
  body: any;
}

/** Calls an operation the way the seed shows: GET with a query string, or POST with a form. */
async function call(
  op: Op,
  params: Record<string, string>,
  options: { method?: 'GET' | 'POST'; auth?: boolean; target?: SendcloudSimulator } = {},
): Promise<Answer> {
  const all = options.auth === false ? params : { apiUser: API_USER, apiKey: API_KEY, ...params };
  const form = new URLSearchParams(all).toString();
  const base = `${(options.target ?? sim).url}/apiv2/unsubscribe/${op}`;
  const res =
    options.method === 'POST'
      ? await request(base, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
          body: form,
        })
      : await request(`${base}?${form}`, { dispatcher: agent });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, body };
}

const emails = (answer: Answer): string[] => answer.body.info.dataList.map((r: { email: string }) => r.email);

describe('seed request examples', () => {
  it('exports the provider id', () => {
    expect(PROVIDER_ID).toBe('sendcloud');
  });

  it('list: the seed example verbatim is refused — days=100 is longer than 3 months (TIPS 2)', async () => {
    // https://api.sendcloud.net/apiv2/unsubscribe/list?apiUser=***&apiKey=***&apiUserList=[***;***]&days=100&start=0&limit=3
    const answer = await call('list', {
      apiUserList: '[delong_test;delong_batch]',
      days: '100',
      start: '0',
      limit: '3',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      result: false,
      statusCode: 40099,
      message: '时间范围不能超过3个月',
      info: {},
    });
  });

  it('list: the seed example within the limits answers the seed shape, times in UTC+8', async () => {
    const answer = await call('list', {
      apiUserList: 'delong_test;delong_batch',
      days: '10',
      start: '0',
      limit: '3',
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body.result).toBe(true);
    expect(answer.body.statusCode).toBe(200);
    expect(answer.body.message).toBe('请求成功');
    expect(Object.keys(answer.body.info)).toEqual(['dataList', 'count']);
    expect(answer.body.info.dataList[2]).toEqual(SEED_ROW);
    expect(Object.keys(answer.body.info.dataList[2])).toEqual(ROW_KEYS);
    // days=10 ending 2021-07-20 covers 07-11..07-20: all five July rows, ordered by time.
    expect(emails(answer)).toEqual(['lastsecond@example.com', 'midnight@example.com', 'cxybfq@163.com']);
    expect(answer.body.info.count).toBe(5);
    expect(answer.text).not.toMatch(/"labelId"[^{}]*"labelId"/); // the seed's duplicated key is labelName
  });

  it('list: POST with a form body answers exactly what GET with a query does', async () => {
    const params = { startDate: '2021-06-01', endDate: '2021-06-30', start: '10', limit: '20' };
    const [get, post] = [await call('list', params), await call('list', params, { method: 'POST' })];
    expect(post.text).toBe(get.text);
    expect(emails(get)).toHaveLength(20);
  });

  it('add: the seed example (no expireTime) creates the record with 40401 and the seed data shape', async () => {
    // https://api.sendcloud.net/apiv2/unsubscribe/add?apiUser=***&apiKey=***&email=abc@qq.com
    const answer = await call('add', { email: 'abc@qq.com' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      result: true,
      statusCode: 40401,
      message: '取消订阅记录创建成功',
      info: {
        data: {
          email: 'abc@qq.com',
          unsubscribeTime: '2021-07-20 10:00:00',
          expireTime: '9999-12-31 23:59:59',
          domain: 'qq.com',
          labelId: 0,
          apiUser: API_USER,
          unsubscribeType: 0,
          unsubscribeTypeDesc: '我不想再收到此类邮件',
        },
      },
    });
    const listed = await call('list', { email: 'abc@qq.com' });
    expect(listed.body.info.dataList).toEqual(
      [{ ...answer.body.info.data, labelName: '' }].map((r) =>
        Object.fromEntries(ROW_KEYS.map((k) => [k, r[k as keyof typeof r]])),
      ),
    );
  });

  it('delete: the seed example (by email) answers {"statusCode":200,"info":{"count":1},…}', async () => {
    await call('add', { email: 'test@sendcloud.com' });
    // https://api.sendcloud.net/apiv2/unsubscribe/delete?apiUser=***&apiKey=*** &email=test@sendcloud.com
    const answer = await call('delete', { email: 'test@sendcloud.com' });
    expect(answer.body).toEqual({ result: true, statusCode: 200, message: '请求成功', info: { count: 1 } });
    expect((await call('list', { email: 'test@sendcloud.com' })).body.info.dataList).toEqual([]);
  });
});

describe('list: selectors, windows, paging', () => {
  it.each([
    [
      'startDate..endDate is inclusive of whole UTC+8 days',
      { startDate: '2021-07-15', endDate: '2021-07-15' },
      ['midnight@example.com', 'cxybfq@163.com', 'cxybfq@163.com'],
    ],
    [
      'the previous day ends at 23:59:59 UTC+8',
      { startDate: '2021-07-14', endDate: '2021-07-14' },
      ['lastsecond@example.com'],
    ],
    ['days=1 means today (UTC+8 calendar day of the clock)', { days: '1' }, ['today@example.com']],
    ['a frame of exactly 3 months is accepted', { startDate: '2021-04-21', endDate: '2021-07-20' }, null],
  ])('%s', async (_name, params, expected) => {
    const answer = await call('list', params);
    expect(answer.body.result).toBe(true);
    if (expected) expect(emails(answer)).toEqual(expected);
    else expect(answer.body.info.count).toBe(JUNE.length + JULY.length);
  });

  it('email selects every row of that address (each apiUser/label) and ignores the frame', async () => {
    const answer = await call('list', { email: 'cxybfq@163.com', startDate: 'garbage', days: '0' });
    expect(
      answer.body.info.dataList.map((r: typeof SEED_ROW) => [r.apiUser, r.labelId, r.labelName]),
    ).toEqual([
      ['delong_test', 0, ''],
      ['delong_batch', 1, '促销'],
    ]);
    expect(answer.body.info.count).toBe(2);
  });

  it('pages with start/limit from the sorted state: no gap, no repeat, short last page', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    for (let start = 0; ; start += 100) {
      const answer = await call('list', {
        startDate: '2021-06-01',
        endDate: '2021-06-30',
        start: String(start),
        limit: '100',
      });
      expect(answer.body.info.count).toBe(250);
      sizes.push(answer.body.info.dataList.length);
      seen.push(...emails(answer));
      if (answer.body.info.dataList.length < 100) break;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(seen).toEqual(JUNE.map((e) => e.email));
  });

  it.each([
    ['limit defaults to 100', {}, 100],
    ['limit=0 is valid and returns no row', { limit: '0' }, 0],
    ['start past the end returns an empty page', { start: '999' }, 0],
  ])('%s', async (_name, params, rows) => {
    const answer = await call('list', { startDate: '2021-06-01', endDate: '2021-06-30', ...params });
    expect(answer.body.result).toBe(true);
    expect(answer.body.info.dataList).toHaveLength(rows);
  });

  it.each([
    ['apiUserList', { apiUserList: 'delong_batch' }, (e: SimEntry) => e.apiUser === 'delong_batch'],
    ['labelIdList', { labelIdList: '1;2' }, (e: SimEntry) => e.label !== '0'],
    ['labelNameList (UTF-8)', { labelNameList: '促销' }, (e: SimEntry) => e.label === '1'],
    ['default label names', { labelNameList: '标签2' }, (e: SimEntry) => e.label === '2'],
    [
      'all filters',
      { apiUserList: 'delong_test', labelIdList: '0' },
      (e: SimEntry) => e.apiUser === 'delong_test' && e.label === '0',
    ],
  ])('filters by %s, paging and count over the filtered rows', async (_name, filter, keep) => {
    const expected = JUNE.filter(keep).map((e) => e.email);
    const page = (start: number) =>
      call(
        'list',
        { startDate: '2021-06-01', endDate: '2021-06-30', start: String(start), limit: '50', ...filter },
        {
          method: 'POST',
        },
      );
    const first = await page(0);
    const second = await page(50);
    expect(first.body.info.count).toBe(expected.length);
    expect([...emails(first), ...emails(second)]).toEqual(expected.slice(0, 100));
  });
});

describe('list: documented refusals', () => {
  const june = { startDate: '2021-06-01', endDate: '2021-06-30' };
  it.each([
    ['start empty', 40001, { ...june, start: '' }, 'start不能为空'],
    ['start negative', 40002, { ...june, start: '-1' }, 'start非法'],
    ['limit empty', 40003, { ...june, limit: '' }, 'limit不能为空'],
    ['limit over 100', 40004, { ...june, limit: '101' }, 'limit非法'],
    ['limit not a number', 40004, { ...june, limit: 'ten' }, 'limit非法'],
    ['days zero', 40006, { days: '0' }, 'days格式非法,必须是大于0的正整数'],
    ['days over 3 months', 40099, { days: '93' }, '时间范围不能超过3个月'],
    ['startDate format', 40007, { startDate: '2021/06/01', endDate: '2021-06-30' }, null],
    ['startDate impossible', 40007, { startDate: '2021-02-30', endDate: '2021-03-30' }, null],
    ['endDate missing', 40008, { startDate: '2021-06-01' }, null],
    [
      'span over 3 months',
      40099,
      { startDate: '2021-01-01', endDate: '2021-04-01' },
      '时间范围不能超过3个月',
    ],
    ['endDate before startDate', 40097, { startDate: '2021-06-02', endDate: '2021-06-01' }, null],
    ['no selector', 40098, {}, null],
    ['apiUserList empty', 40010, { ...june, apiUserList: '' }, 'apiUserList不能为空'],
    ['apiUserList with brackets', 40016, { ...june, apiUserList: '[a;b]' }, 'apiUserList格式非法'],
    ['labelIdList empty', 40009, { ...june, labelIdList: '' }, 'labelIdList不能为空'],
    ['labelIdList not ids', 40015, { ...june, labelIdList: '1;x' }, '标签ID格式错误'],
    ['email empty', 40011, { email: '' }, 'email不能为空'],
    ['email invalid', 40012, { email: 'not an address' }, 'email格式非法'],
  ])('%s → %i', async (_name, code, params, message) => {
    const answer = await call('list', params);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ result: false, statusCode: code, info: {} });
    if (message) expect(answer.body.message).toBe(message);
  });
});

describe('authentication (40005)', () => {
  it.each([
    ['wrong apiKey', { apiUser: API_USER, apiKey: 'nope' }],
    ['missing apiKey', { apiUser: API_USER }],
    ['unknown apiUser', { apiUser: 'somebody', apiKey: API_KEY }],
    ['no credentials', {}],
  ])('%s is refused on every operation with the documented body', async (_name, creds) => {
    for (const op of ['list', 'add', 'delete'] as const) {
      const answer = await call(
        op,
        { ...creds, days: '1', email: 'x@example.com' },
        { auth: false, method: 'POST' },
      );
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(AUTH_FAILED);
    }
    expect(sim.account(API_USER)?.store.size()).toBe(JUNE.length + JULY.length); // nothing written
  });
});

describe('add', () => {
  it('adding the same address twice answers 40402 the second time', async () => {
    expect((await call('add', { email: 'twice@example.com' })).body.statusCode).toBe(40401);
    expect((await call('add', { email: 'TWICE@example.com' })).body).toEqual({
      result: false,
      statusCode: 40402,
      message: '取消订阅记录创建失败',
      info: {},
    });
  });

  it('an address held only by another sub-apiUser is added under the caller', async () => {
    const answer = await call('add', { email: 'june001@example.com' }); // held by delong_batch
    expect(answer.body.statusCode).toBe(40401);
    const rows = (await call('list', { email: 'june001@example.com' })).body.info.dataList;
    expect(rows.map((r: typeof SEED_ROW) => r.apiUser)).toEqual(['delong_batch', API_USER]);
  });

  it('an expired entry in the same scope is replaced, not "already exists"', async () => {
    // cxybfq@163.com under delong_test/label 0 expired on 2021-07-15 (the seed's row).
    const answer = await call('add', { email: 'cxybfq@163.com', expireTime: '2022-07-20' });
    expect(answer.body.statusCode).toBe(40401);
    const rows = (await call('list', { email: 'cxybfq@163.com' })).body.info.dataList;
    expect(rows.map((r: typeof SEED_ROW) => [r.apiUser, r.unsubscribeTime, r.expireTime])).toEqual([
      ['delong_batch', '2021-07-15 18:00:00', '9999-12-31 23:59:59'],
      [API_USER, '2021-07-20 10:00:00', '2022-07-20 00:00:00'],
    ]);
  });

  it.each([
    ['yyyy-MM-dd', '2030-01-02', '2030-01-02 00:00:00'],
    ['yyyy MM dd (the seed spelling)', '2030 01 02', '2030-01-02 00:00:00'],
    ['yyyy-MM-dd HH:mm:ss', '2030-01-02 03:04:05', '2030-01-02 03:04:05'],
  ])('expireTime %s is accepted as UTC+8', async (_name, expireTime, shown) => {
    const answer = await call('add', { email: 'exp@example.com', expireTime }, { method: 'POST' });
    expect(answer.body.info.data.expireTime).toBe(shown);
  });

  it.each([
    ['email missing', 40011, {}],
    ['email invalid', 40012, { email: 'two@@example.com' }],
    ['email with a space', 40012, { email: ' lead@example.com' }],
    ['expireTime unparsable', 40402, { email: 'ok@example.com', expireTime: 'tomorrow' }],
  ])('%s → %i, nothing stored', async (_name, code, params) => {
    const answer = await call('add', params);
    expect(answer.body).toMatchObject({ result: false, statusCode: code });
    expect(sim.account(API_USER)?.store.size()).toBe(JUNE.length + JULY.length);
  });

  it('accepts Unicode and quoted local parts (valid per RFC 6531/5321)', async () => {
    for (const email of ['用户@例子.中国', '"john doe"@example.com']) {
      expect((await call('add', { email }, { method: 'POST' })).body.statusCode).toBe(40401);
    }
  });
});

describe('delete', () => {
  it('by email removes every row of the address; absent → count 0', async () => {
    expect((await call('delete', { email: 'CXYBFQ@163.com' })).body.info).toEqual({ count: 2 });
    expect((await call('delete', { email: 'cxybfq@163.com' })).body).toEqual({
      result: true,
      statusCode: 200,
      message: '请求成功',
      info: { count: 0 },
    });
  });

  it('by window really deletes every entry in the window (the destructive form)', async () => {
    const answer = await call(
      'delete',
      { startDate: '2021-06-01', endDate: '2021-06-30' },
      { method: 'POST' },
    );
    expect(answer.body.info.count).toBe(JUNE.length);
    expect((await call('list', { startDate: '2021-06-01', endDate: '2021-06-30' })).body.info.count).toBe(0);
    expect(sim.account(API_USER)?.store.size()).toBe(JULY.length);
    const journal = sim.journal.writes('sc-main');
    expect(journal).toHaveLength(1);
    expect(journal[0]?.params).toMatchObject({ startDate: '2021-06-01', apiKey: '***' });
    expect(journal[0]?.notes).toContain(`delete by window removed ${JUNE.length} entries`);
  });

  it.each([
    ['no selector', 40098, {}],
    ['window over 3 months', 40099, { startDate: '2021-01-01', endDate: '2021-06-30' }],
    ['days not a number', 40006, { days: 'all' }],
  ])('%s (%i) is refused and deletes nothing', async (_name, code, params) => {
    expect((await call('delete', params)).body).toMatchObject({ result: false, statusCode: code });
    expect(sim.account(API_USER)?.store.size()).toBe(JUNE.length + JULY.length);
  });
});

describe('journal, dump, routing, rate limit', () => {
  it('journals method, path, masked parameters, status and kind', async () => {
    await call('list', { days: '1' });
    await call('add', { email: 'j@example.com' }, { method: 'POST' });
    const [read, write] = sim.journal.entries();
    expect(read).toMatchObject({ method: 'GET', path: '/apiv2/unsubscribe/list', status: 200, kind: 'read' });
    expect(write).toMatchObject({
      method: 'POST',
      path: '/apiv2/unsubscribe/add',
      kind: 'write',
      account: 'sc-main',
    });
    expect(JSON.stringify(sim.journal.entries())).not.toContain(API_KEY);
    expect(JSON.stringify(sim.dump())).not.toContain(API_KEY);
    expect(sim.dump().accounts[0]?.entries.some((e) => e.email === 'j@example.com')).toBe(true);
  });

  it('answers 404 off the unsubscribe routes and 405 for other methods', async () => {
    expect((await request(`${sim.url}/apiv2/bounce/list`, { dispatcher: agent })).statusCode).toBe(404);
    const put = await request(`${sim.url}/apiv2/unsubscribe/list`, { method: 'PUT', dispatcher: agent });
    expect(put.statusCode).toBe(405);
    await put.body.dump();
  });

  it('a per-key rate limit answers 429 with Retry-After', async () => {
    sim.setRateLimit(API_USER, { requestsPerSecond: 1, burst: 1 });
    expect((await call('list', { days: '1' })).status).toBe(200);
    const limited = await call('list', { days: '1' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
  });

  it('streams list bodies (chunked, no Content-Length)', async () => {
    const answer = await call('list', { startDate: '2021-06-01', endDate: '2021-06-30' });
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(answer.headers['content-length']).toBeUndefined();
  });
});

describe('faults', () => {
  const june = { startDate: '2021-06-01', endDate: '2021-06-30', limit: '100' };
  const listJune = (start = 0) => call('list', { ...june, start: String(start) });

  it('rate-limit → 429 with Retry-After', async () => {
    sim.setFaults(API_USER, 'rate-limit/7:1');
    const answer = await listJune();
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('7');
    expect((await listJune()).status).toBe(200);
  });

  it.each([500, 502, 503])('server-error/%i', async (status) => {
    sim.setFaults(API_USER, `server-error/${status}`);
    expect((await listJune()).status).toBe(status);
  });

  it('drop-socket → the connection is reset mid-body', async () => {
    sim.setFaults(API_USER, 'drop-socket');
    await expect(listJune()).rejects.toThrow();
  });

  it('truncate → fewer bytes than Content-Length, then the socket closes', async () => {
    sim.setFaults(API_USER, 'truncate/0.3');
    await expect(listJune()).rejects.toThrow();
  });

  it('malformed → a 200 whose JSON does not parse', async () => {
    sim.setFaults(API_USER, 'malformed');
    const answer = await listJune();
    expect(answer.status).toBe(200);
    expect(answer.body).toBeUndefined();
    expect(answer.text.startsWith('{"result":true')).toBe(true);
  });

  it('slow → no answer within the client timeout', async () => {
    sim.setFaults(API_USER, 'slow/2000');
    const started = Date.now();
    await expect(
      request(`${sim.url}/apiv2/unsubscribe/list?apiUser=${API_USER}&apiKey=${API_KEY}&days=1`, {
        dispatcher: agent,
        headersTimeout: 200,
      }),
    ).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('latency → every request is delayed', async () => {
    sim.setFaults(API_USER, 'latency/150');
    const started = Date.now();
    expect((await listJune()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it.each([
    ['default: 501 服务器异常 (retriable)', 'inband-error', { statusCode: 501, message: '服务器异常' }],
    ['a chosen code', 'inband-error/40000', { statusCode: 40000, message: '重复请求' }],
  ])('inband-error %s inside an HTTP 200', async (_name, fault, expected) => {
    sim.setFaults(API_USER, fault);
    const answer = await listJune();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ result: false, ...expected, info: {} });
  });

  it('inband-error#write → the write is answered with the error and not applied', async () => {
    sim.setFaults(API_USER, 'inband-error#write');
    expect((await call('delete', { email: 'cxybfq@163.com' })).body.statusCode).toBe(501);
    expect((await call('list', { email: 'cxybfq@163.com' })).body.info.count).toBe(2);
  });

  it('duplicate-row → page 2 repeats page 1’s last row first; nothing is lost', async () => {
    sim.setFaults(API_USER, 'duplicate-row@2');
    const pages = [await listJune(0), await listJune(100), await listJune(200)].map(emails);
    expect(pages[1]?.[0]).toBe(pages[0]?.[99]);
    expect(pages[1]).toHaveLength(101);
    expect(new Set(pages.flat())).toEqual(new Set(JUNE.map((e) => e.email)));
  });

  it('duplicate-row on a first page repeats its own first row', async () => {
    sim.setFaults(API_USER, 'duplicate-row');
    const rows = emails(await listJune(0));
    expect(rows.slice(0, 2)).toEqual([JUNE[0]?.email, JUNE[0]?.email]);
  });

  it('repeat-page → every page is the first page again (a paging loop)', async () => {
    sim.setFaults(API_USER, 'repeat-page@2+3');
    const first = emails(await listJune(0));
    expect(emails(await listJune(100))).toEqual(first);
    expect(emails(await listJune(200))).toEqual(first);
    expect(emails(await listJune(100))).toEqual(JUNE.slice(100, 200).map((e) => e.email)); // fault over
  });

  it('empty-last-page → the page past the end comes back with no dataList', async () => {
    sim.setFaults(API_USER, 'empty-last-page');
    expect(emails(await listJune(200))).toHaveLength(50); // a page with rows is untouched
    const past = await listJune(250);
    expect(past.body).toEqual({ result: true, statusCode: 200, message: '请求成功', info: { count: 0 } });
  });

  it('shrink → the list suddenly loses part of its entries', async () => {
    sim.setFaults(API_USER, 'shrink/0.5@2');
    expect((await listJune()).body.info.count).toBe(250);
    expect((await listJune()).body.info.count).toBe(125);
  });
});

describe('a 5,000,000-row account', () => {
  const ROWS = 5_000_000;
  const T0 = t('2021-05-01 00:00:00');
  let big: SendcloudSimulator;
  beforeAll(async () => {
    // One row a second: 5M seconds ≈ 58 days, inside one 3-month frame.
    const store = new GeneratedStore(ROWS, (i) => ({
      email: `u${i}@big.example`,
      at: T0 + i * 1000,
      apiUser: 'big_trigger',
    }));
    big = await startSendcloudSimulator({
      accounts: [{ key: 'big', credentials: { apiKey: API_KEY }, store }],
      now: () => NOW,
    });
  });
  afterAll(() => big.close());

  it('serves a deep page by index arithmetic, fast', async () => {
    const started = performance.now();
    const answer = await call(
      'list',
      {
        apiUser: 'big',
        startDate: '2021-05-01',
        endDate: '2021-07-20',
        start: String(ROWS - 50),
        limit: '100',
      },
      { target: big },
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(answer.body.info.count).toBe(ROWS);
    expect(emails(answer)).toEqual(Array.from({ length: 50 }, (_, k) => `u${ROWS - 50 + k}@big.example`));
  });
});
