import { describe, expect, it } from 'vitest';
import { buildReportModel, summariseConfig } from '../../../reports/model.js';
import type { CompletenessRow, ReportInputs } from '../../../reports/queries.js';

const group = (id: string, members: string[], policy: 'union' | 'mirror' = 'union') => ({
  run_id: 'T1',
  group_id: id,
  policy,
  members,
  diffed: true,
  allowed_incomplete: false,
  incomplete_accounts: [],
  detail: null,
});

const completeness = (account: string): CompletenessRow => ({
  account_id: account,
  provider: 'sendcloud',
  run_id: 'E2',
  mode: 'full',
  status: 'complete',
  range_from: '2024-01-01T00:00:00.000Z',
  range_to: '2026-01-01T00:00:00.000Z',
  windows: 3,
  windows_failed: 0,
  windows_complete: '3',
  requests: 4,
  retries: 1,
  rows: '120',
  provider_total: '120',
  coverage_ok: true,
  error: null,
  started_at: '2026-01-01T00:00:00.000Z',
  finished_at: '2026-01-01T00:01:00.000Z',
  failed_windows: [],
  full_run_id: 'E2',
  full_finished_at: '2026-01-01T00:01:00.000Z',
});

function inputs(): ReportInputs {
  return {
    accounts: ['a', 'b', 'c', 'retired'],
    transformRun: {
      run_id: 'T1',
      command: 'transform',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: null,
      status: 'partial',
      args: { allowIncomplete: true },
    },
    groups: [group('all', ['a', 'b', 'c']), group('ab', ['a', 'b'], 'mirror')],
    discrepancies: [
      {
        run_id: 'T1',
        group_id: 'ab',
        policy: 'mirror',
        kind: 'extra',
        email_norm: 'x@e.example',
        present_in: ['b'],
        missing_from: ['a'],
        first_unsubscribed_at: null,
        evidence_idx: 0,
      },
      {
        run_id: 'T1',
        group_id: 'all',
        policy: 'union',
        kind: 'missing',
        email_norm: 'x@e.example',
        present_in: ['b'],
        missing_from: ['a', 'c'],
        first_unsubscribed_at: '2025-01-01T00:00:00.000Z',
        evidence_idx: 0,
      },
    ],
    summary: [
      {
        run_id: 'T1',
        group_id: 'ab',
        policy: 'mirror',
        kind: 'missing',
        present_account: 'a',
        missing_account: 'b',
        addresses: '0',
        present_total: '5',
        pct_of_present: 0,
      },
      {
        run_id: 'T1',
        group_id: 'ab',
        policy: 'mirror',
        kind: 'extra',
        present_account: 'b',
        missing_account: 'a',
        addresses: '1',
        present_total: '4',
        pct_of_present: 25,
      },
    ],
    accountCounts: [{ group_id: 'ab', kind: 'extra', account_id: 'a', missing_here: '1', held_here: '0' }],
    rejects: [{ run_id: 'E1', account_id: 'retired', raw_value: 'bad', reason: 'missing_at' }],
    completeness: [completeness('b'), completeness('retired')],
    evidence: { index: '{"runs":["E1"],"requests":[]}', chunks: ['[[]]'] },
    totals: {
      discrepancies: 2,
      byGroupKind: [
        { group_id: 'ab', kind: 'extra', discrepancies: 1 },
        { group_id: 'all', kind: 'missing', discrepancies: 1 },
      ],
      rejects: 1,
    },
  };
}

const config = summariseConfig({
  accounts: ['a', 'b', 'c'].map((id) => ({
    id,
    provider: 'sendcloud' as const,
    baseUrl: 'http://user:s3cret@127.0.0.1:9/api',
    credentials: { apiKey: 's3cret' },
    options: {},
    timezone: 'Asia/Shanghai',
    since: '2020-01-01',
    lookbackDays: 2,
    timeoutMs: 1000,
    rateLimit: { requestsPerSecond: 5, concurrency: 2 },
  })),
  groups: [
    { id: 'all', accounts: ['a', 'b', 'c'], policy: 'union', scope: 'global', maxDeleteFraction: 0.01 },
    {
      id: 'ab',
      accounts: ['a', 'b'],
      policy: 'mirror',
      source: 'a',
      scope: 'global',
      maxDeleteFraction: 0.01,
    },
  ],
  secrets: ['s3cret'],
});

