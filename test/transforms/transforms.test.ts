// Rows in, rows out: each case stages raw rows (as the extract layer would), runs the real SQL
// transforms through transforms/run.ts, and compares the derived tables with what it expects.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderId } from '../../extractors/core/types.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { PROVIDERS } from '../../extractors/registry.js';
import {
  auditViolations,
  loadTransforms,
  runTransforms,
  type TransformGroup,
  type TransformOutcome,
} from '../../transforms/run.js';
import { temporaryObjects } from '../helpers/temporary-objects.js';

interface RowIn {
  email: string;
  time?: string | null;
  scope?: string;
  expires?: string;
}

interface ExtractionIn {
  account: string;
  mode?: 'full' | 'incremental' | 'range';
  status?: 'complete' | 'incomplete' | 'failed';
  rows: RowIn[];
}

interface AccountIn {
  id: string;
  provider: ProviderId;
  timezone: string;
}

interface Case {
  name: string;
  accounts: AccountIn[];
  groups?: TransformGroup[];
  /** In run order: each becomes its own committed run. */
  extractions: ExtractionIn[];
  allowIncomplete?: boolean;
  expect: {
    suppressions?: Array<{
      account_id: string;
      email_norm: string;
      scope: string;
      unsubscribed_at: string | null;
      active: boolean;
      email?: string;
      sources?: number;
    }>;
    rejects?: Array<{ account_id: string; raw_value: string; reason: string }>;
    discrepancies?: Array<{
      group_id: string;
      email_norm: string;
      present_in: string[];
      missing_from: string[];
      first_unsubscribed_at: string | null;
      kind: string;
    }>;
    groups?: Array<{ group_id: string; diffed: boolean; blocked_by: string[] }>;
  };
}

const NOW = new Date('2025-06-01T00:00:00Z');
const open: Warehouse[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function freshWarehouse(): Promise<Warehouse> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'unsub-tx-')), 'w.duckdb');
  const warehouse = await Warehouse.open(file, { mode: 'write', command: 'test' });
  open.push(warehouse);
  return warehouse;
}

async function stage(warehouse: Warehouse, accounts: AccountIn[], extractions: ExtractionIn[], offset = 0) {
  for (const [i, ex] of extractions.entries()) {
    const n = i + offset;
    const runId = `20250101T0000${String(n).padStart(2, '0')}Z-test${String(n).padStart(2, '0')}`;
    const startedAt = new Date(Date.UTC(2025, 0, 1, 0, 0, n));
    const account = accounts.find((a) => a.id === ex.account)!;
    const status = ex.status ?? 'complete';
    await warehouse.run(
      `INSERT INTO runs (run_id, command, started_at, finished_at, status, pid)
       VALUES ($1, 'extract', $2, $2, $3, 1)`,
      [runId, startedAt, status === 'complete' ? 'succeeded' : 'partial'],
    );
    await warehouse.run(
      `INSERT INTO stage_extractions VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, 1, 0, $9, 0, true, $10, $5, $6)`,
      [
        runId,
        ex.account,
        account.provider,
        ex.mode ?? 'full',
        new Date('2020-01-01T00:00:00Z'),
        startedAt,
        status,
        status === 'complete' ? 0 : 1,
        BigInt(ex.rows.length),
        status === 'complete' ? null : 'simulated failure',
      ],
    );
    if (status !== 'complete') {
      await warehouse.run(
        `INSERT INTO stage_extract_windows VALUES ($1, $2, 0, 'global', $3, $4, '{}', 0, 0, NULL, NULL, 'failed', 'boom')`,
        [runId, ex.account, new Date('2024-01-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z')],
      );
    }
    for (const [rowNo, row] of ex.rows.entries()) {
      await warehouse.run(
        `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, page, row_no, fetched_at, raw,
                                     raw_time, raw_email, scope, raw_expires)
         VALUES ($1, $2, $3, 1, 1, $4, $5, '{}', $6, $7, $8, $9)`,
        [
          runId,
          ex.account,
          account.provider,
          rowNo,
          startedAt,
          row.time ?? null,
          row.email,
          row.scope ?? 'global',
          row.expires ?? null,
        ],
      );
    }
  }
}

function transform(
  warehouse: Warehouse,
  c: Pick<Case, 'accounts' | 'groups' | 'allowIncomplete'>,
  runId = 'tx-run',
  keepWorkTables = false,
) {
  return runTransforms(warehouse, {
    runId,
    keepWorkTables,
    now: NOW,
    allowIncomplete: c.allowIncomplete ?? false,
    accounts: c.accounts.map((a) => ({
      ...a,
      timeFormat: PROVIDERS[a.provider].capabilities.timeFormat,
    })),
    groups: c.groups ?? [],
  });
}

