// The replay engine in-process against the real simulators (the sandbox) and a real DuckDB file:
// the dry run sends nothing, --apply journals every item before and after, a second run sends
// nothing twice, in-doubt items are re-read instead of resent, --max-ops and --allow-deletes,
// a target that fails stops alone. Verify (extract + transform) is covered end to end.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../../extractors/core/config.js';
import { normaliseEmail, rejectReason } from '../../../extractors/core/email.js';
import { HttpEngine } from '../../../extractors/core/http.js';
import { createRedactor } from '../../../extractors/core/redact.js';
import { Warehouse } from '../../../extractors/core/warehouse.js';
import { PROVIDERS } from '../../../extractors/registry.js';
import { Output } from '../../../pipelines/output.js';
import {
  type LoadedPatch,
  loadPatch,
  type PatchFileContent,
  type PatchRow,
  writePatchFolder,
} from '../../../pipelines/patch/format.js';
import { replayInRun } from '../../../pipelines/replay.js';
import { type Sandbox, startSandbox } from '../../../pipelines/sandbox.js';

let sandbox: Sandbox;
let config: Config;
let warehouse: Warehouse;
let planNo = 0;
const out = new Output({ json: true, quiet: true });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 100,
    seed: 5,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-replay-unit-')),
  });
  config = loadConfig(sandbox.configFile, { env: sandbox.env });
  warehouse = await Warehouse.open(config.warehouse, { mode: 'write', command: 'test' });
});
afterAll(async () => {
  await warehouse?.close();
  await sandbox?.close();
});

const sim = (id: string) => sandbox.simulators.get(id)!;
const writesTo = (id: string) => sim(id).journal.writes();
const providerOf = (id: string) => config.accounts.find((a) => a.id === id)!.provider;

/** An address the scenario account already holds (valid, global). */
function heldBy(id: string, skip = 0): string {
  const account = sandbox.scenario.accounts.find((a) => a.id === id)!;
  for (let i = 0, found = 0; i < account.size; i++) {
    const row = account.entryAt(i);
    if (
      row.listId === undefined &&
      (row.expiresAt ?? Number.POSITIVE_INFINITY) > sandbox.scenario.now &&
      rejectReason(normaliseEmail(row.email)) === null
    ) {
      if (found++ === skip) return normaliseEmail(row.email);
    }
  }
  throw new Error(`no held address in ${id}`);
}

function row(target: string, op: 'add' | 'delete', email: string): PatchRow {
  return {
    email,
    op,
    target_account: target,
    reason: 'test',
    source_accounts: 'test',
    source_unsubscribed_at: '',
  };
}

/** A patch folder as `plan` writes it, for the given rows (grouped by target and op). */
async function patchOf(rows: PatchRow[]): Promise<LoadedPatch> {
  const runId = `20250101T0000${String(++planNo).padStart(2, '0')}Z-abcdef`;
  const files = new Map<string, PatchFileContent>();
  for (const r of rows) {
    const key = `${r.target_account}.${r.op}`;
    const content = files.get(key) ?? {
      target: r.target_account,
      provider: providerOf(r.target_account),
      op: r.op,
      rows: [],
    };
    (content.rows as PatchRow[]).push(r);
    files.set(key, content);
  }
  const folder = path.join(sandbox.dir, 'patches', runId, 'g');
  await writePatchFolder(
    folder,
    {
      run_id: runId,
      created_at: new Date().toISOString(),
      group: 'g',
      policy: 'mirror',
      source: 'sg-reseller',
      scope: 'global',
      members: ['sg-reseller', ...new Set(rows.map((r) => r.target_account))],
      diff_run_id: null,
      delete_rule: 'foreign',
      forced: false,
      source_shrink: null,
      checks: [],
    },
    [...files.values()],
  );
  return loadPatch(folder, config);
}

async function replay(
  patch: LoadedPatch,
  flags: { apply?: boolean; allowDeletes?: boolean; maxOps?: number },
  cfg = config,
) {
  const runId = await warehouse.beginRun({ command: 'replay' });
  const result = await replayInRun({ warehouse, runId, config: cfg, patch, out, verify: false, ...flags });
  await warehouse.finishRun(runId, result.ok ? 'succeeded' : 'partial');
  return result;
}

