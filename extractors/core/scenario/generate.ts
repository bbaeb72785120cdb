/**
 * Deterministic scenario generator: accounts for every provider, groups, and suppression rows
 * that contain the hard cases (see `HARD_CASES`), from 100 to 5,000,000 rows per account.
 *
 * Rows are computed on demand from (seed, account, index) — `rowAt(i)` is O(1) and rows come out
 * in unsubscribe-time order — so a 5M-row account needs no 5M-row array: the simulators serve it
 * through the kit's generated store, and the ground truth (truth.ts) streams it.
 *
 * Shape of the data: account rows at index i mostly belong to the shared person `i` (the same
 * address in every account, spelt differently per account: case, spaces, NFC/NFD), so accounts
 * agree; a seeded few percent of indices are replaced per account by an address only that
 * account has, so each account misses some of the others' — those are the discrepancies.
 */
import { PROVIDER_IDS, PROVIDERS } from '../../registry.js';
import type { SandboxAccountSpec } from '../provider.js';
import type { ProviderId } from '../types.js';

export interface ScenarioRow {
  /** The address exactly as the provider stores and returns it. */
  email: string;
  /** Unsubscribe instant, epoch ms UTC (providers without timestamps still filter on it). */
  at: number;
  /** WhatCounts list-level opt-out; undefined = global. */
  listId?: string;
  /** SendCloud label id and sub-apiUser the row was recorded under. */
  label?: string;
  apiUser?: string;
  /** SendCloud expireTime, epoch ms UTC. */
  expiresAt?: number;
}

export interface ScenarioAccount {
  id: string;
  provider: ProviderId;
  /** What identifies the account in requests (SendGrid user, SendCloud apiUser, WhatCounts realm, BlueHornet api key). */
  key: string;
  credentials: Record<string, string>;
  options: Record<string, unknown>;
  timezone: string;
  since: string;
  /** Base rows (the size asked for). */
  rows: number;
  /** Stored rows: base rows plus the same-address-recorded-twice duplicates. */
  size: number;
  /** Base row i: O(1). */
  rowAt(index: number): ScenarioRow;
  /** Stored row j in time order (duplicates included): O(log n). What a simulator serves. */
  entryAt(index: number): ScenarioRow;
}

export interface ScenarioGroup {
  id: string;
  accounts: string[];
  policy: 'union' | 'mirror';
  source?: string;
}

export interface Scenario {
  name: string;
  seed: number;
  /** History ends here (epoch ms); rows lie in [historyStart, now). */
  now: number;
  historyStart: number;
  accounts: ScenarioAccount[];
  groups: ScenarioGroup[];
}

export interface ScenarioOptions {
  /** Default 'mixed': one account per provider, a union group of all and a mirror group. */
  name?: string;
  seed?: number;
  /** Rows per account, 100 to 5,000,000 (default 1,000). */
  rows?: number;
  /** End of history, epoch ms (default: now, rounded down to the minute). */
  now?: number;
  /** Length of history in days (default 800: longer than a year, crosses two DST cycles). */
  historyDays?: number;
}

export const SCENARIO_NAMES = ['mixed', 'small'] as const;

const DAY = 86_400_000;
const MIN_ROWS = 100;
const MAX_ROWS = 5_000_000;
/** Share of indices each account replaces by an address only it holds. */
const UNIQUE_SHARE = 0.02;

/** Hard cases, each at its own stride of row indices so every case occurs in every account. */
export const HARD_CASES = {
  upperCase: 7,
  surroundingSpace: 11,
  unicode: 13,
  sameAddressOtherLabel: 17,
  expired: 23,
  invalid: 29,
  formulaLead: 31,
  htmlDangerous: 37,
  midnightBoundary: 41,
  reUnsubscribedLater: 43,
  listLevel: 5,
} as const;

interface AccountSpec extends SandboxAccountSpec {
  provider: ProviderId;
  credentialNames: readonly string[];
}

/** One account per provider, as each provider module declares it, in registry order. */
const mixedAccounts = (): AccountSpec[] =>
  PROVIDER_IDS.map((provider) => ({
    ...PROVIDERS[provider].sandboxAccount,
    provider,
    credentialNames: PROVIDERS[provider].config.credentials,
  }));

