// Bad input, one table: config fields, CLI arguments, dates, hostile provider answers, patch files
// and `sql` write attempts, each through the real CLI against a warehouse that already holds a
// nightly run. Every case must exit with its code and a message naming the input, echo no secret,
// leave the warehouse's content digest as it was and create no run folder.
// `make test` runs the cases marked `fast`; `make reliability` (RELIABILITY_FULL=1) runs them all
// and writes results/bad-input.json for RELIABILITY.md.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import {
  bytesAnswer,
  type ScriptedAnswer,
  type ScriptedProvider,
  startScriptedProvider,
} from './scripted-provider.js';
import { RELIABILITY_FULL, type ResultRow, writeSuiteResults } from './suite-results.js';
import { digestChanges, warehouseDigest } from './warehouse-digest.js';

type Json = Record<string, unknown>;
type ConfigJson = { accounts: Json[]; groups: Json[]; notify?: Json } & Json;

interface Context {
  sandbox: Sandbox;
  hostile: ScriptedProvider;
  /** A config file beside the sandbox's (same warehouse and outDir) after `mutate`. */
  config(mutate?: (config: ConfigJson) => void): string;
  /** A copy of the nightly's patch folder for group all-brands, after `mutate`. */
  patchCopy(mutate: (dir: string) => void): string;
}

interface BadInputCase {
  area: 'config' | 'cli' | 'dates' | 'provider' | 'patch' | 'sql';
  name: string;
  exit: number;
  /** The clear message: it must name the input. */
  message: RegExp;
  /** Part of the bounded subset `make test` runs. */
  fast?: boolean;
  /** Full matrix only even when it would be fast (slow or memory-hungry). */
  heavy?: boolean;
  /**
   * A refused extraction is still journaled (DESIGN.md: a failed account is recorded): only the
   * run journal may change, with the run marked failed; no data row may appear.
   */
  journal?: boolean;
  /** Prepares files and returns the CLI arguments (after nothing: `--config` is the case's to give). */
  args(ctx: Context): string[];
}

const HOSTILE_KEY = 'hostile-key-Zq8v1T3r';
const HOSTILE_USER = 'hostile-user-Lm4k9P2w';
const LITERAL_SECRET = 'literal-secret-Xr7Yp2Qz';

/** `nightly` with the config after `mutate`: refused at validation, exit 2. */
const configCase = (
  name: string,
  mutate: (c: ConfigJson) => void,
  message: RegExp,
  fast = false,
): BadInputCase => ({
  area: 'config',
  name,
  exit: 2,
  message,
  fast,
  args: (ctx) => ['--config', ctx.config(mutate), 'nightly'],
});

const account = (c: ConfigJson, i = 0) => c.accounts[i]!;
const group = (c: ConfigJson, i = 0) => c.groups[i]!;

/** A command against the sandbox config. */
const cliCase = (
  area: 'cli' | 'dates',
  name: string,
  args: string[],
  exit: number,
  message: RegExp,
  fast = false,
): BadInputCase => ({
  area,
  name,
  exit,
  message,
  fast,
  args: (ctx) => ['--config', ctx.sandbox.configFile, ...args],
});

const sqlCase = (query: string, message: RegExp, fast = false): BadInputCase => ({
  ...cliCase('cli', `sql ${JSON.stringify(query)}`, ['sql', query], 2, message, fast),
  area: 'sql',
});

/**
 * One extra account, `hostile` (legacy SendGrid subuser), served by the scripted provider: its
 * answer is the bad input. Only that account is extracted; it must fail, naming itself.
 */
const providerCase = (
  name: string,
  format: 'json' | 'xml',
  answer: ScriptedAnswer,
  message: RegExp,
  options: { fast?: boolean; heavy?: boolean } = {},
): BadInputCase => ({
  area: 'provider',
  name,
  exit: 1,
  message,
  journal: true,
  ...options,
  args: (ctx) => {
    ctx.hostile.answer(answer);
    return ['--config', hostileConfig(ctx, format), 'extract', '--account', 'hostile'];
  },
});