const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());

async function check(warehouse: Warehouse, c: Case, outcome: TransformOutcome): Promise<void> {
  if (c.expect.suppressions) {
    const rows = await warehouse.allJson<{
      account_id: string;
      email_norm: string;
      scope: string;
      unsubscribed_at: string | null;
      active: boolean;
      email: string;
      detail: { source_rows: number; observed_at: string };
    }>('SELECT * FROM suppressions ORDER BY account_id, scope, email_norm');
    // detail.source_rows counts the suppression's rows in suppression_sources, each a real raw row.
    const lineage = await warehouse.allJson<{ key: string; n: number }>(
      `SELECT concat_ws('|', s.account_id, s.scope, s.email_norm) AS key, count(r.row_no)::INTEGER AS n
         FROM suppression_sources s
         LEFT JOIN raw_rows r USING (run_id, account_id, request_seq, page, row_no)
        GROUP BY ALL`,
    );
    const lineageOf = new Map(lineage.map((l) => [l.key, l.n]));
    for (const r of rows) {
      expect(lineageOf.get([r.account_id, r.scope, r.email_norm].join('|'))).toBe(r.detail.source_rows);
    }
    expect(
      rows.map((r) => {
        const want = c.expect.suppressions!.find(
          (s) => s.account_id === r.account_id && s.email_norm === r.email_norm && s.scope === r.scope,
        );
        return {
          account_id: r.account_id,
          email_norm: r.email_norm,
          scope: r.scope,
          unsubscribed_at: iso(r.unsubscribed_at),
          active: r.active,
          ...(want?.email !== undefined ? { email: r.email } : {}),
          ...(want?.sources !== undefined ? { sources: r.detail.source_rows } : {}),
        };
      }),
    ).toEqual(c.expect.suppressions.map((s) => ({ ...s, unsubscribed_at: iso(s.unsubscribed_at) })));
  }
  if (c.expect.rejects) {
    const rows = await warehouse.allJson('SELECT account_id, raw_value, reason FROM rejects ORDER BY ALL');
    expect(rows).toEqual(
      [...c.expect.rejects].sort((a, b) =>
        `${a.account_id}\u0000${a.raw_value}` < `${b.account_id}\u0000${b.raw_value}` ? -1 : 1,
      ),
    );
  }
  if (c.expect.discrepancies) {
    const rows = await warehouse.allJson<{ first_unsubscribed_at: string | null; run_id: string }>(
      'SELECT * FROM discrepancies ORDER BY group_id, email_norm',
    );
    for (const r of rows) expect(r.run_id).toBe('tx-run');
    expect(
      rows.map(({ run_id: _r, ...r }) => ({ ...r, first_unsubscribed_at: iso(r.first_unsubscribed_at) })),
    ).toEqual(
      c.expect.discrepancies.map((d) => ({ ...d, first_unsubscribed_at: iso(d.first_unsubscribed_at) })),
    );
  }
  if (c.expect.groups) {
    expect(
      outcome.groups.map(({ group_id, diffed, blocked_by }) => ({ group_id, diffed, blocked_by })),
    ).toEqual(c.expect.groups);
  }
}

const SG: AccountIn = { id: 'sg', provider: 'sendgrid-subuser', timezone: 'America/Chicago' };
const SC: AccountIn = { id: 'sc', provider: 'sendcloud', timezone: 'Asia/Shanghai' };
const WC: AccountIn = { id: 'wc', provider: 'whatcounts', timezone: 'America/Los_Angeles' };
const BH: AccountIn = { id: 'bh', provider: 'bluehornet', timezone: 'America/New_York' };

