/**
 * The BlueHornet simulator driven with raw HTTP built from the seed's request example
 * (shared/seeds/004_f15a0737139ae705.txt, "Example Post"), its answers checked against the seed's
 * "Example Response" and the 445 client fixture (shared/providers/bluehornet.md §3).
 * Parsing here uses fast-xml-parser, independent of the simulator's own reader.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BlueHornetEntry,
  type BlueHornetSimulator,
  PROVIDER_ID,
  seedExampleEntries,
  startBlueHornetSimulator,
} from '../../../../extractors/bluehornet/simulator.js';
import { GeneratedStore } from '../../../../extractors/core/simulator/index.js';

const LA = 'America/Los_Angeles';
const SECRET = 'sh4red-S3cret';
const EXT_SECRET = 'ext-S3cret-value';
/** Simulated "now": 2024-03-10 13:00 in Los Angeles. */
const NOW = Date.UTC(2024, 2, 10, 20, 0, 0);
const at = (iso: string): number => Date.parse(iso);

const mainEntries: BlueHornetEntry[] = [
  ...seedExampleEntries(LA),
  // 2010-04-01T03:00Z is 2010-03-31 20:00 in LA: outside April in the account's zone.
  { email: 'utc-april@example.com', at: at('2010-04-01T03:00:00Z'), messId: '42324' },
  { email: 'first-minute@example.com', at: at('2010-04-01T07:00:00Z') }, // 00:00 PDT, April 1st
  { email: 'Last.Minute@Example.com', at: at('2010-06-01T06:59:00Z') }, // 23:59 PDT, May 31st
  { email: 'june@example.com', at: at('2010-06-01T07:00:00Z') }, // 00:00 PDT, June 1st
];

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'item' || name === 'deleted_contact_data' || name === 'missing_vars',
});

interface Item {
  methodName?: string;
  error?: string;
  responseText?: string;
  responseData?: {
    responseCode?: string;
    manifest?: { deleted_contact_data?: Row[] } | '';
    status?: string;
    message?: string;
    missing_vars?: string[];
  };
  responseNum?: string;
  totalRequests?: string;
  totalCompleted?: string;
}
interface Row {
  email: string;
  date_deleted: string;
  method_unsubscribed: string;
  mess_id: string;
  external_id?: string;
  initiated_optout?: string;
}

let sim: BlueHornetSimulator;

beforeAll(async () => {
  sim = await startBlueHornetSimulator({
    now: () => NOW,
    accounts: [
      {
        key: 'bh-main-key',
        id: 'bh-main',
        credentials: { sharedSecret: SECRET },
        store: mainEntries,
        meta: { timezone: LA },
      },
      {
        key: 'bh-ext-key',
        id: 'bh-ext',
        credentials: { sharedSecret: EXT_SECRET },
        meta: { externalId: true, contacts: ['active@example.com'] },
        store: [
          {
            email: 'only@example.com',
            at: at('2012-07-04T19:00:00Z'),
            externalId: 'CRM-7',
            initiatedOptout: false,
          },
        ],
      },
      { key: 'bh-faults-key', id: 'bh-faults', credentials: { sharedSecret: SECRET }, store: mainEntries },
      {
        key: 'bh-big-key',
        id: 'bh-big',
        credentials: { sharedSecret: SECRET },
        // 5 million rows, one a minute from 2010-01-01 PST; never an array.
        store: new GeneratedStore(5_000_000, (i) => ({
          email: `u${i}@big.test`,
          at: at('2010-01-01T08:00:00Z') + i * 60_000,
        })),
      },
    ],
  });
});
afterAll(async () => {
  await sim.close();
});

/** The seed's envelope (§1) around the given methodCalls. */
function envelope(
  calls: string,
  opts: { key?: string; secret?: string; responseType?: string; noHalt?: boolean } = {},
): string {
  return (
    '<api><authentication>' +
    `<api_key>${opts.key ?? 'bh-main-key'}</api_key><shared_secret>${opts.secret ?? SECRET}</shared_secret>` +
    `<response_type>${opts.responseType ?? 'xml'}</response_type>` +
    (opts.noHalt !== undefined ? `<no_halt>${opts.noHalt ? 1 : 0}</no_halt>` : '') +
    `</authentication><data>${calls}</data></api>`
  );
}

