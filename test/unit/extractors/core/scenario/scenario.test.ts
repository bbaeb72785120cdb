import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { normaliseEmail, rejectReason } from '../../../../../extractors/core/email.js';
import {
  entriesOf,
  generateScenario,
  type Scenario,
  type ScenarioAccount,
  type ScenarioRow,
} from '../../../../../extractors/core/scenario/generate.js';
import { groundTruth } from '../../../../../extractors/core/scenario/truth.js';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);
const scenario = generateScenario({ seed: 7, rows: 2_000, now: NOW });
const all = (account: ScenarioAccount) => [...entriesOf(account)];

describe('generateScenario', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateScenario({ seed: 7, rows: 2_000, now: NOW });
    const other = generateScenario({ seed: 8, rows: 2_000, now: NOW });
    for (const [i, account] of scenario.accounts.entries()) {
      expect(all(again.accounts[i]!)).toEqual(all(account));
      expect(all(other.accounts[i]!)).not.toEqual(all(account));
    }
  });

  it('stores rows in time order, inside the history, duplicates right after their row', () => {
    for (const account of scenario.accounts) {
      const rows = all(account);
      expect(rows).toHaveLength(account.size);
      expect(account.size).toBeGreaterThanOrEqual(account.rows);
      for (let j = 1; j < rows.length; j++) expect(rows[j]!.at).toBeGreaterThanOrEqual(rows[j - 1]!.at);
      expect(rows[0]!.at).toBeGreaterThanOrEqual(scenario.historyStart);
      expect(rows.at(-1)!.at).toBeLessThan(NOW);
      // every base row is stored exactly once
      const stored = new Set(rows.map((r) => JSON.stringify(r)));
      for (let i = 0; i < account.rows; i++) expect(stored.has(JSON.stringify(account.rowAt(i)))).toBe(true);
    }
  });

  it('rejects sizes out of range and unknown names', () => {
    expect(() => generateScenario({ rows: 99 })).toThrow(/from 100 to 5000000/);
    expect(() => generateScenario({ rows: 5_000_001 })).toThrow(RangeError);
    expect(() => generateScenario({ name: 'nope' })).toThrow(/unknown scenario "nope"/);
  });

  it('serves any row of a 5,000,000-row account without materialising the account', () => {
    const big = generateScenario({ seed: 1, rows: 5_000_000, now: NOW });
    const sc = big.accounts.find((a) => a.provider === 'sendcloud')!;
    const last = sc.entryAt(sc.size - 1);
    expect(last.at).toBeLessThan(NOW);
    expect(sc.entryAt(sc.size - 2).at).toBeLessThanOrEqual(last.at);
  });
});