const build = (groupFilter: string | null = null, from: ReportInputs = inputs()) =>
  buildReportModel(from, {
    reportRunId: 'R1',
    generatedAt: new Date('2026-01-02T00:00:00Z'),
    groupFilter,
    warehouse: '/w.duckdb',
    config,
  });

describe('summariseConfig', () => {
  it('keeps ids, providers, zones and groups, and no credential (not even in a URL)', () => {
    expect(JSON.stringify(config)).not.toContain('s3cret');
    expect(config.accounts[0]).toEqual({
      id: 'a',
      provider: 'sendcloud',
      baseUrl: 'http://127.0.0.1:9/api',
      timezone: 'Asia/Shanghai',
      since: '2020-01-01',
    });
    expect(config.groups[1]).toEqual({
      id: 'ab',
      policy: 'mirror',
      source: 'a',
      scope: 'global',
      accounts: ['a', 'b'],
    });
  });
});

describe('buildReportModel', () => {
  it('numbers accounts as the warehouse did and points both groups at one evidence entry per address', () => {
    const { payload } = build();
    expect(payload.accounts).toEqual(['a', 'b', 'c', 'retired']);
    expect(payload.kinds).toEqual(['missing', 'extra']);
    expect(payload.discrepancies).toEqual([
      [1, 1, 'x@e.example', [1], [0], null, 0],
      [0, 0, 'x@e.example', [1], [0, 2], '2025-01-01T00:00:00Z', 0],
    ]);
    expect(payload.meta.transformRun).toMatchObject({
      runId: 'T1',
      status: 'partial',
      allowIncomplete: true,
    });
  });

  it('counts per group and kind; a mirror group lists both kinds, a union group only missing', () => {
    const [all, ab] = build().payload.groups;
    expect(all).toMatchObject({ id: 'all', total: 1, kinds: [], byKind: {} });
    expect(ab).toMatchObject({
      id: 'ab',
      source: 'a',
      total: 1,
      kinds: ['missing', 'extra'],
      byKind: { missing: 0, extra: 1 },
      bars: [[1, 0, 1, 0]],
      pairs: [
        [0, 0, 1, 0, 5, 0],
        [1, 1, 0, 1, 4, 25],
      ],
    });
  });

  it('takes every count from the SQL totals when the page holds only the first rows', () => {
    // The page was cut after one discrepancy and no reject; the CSVs hold 250,001 and 7.
    const cut = inputs();
    cut.discrepancies = cut.discrepancies.slice(0, 1);
    cut.rejects = [];
    cut.totals = {
      discrepancies: 250_001,
      byGroupKind: [
        { group_id: 'ab', kind: 'extra', discrepancies: 200_000 },
        { group_id: 'ab', kind: 'missing', discrepancies: 50_000 },
        { group_id: 'all', kind: 'missing', discrepancies: 1 },
      ],
      rejects: 7,
    };
    const { payload } = build(null, cut);
    expect(payload.totals).toEqual({ discrepancies: 250_001, rejects: 7 });
    expect(payload.discrepancies).toEqual([[1, 1, 'x@e.example', [1], [0], null, 0]]);
    expect(payload.rejects).toEqual([]);
    const [all, ab] = payload.groups;
    expect(all).toMatchObject({ total: 1 });
    expect(ab).toMatchObject({ total: 250_000, byKind: { missing: 50_000, extra: 200_000 } });
  });

  it('carries the evidence JSON text from SQL through unchanged, with the block size', () => {
    const { payload, evidence } = build();
    expect(evidence).toEqual({ index: '{"runs":["E1"],"requests":[]}', chunks: ['[[]]'] });
    expect(payload.evidenceChunk).toBe(1000);
  });

  it('lists every configured account in completeness, never-extracted ones too, then accounts no longer configured', () => {
    const rows = build().payload.completeness;
    expect(rows.map((r) => [r.account, r.state])).toEqual([
      ['a', 'never'],
      ['b', 'complete'],
      ['c', 'never'],
      ['retired', 'complete'],
    ]);
    expect(rows[1]).toMatchObject({
      windows: 3,
      windowsComplete: 3,
      rows: 120,
      providerTotal: 120,
      coverageOk: true,
    });
  });
});
