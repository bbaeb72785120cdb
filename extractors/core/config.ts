/**
 * The config file (DESIGN.md, "Config file"): JSON, validated with zod, `env:NAME` references
 * resolved from the environment at load time and kept only in memory.
 *
 * Every error is a ConfigError naming the field path, what was wrong (credential values are
 * never echoed) and what is expected. Relative paths (`warehouse`, `outDir`) are resolved
 * against the config file's folder, so a cron job gets the same files whatever its cwd.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROVIDER_IDS, PROVIDERS } from '../registry.js';
import { ConfigError } from './errors.js';
import type { ProviderConfigSpec } from './provider.js';
import type { ProviderId } from './types.js';

export const DEFAULT_CONFIG_FILE = 'unsub-recon.config.json';

const SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const slug = (what: string) =>
  z
    .string()
    .regex(SLUG, `${what} of 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
    .refine((s) => !s.includes('..'), `${what} without '..' (it becomes part of output paths)`);

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'a real calendar date as YYYY-MM-DD');

const timezone = z.string().refine(isValidTimeZone, 'an IANA time zone such as "America/Chicago" or "UTC"');

const accountSchema = z.strictObject({
  id: slug('an account id'),
  provider: z.enum(PROVIDER_IDS, { error: `one of ${PROVIDER_IDS.join(', ')}` }),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://api.example.com' })
    .optional(),
  credentials: z.record(z.string(), z.string()),
  options: z.unknown().optional(),
  timezone: timezone.optional(),
  since: isoDate.default('2010-01-01'),
  lookbackDays: z.number().int().min(0).max(366).default(2),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  rateLimit: z
    .strictObject({
      requestsPerSecond: z.number().positive('a positive number of requests per second').default(5),
      concurrency: z.number().int().min(1, 'a whole number of at least 1').max(64).default(2),
    })
    .default({ requestsPerSecond: 5, concurrency: 2 }),
});

const groupSchema = z.strictObject({
  id: slug('a group id'),
  accounts: z.array(z.string()).min(2, 'at least two account ids'),
  policy: z.enum(['union', 'mirror']).default('union'),
  source: z.string().optional(),
  scope: z
    .string()
    .regex(/^(global|list:\d+)$/, '"global" or "list:<id>"')
    .default('global'),
  // Delete safety for `plan` (README "Delete safety"): refuse more deletes than this share of a
  // target's list, or than this absolute number, unless --force names the group.
  maxDeleteFraction: z
    .number()
    .min(0, 'a fraction from 0 to 1 (0.01 = 1% of the target list)')
    .max(1, 'a fraction from 0 to 1 (0.01 = 1% of the target list)')
    .default(0.01),
  maxDeletes: z
    .number()
    .min(0, 'a whole number of deletes, 0 or more')
    .refine(Number.isInteger, 'a whole number of deletes')
    .optional(),
});

const configSchema = z.strictObject({
  $schema: z.string().optional(),
  warehouse: z.string().min(1).default('data/warehouse.duckdb'),
  outDir: z.string().min(1).default('data/runs'),
  accounts: z.array(accountSchema).min(1, 'at least one account'),
  groups: z.array(groupSchema).default([]),
  notify: z
    .strictObject({
      // A webhook URL usually embeds its token (path or query), so `env:NAME` is accepted too.
      webhook: z
        .string()
        .refine(
          (s) => s.startsWith('env:') || isHttpUrl(s),
          'an http(s) URL such as https://hooks.example.com/T0/B0/xyz, or "env:NAME"',
        )
        .optional(),
    })
    .optional(),
});

const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(configSchema.shape),
  account: Object.keys(accountSchema.shape),
  group: Object.keys(groupSchema.shape),
  rateLimit: ['requestsPerSecond', 'concurrency'],
  notify: ['webhook'],
};

export interface RateLimit {
  requestsPerSecond: number;
  concurrency: number;
}

export interface AccountConfig {
  id: string;
  provider: ProviderId;
  baseUrl: string;
  /** Resolved secret values. Never log, store or print these. */
  credentials: Record<string, string>;
  options: Record<string, unknown>;
  timezone: string;
  since: string;
  lookbackDays: number;
  timeoutMs: number;
  rateLimit: RateLimit;
}

export interface GroupConfig {
  id: string;
  accounts: string[];
  policy: 'union' | 'mirror';
  source?: string;
  scope: string;
  /** `plan` refuses a target's deletes above this share of its list (default 0.01). */
  maxDeleteFraction: number;
  /** `plan` refuses more deletes than this for one target (default: no absolute cap). */
  maxDeletes?: number;
}