/** The sandbox config plus the `hostile` account the scripted provider serves. */
function hostileConfig(ctx: Context, format: 'json' | 'xml'): string {
  const since = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  return ctx.config((c) => {
    c.accounts.push({
      id: 'hostile',
      provider: 'sendgrid-subuser',
      baseUrl: ctx.hostile.url,
      credentials: { api_user: HOSTILE_USER, api_key: HOSTILE_KEY },
      options: { user: 'hostile', format },
      since,
      timeoutMs: 20_000,
    });
  });
}

const patchCase = (
  name: string,
  mutate: (dir: string) => void,
  message: RegExp,
  fast = false,
): BadInputCase => ({
  area: 'patch',
  name,
  exit: 1,
  message,
  fast,
  args: (ctx) => ['--config', ctx.sandbox.configFile, 'replay', ctx.patchCopy(mutate), '--apply'],
});

const firstAddFile = (dir: string) =>
  path.join(
    dir,
    readdirSync(dir)
      .filter((f) => f.endsWith('.add.csv'))
      .sort()[0]!,
  );
const editFile = (file: string, edit: (text: string) => string) =>
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
/** Re-seals a hand-edited file in the manifest, so the check behind the sha256 one is reached. */
const reseal = (file: string) =>
  editFile(path.join(path.dirname(file), 'manifest.json'), (text) => {
    const manifest = JSON.parse(text) as { files: { path: string; sha256: string }[] };
    const entry = manifest.files.find((f) => f.path === path.basename(file))!;
    entry.sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    return JSON.stringify(manifest, null, 2);
  });