/** Builds a scenario. Throws RangeError for an unknown name or a size out of range. */
export function generateScenario(options: ScenarioOptions = {}): Scenario {
  const name = options.name ?? 'mixed';
  if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown scenario "${name}"; expected one of ${SCENARIO_NAMES.join(', ')}`);
  }
  const seed = options.seed ?? 1;
  const rows = options.rows ?? (name === 'small' ? 200 : 1_000);
  if (!Number.isInteger(rows) || rows < MIN_ROWS || rows > MAX_ROWS) {
    throw new RangeError(`rows: got ${rows}, expected a whole number from ${MIN_ROWS} to ${MAX_ROWS}`);
  }
  const now = options.now ?? Math.floor(Date.now() / 60_000) * 60_000;
  const historyDays = options.historyDays ?? 800;
  const historyStart = startOfUtcDay(now - historyDays * DAY);
  const accounts = mixedAccounts().map((spec, accountNo) =>
    buildAccount(spec, accountNo, { seed, rows, now, historyStart }),
  );
  return {
    name,
    seed,
    now,
    historyStart,
    accounts,
    groups: [
      { id: 'all-brands', accounts: accounts.map((a) => a.id), policy: 'union' },
      { id: 'sg-to-sc', accounts: ['sg-reseller', 'sc-main'], policy: 'mirror', source: 'sg-reseller' },
    ],
  };
}

function buildAccount(
  spec: AccountSpec,
  accountNo: number,
  ctx: { seed: number; rows: number; now: number; historyStart: number },
): ScenarioAccount {
  const secret = (field: string) =>
    `sim-${spec.id}-${field}-${hex(hash(ctx.seed, accountNo, field.length, 99))}`;
  const credentials: Record<string, string> = {};
  for (const field of spec.credentialNames) credentials[field] = secret(field);
  // SendGrid names the account by the `user` option; the others by a credential (apiUser,
  // realm, api key), which is a secret like every credential value.
  const key = spec.key ?? credentials[spec.credentialNames[0]!]!;
  // Rows are spread over the history and end one hour before `now`, so a run started at `now`
  // sees every row whatever the provider's day rounding.
  const span = ctx.now - 3_600_000 - ctx.historyStart;
  const step = span / ctx.rows;
  const rowAt = (i: number): ScenarioRow => {
    if (!Number.isInteger(i) || i < 0 || i >= ctx.rows) throw new RangeError(`row ${i} of ${ctx.rows}`);
    const h = hash(ctx.seed, accountNo, i, 1);
    let at = ctx.historyStart + Math.floor((i + 0.25 + 0.5 * unit(hash(ctx.seed, accountNo, i, 2))) * step);
    at -= at % 1000; // providers report whole seconds
    if (i % HARD_CASES.midnightBoundary === 0) at = snapToLocalMidnight(at, spec.timezone, i, step);
    const row: ScenarioRow = { email: addressFor(spec, accountNo, i, h, ctx), at };
    decorate(row, spec, i, h, ctx.now);
    return row;
  };
  const size = ctx.rows + duplicatesBefore(spec.provider, ctx.rows);
  const entryAt = (j: number): ScenarioRow => {
    if (!Number.isInteger(j) || j < 0 || j >= size) throw new RangeError(`entry ${j} of ${size}`);
    // Base row i is stored at i + duplicatesBefore(i), its duplicate (if any) right after it.
    let lo = 0;
    let hi = ctx.rows - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (mid + duplicatesBefore(spec.provider, mid) <= j) lo = mid;
      else hi = mid - 1;
    }
    const base = rowAt(lo);
    return j === lo + duplicatesBefore(spec.provider, lo) ? base : duplicateRow(spec.provider, base);
  };
  return {
    id: spec.id,
    provider: spec.provider,
    key,
    credentials,
    options: { ...spec.options },
    timezone: spec.timezone,
    since: new Date(ctx.historyStart - 2 * DAY).toISOString().slice(0, 10),
    rows: ctx.rows,
    size,
    rowAt,
    entryAt,
  };
}

function addressFor(
  spec: AccountSpec,
  accountNo: number,
  i: number,
  h: number,
  ctx: { seed: number; rows: number },
): string {
  if (i % HARD_CASES.invalid === 3) return INVALID[((i / HARD_CASES.invalid) % INVALID.length) | 0]!(i);
  if (unit(h) < UNIQUE_SHARE) return `only-${spec.id}-${i}@unique.example`;
  // A person who unsubscribed again, much later, at another index: the earliest time must win.
  const person =
    i % HARD_CASES.reUnsubscribedLater === 8 && i > ctx.rows / 2 ? i - Math.floor(ctx.rows / 3) : i;
  let email = personAddress(person);
  if (i % HARD_CASES.formulaLead === 4) email = `${'=+-'[person % 3]}cmd${person}@formula.example`;
  if (i % HARD_CASES.htmlDangerous === 5) email = `<script>alert(${person})</script>"'&@xss.example`;
  if (i % HARD_CASES.unicode === 6) email = `josé.${person}@exämple.example`;
  // Spelling varies per account; all spellings normalise to the same address.
  const variant = (accountNo + person) % 3;
  if (i % HARD_CASES.unicode === 6 && variant === 1) email = email.normalize('NFD');
  if (i % HARD_CASES.upperCase === 2 && variant !== 0) email = email.toUpperCase();
  if (i % HARD_CASES.surroundingSpace === 9 && variant !== 2) email = ` ${email}\t`;
  return email;
}