export interface Config {
  /** Absolute path of the file it was read from, or '<inline>'. */
  file: string;
  warehouse: string;
  outDir: string;
  accounts: AccountConfig[];
  groups: GroupConfig[];
  notify?: { webhook?: string };
  /** Every resolved credential value, for the redactor. */
  secrets: string[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides the file's `warehouse` (the CLI's --warehouse). */
  warehouse?: string;
}

/** Reads and validates a config file. Throws ConfigError (exit code 2) on any problem. */
export function loadConfig(file: string, options: LoadOptions = {}): Config {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      absolute,
      code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(error)})`,
      'a JSON config file (see README, "Configure your accounts"; `unsub-recon sandbox` writes one)',
    );
  }
  return parseConfig(text, absolute, options);
}

/** Validates config text; `file` is used for messages and to resolve relative paths. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const where = position ? lineAndColumn(text, Number(position[1])) : null;
    throw new ConfigError(
      file,
      `invalid JSON${where ? ` at line ${where.line}, column ${where.column}` : ''} (${message.replace(/ in JSON at position \d+.*$/, '')})`,
      'valid JSON',
    );
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw issueToError(firstIssue(parsed.error.issues), raw);
  const cfg = parsed.data;
  const env = options.env ?? process.env;
  const dir = path.dirname(file);

  const seen = new Map<string, number>();
  const secrets: string[] = [];
  const accounts: AccountConfig[] = cfg.accounts.map((account, i) => {
    const at = `accounts[${i}]`;
    const previous = seen.get(account.id);
    if (previous !== undefined) {
      throw new ConfigError(
        `${at}.id`,
        `duplicate account id "${account.id}" (also accounts[${previous}])`,
        'unique ids',
      );
    }
    seen.set(account.id, i);
    const provider = account.provider;
    const declared = PROVIDERS[provider].config;
    const credentials = resolveCredentials(
      account.credentials,
      declared.credentials,
      `${at}.credentials`,
      env,
    );
    secrets.push(...Object.values(credentials));
    const optionsResult = declared.options.safeParse(account.options);
    if (!optionsResult.success) {
      throw issueToError(firstIssue(optionsResult.error.issues), account.options, `${at}.options`, [
        ...optionKeys(declared),
      ]);
    }
    const options = (optionsResult.data ?? {}) as Record<string, unknown>;
    const defaultBaseUrl =
      typeof declared.defaultBaseUrl === 'function'
        ? declared.defaultBaseUrl(options)
        : declared.defaultBaseUrl;
    return {
      id: account.id,
      provider,
      baseUrl: (account.baseUrl ?? defaultBaseUrl).replace(/\/+$/, ''),
      credentials,
      options,
      timezone: account.timezone ?? declared.defaultTimezone,
      since: account.since,
      lookbackDays: account.lookbackDays,
      timeoutMs: account.timeoutMs,
      rateLimit: account.rateLimit,
    };
  });

  const groupIds = new Set<string>();
  const groups: GroupConfig[] = cfg.groups.map((group, i) => {
    const at = `groups[${i}]`;
    if (groupIds.has(group.id))
      throw new ConfigError(`${at}.id`, `duplicate group id "${group.id}"`, 'unique ids');
    groupIds.add(group.id);
    group.accounts.forEach((id, j) => {
      if (!seen.has(id)) {
        throw new ConfigError(
          `${at}.accounts[${j}]`,
          `unknown account "${id}"${hint(id, [...seen.keys()])}`,
          `one of the ids under "accounts": ${[...seen.keys()].join(', ')}`,
        );
      }
    });
    if (new Set(group.accounts).size !== group.accounts.length) {
      throw new ConfigError(`${at}.accounts`, 'lists an account twice', 'each account once');
    }
    if (group.policy === 'mirror' && !group.source) {
      throw new ConfigError(
        `${at}.source`,
        'missing for policy "mirror"',
        'the id of the member the others follow',
      );
    }
    if (group.source !== undefined && !group.accounts.includes(group.source)) {
      throw new ConfigError(
        `${at}.source`,
        `"${group.source}" is not a member of the group`,
        'one of its accounts',
      );
    }
    return { ...group };
  });

  return {
    file,
    warehouse: path.resolve(dir, options.warehouse ?? cfg.warehouse),
    outDir: path.resolve(dir, cfg.outDir),
    accounts,
    groups,
    ...(cfg.notify?.webhook ? { notify: { webhook: resolveWebhook(cfg.notify.webhook, env, secrets) } } : {}),
    secrets,
  };
}

function resolveCredentials(
  given: Record<string, string>,
  required: readonly string[],
  at: string,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(given)) {
    if (!required.includes(key)) {
      throw new ConfigError(
        `${at}.${key}`,
        `unknown credential${hint(key, required)}`,
        `only ${required.join(', ')}`,
      );
    }
  }
  for (const key of required) {
    const value = given[key];
    if (value === undefined || value === '') {
      throw new ConfigError(
        `${at}.${key}`,
        'missing',
        'a value, or "env:NAME" to read it from the environment',
      );
    }
    if (value.startsWith('env:')) {
      const name = value.slice(4);
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        throw new ConfigError(
          `${at}.${key}`,
          `environment variable ${name} is not set`,
          `export ${name}=...`,
        );
      }
      out[key] = resolved;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * The webhook URL with `env:` resolved. Everything but scheme, host and port may be a token, so
 * the whole URL and each of those parts join `secrets` (the redactor then hides them anywhere).
 */
function resolveWebhook(given: string, env: NodeJS.ProcessEnv, secrets: string[]): string {
  const at = 'notify.webhook';
  let url = given;
  if (given.startsWith('env:')) {
    const name = given.slice(4);
    const resolved = env[name];
    if (resolved === undefined || resolved === '')
      throw new ConfigError(at, `environment variable ${name} is not set`, `export ${name}=https://...`);
    if (!isHttpUrl(resolved))
      throw new ConfigError(
        at,
        `environment variable ${name} is not an http(s) URL (value hidden)`,
        'https://...',
      );
    url = resolved;
  }
  const parsed = new URL(url);
  // A receiver may echo its token alone (an error body), so token-like path segments — with a
  // digit, or long — are secrets too; plain words such as "services" or "hooks" are not.
  const tokenSegments = parsed.pathname
    .split('/')
    .map((segment) => decodeURIComponent(segment))
    .filter((segment) => /\d/.test(segment) || segment.length >= 16);
  const parts = [
    url,
    parsed.href,
    `${parsed.pathname}${parsed.search}`,
    parsed.pathname,
    ...tokenSegments,
    decodeURIComponent(parsed.username),
    decodeURIComponent(parsed.password),
    ...parsed.searchParams.values(),
  ];
  secrets.push(...parts.filter((part) => part.length > 1));
  return url;
}

