// `unsub-recon transform` end to end: the real CLI against the sandbox's simulators and a real
// DuckDB file; the warehouse must reproduce the scenario's ground truth exactly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groundTruth } from '../../extractors/core/scenario/truth.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
const warehouseIn = (name: string) => path.join(sandbox.dir, `${name}.duckdb`);
const cli = (warehouse: string, args: string[], env: Record<string, string> = sandbox.env) =>
  runCli(['--config', sandbox.configFile, '--warehouse', warehouse, ...args], { env });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 300,
    seed: 7,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-transform-')),
  });
});
afterAll(async () => {
  await sandbox?.close();
});

async function read<T>(file: string, sql: string): Promise<T[]> {
  const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
  try {
    return await warehouse.allJson<T>(sql);
  } finally {
    await warehouse.close();
  }
}

/** ISO 8601 UTC without milliseconds, as luxon writes with suppressMilliseconds. */
const iso = (value: string | null) =>
  value === null ? null : new Date(value).toISOString().replace('.000Z', 'Z');

describe('transform', () => {
  const file = () => warehouseIn('full');

  it('reproduces the ground truth: discrepancies, rejects and suppressions', async () => {
    const extracted = await cli(file(), ['extract', '--json']);
    expect(extracted.code, extracted.stderr).toBe(0);
    const { code, stdout, stderr } = await cli(file(), ['transform', '--json']);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    const truth = groundTruth(sandbox.scenario);
    expect(summary.status).toBe('succeeded');
    expect(summary.run_id).toMatch(/^\d{8}T\d{6}Z-/);
    expect(summary.rejects).toBe(truth.rejects.length);

    const discrepancies = await read<{
      run_id: string;
      group_id: string;
      email_norm: string;
      present_in: string[];
      missing_from: string[];
      first_unsubscribed_at: string | null;
      kind: string;
    }>(file(), 'SELECT * FROM discrepancies ORDER BY group_id, email_norm');
    expect(discrepancies.length).toBeGreaterThan(0);
    expect(new Set(discrepancies.map((d) => d.run_id))).toEqual(new Set([summary.run_id]));
    const byGroup = (rows: { groupId: string; emailNorm: string }[]) =>
      [...rows].sort((a, b) =>
        a.groupId !== b.groupId ? (a.groupId < b.groupId ? -1 : 1) : a.emailNorm < b.emailNorm ? -1 : 1,
      );
    expect(
      byGroup(
        discrepancies.map((d) => ({
          groupId: d.group_id,
          emailNorm: d.email_norm,
          presentIn: d.present_in,
          missingFrom: d.missing_from,
          firstUnsubscribedAt: iso(d.first_unsubscribed_at),
          kind: d.kind,
        })),
      ),
    ).toEqual(byGroup(truth.discrepancies));
    expect(new Set(truth.discrepancies.map((d) => d.kind))).toEqual(new Set(['missing', 'extra']));

    for (const group of sandbox.scenario.groups) {
      const expected = truth.discrepancies.filter((d) => d.groupId === group.id);
      const reported = summary.groups.find((g: { group_id: string }) => g.group_id === group.id);
      expect(reported.discrepancies).toBe(expected.length);
      expect(reported.by_kind.extra).toBe(expected.filter((d) => d.kind === 'extra').length);
    }

    const rejects = await read<{ account_id: string; raw_value: string; reason: string }>(
      file(),
      'SELECT account_id, raw_value, reason FROM rejects',
    );
    const key = (r: { accountId: string; rawValue: string }) => `${r.accountId}\u0000${r.rawValue}`;
    const sortRejects = <T extends { accountId: string; rawValue: string }>(rows: T[]) =>
      [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    expect(
      sortRejects(rejects.map((r) => ({ accountId: r.account_id, rawValue: r.raw_value, reason: r.reason }))),
    ).toEqual(sortRejects(truth.rejects));

    const suppressions = await read<{
      account_id: string;
      email_norm: string;
      scope: string;
      unsubscribed_at: string | null;
      active: boolean;
    }>(file(), 'SELECT account_id, email_norm, scope, unsubscribed_at, active FROM suppressions');
    const skey = (s: { accountId: string; scope: string; emailNorm: string }) =>
      `${s.accountId}\u0000${s.scope}\u0000${s.emailNorm}`;
    const sortS = <T extends { accountId: string; scope: string; emailNorm: string }>(rows: T[]) =>
      [...rows].sort((a, b) => (skey(a) < skey(b) ? -1 : skey(a) > skey(b) ? 1 : 0));
    expect(
      sortS(
        suppressions.map((s) => ({
          accountId: s.account_id,
          emailNorm: s.email_norm,
          scope: s.scope,
          unsubscribedAt: iso(s.unsubscribed_at),
          active: s.active,
        })),
      ),
    ).toEqual(sortS(truth.suppressions));
  });

  it('discrepancy_summary counts each account pair as the ground truth does; group_status says every group was diffed', async () => {
    const truth = groundTruth(sandbox.scenario);
    const expected = new Map<string, number>();
    for (const d of truth.discrepancies) {
      for (const present of d.presentIn) {
        for (const missing of d.missingFrom) {
          const key = [d.groupId, d.kind, present, missing].join(' ');
          expected.set(key, (expected.get(key) ?? 0) + 1);
        }
      }
    }
    const rows = await read<{
      group_id: string;
      kind: string;
      present_account: string;
      missing_account: string;
      addresses: string;
      present_total: string;
      pct_of_present: number;
    }>(file(), 'SELECT * FROM discrepancy_summary');
    const reported = new Map(
      rows
        .filter((r) => Number(r.addresses) > 0)
        .map((r) => [
          [r.group_id, r.kind, r.present_account, r.missing_account].join(' '),
          Number(r.addresses),
        ]),
    );
    expect(reported).toEqual(expected);
    // present_total is the account's active suppressions in the group's scope (global here).
    for (const r of rows) {
      const held = truth.suppressions.filter(
        (s) => s.accountId === r.present_account && s.scope === 'global' && s.active,
      ).length;
      expect(Number(r.present_total), `${r.group_id} ${r.present_account}`).toBe(held);
      expect(r.pct_of_present).toBeCloseTo(held === 0 ? 0 : (Number(r.addresses) * 100) / held, 9);
    }
    // Every ordered pair of distinct members appears, zero or not.
    for (const group of sandbox.scenario.groups) {
      const n = group.accounts.length;
      const pairs = rows.filter((r) => r.group_id === group.id).length;
      // union: n(n−1) `missing` pairs; mirror: (n−1)² `missing` (never missing at the source) + (n−1)² `extra`
      expect(pairs, group.id).toBe(group.policy === 'union' ? n * (n - 1) : 2 * (n - 1) * (n - 1));
    }

    const status = await read<{
      group_id: string;
      members: string[];
      diffed: boolean;
      allowed_incomplete: boolean;
    }>(
      file(),
      'SELECT group_id, members, diffed, allowed_incomplete, incomplete_accounts, detail FROM group_status ORDER BY group_id',
    );
    expect(status).toEqual(
      [...sandbox.scenario.groups]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((g) => ({
          group_id: g.id,
          members: g.accounts,
          diffed: true,
          allowed_incomplete: false,
          incomplete_accounts: [],
          detail: null,
        })),
    );
  });

  it('a second transform replaces the results instead of adding to them', async () => {
    const { code, stdout } = await cli(file(), ['transform', '--json']);
    expect(code).toBe(0);
    const runId = JSON.parse(stdout).run_id;
    const rows = await read<{ run_id: string; n: string }>(
      file(),
      'SELECT run_id, count(*)::VARCHAR AS n FROM discrepancies GROUP BY run_id',
    );
    expect(rows.map((r) => r.run_id)).toEqual([runId]);
    expect(Number(rows[0]!.n)).toBe(groundTruth(sandbox.scenario).discrepancies.length);
  });

  it('an incomplete extraction blocks its groups with exit 1 naming the account, unless --allow-incomplete', async () => {
    const broken = warehouseIn('broken');
    const victim = sandbox.scenario.accounts.at(-1)!; // in `all-brands` only, not in the mirror group
    const env = Object.fromEntries(
      Object.entries(sandbox.env).map(([name, value]) => [
        name,
        name.startsWith(`SANDBOX_${victim.id.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`)
          ? `${value}-wrong`
          : value,
      ]),
    );
    const extracted = await cli(broken, ['extract', '--json'], env);
    expect(extracted.code).toBe(1);

    const blocked = await cli(broken, ['transform', '--json']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('DATA_INCOMPLETE');
    expect(blocked.stderr).toContain(victim.id);
    expect(blocked.stderr).toMatch(/failed window\(s\) \d{4}-\d\d-\d\dT[\d:]+Z\/\d{4}-/);
    const summary = JSON.parse(blocked.stdout);
    expect(summary.status).toBe('partial');
    const victimGroups = sandbox.scenario.groups
      .filter((g) => g.accounts.includes(victim.id))
      .map((g) => g.id);
    expect(victimGroups.length).toBeGreaterThan(0);
    for (const g of summary.groups) {
      expect(g.diffed).toBe(!victimGroups.includes(g.group_id));
      if (!g.diffed) expect(g.discrepancies).toBe(0);
    }
    const diffedGroups = await read<{ group_id: string }>(
      broken,
      'SELECT DISTINCT group_id FROM discrepancies',
    );
    for (const row of diffedGroups) expect(victimGroups).not.toContain(row.group_id);
    // Every other account's state is still built.
    const accounts = await read<{ account_id: string }>(
      broken,
      'SELECT DISTINCT account_id FROM suppressions',
    );
    expect(accounts.map((a) => a.account_id).sort()).toEqual(
      sandbox.scenario.accounts
        .map((a) => a.id)
        .filter((id) => id !== victim.id)
        .sort(),
    );

    const allowed = await cli(broken, ['transform', '--json', '--allow-incomplete']);
    expect(allowed.code, allowed.stderr).toBe(0);
    const allowedSummary = JSON.parse(allowed.stdout);
    expect(allowedSummary.groups.every((g: { diffed: boolean }) => g.diffed)).toBe(true);
    expect(allowedSummary.incomplete.map((a: { account_id: string }) => a.account_id)).toEqual([victim.id]);
    const status = await read<{
      group_id: string;
      allowed_incomplete: boolean;
      incomplete_accounts: string[];
      detail: string | null;
    }>(
      broken,
      'SELECT group_id, allowed_incomplete, incomplete_accounts, detail FROM group_status ORDER BY group_id',
    );
    for (const row of status) {
      const hit = victimGroups.includes(row.group_id);
      expect(row.allowed_incomplete, row.group_id).toBe(hit);
      expect(row.incomplete_accounts).toEqual(hit ? [victim.id] : []);
      if (hit)
        expect(row.detail).toMatch(
          new RegExp(`^${victim.id}: latest extraction \\(run \\S+\\) is \\w+, failed window\\(s\\) `),
        );
      else expect(row.detail).toBeNull();
    }
  });
});