const retrieveCall = (fields: Record<string, string>): string =>
  '<methodCall><methodName>legacy.retrieve_unsub</methodName>' +
  Object.entries(fields)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('') +
  '</methodCall>';

const manageCall = (fields: Record<string, string>): string =>
  retrieveCall(fields).replace('legacy.retrieve_unsub', 'legacy.manage_subscriber');

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  items: Item[];
}

/** POSTs an envelope the way most clients do (form field `data`), or as a raw XML body. */
async function post(xml: string, mode: 'form' | 'raw' = 'form', signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${sim.url}/api/xmlrpc/index.php`, {
    method: 'POST',
    ...(mode === 'form'
      ? { body: new URLSearchParams({ data: xml }) }
      : { body: xml, headers: { 'content-type': 'text/xml' } }),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  const parsed =
    XMLValidator.validate(text) === true
      ? (parser.parse(text) as { methodResponse?: { item?: Item[] } })
      : {};
  return { status: res.status, headers: res.headers, text, items: parsed.methodResponse?.item ?? [] };
}

const rowsOf = (item: Item | undefined): Row[] => {
  const manifest = item?.responseData?.manifest;
  return manifest === undefined || manifest === '' ? [] : (manifest.deleted_contact_data ?? []);
};

const retrieve = async (fields: Record<string, string>, key?: string, secret?: string): Promise<Row[]> => {
  const answer = await post(
    envelope(retrieveCall(fields), { ...(key ? { key } : {}), ...(secret ? { secret } : {}) }),
  );
  expect(answer.items[0]?.error).toBeUndefined();
  return rowsOf(answer.items[0]);
};

describe('legacy.retrieve_unsub', () => {
  it('answers the seed example request with the seed example response shape', async () => {
    const seedSim = await startBlueHornetSimulator({
      accounts: [{ key: 'k', credentials: { sharedSecret: 'seed-secret' }, store: seedExampleEntries() }],
    });
    try {
      const seedPost =
        '<methodCall>\n<methodName>legacy.retrieve_unsub</methodName>\n<date_deleted1>2010-04-01</date_deleted1>\n' +
        '<date_deleted2>2010-05-31</date_deleted2>\n</methodCall>';
      const res = await fetch(`${seedSim.url}/api/xmlrpc/index.php`, {
        method: 'POST',
        body: new URLSearchParams({ data: envelope(seedPost, { key: 'k', secret: 'seed-secret' }) }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      const ours = parser.parse(await res.text());
      // Seed "Example Response", with the rendering damage in <methodName> repaired (§3).
      const seed =
        parser.parse(`<methodResponse><item><methodName>legacy.retrieve_unsub</methodName><responseData><manifest>
        <deleted_contact_data><email>john_smith@example.com</email><date_deleted>2010-04-13</date_deleted>
        <method_unsubscribed>Survey Page</method_unsubscribed><mess_id>42324</mess_id></deleted_contact_data>
        <deleted_contact_data><email>subscriber@gmail.com</email><date_deleted>2010-04-10</date_deleted>
        <method_unsubscribed>System Opt-out</method_unsubscribed><mess_id></mess_id></deleted_contact_data>
        </manifest></responseData><responseNum>1</responseNum></item></methodResponse>`);
      // Row order is undocumented; the simulator answers in unsubscribe order [A].
      const byEmail = (rows: Row[]) => [...rows].sort((a, b) => a.email.localeCompare(b.email));
      const seedItem = seed.methodResponse.item[0];
      const ourItem = ours.methodResponse.item[0];
      expect(byEmail(ourItem.responseData.manifest.deleted_contact_data)).toEqual(
        byEmail(seedItem.responseData.manifest.deleted_contact_data),
      );
      expect({ ...ourItem, responseData: null }).toEqual({ ...seedItem, responseData: null });
    } finally {
      await seedSim.close();
    }
  });

  it('wraps free-text values in CDATA with surrounding whitespace and keeps <mess_id></mess_id>', async () => {
    const { text } = await post(envelope(retrieveCall({ date_deleted1: '2010-04-10' })));
    expect(text.startsWith('<?xml version="1.0"?>')).toBe(true);
    expect(text).toMatch(/<email>\n\s+<!\[CDATA\[subscriber@gmail\.com\]\]>\n\s+<\/email>/);
    expect(text).toContain('<mess_id></mess_id>');
  });

  it('accepts the envelope as a raw XML body too', async () => {
    const fields = { date_deleted1: '2010-04-01', date_deleted2: '2010-05-31' };
    const form = await post(envelope(retrieveCall(fields)), 'form');
    const raw = await post(envelope(retrieveCall(fields)), 'raw');
    expect(raw.items).toEqual(form.items);
    const multipart = new FormData();
    multipart.set('data', envelope(retrieveCall(fields)));
    const res = await fetch(`${sim.url}/api/xmlrpc/index.php`, { method: 'POST', body: multipart });
    expect(parser.parse(await res.text()).methodResponse.item).toEqual(form.items);
    expect(rowsOf(raw.items[0])).toHaveLength(4);
  });

  it.each([
    // both ends inclusive, in the account's zone
    [
      { date_deleted1: '2010-04-01', date_deleted2: '2010-05-31' },
      [
        'first-minute@example.com',
        'subscriber@gmail.com',
        'john_smith@example.com',
        'Last.Minute@Example.com',
      ],
    ],
    // one date = that single day
    [{ date_deleted1: '2010-03-31' }, ['utc-april@example.com']],
    [{ date_deleted1: '2010-06-01' }, ['june@example.com']],
    [
      { date_deleted1: '2010-05-31', date_deleted2: '2010-06-01' },
      ['Last.Minute@Example.com', 'june@example.com'],
    ],
    // email only (case-insensitive), email within a range, mess_id filter
    [{ email: 'last.minute@example.com' }, ['Last.Minute@Example.com']],
    [{ email: 'june@example.com', date_deleted1: '2010-04-01', date_deleted2: '2010-05-31' }, []],
    [
      { date_deleted1: '2010-03-01', date_deleted2: '2010-06-30', mess_id: '42324' },
      ['utc-april@example.com', 'john_smith@example.com'],
    ],
    [{ date_deleted1: '2011-01-01', date_deleted2: '2011-12-31' }, []],
  ])('selects by %j', async (fields, expected) => {
    const rows = await retrieve(fields);
    expect(rows.map((r) => r.email)).toEqual(expected);
  });

  it('reports date_deleted as the local date of the account zone', async () => {
    const [row] = await retrieve({ email: 'utc-april@example.com' });
    expect(row).toEqual({
      email: 'utc-april@example.com',
      date_deleted: '2010-03-31',
      method_unsubscribed: 'System Opt-out',
      mess_id: '42324',
    });
  });

  it('answers a single-row manifest with external_id and initiated_optout when External ID is on', async () => {
    const answer = await post(
      envelope(retrieveCall({ date_deleted1: '2012-07-04' }), { key: 'bh-ext-key', secret: EXT_SECRET }),
    );
    expect(answer.text.match(/<deleted_contact_data>/g)).toHaveLength(1);
    expect(rowsOf(answer.items[0])).toEqual([
      {
        email: 'only@example.com',
        external_id: 'CRM-7',
        date_deleted: '2012-07-04',
        method_unsubscribed: 'System Opt-out',
        mess_id: '',
        initiated_optout: '0',
      },
    ]);
  });

  it('answers zero rows with an empty manifest', async () => {
    const answer = await post(envelope(retrieveCall({ date_deleted1: '1999-01-01' })));
    expect(answer.text).toMatch(/<manifest>\s*<\/manifest>/);
    expect(answer.items[0]?.responseData?.manifest).toBe('');
  });

  it('streams a large window from the 5M-row generated account', async () => {
    const res = await fetch(`${sim.url}/api/xmlrpc/index.php`, {
      method: 'POST',
      body: new URLSearchParams({
        data: envelope(retrieveCall({ date_deleted1: '2010-01-02', date_deleted2: '2010-01-15' }), {
          key: 'bh-big-key',
        }),
      }),
    });
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const text = await res.text();
    // 14 local days × 1440 rows a minute, starting at index 1440 (2010-01-02 00:00 PST).
    expect(text.match(/<deleted_contact_data>/g)).toHaveLength(14 * 1440);
    expect(text).toContain('u1440@big.test');
    expect(text).not.toContain('u1439@big.test');
    expect(text).toContain(`u${15 * 1440 - 1}@big.test`);
  });
});

describe('errors inside HTTP 200', () => {
  it.each([
    [
      'date_deleted2 without date_deleted1',
      { date_deleted2: '2010-05-31' },
      432,
      'Invalid search parameters',
    ],
    ['no email and no date_deleted1', {}, 432, 'Invalid search parameters'],
    ['mess_id alone', { mess_id: '42324' }, 432, 'Invalid search parameters'],
    ['non-numeric mess_id', { date_deleted1: '2010-04-01', mess_id: 'x' }, 432, 'Invalid search parameters'],
    [
      'date_deleted1 not YYYY-MM-DD',
      { date_deleted1: '04/01/2010' },
      471,
      'date_deleted1 must be in YYYY-MM-DD format',
    ],
    [
      'date_deleted1 impossible',
      { date_deleted1: '2010-02-30' },
      471,
      'date_deleted1 must be in YYYY-MM-DD format',
    ],
    [
      'date_deleted1 unpadded',
      { date_deleted1: '2010-4-1' },
      471,
      'date_deleted1 must be in YYYY-MM-DD format',
    ],
    [
      'date_deleted2 with a time',
      { date_deleted1: '2010-04-01', date_deleted2: '2010-05-31 00:00:00' },
      472,
      'date_deleted2 must be in YYYY-MM-DD format',
    ],
    [
      'equal dates',
      { date_deleted1: '2010-04-01', date_deleted2: '2010-04-01' },
      473,
      'date_deleted1 must be earlier than date_deleted2',
    ],
    [
      'reversed dates',
      { date_deleted1: '2010-05-31', date_deleted2: '2010-04-01' },
      473,
      'date_deleted1 must be earlier than date_deleted2',
    ],
  ])('%s → %i', async (_name, fields, code, text) => {
    const answer = await post(envelope(retrieveCall(fields)));
    expect(answer.status).toBe(200);
    expect(answer.items).toHaveLength(1);
    expect(answer.items[0]).toEqual({
      methodName: 'legacy.retrieve_unsub',
      error: '1',
      responseText: text,
      responseData: { responseCode: String(code) },
      responseNum: '1',
      totalRequests: '1',
      totalCompleted: '0',
    });
  });

  it.each([
    ['a wrong shared_secret', { secret: 'nope' }],
    ['an unknown api_key', { key: 'who-is-this' }],
    ['another account’s secret', { secret: EXT_SECRET }],
  ])('answers %s with the 445 fixture', async (_name, creds) => {
    const answer = await post(envelope(retrieveCall({ date_deleted1: '2010-04-01' }), creds));
    expect(answer.status).toBe(200);
    // shared/providers/bluehornet.md §3, C:2 ErrorMessageTest (CDATA, whitespace) after trimming.
    expect(answer.items).toEqual([
      {
        error: '1',
        responseText: 'Could not authenticate',
        responseData: { responseCode: '445' },
        responseNum: '1',
        totalRequests: '1',
        totalCompleted: '0',
      },
    ]);
    expect(answer.text).toMatch(/<error>\n\s+<!\[CDATA\[1\]\]>\n\s+<\/error>/);
    expect(answer.text).not.toContain('<deleted_contact_data>');
  });

  it.each([
    [
      'no authentication',
      '<api><data><methodCall><methodName>legacy.retrieve_unsub</methodName></methodCall></data></api>',
      'Missing variables',
      ['authentication'],
    ],
    [
      'no shared_secret',
      '<api><authentication><api_key>bh-main-key</api_key></authentication><data><methodCall><methodName>x</methodName></methodCall></data></api>',
      'Missing variables',
      ['shared_secret'],
    ],
    ['not XML', 'date_deleted1=2010-04-01', 'Invalid XML: malformed', undefined],
    [
      'an undeclared entity',
      envelope(retrieveCall({ date_deleted1: '&nbsp;' })),
      'Invalid XML: malformed',
      undefined,
    ],
  ])('answers %s with an envelope error', async (_name, xml, text, missing) => {
    const answer = await post(xml);
    expect(answer.status).toBe(200);
    expect(answer.items[0]?.error).toBe('1');
    expect(answer.items[0]?.responseText).toBe(text);
    expect(answer.items[0]?.responseData?.missing_vars).toEqual(missing);
  });

  it('answers an unknown method with "Incorrect Action Specified" and php for retrieve_unsub with an error', async () => {
    const unknown = await post(envelope('<methodCall><methodName>legacy.nope</methodName></methodCall>'));
    expect(unknown.items[0]).toMatchObject({
      methodName: 'legacy.nope',
      error: '1',
      responseText: 'Incorrect Action Specified',
    });
    const php = await post(envelope(retrieveCall({ date_deleted1: '2010-04-01' }), { responseType: 'php' }));
    expect(php.items[0]).toMatchObject({
      error: '1',
      responseText: 'legacy.retrieve_unsub only supports the xml response type',
    });
  });

  it.each([
    [
      'billion laughs',
      `<?xml version="1.0"?><!DOCTYPE api [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`).join('')}]><api>&bbbbbbbbb;</api>`,
    ],
    [
      'an external entity',
      '<!DOCTYPE api [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><api><authentication><api_key>&xxe;</api_key></authentication></api>',
    ],
    ['a parameter entity', '<!DOCTYPE api [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><api/>'],
  ])('refuses %s without expanding anything', async (_name, xml) => {
    const started = performance.now();
    const answer = await post(xml);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(answer.items[0]).toMatchObject({
      error: '1',
      responseText: 'Invalid XML: doctype',
      responseData: { responseCode: '400' },
    });
    expect(answer.text).not.toContain('root:');
    expect(sim.journal.entries().at(-1)?.notes).toContain('refused: DOCTYPE in request XML');
  });

  it('stops at the first failed call unless no_halt=1', async () => {
    const calls =
      retrieveCall({ date_deleted1: '2010-04-13' }) +
      retrieveCall({ date_deleted1: 'bad' }) +
      retrieveCall({ date_deleted1: '2010-04-10' });
    const halted = await post(envelope(calls));
    expect(halted.items.map((i) => [i.responseNum, i.error, i.totalCompleted])).toEqual([
      ['1', undefined, undefined],
      ['2', '1', '1'],
    ]);
    const goOn = await post(envelope(calls, { noHalt: true }));
    expect(goOn.items.map((i) => i.responseNum)).toEqual(['1', '2', '3']);
    expect(rowsOf(goOn.items[2]).map((r) => r.email)).toEqual(['subscriber@gmail.com']);
    expect(goOn.items[1]?.totalRequests).toBe('3');
  });

  it('answers 404 off the route and 405 for GET', async () => {
    expect((await fetch(`${sim.url}/api/other.php`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${sim.url}/api/xmlrpc/index.php`)).status).toBe(405);
  });
});

describe('legacy.manage_subscriber', () => {
  const manage = async (fields: Record<string, string>) => {
    const answer = await post(envelope(manageCall(fields), { key: 'bh-ext-key', secret: EXT_SECRET }));
    return answer.items[0];
  };
  const listed = async (email: string) =>
    post(envelope(retrieveCall({ email }), { key: 'bh-ext-key', secret: EXT_SECRET })).then((a) =>
      rowsOf(a.items[0]),
    );

  it('optout=1 records an unsubscribe dated today, idempotently', async () => {
    expect(await manage({ email: 'new@example.com', optout: '1' })).toMatchObject({
      methodName: 'legacy.manage_subscriber',
      responseData: { status: '1', message: 'User has been added' },
    });
    expect(await listed('new@example.com')).toEqual([
      {
        email: 'new@example.com',
        external_id: '',
        date_deleted: '2024-03-10',
        method_unsubscribed: 'API Opt-out',
        mess_id: '',
        initiated_optout: '0',
      },
    ]);
    // already opted out: success, and the original date is kept
    expect((await manage({ email: 'ONLY@example.com', optout: '1' }))?.responseData).toEqual({
      status: '2',
      message: 'User has been updated',
    });
    expect((await listed('only@example.com'))[0]?.date_deleted).toBe('2012-07-04');
    // an active contact opted out: updated
    expect(
      (await manage({ email: 'active@example.com', optout: '1', check_optout: '1' }))?.responseData?.status,
    ).toBe('2');
    expect(await listed('active@example.com')).toHaveLength(1);
  });

  it('remove=1 deletes a contact, keeps its opt-out, and says when the contact does not exist', async () => {
    expect(await manage({ email: 'ghost@example.com', remove: '1' })).toMatchObject({
      error: '1',
      responseText: 'Contact does not exist',
      responseData: { responseCode: '404' },
    });
    expect((await manage({ email: 'new@example.com', remove: '1' }))?.responseData).toEqual({
      status: '3',
      message: 'User has been deleted',
    });
    expect(await listed('new@example.com')).toHaveLength(1);
  });

  it('re-activates an opted-out contact on a plain update unless check_optout=1 (the destructive form)', async () => {
    await manage({ email: 'again@example.com', optout: '1' });
    expect(
      (await manage({ email: 'again@example.com', firstname: 'A', check_optout: '1' }))?.responseData?.status,
    ).toBe('2');
    expect(await listed('again@example.com')).toHaveLength(1);
    expect((await manage({ email: 'again@example.com', firstname: 'A' }))?.responseData?.status).toBe('2');
    expect(await listed('again@example.com')).toHaveLength(0);
    expect(sim.journal.writes('bh-ext').flatMap((e) => e.notes)).toContain(
      'manage_subscriber: RE-ACTIVATED an opted-out contact (opt-out removed)',
    );
  });

  it.each([
    ['no email or external_id', { optout: '1' }, 'Missing variables'],
    [
      'an email over 132 characters',
      { email: `${'a'.repeat(130)}@x.test`, optout: '1' },
      'Invalid email address',
    ],
    ['an unknown external_id', { external_id: 'CRM-404', optout: '1' }, 'Contact does not exist'],
  ])('refuses %s', async (_name, fields, text) => {
    expect(await manage(fields)).toMatchObject({ error: '1', responseText: text });
  });

  it('finds the contact by external_id alone', async () => {
    expect((await manage({ external_id: 'CRM-7', optout: '1' }))?.responseData?.status).toBe('2');
  });

  it('journals writes with the secrets masked', () => {
    const writes = sim.journal.writes('bh-ext');
    expect(writes.length).toBeGreaterThan(5);
    const journal = JSON.stringify(sim.journal.entries());
    for (const secret of [SECRET, EXT_SECRET, 'bh-main-key', 'bh-ext-key'])
      expect(journal).not.toContain(secret);
    expect(writes[0]?.params['data']).toContain('<shared_secret>***</shared_secret>');
    expect(JSON.stringify(sim.dump())).not.toContain(EXT_SECRET);
  });
});

describe('faults (account bh-faults)', () => {
  const key = 'bh-faults-key';
  const april = () =>
    post(envelope(retrieveCall({ date_deleted1: '2010-04-01', date_deleted2: '2010-05-31' }), { key }));
  const withFaults = async <T>(faults: string, run: () => Promise<T>): Promise<T> => {
    sim.setFaults(key, faults);
    try {
      return await run();
    } finally {
      sim.setFaults(key, '');
    }
  };

  it('inband-error: an error item with a 5xx code inside HTTP 200, then normal answers', async () => {
    await withFaults('inband-error:1', async () => {
      const first = await april();
      expect(first.status).toBe(200);
      expect(first.items[0]).toMatchObject({ error: '1', responseData: { responseCode: '500' } });
      expect(rowsOf((await april()).items[0])).toHaveLength(4);
    });
    await withFaults('inband-error/auth', async () => {
      expect((await april()).items[0]?.responseData?.responseCode).toBe('445');
    });
  });

  it('duplicate-row: the first row comes again at the end of the manifest', async () => {
    const rows = await withFaults('duplicate-row', async () => rowsOf((await april()).items[0]));
    expect(rows.map((r) => r.email)).toEqual([
      'first-minute@example.com',
      'subscriber@gmail.com',
      'john_smith@example.com',
      'Last.Minute@Example.com',
      'first-minute@example.com',
    ]);
  });

  it('duplicate-row/previous-day: the day before date_deleted1 is served again', async () => {
    const rows = await withFaults('duplicate-row/previous-day', async () => rowsOf((await april()).items[0]));
    expect(rows[0]?.email).toBe('utc-april@example.com');
    expect(rows).toHaveLength(5);
  });

  it.each(['repeat-page', 'empty-last-page'])(
    '%s is not applicable: the answer is unchanged and the journal says so',
    async (kind) => {
      const answer = await withFaults(kind, april);
      expect(rowsOf(answer.items[0])).toHaveLength(4);
      expect(sim.journal.entries().at(-1)?.notes).toContain(
        `${kind}: not applicable to bluehornet (no paging), ignored`,
      );
    },
  );

  it('shrink: part of the list disappears for good', async () => {
    const shrinkSim = await startBlueHornetSimulator({
      accounts: [
        {
          key: 's',
          credentials: { sharedSecret: 'shrink-secret' },
          store: mainEntries,
          faults: 'shrink/0.5@2',
        },
      ],
    });
    try {
      const ask = () =>
        fetch(`${shrinkSim.url}/api/xmlrpc/index.php`, {
          method: 'POST',
          body: new URLSearchParams({
            data: envelope(retrieveCall({ date_deleted1: '2010-03-01', date_deleted2: '2010-06-30' }), {
              key: 's',
              secret: 'shrink-secret',
            }),
          }),
        }).then(async (r) => (await r.text()).match(/<deleted_contact_data>/g)?.length ?? 0);
      expect(await ask()).toBe(6);
      expect(await ask()).toBe(3);
      expect(await ask()).toBe(3);
    } finally {
      await shrinkSim.close();
    }
  });

  it.each([
    [
      'rate-limit/7',
      async () => {
        const res = await fetch(`${sim.url}/api/xmlrpc/index.php`, {
          method: 'POST',
          body: new URLSearchParams({
            data: envelope(retrieveCall({ date_deleted1: '2010-04-01' }), { key }),
          }),
        });
        expect(res.status).toBe(429);
        expect(res.headers.get('retry-after')).toBe('7');
      },
    ],
    ['server-error/503', async () => expect((await april()).status).toBe(503)],
    ['server-error/502', async () => expect((await april()).status).toBe(502)],
    ['drop-socket', async () => expect(april()).rejects.toThrow()],
    ['truncate', async () => expect(april()).rejects.toThrow()],
    [
      'malformed',
      async () => {
        const answer = await april();
        expect(answer.status).toBe(200);
        expect(XMLValidator.validate(answer.text)).not.toBe(true);
      },
    ],
    [
      'slow/400',
      async () =>
        expect(
          post(
            envelope(retrieveCall({ date_deleted1: '2010-04-01' }), { key }),
            'form',
            AbortSignal.timeout(100),
          ),
        ).rejects.toThrow(),
    ],
    [
      'latency/150',
      async () => {
        const started = performance.now();
        expect((await april()).status).toBe(200);
        expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      },
    ],
  ] as const)('%s (kit-applied)', async (faults, check) => {
    await withFaults(faults, check);
  });

  it('per-key rate limit answers 429 with Retry-After', async () => {
    sim.setRateLimit(key, { requestsPerSecond: 0.5, burst: 1 });
    try {
      expect((await april()).status).toBe(200);
      const limited = await april();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      sim.setRateLimit(key, undefined);
    }
  });
});

it('exports the uniform simulator API', () => {
  expect(PROVIDER_ID).toBe('bluehornet');
  expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const dump = sim.dump(3);
  expect(dump.accounts.map((a) => a.id)).toEqual(['bh-main', 'bh-ext', 'bh-faults', 'bh-big']);
  expect(dump.accounts[3]?.size).toBe(5_000_000);
});