function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

function optionKeys(declared: ProviderConfigSpec): string[] {
  const schema = declared.options as unknown as {
    def?: { innerType?: { shape?: object } };
    shape?: object;
  };
  const shape = schema.shape ?? schema.def?.innerType?.shape ?? {};
  return Object.keys(shape);
}

/** An unknown key usually explains a "missing" one beside it (a typo), so report it first. */
function firstIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
}

function issueToError(issue: z.core.$ZodIssue, raw: unknown, prefix?: string, keys?: string[]): ConfigError {
  const fieldPath = formatPath(issue.path, prefix);
  if (issue.code === 'unrecognized_keys') {
    const known = keys ?? knownKeysAt(issue.path);
    const key = issue.keys[0]!;
    return new ConfigError(
      fieldPath ? `${fieldPath}.${key}` : key,
      `unknown key "${key}"${hint(key, known)}`,
      `one of ${known.join(', ')}`,
    );
  }
  const value = valueAt(raw, issue.path);
  const shown = isSecretPath(issue.path) ? '(value hidden)' : JSON.stringify(value);
  const problem = value === undefined ? 'missing' : `got ${shown}`;
  return new ConfigError(fieldPath || '(top level)', problem, expectedFrom(issue));
}

function expectedFrom(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value' && 'values' in issue)
    return `one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small' && issue.origin === 'array') return issue.message;
  if (issue.code === 'invalid_type') return `a value of type ${issue.expected}`;
  return issue.message.replace(/^Invalid input: expected /, '');
}

function knownKeysAt(issuePath: PropertyKey[]): readonly string[] {
  const names = issuePath.filter((p) => typeof p === 'string');
  const last = names[names.length - 1];
  if (last === undefined) return KNOWN_KEYS['']!;
  if (last === 'accounts') return KNOWN_KEYS.account!;
  if (last === 'groups') return KNOWN_KEYS.group!;
  return KNOWN_KEYS[last] ?? [];
}

function isSecretPath(issuePath: PropertyKey[]): boolean {
  return issuePath.includes('credentials') || issuePath.includes('webhook');
}

function formatPath(issuePath: PropertyKey[], prefix?: string): string {
  let out = prefix ?? '';
  for (const part of issuePath) {
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  }
  return out;
}

function valueAt(raw: unknown, issuePath: PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const part of issuePath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/** " (did you mean "x"?)" when a known name is within a small edit distance. */
export function hint(given: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(given.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(given.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