const journalOf = (patch: LoadedPatch) =>
  warehouse.allJson<{
    target_account: string;
    email: string;
    op: string;
    outcome: string;
    journal_seq: number;
    run_id: string;
  }>(
    `SELECT target_account, email, op, outcome, journal_seq, run_id FROM stage_replay_log
      WHERE manifest_sha256 = $1 ORDER BY run_id, journal_seq`,
    [patch.manifestSha256],
  );

const outcomes = (result: Awaited<ReturnType<typeof replay>>) =>
  result.targets.flatMap((t) =>
    t.items.map((i) => [t.target, i.item.file.entry.op, i.item.row.email, i.outcome, i.skip ?? null]),
  );

describe('replay engine', () => {
  const fresh = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => `replay-${tag}-${i}@new.example`);

  it('dry run: every row would be sent, and the simulators receive no request at all', async () => {
    const before = [...sandbox.simulators.values()].map((s) => s.journal.size);
    const patch = await patchOf([
      ...fresh('dry', 2).map((e) => row('sg-sub', 'add', e)),
      ...fresh('dry-wc', 3).map((e) => row('wc-main', 'add', e)),
      row('sc-main', 'delete', heldBy('sc-main')),
    ]);
    const result = await replay(patch, { allowDeletes: true });
    expect(result.mode).toBe('dry-run');
    expect(result.ok).toBe(true);
    expect(result.targets.map((t) => [t.target, t.sent, t.succeeded, t.requests, t.write_calls])).toEqual([
      ['sg-sub', 2, 0, 0, 0],
      ['wc-main', 3, 0, 0, 0],
      ['sc-main', 1, 0, 0, 0],
    ]);
    expect(new Set(outcomes(result).map((o) => o[3]))).toEqual(new Set(['would-send']));
    expect([...sandbox.simulators.values()].map((s) => s.journal.size)).toEqual(before);
    expect(await journalOf(patch)).toEqual([]);
  });

  it('--apply: journals each item before and after, "already" counts as success, bulk where the provider takes many', async () => {
    const adds = fresh('apply', 2);
    const wc = fresh('apply-wc', 3);
    const held = heldBy('sg-sub');
    const deleted = heldBy('sc-main', 1);
    const patch = await patchOf([
      ...adds.map((e) => row('sg-sub', 'add', e)),
      row('sg-sub', 'add', held),
      ...wc.map((e) => row('wc-main', 'add', e)),
      row('sc-main', 'delete', deleted),
      row('sc-main', 'delete', 'never-held@nowhere.example'),
    ]);
    const writes = {
      sg: writesTo('sg-sub').length,
      wc: writesTo('wc-main').length,
      sc: writesTo('sc-main').length,
    };
    const result = await replay(patch, { apply: true, allowDeletes: true });
    expect(result.ok).toBe(true);
    expect(outcomes(result)).toEqual([
      ['sg-sub', 'add', adds[0], 'applied', null],
      ['sg-sub', 'add', adds[1], 'applied', null],
      ['sg-sub', 'add', held, 'already', null],
      ...wc.map((e) => ['wc-main', 'add', e, 'applied', null]),
      ['sc-main', 'delete', deleted, 'applied', null],
      ['sc-main', 'delete', 'never-held@nowhere.example', 'already', null],
    ]);
    expect(
      result.targets.map((t) => [t.target, t.sent, t.succeeded, t.already, t.failed, t.write_calls]),
    ).toEqual([
      ['sg-sub', 3, 2, 1, 0, 3],
      ['wc-main', 3, 3, 0, 0, 1],
      ['sc-main', 2, 1, 1, 0, 2],
    ]);
    // One write request per address for SendGrid and SendCloud; one `data` batch for WhatCounts.
    expect(writesTo('sg-sub').length - writes.sg).toBe(3);
    expect(
      writesTo('wc-main')
        .slice(writes.wc)
        .map((w) => w.params.data),
    ).toEqual([['email', ...wc].join('^')]);
    expect(
      writesTo('sc-main')
        .slice(writes.sc)
        .map((w) => [w.path, w.params.email]),
    ).toEqual([
      ['/apiv2/unsubscribe/delete', deleted],
      ['/apiv2/unsubscribe/delete', 'never-held@nowhere.example'],
    ]);
    // Before and after, per batch: 'sending' rows commit before the request goes out.
    const rows = await journalOf(patch);
    for (const target of ['sg-sub', 'wc-main', 'sc-main']) {
      const mine = rows.filter((r) => r.target_account === target);
      for (const email of new Set(mine.map((r) => r.email))) {
        expect(mine.filter((r) => r.email === email).map((r) => r.outcome)[0]).toBe('sending');
        expect(mine.filter((r) => r.email === email)).toHaveLength(2);
      }
    }
    const view = await warehouse.allJson<{ outcome: string; n: string }>(
      `SELECT outcome, count(*)::VARCHAR AS n FROM replay_log WHERE run_id = $1 GROUP BY outcome ORDER BY outcome`,
      [result.run_id],
    );
    expect(view).toEqual([
      { outcome: 'already', n: '2' },
      { outcome: 'applied', n: '6' },
    ]);

    // The same patch again: everything is done, nothing is sent.
    const total = [...sandbox.simulators.values()].map((s) => s.journal.writes().length);
    const again = await replay(patch, { apply: true, allowDeletes: true });
    expect(again.ok).toBe(true);
    expect(new Set(outcomes(again).map((o) => o[4]))).toEqual(new Set(['done-earlier']));
    expect([...sandbox.simulators.values()].map((s) => s.journal.writes().length)).toEqual(total);
  });

  it('re-reads items an interrupted run left in doubt: one already in state is not sent again', async () => {
    const [landed, lost, failedBefore] = fresh('doubt', 3);
    const patch = await patchOf([
      row('sg-sub', 'add', landed!),
      row('sg-sub', 'add', lost!),
      row('sg-sub', 'add', failedBefore!),
    ]);
    // A killed run: all three journaled 'sending'; the first reached the provider, the second did
    // not; the third's request failed for good ('error').
    const account = config.accounts.find((a) => a.id === 'sg-sub')!;
    const http = new HttpEngine({ redact: createRedactor(config.secrets) });
    await PROVIDERS[account.provider].createClient(account, http).add([landed!]);
    await http.close();
    const file = patch.files[0]!;
    for (const [rowNo, email, outcome] of [
      [1, landed, 'sending'],
      [2, lost, 'sending'],
      [3, failedBefore, 'sending'],
      [3, failedBefore, 'error'],
    ] as const) {
      await warehouse.run(
        `INSERT INTO stage_replay_log VALUES ('killed-run', $1, $2, $3, $4, 'g', 'sg-sub', 'sendgrid-subuser', $5,
           $6, $6, 'add', 1, $7, '', now())`,
        [
          rowNo * 10 + (outcome === 'error' ? 1 : 0),
          file.patchId,
          patch.manifestSha256,
          file.entry.sha256,
          rowNo,
          email!,
          outcome,
        ],
      );
    }
    const before = writesTo('sg-sub').length;
    const result = await replay(patch, { apply: true });
    expect(result.ok).toBe(true);
    expect(outcomes(result)).toEqual([
      ['sg-sub', 'add', landed, 'confirmed', null],
      ['sg-sub', 'add', lost, 'applied', null],
      ['sg-sub', 'add', failedBefore, 'applied', null],
    ]);
    expect(result.targets[0]!.rechecked).toBe(3);
    expect(
      writesTo('sg-sub')
        .slice(before)
        .map((w) => w.params.email),
    ).toEqual([lost, failedBefore]);
  });

  it('--max-ops sends the first N rows; the next run sends the rest; deletes wait for --allow-deletes', async () => {
    const emails = fresh('max', 5);
    const patch = await patchOf([
      ...emails.map((e) => row('sg-sub', 'add', e)),
      row('sc-main', 'delete', heldBy('sc-main', 2)),
    ]);
    const first = await replay(patch, { apply: true, maxOps: 2 });
    expect(outcomes(first).map((o) => (o[3] === 'skipped' ? o[4] : o[3]))).toEqual([
      'applied',
      'applied',
      'over-max-ops',
      'over-max-ops',
      'over-max-ops',
      'deletes-not-allowed',
    ]);
    expect(first.targets.map((t) => [t.target, t.sent, t.skipped])).toEqual([
      ['sg-sub', 2, 3],
      ['sc-main', 0, 1],
    ]);
    const second = await replay(patch, { apply: true });
    expect(outcomes(second).map((o) => (o[3] === 'skipped' ? o[4] : o[3]))).toEqual([
      'done-earlier',
      'done-earlier',
      'applied',
      'applied',
      'applied',
      'deletes-not-allowed',
    ]);
  });

  it('a provider refusal is a failed row with its message; bad credentials stop that target only', async () => {
    const [good, other] = fresh('fail', 2);
    const patch = await patchOf([
      row('sg-sub', 'add', 'not an address@x'),
      row('sg-sub', 'add', good!),
      row('sc-main', 'add', other!),
    ]);
    const badCreds: Config = {
      ...config,
      accounts: config.accounts.map((a) =>
        a.id === 'sc-main' ? { ...a, credentials: { ...a.credentials, apiKey: 'wrong-key' } } : a,
      ),
    };
    const result = await replay(patch, { apply: true }, badCreds);
    expect(result.ok).toBe(false);
    expect(outcomes(result)).toEqual([
      ['sg-sub', 'add', 'not an address@x', 'failed', null],
      ['sg-sub', 'add', good, 'applied', null],
      ['sc-main', 'add', other, 'error', null],
    ]);
    const [sg, sc] = result.targets;
    expect(sg!.items[0]!.message).toMatch(/not a valid email address/);
    expect(sc!.stopped).toMatch(/sendcloud.*sc-main/i);
    expect(result.problems).toEqual([
      'sg-sub: 1 row(s) failed',
      'sc-main: 1 row(s) failed',
      expect.stringMatching(/^sc-main: stopped: /),
    ]);
    for (const secret of [...config.secrets, 'wrong-key'])
      expect(JSON.stringify(result.problems)).not.toContain(secret);
  });
});