const xmlRows = (emails: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><unsubscribes>${emails
    .map((e) => `<unsubscribe><email>${e}</email><created>2026-01-01 00:00:00</created></unsubscribe>`)
    .join('')}</unsubscribes>`;
const BILLION_LAUGHS = `<?xml version="1.0"?><!DOCTYPE unsubscribes [<!ENTITY a "aaaaaaaaaa">${Array.from(
  { length: 9 },
  (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`,
).join('')}]><unsubscribes><unsubscribe><email>&bbbbbbbbb;@x.example</email></unsubscribe></unsubscribes>`;

/** `[{"email":"` then 100 MiB of letters: one value that never ends, read whole before parsing. */
const hundredMegabytes: ScriptedAnswer = (_req, res) => {
  const head = Buffer.from('[{"email":"');
  const chunk = Buffer.alloc(1 << 20, 0x61);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': head.length + 100 * chunk.length,
  });
  res.write(head);
  let sent = 0;
  const more = (): void => {
    while (sent < 100) {
      sent++;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
};

const JOURNAL = new Set([
  'runs',
  'extractions',
  'stage_extractions',
  'extract_windows',
  'stage_extract_windows',
  'requests',
  'stage_requests',
]);

const CASES: BadInputCase[] = [
  // Config: every field, through `nightly` (validation happens before anything is opened).
  {
    area: 'config',
    name: 'config file missing',
    exit: 2,
    message: /nope\.config\.json.*file not found/,
    fast: true,
    args: () => ['--config', '/nonexistent/nope.config.json', 'nightly'],
  },
  {
    area: 'config',
    name: 'config not JSON',
    exit: 2,
    message: /bad-json\.config\.json: invalid JSON \(Unexpected token/,
    args: (ctx) => {
      const f = path.join(ctx.sandbox.dir, 'bad-json.config.json');
      writeFileSync(f, '{"accounts": [,]}');
      return ['--config', f, 'nightly'];
    },
  },
  configCase(
    'unknown top-level key',
    (c) => (c.outdir = 'x'),
    /unknown key "outdir" \(did you mean "outDir"\?\)/,
    true,
  ),
  configCase('warehouse empty', (c) => (c.warehouse = ''), /warehouse: got ""/),
  configCase('outDir empty', (c) => (c.outDir = ''), /outDir: got ""/),
  configCase('no accounts', (c) => (c.accounts = []), /accounts.*at least one account/),
  configCase('account id ../x', (c) => (account(c).id = '../x'), /accounts\[0\]\.id: got "\.\.\/x"/, true),
  configCase('account id a/b', (c) => (account(c).id = 'a/b'), /accounts\[0\]\.id: got "a\/b"/),
  configCase('account id .', (c) => (account(c).id = '.'), /accounts\[0\]\.id: got "\."/),
  configCase(
    'account id duplicated',
    (c) => (account(c, 1).id = account(c).id),
    /accounts\[1\]\.id: duplicate account id "sg-reseller"/,
  ),
  configCase(
    'account unknown key',
    (c) => (account(c).timeZone = 'UTC'),
    /accounts\[0\]\.timeZone: unknown key "timeZone" \(did you mean "timezone"\?\)/,
  ),
  configCase(
    'provider unknown',
    (c) => (account(c).provider = 'mailchimp'),
    /accounts\[0\]\.provider: got "mailchimp".*one of/,
  ),
  configCase(
    'baseUrl not http(s)',
    (c) => (account(c).baseUrl = 'ftp://127.0.0.1/'),
    /accounts\[0\]\.baseUrl: got "ftp:\/\/127\.0\.0\.1\/"/,
  ),
  configCase(
    'credential missing',
    (c) => (account(c).credentials = { api_user: 'env:SANDBOX_SG_RESELLER_API_USER' }),
    /accounts\[0\]\.credentials\.api_key: missing/,
  ),
  configCase(
    'credential env variable unset',
    (c) => (account(c).credentials = { api_user: 'env:UNSET_USER_VAR', api_key: 'env:UNSET_KEY_VAR' }),
    /accounts\[0\]\.credentials\.api_user: environment variable UNSET_USER_VAR is not set/,
    true,
  ),
  configCase(
    'credential unknown key (literal secret beside it)',
    (c) =>
      (account(c).credentials = {
        api_user: LITERAL_SECRET,
        api_key: LITERAL_SECRET,
        apikey: LITERAL_SECRET,
      }),
    /accounts\[0\]\.credentials\.apikey: unknown credential/,
  ),
  configCase(
    'credential of the wrong type (value hidden)',
    (c) => (account(c).credentials = { api_user: LITERAL_SECRET, api_key: 12345678 }),
    /accounts\[0\]\.credentials\.api_key: got \(value hidden\)/,
  ),
  configCase(
    'provider option invalid',
    (c) => (account(c).options = { user: 'brand', format: 'yaml' }),
    /accounts\[0\]\.options\.format: got "yaml".*json, xml/,
  ),
  configCase(
    'timezone unknown',
    (c) => (account(c).timezone = 'Mars/Olympus_Mons'),
    /accounts\[0\]\.timezone: got "Mars\/Olympus_Mons".*IANA time zone/,
    true,
  ),
  configCase(
    'since impossible date',
    (c) => (account(c).since = '2023-02-29'),
    /accounts\[0\]\.since: got "2023-02-29".*real calendar date/,
  ),
  configCase(
    'lookbackDays negative',
    (c) => (account(c).lookbackDays = -1),
    /accounts\[0\]\.lookbackDays: got -1/,
  ),
  configCase('timeoutMs too small', (c) => (account(c).timeoutMs = 5), /accounts\[0\]\.timeoutMs: got 5/),
  configCase(
    'rateLimit.requestsPerSecond zero',
    (c) => (account(c).rateLimit = { requestsPerSecond: 0, concurrency: 1 }),
    /accounts\[0\]\.rateLimit\.requestsPerSecond: got 0.*positive/,
  ),
  configCase(
    'rateLimit.concurrency zero',
    (c) => (account(c).rateLimit = { requestsPerSecond: 1, concurrency: 0 }),
    /accounts\[0\]\.rateLimit\.concurrency: got 0.*at least 1/,
  ),
  configCase('group id ../g', (c) => (group(c).id = '../g'), /groups\[0\]\.id: got "\.\.\/g"/, true),
  configCase(
    'group with one account',
    (c) => (group(c).accounts = ['sg-sub']),
    /groups\[0\]\.accounts.*at least two account ids/,
  ),
  configCase(
    'group names an unknown account',
    (c) => (group(c).accounts = ['sg-sub', 'sg-subb']),
    /groups\[0\]\.accounts\[1\]: unknown account "sg-subb" \(did you mean "sg-sub"\?\)/,
  ),
  configCase(
    'group policy unknown',
    (c) => (group(c).policy = 'majority'),
    /groups\[0\]\.policy: got "majority".*union, mirror/,
  ),
  configCase(
    'mirror group without source',
    (c) => {
      group(c).policy = 'mirror';
      delete group(c).source;
    },
    /groups\[0\]\.source: missing for policy "mirror"/,
  ),
  configCase(
    'group source not a member',
    (c) => {
      group(c, 1).policy = 'mirror';
      group(c, 1).source = 'wc-main';
    },
    /groups\[1\]\.source: "wc-main" is not a member/,
  ),
  configCase(
    'group scope malformed',
    (c) => (group(c).scope = 'list:abc'),
    /groups\[0\]\.scope: got "list:abc".*"global" or "list:<id>"/,
  ),
  configCase(
    'maxDeleteFraction above 1',
    (c) => (group(c).maxDeleteFraction = 2),
    /groups\[0\]\.maxDeleteFraction: got 2.*fraction from 0 to 1/,
  ),
  configCase(
    'maxDeletes not whole',
    (c) => (group(c).maxDeletes = 1.5),
    /groups\[0\]\.maxDeletes: got 1\.5.*whole number/,
  ),
  configCase(
    'notify.webhook not a URL',
    (c) => (c.notify = { webhook: 'ftp://hooks.example/x' }),
    /notify\.webhook: got \(value hidden\).*http\(s\) URL/,
  ),
  configCase(
    'notify.webhook env variable unset',
    (c) => (c.notify = { webhook: 'env:UNSET_HOOK_VAR' }),
    /notify\.webhook: environment variable UNSET_HOOK_VAR is not set/,
  ),

  // CLI arguments.
  cliCase('cli', 'unknown command', ['nightlyy'], 2, /unknown command 'nightlyy'/, true),
  cliCase('cli', 'unknown option', ['nightly', '--apply-all'], 2, /unknown option '--apply-all'/),
  cliCase(
    'cli',
    'extract --account of no account',
    ['extract', '--account', 'nope'],
    2,
    /--account nope: no such account/,
  ),
  cliCase(
    'cli',
    'extract --full with --from',
    ['extract', '--full', '--from', '2024-01-01'],
    2,
    /--full and --from exclude each other/,
  ),
  cliCase(
    'cli',
    'plan --group of no group',
    ['plan', '--group', 'nope'],
    2,
    /--group nope: no such group; expected one of all-brands, sg-to-sc/,
  ),
  cliCase(
    'cli',
    'report --group of no group',
    ['report', '--group', 'nope'],
    2,
    /--group: "nope" is not a group/,
  ),
  cliCase(
    'cli',
    'runs --limit -1',
    ['runs', '--limit', '-1'],
    2,
    /--limit: got "-1", expected a whole number/,
  ),
  cliCase(
    'cli',
    'replay --concurrency 0',
    ['replay', '.', '--concurrency', '0'],
    2,
    /--concurrency: got "0", expected a whole number/,
  ),
  cliCase(
    'cli',
    'replay of a missing folder',
    ['replay', '/nonexistent/patches'],
    1,
    /PATCH_INVALID: \/nonexistent\/patches: no such file or folder/,
  ),
  cliCase(
    'cli',
    'export --format xlsx',
    ['export', '--format', 'xlsx', '--out', '/tmp/unsub-never'],
    2,
    /'--format <format>' argument 'xlsx' is invalid/,
  ),
  cliCase('cli', 'sql --format xml', ['sql', 'SELECT 1', '--format', 'xml'], 2, /--format.*xml/),

  // Dates.
  cliCase(
    'dates',
    '--from after --to',
    ['extract', '--from', '2024-05-01', '--to', '2024-04-01'],
    2,
    /--from 2024-05-01 is not before --to 2024-04-01/,
    true,
  ),
  cliCase(
    'dates',
    '--from on an impossible day',
    ['extract', '--from', '2024-02-30'],
    2,
    /--from: .*2024-02-30/,
  ),
  cliCase(
    'dates',
    '--from in month 13',
    ['extract', '--from', '2024-13-01'],
    2,
    /--from: .*"2024-13-01" is impossible/,
  ),
  cliCase(
    'dates',
    '--to on 29 February of a common year',
    ['extract', '--from', '2023-01-01', '--to', '2023-02-29'],
    2,
    /--to: .*2023-02-29/,
  ),
  cliCase(
    'dates',
    '--from with an impossible zone offset',
    ['extract', '--from', '2024-01-01T00:00+25:00'],
    2,
    /--from: date "2024-01-01T00:00\+25:00" is not YYYY-MM-DD or an ISO 8601 instant with a zone/,
  ),
  cliCase(
    'dates',
    '--from an instant without a zone',
    ['extract', '--from', '2024-01-01T10:00:00'],
    2,
    /--from: .*2024-01-01T10:00:00/,
  ),

  // Provider answers (a scripted loopback provider).
  providerCase(
    'invalid UTF-8 bytes in a JSON answer',
    'json',
    bytesAnswer(
      Buffer.concat([
        Buffer.from('[{"email":"bad'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('@x.example","created":"2026-01-01 00:00:00"}]'),
      ]),
      'application/json; charset=utf-8',
    ),
    /hostile.*(UTF-8|utf-8|charset|invalid)/i,
    { fast: true },
  ),
  providerCase(
    'unknown charset label',
    'json',
    bytesAnswer(
      '[{"email":"a@x.example","created":"2026-01-01 00:00:00"}]',
      'application/json; charset=x-klingon',
    ),
    /hostile.*x-klingon/i,
  ),
  providerCase(
    'XML with a DOCTYPE: billion laughs (entity expansion off)',
    'xml',
    bytesAnswer(BILLION_LAUGHS, 'text/xml'),
    /hostile.*DOCTYPE/,
    { fast: true },
  ),
  providerCase(
    'XML with an external entity (XXE)',
    'xml',
    bytesAnswer(
      '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><unsubscribes><unsubscribe><email>&xxe;</email></unsubscribe></unsubscribes>',
      'text/xml',
    ),
    /hostile.*DOCTYPE/,
  ),
  providerCase(
    'NUL bytes in an address',
    'xml',
    bytesAnswer(xmlRows(['nul\u0000byte@x.example']), 'text/xml'),
    /hostile.*(NUL|U\+0000|\\u0000|control)/i,
  ),
  providerCase(
    'a 100 MB single response (one unterminated value)',
    'json',
    hundredMegabytes,
    /hostile.*not valid JSON/,
    { heavy: true },
  ),

  // Patch files (a copy of the nightly's all-brands folder, then --apply).
  patchCase(
    'add file edited after planning',
    (dir) => editFile(firstAddFile(dir), (t) => t.replace(/^([^\n]*\n[^@\n,]*)@/m, '$1x@')),
    /PATCH_INVALID: .*\.add\.csv.*(sha256|changed|edited)/,
    true,
  ),
  patchCase(
    'add file with a renamed column (manifest re-sealed)',
    (dir) => {
      const file = firstAddFile(dir);
      editFile(file, (t) => t.replace(/^email,/, 'address,'));
      reseal(file);
    },
    /PATCH_INVALID: .*\.add\.csv.*(column|header)/,
  ),
  patchCase(
    'manifest naming an unknown target',
    (dir) => {
      renameSync(path.join(dir, 'bh-main.add.csv'), path.join(dir, 'bh-gone.add.csv'));
      editFile(path.join(dir, 'manifest.json'), (t) => t.replaceAll('bh-main', 'bh-gone'));
    },
    /PATCH_INVALID: .*target account "bh-gone" is not in the config/,
  ),
  patchCase(
    'manifest not JSON',
    (dir) => writeFileSync(path.join(dir, 'manifest.json'), '{"format":'),
    /PATCH_INVALID: .*manifest\.json: not JSON/,
  ),
  patchCase(
    'manifest missing',
    (dir) => rmSync(path.join(dir, 'manifest.json')),
    /PATCH_INVALID: .*manifest\.json/,
  ),

  // `sql` write attempts.
  sqlCase('DELETE FROM runs', /SQL_READ_ONLY: .*refused a statement of type DELETE/, true),
  sqlCase('SELECT 1; DROP TABLE runs', /SQL_READ_ONLY: .*exactly one read statement.*2 statements/),
  sqlCase("COPY runs TO '/tmp/unsub-sql-copy.csv'", /SQL_READ_ONLY: .*type COPY/),
  sqlCase("ATTACH '/tmp/unsub-sql-attach.duckdb' AS other", /SQL_READ_ONLY: .*type ATTACH/),
  sqlCase('CREATE TABLE t AS SELECT 1', /SQL_READ_ONLY: .*type CREATE/),
  sqlCase(
    "SELECT * FROM read_csv('/etc/passwd')",
    /SQL_READ_ONLY: .*files, network and extensions are disabled.*\/etc\/passwd/,
  ),
  sqlCase('INSTALL httpfs', /SQL_READ_ONLY: .*refused a statement/),
  sqlCase('SET threads = 1', /SQL_READ_ONLY: .*type SET/),
  sqlCase("UPDATE runs SET status = 'failed'", /SQL_READ_ONLY: .*type UPDATE/),
];

const selected = CASES.filter((c) => (RELIABILITY_FULL ? true : c.fast === true && !c.heavy));

let sandbox: Sandbox;
let hostile: ScriptedProvider;
let patchSource: string;
let scratch: string;
let secrets: string[];
const results: ResultRow[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 100,
    seed: 10,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-bad-input-')),
  });
  hostile = await startScriptedProvider();
  scratch = mkdtempSync(path.join(tmpdir(), 'unsub-bad-input-scratch-'));
  const nightly = await runCli(['--config', sandbox.configFile, 'nightly', '--json'], { env: sandbox.env });
  if (nightly.code !== 0) throw new Error(`baseline nightly failed (${nightly.code}): ${nightly.stderr}`);
  patchSource = path.join(JSON.parse(nightly.stdout).patchDir as string, 'all-brands');
  secrets = [...Object.values(sandbox.env), HOSTILE_KEY, HOSTILE_USER, LITERAL_SECRET];
}, 120_000);

afterAll(async () => {
  await hostile?.close();
  await sandbox?.close();
  writeSuiteResults(
    'bad-input',
    'make reliability (RELIABILITY_FULL=1 npx vitest run test/reliability/bad-input.test.ts)',
    results,
  );
});

let configCount = 0;
const context = (): Context => ({
  sandbox,
  hostile,
  config(mutate) {
    const config = JSON.parse(readFileSync(sandbox.configFile, 'utf8')) as ConfigJson;
    mutate?.(config);
    const file = path.join(sandbox.dir, `case-${++configCount}.config.json`);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  },
  patchCopy(mutate) {
    const dir = path.join(scratch, `patch-${++configCount}`);
    cpSync(patchSource, dir, { recursive: true });
    mutate(dir);
    return dir;
  },
});

const runFolders = () => readdirSync(path.join(sandbox.dir, 'runs')).sort();
const firstLine = (text: string) => text.split('\n').find((l) => l.trim() !== '') ?? '';

describe('bad input', () => {
  const labelled = (cases: BadInputCase[]) => cases.map((c) => [`${c.area}: ${c.name}`, c] as const);
  it.each(labelled(selected))('%s', (_label, c) => runCase(c));
});

// A value that is well-formed in its answer but can never be an address (a NUL byte in JSON, a
// 10,000-character address) is not a refusal: the raw row is the audit trail and is staged as
// received; `transform` sends it to `rejects` with its reason, so it is never a suppression, a
// discrepancy or a patch row.
describe('addresses no mail system can take, in a well-formed answer', () => {
  it('are staged as received and rejected by transform (too_long, control_character)', async () => {
    const ctx = context();
    const long = `${'a'.repeat(9_990)}@x.example`;
    const nul = 'nul\u0000byte@x.example';
    ctx.hostile.answer(
      bytesAnswer(
        JSON.stringify([
          { email: long, created: '2026-01-01 00:00:00' },
          { email: nul, created: '2026-01-01 00:00:00' },
        ]),
        'application/json',
      ),
    );
    const config = hostileConfig(ctx, 'json');
    const extract = await runCli(['--config', config, 'extract', '--account', 'hostile'], {
      env: sandbox.env,
    });
    expect(extract.code, extract.stderr).toBe(0);
    const transform = await runCli(['--config', config, 'transform'], { env: sandbox.env });
    expect(transform.code, transform.stderr).toBe(0);
    const query = async (sql: string) => {
      const result = await runCli(['--config', config, 'sql', sql, '--format', 'json'], { env: sandbox.env });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Record<string, unknown>[];
    };
    const rejects = await query(
      "SELECT reason, length(raw_value)::INTEGER AS length FROM rejects WHERE account_id = 'hostile' ORDER BY reason",
    );
    expect(rejects).toEqual([
      { reason: 'control_character', length: nul.length },
      { reason: 'too_long', length: long.length },
    ]);
    expect(await query("SELECT email_norm FROM suppressions WHERE account_id = 'hostile'")).toEqual([]);
    results.push({
      case: 'provider: a 10,000-character address and a NUL byte in a well-formed JSON answer',
      expected: 'staged as received; transform rejects them (too_long, control_character); no suppression',
      outcome: 'pass',
      detail: `rejects: ${rejects.map((r) => r.reason).join(', ')}`,
    });
  });
});

async function runCase(c: BadInputCase): Promise<void> {
  const warehouse = path.join(sandbox.dir, 'warehouse.duckdb');
  const before = await warehouseDigest(warehouse);
  const foldersBefore = runFolders();
  const args = c.args(context());
  const result: CliResult = await runCli(args, { env: sandbox.env, timeoutMs: 120_000 });
  const output = `${result.stdout}\n${result.stderr}`;
  const problems: string[] = [];
  if (result.code !== c.exit) problems.push(`exit ${result.code}, expected ${c.exit}`);
  if (!c.message.test(result.stderr))
    problems.push(`message ${JSON.stringify(firstLine(result.stderr))} does not match ${c.message}`);
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(result.stderr) || /INTERNAL/.test(result.stderr))
    problems.push('a stack trace or INTERNAL error');
  const echoed = secrets.filter((s) => output.includes(s));
  if (echoed.length > 0) problems.push(`secret(s) echoed: ${echoed.length}`);
  const changes = digestChanges(before, await warehouseDigest(warehouse)).filter(
    (change) => !(c.journal && JOURNAL.has(change.split(':')[0]!)),
  );
  if (changes.length > 0) problems.push(`warehouse changed: ${changes.join('; ')}`);
  if (c.journal) {
    const status = await newestRunStatus(warehouse);
    if (status !== 'failed') problems.push(`newest run is ${status}, expected failed`);
  }
  const newFolders = runFolders().filter((f) => !foldersBefore.includes(f));
  if (newFolders.length > 0) problems.push(`new run folder(s): ${newFolders.join(', ')}`);
  results.push({
    case: `${c.area}: ${c.name}`,
    expected: `exit ${c.exit}, ${c.message.source}`,
    outcome: problems.length === 0 ? 'pass' : 'fail',
    detail:
      problems.length === 0
        ? `exit ${result.code}: ${firstLine(result.stderr).slice(0, 200)}`
        : problems.join('; ').slice(0, 500),
  });
  expect(problems, `stderr: ${result.stderr.slice(0, 1500)}`).toEqual([]);
}

async function newestRunStatus(file: string): Promise<string | undefined> {
  const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
  try {
    const [run] = await warehouse.allJson<{ status: string }>(
      'SELECT status FROM runs ORDER BY started_at DESC LIMIT 1',
    );
    return run?.status;
  } finally {
    await warehouse.close();
  }
}