describe('hard cases occur in the generated data', () => {
  const byProvider = (p: string) => scenario.accounts.find((a) => a.provider === p)!;
  const everyRow = scenario.accounts.flatMap(all);
  const has = (predicate: (r: ScenarioRow) => boolean) => everyRow.some(predicate);

  it.each<[string, (r: ScenarioRow) => boolean]>([
    ['upper-case spelling', (r) => /[A-Z]/.test(r.email) && rejectReason(normaliseEmail(r.email)) === null],
    ['surrounding whitespace', (r) => r.email !== r.email.trim() && r.email.trim().length > 0],
    ['NFD spelling', (r) => r.email !== r.email.normalize('NFC')],
    ['NFC non-ASCII spelling', (r) => /[^\x00-\x7f]/.test(r.email) && r.email === r.email.normalize('NFC')],
    ['formula lead =', (r) => r.email.trim().startsWith('=')],
    ['formula lead +', (r) => r.email.trim().startsWith('+')],
    ['formula lead -', (r) => r.email.trim().startsWith('-')],
    ['formula lead @ (invalid)', (r) => r.email.startsWith('@')],
    ['HTML-dangerous characters', (r) => r.email.includes('<script>') && r.email.includes('"')],
  ])('%s', (_name, predicate) => expect(has(predicate)).toBe(true));

  it('has every kind of invalid address', () => {
    const reasons = new Set(everyRow.map((r) => rejectReason(normaliseEmail(r.email))).filter(Boolean));
    expect([...reasons].sort()).toEqual(
      [
        'contains_whitespace',
        'empty',
        'empty_domain',
        'empty_local_part',
        'missing_at',
        'multiple_at',
      ].sort(),
    );
  });

  it('has the same address in NFC in one account and NFD in another', () => {
    const nfdNorms = new Set(
      everyRow.filter((r) => r.email !== r.email.normalize('NFC')).map((r) => normaliseEmail(r.email)),
    );
    const nfcNorms = everyRow
      .filter((r) => /[^\x00-\x7f]/.test(r.email) && r.email === r.email.normalize('NFC'))
      .map((r) => normaliseEmail(r.email));
    expect(nfcNorms.some((n) => nfdNorms.has(n))).toBe(true);
  });

  it('has rows at, just before and just after local midnight in the provider zone', () => {
    for (const account of scenario.accounts) {
      const clock = all(account).map((r) =>
        DateTime.fromMillis(r.at, { zone: account.timezone }).toFormat('HH:mm:ss'),
      );
      expect(clock).toContain('00:00:00');
      expect(clock).toContain('23:59:59');
      expect(clock).toContain('00:00:01');
    }
  });

  it('spans more than a year', () => {
    for (const account of scenario.accounts) {
      const rows = all(account);
      expect(rows.at(-1)!.at - rows[0]!.at).toBeGreaterThan(366 * 86_400_000);
    }
  });

  it('has WhatCounts list-level and global opt-outs, some for the same address', () => {
    const rows = all(byProvider('whatcounts'));
    const listed = rows.filter((r) => r.listId === '12').map((r) => normaliseEmail(r.email));
    const global = new Set(rows.filter((r) => r.listId === undefined).map((r) => normaliseEmail(r.email)));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.some((e) => global.has(e))).toBe(true);
  });

  it('has expired SendCloud entries and the same address under two labels/apiUsers', () => {
    const rows = all(byProvider('sendcloud'));
    expect(rows.some((r) => r.expiresAt! <= NOW)).toBe(true);
    const seen = new Map<string, ScenarioRow>();
    let twice = false;
    for (const r of rows) {
      const prior = seen.get(r.email);
      if (prior && (prior.label !== r.label || prior.apiUser !== r.apiUser)) twice = true;
      seen.set(r.email, r);
    }
    expect(twice).toBe(true);
  });

  it('has an address unsubscribed again much later in the same account', () => {
    const rows = all(byProvider('bluehornet'));
    const first = new Map<string, number>();
    let later = false;
    for (const r of rows) {
      const norm = normaliseEmail(r.email);
      const seen = first.get(norm);
      if (seen !== undefined && r.at - seen > 30 * 86_400_000) later = true;
      if (seen === undefined) first.set(norm, r.at);
    }
    expect(later).toBe(true);
  });

  it('never puts a configured secret into a row', () => {
    for (const account of scenario.accounts) {
      const secrets = Object.values(account.credentials);
      for (const r of all(account)) for (const s of secrets) expect(JSON.stringify(r)).not.toContain(s);
    }
  });
});