const CASES: Case[] = [
  {
    name: 'case variants, surrounding space and NFD collapse to one suppression with the earliest time',
    accounts: [SG],
    extractions: [
      {
        account: 'sg',
        rows: [
          { email: 'José@Exämple.COM', time: '2024-05-02 10:00:00' },
          { email: ' jose\u0301@exa\u0308mple.com\t', time: '2024-05-01 09:00:00' },
          { email: '\r\nJOSÉ@EXÄMPLE.COM ', time: '2024-06-01 00:00:00' },
        ],
      },
      // The same address seen again by a later (incremental) run, later in time: still one row.
      {
        account: 'sg',
        mode: 'incremental',
        rows: [{ email: 'josé@exämple.com', time: '2024-07-01 00:00:00' }],
      },
    ],
    expect: {
      suppressions: [
        {
          account_id: 'sg',
          email_norm: 'josé@exämple.com',
          scope: 'global',
          // 09:00 CDT (UTC-5)
          unsubscribed_at: '2024-05-01T14:00:00Z',
          active: true,
          email: ' jose\u0301@exa\u0308mple.com\t',
          sources: 4,
        },
      ],
      rejects: [],
    },
  },
  {
    name: 'invalid addresses go to rejects with the reasons of email.ts; unusual valid ones are kept',
    accounts: [SG],
    extractions: [
      {
        account: 'sg',
        rows: [
          { email: '   ', time: '2024-01-01 00:00:00' },
          { email: 'has space@example.com', time: '2024-01-01 00:00:00' },
          { email: 'nbsp\u00a0x@example.com', time: '2024-01-01 00:00:00' },
          { email: 'not-an-address', time: '2024-01-01 00:00:00' },
          { email: 'two@at@signs.example', time: '2024-01-01 00:00:00' },
          { email: '@no-local.example', time: '2024-01-01 00:00:00' },
          { email: 'no-domain@', time: '2024-01-01 00:00:00' },
          { email: 'no-domain@', time: '2024-01-02 00:00:00' },
          { email: '"a@b"@quoted.example', time: '2024-01-01 00:00:00' },
          { email: '"a@b"', time: '2024-01-01 00:00:00' },
          { email: 'ünï@例え.jp', time: '2024-01-01 00:00:00' },
          // control characters other than whitespace: NUL, DEL, NEL (C1)
          { email: 'nul\u0000x@example.com', time: '2024-01-01 00:00:00' },
          { email: 'del\u007fx@example.com', time: '2024-01-01 00:00:00' },
          { email: 'nel\u0085x@example.com', time: '2024-01-01 00:00:00' },
          // RFC 5321: at most 254 octets (UTF-8), counted in bytes, not characters
          { email: `${'a'.repeat(242)}@example.com`, time: '2024-01-01 00:00:00' },
          { email: `${'b'.repeat(243)}@example.com`, time: '2024-01-01 00:00:00' },
          { email: `${'ü'.repeat(122)}@example.com`, time: '2024-01-01 00:00:00' },
        ],
      },
    ],
    expect: {
      rejects: [
        { account_id: 'sg', raw_value: '   ', reason: 'empty' },
        { account_id: 'sg', raw_value: 'has space@example.com', reason: 'contains_whitespace' },
        { account_id: 'sg', raw_value: 'nbsp\u00a0x@example.com', reason: 'contains_whitespace' },
        { account_id: 'sg', raw_value: 'not-an-address', reason: 'missing_at' },
        { account_id: 'sg', raw_value: 'two@at@signs.example', reason: 'multiple_at' },
        { account_id: 'sg', raw_value: '@no-local.example', reason: 'empty_local_part' },
        { account_id: 'sg', raw_value: 'no-domain@', reason: 'empty_domain' },
        { account_id: 'sg', raw_value: '"a@b"', reason: 'missing_at' },
        { account_id: 'sg', raw_value: 'nul\u0000x@example.com', reason: 'control_character' },
        { account_id: 'sg', raw_value: 'del\u007fx@example.com', reason: 'control_character' },
        { account_id: 'sg', raw_value: 'nel\u0085x@example.com', reason: 'control_character' },
        { account_id: 'sg', raw_value: `${'b'.repeat(243)}@example.com`, reason: 'too_long' },
        { account_id: 'sg', raw_value: `${'ü'.repeat(122)}@example.com`, reason: 'too_long' },
      ],
      suppressions: [
        {
          account_id: 'sg',
          email_norm: '"a@b"@quoted.example',
          scope: 'global',
          unsubscribed_at: '2024-01-01T06:00:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: `${'a'.repeat(242)}@example.com`,
          scope: 'global',
          unsubscribed_at: '2024-01-01T06:00:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: 'ünï@例え.jp',
          scope: 'global',
          unsubscribed_at: '2024-01-01T06:00:00Z',
          active: true,
        },
      ],
    },
  },
  {
    name: 'SendCloud: an expired entry is inactive; a future or "never" expiry stays active',
    accounts: [SC],
    extractions: [
      {
        account: 'sc',
        rows: [
          { email: 'gone@example.com', time: '2024-01-01 08:00:00', expires: '2025-05-01 00:00:00' },
          { email: 'kept@example.com', time: '2024-01-01 08:00:00', expires: '2035-01-01 00:00:00' },
          { email: 'never@example.com', time: '2024-01-01 08:00:00', expires: '9999-12-31 23:59:59' },
          // Expired on one label, active on another: active.
          { email: 'both@example.com', time: '2024-01-01 08:00:00', expires: '2025-05-01 00:00:00' },
          { email: 'both@example.com', time: '2024-02-01 08:00:00', expires: '2035-01-01 00:00:00' },
        ],
      },
    ],
    expect: {
      suppressions: [
        {
          account_id: 'sc',
          email_norm: 'both@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-01T00:00:00Z',
          active: true,
        },
        {
          account_id: 'sc',
          email_norm: 'gone@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-01T00:00:00Z',
          active: false,
        },
        {
          account_id: 'sc',
          email_norm: 'kept@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-01T00:00:00Z',
          active: true,
        },
        {
          account_id: 'sc',
          email_norm: 'never@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-01T00:00:00Z',
          active: true,
        },
      ],
    },
  },
  {
    name: 'WhatCounts: list opt-outs are their own scope, with no time; groups compare their configured scope',
    accounts: [WC, SG],
    groups: [
      { id: 'g-global', accounts: ['wc', 'sg'], policy: 'union', scope: 'global' },
      { id: 'g-list', accounts: ['sg', 'wc'], policy: 'union', scope: 'list:12' },
    ],
    extractions: [
      {
        account: 'wc',
        rows: [
          { email: 'a@example.com', scope: 'global' },
          { email: 'a@example.com', scope: 'list:12' },
          { email: 'l@example.com', scope: 'list:12' },
        ],
      },
      { account: 'sg', rows: [{ email: 'a@example.com', time: '2024-01-01 00:00:00' }] },
    ],
    expect: {
      suppressions: [
        {
          account_id: 'sg',
          email_norm: 'a@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-01T06:00:00Z',
          active: true,
        },
        {
          account_id: 'wc',
          email_norm: 'a@example.com',
          scope: 'global',
          unsubscribed_at: null,
          active: true,
        },
        {
          account_id: 'wc',
          email_norm: 'a@example.com',
          scope: 'list:12',
          unsubscribed_at: null,
          active: true,
        },
        {
          account_id: 'wc',
          email_norm: 'l@example.com',
          scope: 'list:12',
          unsubscribed_at: null,
          active: true,
        },
      ],
      discrepancies: [
        {
          group_id: 'g-list',
          email_norm: 'a@example.com',
          present_in: ['wc'],
          missing_from: ['sg'],
          first_unsubscribed_at: null,
          kind: 'missing',
        },
        {
          group_id: 'g-list',
          email_norm: 'l@example.com',
          present_in: ['wc'],
          missing_from: ['sg'],
          first_unsubscribed_at: null,
          kind: 'missing',
        },
      ],
    },
  },
  {
    name: 'local times become UTC in the account zone: DST gap, ambiguous hour (later instant), local dates',
    accounts: [SG, BH],
    extractions: [
      {
        account: 'sg',
        rows: [
          { email: 'ambiguous@example.com', time: '2024-11-03 01:30:00' }, // CDT→CST: 07:30Z, not 06:30Z
          { email: 'gap@example.com', time: '2024-03-10 02:30:00' }, // does not exist: 03:30 CDT
          { email: 'winter@example.com', time: '2024-01-15 23:59:59' },
        ],
      },
      {
        account: 'bh',
        rows: [
          { email: 'spring@example.com', time: '2024-03-10' }, // midnight EST
          { email: 'summer@example.com', time: '2024-07-04' }, // midnight EDT
        ],
      },
    ],
    expect: {
      suppressions: [
        {
          account_id: 'bh',
          email_norm: 'spring@example.com',
          scope: 'global',
          unsubscribed_at: '2024-03-10T05:00:00Z',
          active: true,
        },
        {
          account_id: 'bh',
          email_norm: 'summer@example.com',
          scope: 'global',
          unsubscribed_at: '2024-07-04T04:00:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: 'ambiguous@example.com',
          scope: 'global',
          unsubscribed_at: '2024-11-03T07:30:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: 'gap@example.com',
          scope: 'global',
          unsubscribed_at: '2024-03-10T08:30:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: 'winter@example.com',
          scope: 'global',
          unsubscribed_at: '2024-01-16T05:59:59Z',
          active: true,
        },
      ],
    },
  },
  {
    name: 'union and mirror diffs: missing where absent, extra where the mirror source lacks it; inactive entries do not count',
    accounts: [SG, SC, BH],
    groups: [
      { id: 'u', accounts: ['sg', 'sc', 'bh'], policy: 'union', scope: 'global' },
      { id: 'm', accounts: ['sc', 'sg'], policy: 'mirror', source: 'sg', scope: 'global' },
    ],
    extractions: [
      {
        account: 'sg',
        rows: [
          { email: 'all@example.com', time: '2024-01-01 00:00:00' },
          { email: 'sg-only@example.com', time: '2024-01-02 00:00:00' },
          { email: 'two@example.com', time: '2024-01-03 00:00:00' },
        ],
      },
      {
        account: 'sc',
        rows: [
          { email: 'ALL@example.com', time: '2024-01-01 08:00:00' },
          { email: 'two@example.com', time: '2024-01-01 08:00:00' },
          { email: 'sc-only@example.com', time: '2024-01-05 08:00:00' },
          { email: 'expired@example.com', time: '2024-01-05 08:00:00', expires: '2025-01-01 00:00:00' },
        ],
      },
      { account: 'bh', rows: [{ email: 'all@example.com', time: '2024-01-01' }] },
    ],
    expect: {
      discrepancies: [
        {
          group_id: 'm',
          email_norm: 'sc-only@example.com',
          present_in: ['sc'],
          missing_from: ['sg'],
          first_unsubscribed_at: '2024-01-05T00:00:00Z',
          kind: 'extra',
        },
        {
          group_id: 'm',
          email_norm: 'sg-only@example.com',
          present_in: ['sg'],
          missing_from: ['sc'],
          first_unsubscribed_at: '2024-01-02T06:00:00Z',
          kind: 'missing',
        },
        {
          group_id: 'u',
          email_norm: 'sc-only@example.com',
          present_in: ['sc'],
          missing_from: ['sg', 'bh'],
          first_unsubscribed_at: '2024-01-05T00:00:00Z',
          kind: 'missing',
        },
        {
          group_id: 'u',
          email_norm: 'sg-only@example.com',
          present_in: ['sg'],
          missing_from: ['sc', 'bh'],
          first_unsubscribed_at: '2024-01-02T06:00:00Z',
          kind: 'missing',
        },
        {
          group_id: 'u',
          email_norm: 'two@example.com',
          present_in: ['sg', 'sc'],
          missing_from: ['bh'],
          first_unsubscribed_at: '2024-01-01T00:00:00Z',
          kind: 'missing',
        },
      ],
    },
  },
  {
    name: 'a full extraction is the snapshot: older runs no longer count, later incremental runs do',
    accounts: [SG],
    extractions: [
      { account: 'sg', rows: [{ email: 'removed@example.com', time: '2024-01-01 00:00:00' }] },
      { account: 'sg', rows: [{ email: 'kept@example.com', time: '2024-02-01 00:00:00' }] },
      {
        account: 'sg',
        mode: 'incremental',
        rows: [{ email: 'new@example.com', time: '2024-03-01 00:00:00' }],
      },
      // An incomplete run's rows are not used.
      {
        account: 'sg',
        mode: 'incremental',
        status: 'incomplete',
        rows: [{ email: 'partial@example.com', time: '2024-03-02 00:00:00' }],
      },
    ],
    allowIncomplete: true,
    expect: {
      suppressions: [
        {
          account_id: 'sg',
          email_norm: 'kept@example.com',
          scope: 'global',
          unsubscribed_at: '2024-02-01T06:00:00Z',
          active: true,
        },
        {
          account_id: 'sg',
          email_norm: 'new@example.com',
          scope: 'global',
          unsubscribed_at: '2024-03-01T06:00:00Z',
          active: true,
        },
      ],
    },
  },
  {
    name: 'completeness gate: a group with a member whose latest extraction is incomplete is not diffed',
    accounts: [SG, SC, BH],
    groups: [
      { id: 'blocked', accounts: ['sg', 'bh'], policy: 'union', scope: 'global' },
      { id: 'ok', accounts: ['sg', 'sc'], policy: 'union', scope: 'global' },
    ],
    extractions: [
      { account: 'sg', rows: [{ email: 'x@example.com', time: '2024-01-01 00:00:00' }] },
      { account: 'sc', rows: [] },
      { account: 'bh', rows: [] },
      { account: 'bh', mode: 'incremental', status: 'failed', rows: [] },
    ],
    expect: {
      groups: [
        { group_id: 'blocked', diffed: false, blocked_by: ['bh'] },
        { group_id: 'ok', diffed: true, blocked_by: [] },
      ],
      discrepancies: [
        {
          group_id: 'ok',
          email_norm: 'x@example.com',
          present_in: ['sg'],
          missing_from: ['sc'],
          first_unsubscribed_at: '2024-01-01T06:00:00Z',
          kind: 'missing',
        },
      ],
    },
  },
];