describe('migration 004 (replay_log) on a warehouse at version 3', () => {
  let file: string;
  beforeEach(() => {
    file = path.join(mkdtempSync(path.join(tmpdir(), 'unsub-m004-')), 'w.duckdb');
  });

  it('adds the journal and the replay_log view, keeps the data, and never purges journal rows', async () => {
    const old = await Warehouse.open(file, { mode: 'write', command: 'test', migrateTo: 3 });
    const runId = await old.beginRun({ command: 'extract' });
    await old.finishRun(runId, 'succeeded');
    expect(await old.schemaVersion()).toBe(3);
    await old.close();

    const upgraded = await Warehouse.open(file, { mode: 'write', command: 'test' });
    try {
      expect(upgraded.appliedMigrations[0]).toBe(4);
      expect(await upgraded.all('SELECT run_id, status FROM runs')).toEqual([
        { run_id: runId, status: 'succeeded' },
      ]);
      const replayRun = await upgraded.beginRun({ command: 'replay' });
      for (const [seq, outcome] of [
        [1, 'sending'],
        [2, 'applied'],
      ] as const) {
        await upgraded.run(
          `INSERT INTO stage_replay_log VALUES ($1, $2, 'P/g/t.add', 'm', 'f', 'g', 't', 'sendcloud', 1, 'A@x.com',
             'a@x.com', 'add', 1, $3, 'ok', now())`,
          [replayRun, seq, outcome],
        );
      }
      // A failed replay keeps its journal: the sends happened.
      await upgraded.finishRun(replayRun, 'failed', 'test');
      expect(
        await upgraded.allJson(
          'SELECT patch_id, target_account, email, op, outcome, provider_message, answered_at IS NOT NULL AS answered FROM replay_log',
        ),
      ).toEqual([
        {
          patch_id: 'P/g/t.add',
          target_account: 't',
          email: 'A@x.com',
          op: 'add',
          outcome: 'applied',
          provider_message: 'ok',
          answered: true,
        },
      ]);
    } finally {
      await upgraded.close();
    }
  });
});