describe('groundTruth', () => {
  const truth = groundTruth(scenario);

  it('is self-consistent', () => {
    const keys = truth.suppressions.map((s) => `${s.accountId}|${s.scope}|${s.emailNorm}`);
    expect(new Set(keys).size).toBe(keys.length);
    const activeGlobal = new Set(
      truth.suppressions
        .filter((s) => s.active && s.scope === 'global')
        .map((s) => `${s.accountId}|${s.emailNorm}`),
    );
    for (const d of truth.discrepancies) {
      const group = scenario.groups.find((g) => g.id === d.groupId)!;
      expect([...d.presentIn, ...d.missingFrom].sort()).toEqual([...group.accounts].sort());
      expect(d.presentIn.length).toBeGreaterThan(0);
      expect(d.missingFrom.length).toBeGreaterThan(0);
      for (const a of d.presentIn) expect(activeGlobal.has(`${a}|${d.emailNorm}`)).toBe(true);
      for (const a of d.missingFrom) expect(activeGlobal.has(`${a}|${d.emailNorm}`)).toBe(false);
      if (group.policy === 'union') expect(d.kind).toBe('missing');
      else expect(d.kind).toBe(d.presentIn.includes(group.source!) ? 'missing' : 'extra');
    }
    const expectedAdds = truth.discrepancies
      .filter((d) => d.kind === 'missing')
      .reduce((n, d) => n + d.missingFrom.length, 0);
    expect(truth.patches.filter((p) => p.op === 'add')).toHaveLength(expectedAdds);
    expect(truth.patches.every((p) => p.op === 'add')).toBe(true);
    const invalidRaw = new Set(
      scenario.accounts.flatMap((a) =>
        all(a)
          .filter((r) => rejectReason(normaliseEmail(r.email)))
          .map((r) => `${a.id}|${r.email}`),
      ),
    );
    expect(truth.rejects).toHaveLength(invalidRaw.size);
  });

  it('finds discrepancies in every group, and foreign deletes only for mirror groups', () => {
    for (const group of scenario.groups) {
      expect(truth.discrepancies.filter((d) => d.groupId === group.id).length).toBeGreaterThan(0);
    }
    expect(truth.foreignDeletes.every((p) => p.groupId === 'sg-to-sc')).toBe(true);
  });

  it('computes a hand-made case exactly', () => {
    const at = (iso: string) => Date.parse(iso);
    const account = (
      id: string,
      provider: ScenarioAccount['provider'],
      timezone: string,
      rows: ScenarioRow[],
    ) =>
      ({
        id,
        provider,
        key: id,
        credentials: {},
        options: {},
        timezone,
        since: '2020-01-01',
        rows: rows.length,
        size: rows.length,
        rowAt: (i: number) => rows[i]!,
        entryAt: (i: number) => rows[i]!,
      }) satisfies ScenarioAccount;
    const tiny: Scenario = {
      name: 'tiny',
      seed: 0,
      now: at('2025-06-01T00:00:00Z'),
      historyStart: at('2024-01-01T00:00:00Z'),
      accounts: [
        account('a', 'sendcloud', 'Asia/Shanghai', [
          { email: ' Bob@X.com', at: at('2024-03-01T10:00:00Z'), expiresAt: at('2030-01-01T00:00:00Z') },
          { email: 'bob@x.com', at: at('2024-02-01T10:00:00Z'), expiresAt: at('2030-01-01T00:00:00Z') },
          { email: 'gone@x.com', at: at('2024-02-01T10:00:00Z'), expiresAt: at('2024-05-01T00:00:00Z') },
          { email: 'nope', at: at('2024-02-02T10:00:00Z') },
        ]),
        account('b', 'bluehornet', 'America/New_York', [
          { email: 'gone@x.com', at: at('2024-04-01T03:00:00Z') },
          { email: 'carol@x.com', at: at('2024-04-01T03:00:00Z') },
        ]),
        account('c', 'whatcounts', 'America/Los_Angeles', [
          { email: 'bob@x.com', at: at('2024-01-01T00:00:00Z'), listId: '12' },
          { email: 'carol@x.com', at: at('2024-01-01T00:00:00Z') },
        ]),
      ],
      groups: [
        { id: 'u', accounts: ['a', 'b', 'c'], policy: 'union' },
        { id: 'm', accounts: ['a', 'b'], policy: 'mirror', source: 'a' },
      ],
    };
    const t = groundTruth(tiny);
    expect(t.rejects).toEqual([{ accountId: 'a', rawValue: 'nope', reason: 'missing_at' }]);
    expect(t.suppressions.find((s) => s.accountId === 'a' && s.emailNorm === 'bob@x.com')).toEqual({
      accountId: 'a',
      emailNorm: 'bob@x.com',
      scope: 'global',
      unsubscribedAt: '2024-02-01T10:00:00Z',
      active: true,
    });
    expect(t.discrepancies).toEqual([
      {
        groupId: 'u',
        emailNorm: 'bob@x.com',
        presentIn: ['a'],
        missingFrom: ['b', 'c'],
        firstUnsubscribedAt: '2024-02-01T10:00:00Z',
        kind: 'missing',
      },
      // BlueHornet reports only the local date: 2024-03-31 in New York, local midnight = 04:00Z.
      {
        groupId: 'u',
        emailNorm: 'carol@x.com',
        presentIn: ['b', 'c'],
        missingFrom: ['a'],
        firstUnsubscribedAt: '2024-03-31T04:00:00Z',
        kind: 'missing',
      },
      {
        groupId: 'u',
        emailNorm: 'gone@x.com',
        presentIn: ['b'],
        missingFrom: ['a', 'c'],
        firstUnsubscribedAt: '2024-03-31T04:00:00Z',
        kind: 'missing',
      },
      {
        groupId: 'm',
        emailNorm: 'bob@x.com',
        presentIn: ['a'],
        missingFrom: ['b'],
        firstUnsubscribedAt: '2024-02-01T10:00:00Z',
        kind: 'missing',
      },
      {
        groupId: 'm',
        emailNorm: 'carol@x.com',
        presentIn: ['b'],
        missingFrom: ['a'],
        firstUnsubscribedAt: '2024-03-31T04:00:00Z',
        kind: 'extra',
      },
      {
        groupId: 'm',
        emailNorm: 'gone@x.com',
        presentIn: ['b'],
        missingFrom: ['a'],
        firstUnsubscribedAt: '2024-03-31T04:00:00Z',
        kind: 'extra',
      },
    ]);
    expect(t.patches).toEqual([
      { groupId: 'u', target: 'b', op: 'add', email: 'bob@x.com' },
      { groupId: 'u', target: 'c', op: 'add', email: 'bob@x.com' },
      { groupId: 'u', target: 'a', op: 'add', email: 'carol@x.com' },
      { groupId: 'u', target: 'a', op: 'add', email: 'gone@x.com' },
      { groupId: 'u', target: 'c', op: 'add', email: 'gone@x.com' },
      { groupId: 'm', target: 'b', op: 'add', email: 'bob@x.com' },
    ]);
    expect(t.foreignDeletes).toEqual([
      { groupId: 'm', target: 'b', op: 'manual', email: 'carol@x.com' },
      { groupId: 'm', target: 'b', op: 'manual', email: 'gone@x.com' },
    ]);
  });
});
