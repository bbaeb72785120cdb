import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hint, loadConfig, parseConfig } from '../../../../extractors/core/config.js';
import { ConfigError } from '../../../../extractors/core/errors.js';

const env = { SC_KEY: 'sc-secret-value-123', SG_KEY: 'sg-secret-value-456' };

// biome-ignore lint/suspicious/noExplicitAny: tests mutate the raw JSON freely
type RawConfig = Record<string, any>;

function baseConfig(): RawConfig {
  return {
    accounts: [
      {
        id: 'sg-main',
        provider: 'sendgrid-subuser',
        credentials: { api_user: 'me', api_key: 'env:SG_KEY' },
        options: { user: 'brand@example.com' },
      },
      { id: 'sc-main', provider: 'sendcloud', credentials: { apiUser: 'u1', apiKey: 'env:SC_KEY' } },
    ],
    groups: [{ id: 'brand', accounts: ['sg-main', 'sc-main'] }],
  };
}

function errorFor(mutate: (c: RawConfig) => void, environment: NodeJS.ProcessEnv = env): ConfigError {
  const config = baseConfig();
  mutate(config);
  try {
    parseConfig(JSON.stringify(config, null, 2), '/tmp/x/unsub-recon.config.json', { env: environment });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config: valid file', () => {
  it('resolves env: references, defaults and paths relative to the config file', () => {
    const config = parseConfig(JSON.stringify(baseConfig()), '/srv/cfg/unsub-recon.config.json', { env });
    expect(config.warehouse).toBe('/srv/cfg/data/warehouse.duckdb');
    expect(config.outDir).toBe('/srv/cfg/data/runs');
    const [sg, sc] = config.accounts;
    expect(sg!.credentials).toEqual({ api_user: 'me', api_key: 'sg-secret-value-456' });
    expect(sg!.timezone).toBe('America/Los_Angeles');
    expect(sg!.baseUrl).toBe('https://api.sendgrid.com');
    expect(sg!.options).toEqual({ user: 'brand@example.com', format: 'json' });
    expect(sc!.timezone).toBe('Asia/Shanghai');
    expect(sc!.since).toBe('2010-01-01');
    expect(sc!.rateLimit).toEqual({ requestsPerSecond: 5, concurrency: 2 });
    expect(config.groups[0]).toMatchObject({ policy: 'union', scope: 'global', maxDeleteFraction: 0.01 });
    expect(config.secrets).toEqual(
      expect.arrayContaining(['me', 'sg-secret-value-456', 'u1', 'sc-secret-value-123']),
    );
  });

  it('--warehouse overrides the file', () => {
    const config = parseConfig(JSON.stringify(baseConfig()), '/srv/cfg/c.json', {
      env,
      warehouse: '/tmp/w.duckdb',
    });
    expect(config.warehouse).toBe('/tmp/w.duckdb');
  });

  it('keeps the delete-safety limits of a group (plan refuses above them)', () => {
    const raw = baseConfig();
    raw.groups[0] = {
      ...raw.groups[0],
      policy: 'mirror',
      source: 'sg-main',
      maxDeleteFraction: 0.05,
      maxDeletes: 200,
    };
    const config = parseConfig(JSON.stringify(raw), '/x/c.json', { env });
    expect(config.groups[0]).toMatchObject({ maxDeleteFraction: 0.05, maxDeletes: 200 });
    expect(
      parseConfig(JSON.stringify(baseConfig()), '/x/c.json', { env }).groups[0]!.maxDeletes,
    ).toBeUndefined();
  });

  it('accepts WhatCounts list ids given as numbers or strings', () => {
    const config = parseConfig(
      JSON.stringify({
        accounts: [
          {
            id: 'wc',
            provider: 'whatcounts',
            credentials: { realm: 'r', password: 'p' },
            options: { lists: [12, '34'] },
          },
        ],
      }),
      '/x/c.json',
      { env },
    );
    expect(config.accounts[0]!.options).toEqual({ lists: ['12', '34'], customerKey: false });
  });
});