function personAddress(person: number): string {
  const domains = ['example.com', 'mail.example.org', 'example.net'];
  return `user${person}@${domains[person % domains.length]}`;
}

const INVALID: Array<(i: number) => string> = [
  (i) => `not-an-address-${i}`,
  (i) => `two@at@signs${i}.example`,
  (i) => `@no-local-part${i}.example`,
  (i) => `no-domain${i}@`,
  (i) => `has space${i}@example.com`,
  () => '   ',
];

function decorate(row: ScenarioRow, spec: AccountSpec, i: number, h: number, now: number): void {
  if (spec.provider === 'whatcounts' && i % HARD_CASES.listLevel === 0) row.listId = '12';
  if (spec.provider === 'sendcloud') {
    // Rows carry the sub-apiUser that sent the mail, not the authenticating apiUser (a
    // credential, hence a secret that must never reach the warehouse).
    row.apiUser = 'brand_trigger';
    row.label = String(h % 3);
    // Expired opt-outs are inactive; the rest expire long after `now`.
    row.expiresAt = i % HARD_CASES.expired === 10 ? Math.min(row.at + 30 * DAY, now - DAY) : now + 3650 * DAY;
  }
}

/**
 * The same address recorded twice in one account — under another SendCloud apiUser/label, or
 * as a WhatCounts list-level and a global opt-out — stored right after base row i.
 */
const DUPLICATE_STRIDE: Partial<Record<ProviderId, { stride: number; residue: number }>> = {
  sendcloud: { stride: HARD_CASES.sameAddressOtherLabel, residue: 1 },
  whatcounts: { stride: HARD_CASES.listLevel * 2, residue: 0 },
};

function duplicateRow(provider: ProviderId, row: ScenarioRow): ScenarioRow {
  if (provider === 'sendcloud') {
    return { ...row, apiUser: 'brand_batch', label: String((Number(row.label) + 1) % 3), at: row.at + 1000 };
  }
  const { listId: _list, ...global } = row;
  return { ...global, at: row.at + 1000 };
}

/** Number of duplicates stored before base row i (those of rows 0..i-1). */
function duplicatesBefore(provider: ProviderId, i: number): number {
  const rule = DUPLICATE_STRIDE[provider];
  if (!rule || i <= rule.residue) return 0;
  return Math.floor((i - 1 - rule.residue) / rule.stride) + 1;
}

/** Every stored row of an account in time order. */
export function* entriesOf(account: ScenarioAccount): Generator<ScenarioRow> {
  for (let j = 0; j < account.size; j++) yield account.entryAt(j);
}

function snapToLocalMidnight(at: number, zone: string, i: number, step: number): number {
  // Exactly local midnight, or one second either side, in the provider's zone: the instants
  // most likely to be lost or doubled by a window boundary.
  const midnight = localMidnightBefore(at, zone);
  const offset = [0, -1000, 1000][i % 3]!;
  const snapped = midnight + offset;
  // Keep time order: only snap when it stays inside this row's slot.
  return Math.abs(snapped - at) < step / 2 ? snapped : at;
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

function localMidnightBefore(at: number, zone: string): number {
  let format = clockFormats.get(zone);
  if (!format) {
    // Building an Intl formatter costs ~0.1 ms: far too much per generated row.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    clockFormats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return at - ((get('hour') * 60 + get('minute')) * 60 + get('second')) * 1000 - (at % 1000);
}

function startOfUtcDay(ms: number): number {
  return ms - (((ms % DAY) + DAY) % DAY);
}

/** 32-bit integer hash of a few integers (murmur3 finaliser over a simple mix). */
export function hash(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

function unit(h: number): number {
  return h / 0x1_0000_0000;
}

function hex(h: number): string {
  return h.toString(16).padStart(8, '0');
}