describe('transforms, rows in → rows out', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const warehouse = await freshWarehouse();
      await stage(warehouse, c.accounts, c.extractions);
      const outcome = await transform(warehouse, c);
      await check(warehouse, c, outcome);
    });
  }

  it('the gate names the account, its run and failed window', async () => {
    const warehouse = await freshWarehouse();
    await stage(
      warehouse,
      [SG, BH],
      [
        { account: 'sg', rows: [] },
        { account: 'bh', status: 'incomplete', rows: [] },
      ],
    );
    const outcome = await transform(warehouse, {
      accounts: [SG, BH],
      groups: [{ id: 'g', accounts: ['sg', 'bh'], policy: 'union', scope: 'global' }],
    });
    expect(outcome.incomplete).toEqual([
      {
        account_id: 'bh',
        run_id: '20250101T000001Z-test01',
        status: 'incomplete',
        range_from: '2020-01-01T00:00:00.000Z',
        range_to: '2025-01-01T00:00:01.000Z',
        failed_windows: ['2024-01-01T00:00:00Z/2024-02-01T00:00:00Z'],
        error: 'simulated failure',
        detail:
          'bh: latest extraction (run 20250101T000001Z-test01) is incomplete, ' +
          'failed window(s) 2024-01-01T00:00:00Z/2024-02-01T00:00:00Z: simulated failure',
      },
    ]);
  });

  it('discrepancy_summary: counts and percentages per account pair and kind, zero pairs included', async () => {
    const c = CASES.find((x) => x.name.startsWith('union and mirror diffs'))!;
    const warehouse = await freshWarehouse();
    await stage(warehouse, c.accounts, c.extractions);
    await transform(warehouse, c);
    const rows = await warehouse.allJson(
      `SELECT run_id, group_id, policy, kind, present_account, missing_account,
              addresses::INTEGER AS addresses, present_total::INTEGER AS present_total, round(pct_of_present, 2) AS pct
         FROM discrepancy_summary ORDER BY group_id, kind, present_account, missing_account`,
    );
    // Active global suppressions: sg 3 (all, sg-only, two), sc 3 (all, two, sc-only; expired does
    // not count), bh 1 (all).
    const row = (
      group: string,
      policy: string,
      kind: string,
      present: string,
      missing: string,
      n: number,
      total: number,
    ) => ({
      run_id: 'tx-run',
      group_id: group,
      policy,
      kind,
      present_account: present,
      missing_account: missing,
      addresses: n,
      present_total: total,
      pct: total === 0 ? 0 : Math.round((n * 100 * 100) / total) / 100,
    });
    expect(rows).toEqual([
      // mirror, source sg: `missing` never names the source as missing, `extra` never as present
      row('m', 'mirror', 'extra', 'sc', 'sg', 1, 3),
      row('m', 'mirror', 'missing', 'sg', 'sc', 1, 3),
      row('u', 'union', 'missing', 'bh', 'sc', 0, 1),
      row('u', 'union', 'missing', 'bh', 'sg', 0, 1),
      row('u', 'union', 'missing', 'sc', 'bh', 2, 3),
      row('u', 'union', 'missing', 'sc', 'sg', 1, 3),
      row('u', 'union', 'missing', 'sg', 'bh', 2, 3),
      row('u', 'union', 'missing', 'sg', 'sc', 1, 3),
    ]);
    const types = await warehouse.allJson<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'discrepancy_summary' ORDER BY column_index`,
    );
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual([
      'run_id VARCHAR',
      'group_id VARCHAR',
      'policy VARCHAR',
      'kind VARCHAR',
      'present_account VARCHAR',
      'missing_account VARCHAR',
      'addresses BIGINT',
      'present_total BIGINT',
      'pct_of_present DOUBLE',
    ]);
  });

  it('group_status: one row per configured group, blocked or diffed despite an incomplete member', async () => {
    const warehouse = await freshWarehouse();
    const accounts = [SG, SC, BH];
    await stage(warehouse, accounts, [
      { account: 'sg', rows: [{ email: 'x@example.com', time: '2024-01-01 00:00:00' }] },
      { account: 'sc', rows: [] },
      { account: 'bh', rows: [] },
      { account: 'bh', mode: 'incremental', status: 'failed', rows: [] },
    ]);
    const groups: TransformGroup[] = [
      { id: 'blocked', accounts: ['sg', 'bh'], policy: 'union', scope: 'global' },
      { id: 'ok', accounts: ['sc', 'sg'], policy: 'mirror', source: 'sg', scope: 'global' },
    ];
    const bhDetail =
      'bh: latest extraction (run 20250101T000003Z-test03) is failed, ' +
      'failed window(s) 2024-01-01T00:00:00Z/2024-02-01T00:00:00Z: simulated failure';
    const status = () =>
      warehouse.allJson('SELECT * FROM group_status ORDER BY group_id') as Promise<Record<string, unknown>[]>;

    await transform(warehouse, { accounts, groups }, 'gated');
    expect(await status()).toEqual([
      {
        run_id: 'gated',
        group_id: 'blocked',
        policy: 'union',
        members: ['sg', 'bh'],
        diffed: false,
        allowed_incomplete: false,
        incomplete_accounts: ['bh'],
        detail: bhDetail,
      },
      {
        run_id: 'gated',
        group_id: 'ok',
        policy: 'mirror',
        members: ['sc', 'sg'],
        diffed: true,
        allowed_incomplete: false,
        incomplete_accounts: [],
        detail: null,
      },
    ]);
    const summarised = await warehouse.allJson<{ group_id: string }>(
      'SELECT DISTINCT group_id FROM discrepancy_summary',
    );
    expect(summarised).toEqual([{ group_id: 'ok' }]);

    await transform(warehouse, { accounts, groups, allowIncomplete: true }, 'allowed');
    const allowed = await status();
    expect(allowed[0]).toMatchObject({
      run_id: 'allowed',
      group_id: 'blocked',
      diffed: true,
      allowed_incomplete: true,
      incomplete_accounts: ['bh'],
      detail: bhDetail,
    });
    expect(allowed[1]).toMatchObject({ group_id: 'ok', diffed: true, allowed_incomplete: false });
    expect(
      await warehouse.allJson(
        `SELECT present_account, missing_account, addresses::INTEGER AS addresses
           FROM discrepancy_summary WHERE group_id = 'blocked' ORDER BY 1, 2`,
      ),
    ).toEqual([
      { present_account: 'bh', missing_account: 'sg', addresses: 0 },
      { present_account: 'sg', missing_account: 'bh', addresses: 1 },
    ]);
  });

  it('a failing transform rolls back: the previous results stay in place', async () => {
    const warehouse = await freshWarehouse();
    const c = { accounts: [SG], groups: [] };
    await stage(
      warehouse,
      [SG],
      [{ account: 'sg', rows: [{ email: 'a@example.com', time: '2024-01-01 00:00:00' }] }],
    );
    await transform(warehouse, c, 'first');
    await stage(
      warehouse,
      [SG],
      [
        {
          account: 'sg',
          mode: 'incremental',
          rows: [{ email: 'b@example.com', time: '2024-01-02 00:00:00' }],
        },
      ],
      1,
    );
    // An unknown zone makes the time conversion (once per kept address, in 041) fail half way
    // through the files, after 010–040 replaced their tables inside the transaction.
    await expect(
      transform(warehouse, { accounts: [{ ...SG, timezone: 'Not/AZone' }], groups: [] }, 'second'),
    ).rejects.toThrow(/transforms\/041_suppressions_by_account\.sql/);
    const rows = await warehouse.allJson<{ email_norm: string }>('SELECT email_norm FROM suppressions');
    expect(rows.map((r) => r.email_norm)).toEqual(['a@example.com']);
    // Nothing half-built is left behind, and no event of the failed attempt shows.
    const leftovers = await warehouse.allJson(
      "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%\\_next' ESCAPE '\\'",
    );
    expect(leftovers).toEqual([]);
    const events = await warehouse.allJson<{ email_norm: string; n: string }>(
      'SELECT email_norm, count(*)::VARCHAR AS n FROM suppression_events_state GROUP BY ALL',
    );
    expect(events).toEqual([{ email_norm: 'a@example.com', n: '1' }]);
    // And a good run afterwards sees both.
    await transform(warehouse, c, 'third');
    const after = await warehouse.allJson<{ email_norm: string }>(
      'SELECT email_norm FROM suppressions ORDER BY 1',
    );
    expect(after.map((r) => r.email_norm)).toEqual(['a@example.com', 'b@example.com']);
  });
});

describe('the transform leaves no temporary work in the connection', () => {
  const c = CASES.find((x) => x.name.startsWith('union and mirror diffs'))!;

  it('after a transform that published', async () => {
    const warehouse = await freshWarehouse();
    await stage(warehouse, c.accounts, c.extractions);
    const before = await temporaryObjects(warehouse);
    await transform(warehouse, c);
    expect(await temporaryObjects(warehouse)).toEqual(before);
    // The same transform told to keep its work shows what would otherwise be left (and that the
    // query above sees temporary objects at all).
    await transform(warehouse, c, 'kept', true);
    expect(await temporaryObjects(warehouse)).toEqual(
      expect.arrayContaining(['table cfg_accounts', 'table t_addresses', 'view t_source_rows']),
    );
  });

  it('after a transform that failed half way', async () => {
    const warehouse = await freshWarehouse();
    await stage(warehouse, c.accounts, c.extractions);
    const before = await temporaryObjects(warehouse);
    await expect(
      transform(warehouse, { ...c, accounts: c.accounts.map((a) => ({ ...a, timezone: 'Not/AZone' })) }),
    ).rejects.toThrow(/transforms\/041_suppressions_by_account\.sql/);
    expect(await temporaryObjects(warehouse)).toEqual(before);
  });
});

describe('audits: each finds the violation it exists for', () => {
  const c = CASES.find((x) => x.name.startsWith('union and mirror diffs'))!;
  const auditNamed = (name: string) => {
    const audit = loadTransforms().audits.find((a) => a.name === `${name}.sql`);
    if (audit === undefined) throw new Error(`no audit ${name}`);
    return audit;
  };

  /**
   * Audits check what a transform built before it publishes it (the `_next` tables, the temp
   * tables, the unpublished event rows). After a real transform, the published tables are copied
   * back under their `_next` names (the temp tables are still there): every audit passes; then
   * `corrupt` breaks one thing and `audit` must see it.
   */
  async function violationsAfter(audit: string, corrupt: (w: Warehouse) => Promise<unknown>) {
    const warehouse = await freshWarehouse();
    await stage(warehouse, c.accounts, c.extractions);
    await transform(warehouse, c, 'tx-run', true);
    for (const table of ['rejects', 'suppressions_state', 'suppression_source_runs', 'discrepancies']) {
      await warehouse.run(`CREATE TABLE ${table}_next AS SELECT * FROM ${table}`);
    }
    for (const a of loadTransforms().audits) expect(await auditViolations(warehouse, a), a.name).toEqual([]);
    await corrupt(warehouse);
    return auditViolations(warehouse, auditNamed(audit));
  }

  it('suppressions_unique_grain: a row written twice', async () => {
    const bad = await violationsAfter('suppressions_unique_grain', (w) =>
      w.run('INSERT INTO suppressions_state_next SELECT * FROM suppressions_state_next LIMIT 1'),
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ n: '2' });
  });

  it('suppressions_have_sources: a suppression counting a raw row that is not there', async () => {
    const bad = await violationsAfter('suppressions_have_sources', (w) =>
      w.run(
        "UPDATE suppressions_state_next SET source_rows = source_rows + 1 WHERE email_norm = 'two@example.com' AND account_no = 1",
      ),
    );
    expect(bad).toEqual([expect.objectContaining({ account_id: 'sg' })]);
  });

  it('discrepancies_have_evidence: a member listed as lacking an address it holds', async () => {
    const bad = await violationsAfter('discrepancies_have_evidence', (w) =>
      w.run(
        "UPDATE discrepancies_next SET present_in = ['bh'], missing_from = ['sg', 'sc'] WHERE group_id = 'u' AND email_norm = 'two@example.com'",
      ),
    );
    expect(bad).toEqual([expect.objectContaining({ group_id: 'u', email_norm: 'two@example.com' })]);
  });

  it('suppression_events_have_evidence: an event lost', async () => {
    const bad = await violationsAfter('suppression_events_have_evidence', (w) =>
      w.run("DELETE FROM suppression_events_state WHERE email_norm = 'sg-only@example.com'"),
    );
    expect(bad).toEqual([expect.objectContaining({ account_id: 'sg', problem: 'unbalanced' })]);
  });

  it('rejects_known_reason: a reason outside the vocabulary', async () => {
    const bad = await violationsAfter('rejects_known_reason', (w) =>
      w.run("INSERT INTO rejects_next VALUES ('r', 'sg', 'x', 'looks odd')"),
    );
    expect(bad).toEqual([expect.objectContaining({ reason: 'looks odd' })]);
  });

  it('extract_windows_no_overlap: two completed windows of one run overlap, and the transform refuses', async () => {
    const warehouse = await freshWarehouse();
    await stage(warehouse, c.accounts, c.extractions);
    await transform(warehouse, c, 'before', true);
    const runId = (
      await warehouse.allJson<{ run_id: string }>("SELECT run_id FROM extractions WHERE account_id = 'sg'")
    )[0]!.run_id;
    for (const [no, from, to] of [
      [0, '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'],
      [1, '2024-01-15T00:00:00Z', '2024-03-01T00:00:00Z'],
    ] as const) {
      await warehouse.run(
        `INSERT INTO stage_extract_windows VALUES ($1, 'sg', $2, 'global', $3, $4, '{}', 1, 1, NULL, NULL, 'complete', NULL)`,
        [runId, no, new Date(from), new Date(to)],
      );
    }
    expect(await auditViolations(warehouse, auditNamed('extract_windows_no_overlap'))).toEqual([
      expect.objectContaining({ account_id: 'sg', window_no: 1 }),
    ]);
    // Audits run inside the transform's transaction: a violation fails it and changes nothing.
    await expect(transform(warehouse, c, 'after')).rejects.toMatchObject({ code: 'AUDIT_FAILED' });
    const runs = await warehouse.allJson<{ run_id: string }>('SELECT DISTINCT run_id FROM discrepancies');
    expect(runs).toEqual([{ run_id: 'before' }]);
  });
});