describe('config: every error names the field, the problem and what is expected', () => {
  const cases: Array<{
    name: string;
    mutate: (c: RawConfig) => void;
    path: string;
    message: RegExp;
  }> = [
    {
      name: 'unknown provider id',
      mutate: (c) => (c.accounts[1].provider = 'mailchimp'),
      path: 'accounts[1].provider',
      message:
        /got "mailchimp".*expected one of sendgrid-reseller, sendgrid-subuser, sendcloud, whatcounts, bluehornet/,
    },
    {
      name: 'duplicate account id',
      mutate: (c) => (c.accounts[1].id = 'sg-main'),
      path: 'accounts[1].id',
      message: /duplicate account id "sg-main" \(also accounts\[0\]\)/,
    },
    {
      name: 'group naming an unknown account',
      mutate: (c) => (c.groups[0].accounts = ['sg-main', 'sc-mian']),
      path: 'groups[0].accounts[1]',
      message: /unknown account "sc-mian" \(did you mean "sc-main"\?\).*expected one of the ids/,
    },
    {
      name: 'unknown IANA time zone',
      mutate: (c) => (c.accounts[0].timezone = 'America/Chicgo'),
      path: 'accounts[0].timezone',
      message: /got "America\/Chicgo".*expected an IANA time zone/,
    },
    {
      name: 'missing environment variable',
      mutate: (c) => (c.accounts[1].credentials.apiKey = 'env:NOT_SET_ANYWHERE'),
      path: 'accounts[1].credentials.apiKey',
      message: /environment variable NOT_SET_ANYWHERE is not set; expected export NOT_SET_ANYWHERE=/,
    },
    {
      name: 'negative rate limit',
      mutate: (c) => (c.accounts[0].rateLimit = { requestsPerSecond: -1 }),
      path: 'accounts[0].rateLimit.requestsPerSecond',
      message: /got -1.*expected a positive number of requests per second/,
    },
    {
      name: 'unknown top-level key with a did-you-mean hint',
      mutate: (c) => (c.acounts = []),
      path: 'acounts',
      message: /unknown key "acounts" \(did you mean "accounts"\?\)/,
    },
    {
      name: 'maxDeleteFraction above 1 (a percentage given as a number)',
      mutate: (c) => (c.groups[0].maxDeleteFraction = 5),
      path: 'groups[0].maxDeleteFraction',
      message: /got 5.*expected a fraction from 0 to 1 \(0\.01 = 1% of the target list\)/,
    },
    {
      name: 'maxDeletes not a whole number',
      mutate: (c) => (c.groups[0].maxDeletes = 2.5),
      path: 'groups[0].maxDeletes',
      message: /got 2\.5.*expected a whole number of deletes/,
    },
    {
      name: 'negative maxDeletes',
      mutate: (c) => (c.groups[0].maxDeletes = -1),
      path: 'groups[0].maxDeletes',
      message: /got -1.*expected a whole number of deletes, 0 or more/,
    },
    {
      name: 'unknown account key with a did-you-mean hint',
      mutate: (c) => (c.accounts[0].timezon = 'UTC'),
      path: 'accounts[0].timezon',
      message: /unknown key "timezon" \(did you mean "timezone"\?\)/,
    },
    {
      name: 'unknown provider option with a did-you-mean hint',
      mutate: (c) => (c.accounts[0].options = { usr: 'x' }),
      path: 'accounts[0].options.usr',
      message: /unknown key "usr" \(did you mean "user"\?\)/,
    },
    {
      name: 'missing required provider option',
      mutate: (c) => (c.accounts[0].options = {}),
      path: 'accounts[0].options.user',
      message: /missing/,
    },
    {
      name: 'credential of another provider',
      mutate: (c) => (c.accounts[1].credentials = { api_user: 'x', api_key: 'y' }),
      path: 'accounts[1].credentials.api_user',
      message: /unknown credential.*expected only apiUser, apiKey/,
    },
    {
      name: 'missing credential',
      mutate: (c) => delete c.accounts[1].credentials.apiKey,
      path: 'accounts[1].credentials.apiKey',
      message: /missing; expected a value, or "env:NAME"/,
    },
    {
      name: 'account id that would escape the output folder',
      mutate: (c) => (c.accounts[0].id = '../x'),
      path: 'accounts[0].id',
      message: /got "\.\.\/x"/,
    },
    {
      name: 'group id with ..',
      mutate: (c) => (c.groups[0].id = 'a..b'),
      path: 'groups[0].id',
      message: /without '\.\.'/,
    },
    {
      name: 'impossible since date',
      mutate: (c) => (c.accounts[0].since = '2023-02-30'),
      path: 'accounts[0].since',
      message: /got "2023-02-30".*real calendar date/,
    },
    {
      name: 'mirror group without a source',
      mutate: (c) => (c.groups[0].policy = 'mirror'),
      path: 'groups[0].source',
      message: /missing for policy "mirror"/,
    },
    {
      name: 'mirror source that is not a member',
      mutate: (c) => Object.assign(c.groups[0], { policy: 'mirror', source: 'other' }),
      path: 'groups[0].source',
      message: /"other" is not a member/,
    },
    {
      name: 'non-http baseUrl',
      mutate: (c) => (c.accounts[0].baseUrl = 'ftp://example.com'),
      path: 'accounts[0].baseUrl',
      message: /got "ftp:\/\/example.com".*http\(s\) URL/,
    },
    {
      name: 'no accounts',
      mutate: (c) => {
        c.accounts = [];
        c.groups = [];
      },
      path: 'accounts',
      message: /at least one account/,
    },
    {
      name: 'concurrency below 1',
      mutate: (c) => (c.accounts[0].rateLimit = { concurrency: 0 }),
      path: 'accounts[0].rateLimit.concurrency',
      message: /got 0.*at least 1/,
    },
  ];

  it.each(cases)('$name', ({ mutate, path: fieldPath, message }) => {
    const error = errorFor(mutate);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.path).toBe(fieldPath);
    expect(error.message).toMatch(message);
    for (const secret of Object.values(env)) expect(error.message).not.toContain(secret);
  });

  it('never echoes an inline credential value in an error', () => {
    const error = errorFor((c) => (c.accounts[1].credentials.apiKey = 42));
    expect(error.path).toBe('accounts[1].credentials.apiKey');
    expect(error.message).toContain('(value hidden)');
    expect(error.message).not.toContain('42');
  });
});

