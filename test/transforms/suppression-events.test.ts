// Rows in, rows out for transforms/055_suppression_events.sql: full snapshots are staged as the
// extract layer would stage them, the real transforms run, and the events are compared.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { PROVIDERS } from '../../extractors/registry.js';
import { runTransforms } from '../../transforms/run.js';

interface Snapshot {
  account: string;
  mode?: 'full' | 'incremental';
  status?: 'complete' | 'incomplete';
  emails: Array<string | { email: string; scope: string }>;
}

const ACCOUNTS = [
  { id: 'sg', provider: 'sendgrid-subuser' as const, timezone: 'America/Chicago' },
  { id: 'wc', provider: 'whatcounts' as const, timezone: 'America/Los_Angeles' },
];

const open: Warehouse[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

const runIdOf = (n: number) => `20250101T0000${String(n).padStart(2, '0')}Z-ev${n}`;
const finishedAt = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, n, 500));

/** Each snapshot becomes its own committed extract run, in order. */
async function stageAndTransform(snapshots: Snapshot[]): Promise<Warehouse> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'unsub-events-')), 'w.duckdb');
  const w = await Warehouse.open(file, { mode: 'write', command: 'test' });
  open.push(w);
  for (const [n, snap] of snapshots.entries()) {
    const runId = runIdOf(n);
    const startedAt = new Date(Date.UTC(2025, 0, 1, 0, 0, n));
    const status = snap.status ?? 'complete';
    const provider = ACCOUNTS.find((a) => a.id === snap.account)!.provider;
    await w.run(
      `INSERT INTO runs (run_id, command, started_at, finished_at, status, pid) VALUES ($1, 'extract', $2, $3, $4, 1)`,
      [runId, startedAt, finishedAt(n), status === 'complete' ? 'succeeded' : 'partial'],
    );
    await w.run(
      `INSERT INTO stage_extractions VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, 1, 0, $9, 0, true, NULL, $6, $10)`,
      [
        runId,
        snap.account,
        provider,
        snap.mode ?? 'full',
        new Date('2020-01-01T00:00:00Z'),
        startedAt,
        status,
        status === 'complete' ? 0 : 1,
        BigInt(snap.emails.length),
        finishedAt(n),
      ],
    );
    for (const [rowNo, e] of snap.emails.entries()) {
      const { email, scope } = typeof e === 'string' ? { email: e, scope: 'global' } : e;
      await w.run(
        `INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, page, row_no, fetched_at, raw,
                                     raw_time, raw_email, scope)
         VALUES ($1, $2, $3, 1, 1, $4, $5, '{}', NULL, $6, $7)`,
        [runId, snap.account, provider, rowNo, startedAt, email, scope],
      );
    }
  }
  await runTransforms(w, {
    runId: 'tx',
    now: new Date('2025-06-01T00:00:00Z'),
    allowIncomplete: true,
    accounts: ACCOUNTS.map((a) => ({ ...a, timeFormat: PROVIDERS[a.provider].capabilities.timeFormat })),
    groups: [],
  });
  return w;
}

async function events(w: Warehouse) {
  const rows = await w.allJson<Record<string, string>>(
    `SELECT account_id, email_norm, scope, event, observed_at, run_id FROM suppression_events
      ORDER BY account_id, observed_at, event, scope, email_norm`,
  );
  return rows.map((r) => ({ ...r, observed_at: new Date(r.observed_at!).toISOString() }));
}

const ev = (account_id: string, email_norm: string, event: string, n: number, scope = 'global') => ({
  account_id,
  email_norm,
  scope,
  event,
  observed_at: finishedAt(n).toISOString(),
  run_id: runIdOf(n),
});

describe('suppression_events', () => {
  it('two full snapshots: the first is all additions, then one address disappears and one appears', async () => {
    const w = await stageAndTransform([
      { account: 'sg', emails: ['a@x.com', ' B@X.com', 'gone@x.com', 'not-an-address'] },
      // same addresses spelled differently are not changes; the reject never becomes an event
      { account: 'sg', emails: ['A@x.com', 'b@x.com', 'new@x.com', 'not-an-address'] },
    ]);
    expect(await events(w)).toEqual([
      ev('sg', 'a@x.com', 'added', 0),
      ev('sg', 'b@x.com', 'added', 0),
      ev('sg', 'gone@x.com', 'added', 0),
      ev('sg', 'new@x.com', 'added', 1),
      ev('sg', 'gone@x.com', 'removed', 1),
    ]);
  });

  it('compares only consecutive complete full snapshots of the same account, per scope', async () => {
    const w = await stageAndTransform([
      { account: 'sg', emails: ['a@x.com', { email: 'l@x.com', scope: 'list:1' }] },
      // another account's snapshot in between does not interfere
      { account: 'wc', emails: ['w@x.com'] },
      // an incremental read and an incomplete full read cannot show a removal: ignored
      { account: 'sg', mode: 'incremental', emails: ['inc@x.com'] },
      { account: 'sg', status: 'incomplete', emails: [] },
      // list:1 → list:2 is a removal in one scope and an addition in the other
      { account: 'sg', emails: ['a@x.com', { email: 'l@x.com', scope: 'list:2' }] },
      // a removed address that comes back is added again
      { account: 'sg', emails: [{ email: 'l@x.com', scope: 'list:1' }] },
    ]);
    expect(await events(w)).toEqual([
      ev('sg', 'a@x.com', 'added', 0),
      ev('sg', 'l@x.com', 'added', 0, 'list:1'),
      ev('sg', 'l@x.com', 'added', 4, 'list:2'),
      ev('sg', 'l@x.com', 'removed', 4, 'list:1'),
      ev('sg', 'l@x.com', 'added', 5, 'list:1'),
      ev('sg', 'a@x.com', 'removed', 5),
      ev('sg', 'l@x.com', 'removed', 5, 'list:2'),
      ev('wc', 'w@x.com', 'added', 1),
    ]);
  });

  it('is rebuilt on every transform, not appended to', async () => {
    const w = await stageAndTransform([{ account: 'sg', emails: ['a@x.com'] }]);
    await runTransforms(w, {
      runId: 'tx2',
      now: new Date('2025-06-01T00:00:00Z'),
      allowIncomplete: true,
      accounts: ACCOUNTS.map((a) => ({ ...a, timeFormat: PROVIDERS[a.provider].capabilities.timeFormat })),
      groups: [],
    });
    expect(await events(w)).toEqual([ev('sg', 'a@x.com', 'added', 0)]);
  });
});