describe('config: the file itself', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'unsub-config-'));

  it('missing file names the path and how to get one', () => {
    const file = path.join(dir, 'nope.json');
    expect(() => loadConfig(file)).toThrowError(
      new RegExp(`config ${file}: file not found; expected a JSON config`),
    );
  });

  it('invalid JSON gives line and column', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{\n  "accounts": [\n    { "id": "x", }\n  ]\n}\n');
    expect(() => loadConfig(file)).toThrowError(/invalid JSON at line 3, column 18/);
  });
});

describe('config: notify.webhook', () => {
  const HOOK = 'https://hooks.example.com/services/T0/B0/hook-token-789?sig=query-sig-321';
  const withWebhook = (webhook: unknown, environment: NodeJS.ProcessEnv = env) =>
    parseConfig(JSON.stringify({ ...baseConfig(), notify: { webhook } }), '/srv/c.json', {
      env: environment,
    });

  it('takes a URL or an env: reference, and every secret-bearing part of it joins the secrets', () => {
    for (const config of [withWebhook(HOOK), withWebhook('env:HOOK', { ...env, HOOK })]) {
      expect(config.notify).toEqual({ webhook: HOOK });
      expect(config.secrets).toEqual(
        expect.arrayContaining([
          HOOK,
          '/services/T0/B0/hook-token-789?sig=query-sig-321',
          '/services/T0/B0/hook-token-789',
          'hook-token-789', // a receiver may echo the token alone
          'T0',
          'query-sig-321',
        ]),
      );
      expect(config.secrets).not.toContain('services');
    }
    expect(parseConfig(JSON.stringify(baseConfig()), '/srv/c.json', { env }).notify).toBeUndefined();
  });

  it.each([
    [
      'ftp://hooks.example.com/secret-path',
      /config notify\.webhook: got \(value hidden\); expected an http\(s\) URL/,
    ],
    ['not a url secret-path', /config notify\.webhook: got \(value hidden\)/],
    [42, /config notify\.webhook: got \(value hidden\); expected a value of type string/],
  ])('refuses %j without echoing it', (webhook, message) => {
    const error = errorFor((c) => {
      c.notify = { webhook };
    });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('secret-path');
  });

  it('names an unset or non-URL environment variable without echoing its value', () => {
    expect(() => withWebhook('env:NO_SUCH_HOOK')).toThrowError(
      /config notify\.webhook: environment variable NO_SUCH_HOOK is not set; expected export NO_SUCH_HOOK=/,
    );
    expect(() => withWebhook('env:HOOK', { ...env, HOOK: 'hook-token-789' })).toThrowError(
      /environment variable HOOK is not an http\(s\) URL \(value hidden\)/,
    );
    try {
      withWebhook('env:HOOK', { ...env, HOOK: 'hook-token-789' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hook-token-789');
    }
  });

  it('refuses unknown keys under notify', () => {
    expect(
      errorFor((c) => {
        c.notify = { webhok: HOOK };
      }).message,
    ).toMatch(
      /config notify\.webhok: unknown key "webhok" \(did you mean "webhook"\?\); expected one of webhook/,
    );
  });
});

describe('hint', () => {
  it.each([
    ['acount', ['accounts', 'groups'], ' (did you mean "accounts"?)'],
    ['zzzzzzzz', ['accounts', 'groups'], ''],
  ])('%s', (given, known, expected) => expect(hint(given, known)).toBe(expected));
});
