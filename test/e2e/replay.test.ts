// `unsub-recon replay` end to end: the real CLI against the sandbox's simulators and a real DuckDB
// file. Dry run sends nothing; a changed file or an unknown account refuses the whole manifest;
// --apply converges and is verified; and a real process killed with SIGKILL at 21 points, then
// run again, leaves the simulators in exactly the state, with exactly the writes, of a run that
// was never interrupted.
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { writePatchFolder } from '../../pipelines/patch/format.js';
import { CRASH_ENV } from '../../pipelines/replay/crash.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';
import { configWithGroups, copyWarehouse, simulatorState, writeJournal } from '../helpers/replay.js';

const SEED = 13;
const ROWS = 100;
/** Every sandbox of this file serves the same history, so runs on different sandboxes compare. */
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
/** A mirror group with three targets: one address per call (sc-main, sg-sub) and bulk (wc-main). */
const KILL_GROUP = {
  id: 'kill-mirror',
  accounts: ['sg-reseller', 'sc-main', 'sg-sub', 'wc-main'],
  policy: 'mirror' as const,
  source: 'sg-reseller',
};
const ACCOUNTS = ['sg-reseller', 'sc-main', 'sg-sub', 'wc-main'];

let base: Sandbox;
let baseConfig: string;
let baseWarehouse: string;
let patchDir: string;
const sandboxes: Sandbox[] = [];

async function sandbox(name: string): Promise<{ sandbox: Sandbox; config: string; warehouse: string }> {
  const s = await startSandbox({
    rows: ROWS,
    seed: SEED,
    now: NOW,
    dir: mkdtempSync(path.join(tmpdir(), `unsub-replay-${name}-`)),
  });
  sandboxes.push(s);
  const warehouse = path.join(s.dir, 'w.duckdb');
  copyWarehouse(baseWarehouse, warehouse);
  return { sandbox: s, config: configWithGroups(s, [KILL_GROUP]), warehouse };
}

const cli = (config: string, warehouse: string, env: Record<string, string>, args: string[]) =>
  runCli(['--config', config, '--warehouse', warehouse, ...args], { env, timeoutMs: 120_000 });

beforeAll(async () => {
  base = await startSandbox({
    rows: ROWS,
    seed: SEED,
    now: NOW,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-replay-base-')),
  });
  sandboxes.push(base);
  baseConfig = configWithGroups(base, [KILL_GROUP]);
  baseWarehouse = path.join(base.dir, 'base.duckdb');
  for (const args of [
    ['extract'],
    ['transform'],
    ['plan', '--group', 'kill-mirror', '--delete-foreign', '--force', 'kill-mirror', '--json'],
  ]) {
    const result = await cli(baseConfig, baseWarehouse, base.env, args);
    expect(result.code, `${args[0]}: ${result.stderr}`).toBe(0);
    if (args[0] === 'plan') patchDir = JSON.parse(result.stdout).groups[0].patchDir;
  }
});
afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
});

function manifestRows(): Record<string, number> {
  const manifest = JSON.parse(readFileSync(path.join(patchDir, 'manifest.json'), 'utf8'));
  return Object.fromEntries(
    manifest.files.map((f: { target: string; op: string; rows: number }) => [`${f.target}.${f.op}`, f.rows]),
  );
}

describe('replay', () => {
  it('the plan holds single-address adds and deletes and a bulk add: enough batches for every kill point', () => {
    const rows = manifestRows();
    expect(Object.keys(rows).sort()).toEqual([
      'sc-main.add',
      'sc-main.delete',
      'sg-sub.add',
      'sg-sub.delete',
      'wc-main.add',
      'wc-main.manual',
    ]);
    // journaled/answered/recorded are killed at the 1st … 6th batch below.
    expect(
      rows['sc-main.add']! + rows['sc-main.delete']! + rows['sg-sub.add']! + rows['sg-sub.delete']!,
    ).toBeGreaterThanOrEqual(6);
  });

  it('dry run by default: prints the counts and first rows, and no simulator receives any request', async () => {
    const { sandbox: s, config, warehouse } = await sandbox('dry');
    const before = ACCOUNTS.map((id) => s.simulators.get(id)!.journal.size);
    const { code, stdout, stderr } = await cli(config, warehouse, s.env, [
      'replay',
      patchDir,
      '--allow-deletes',
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.mode).toBe('dry-run');
    const rows = manifestRows();
    for (const t of summary.targets) {
      expect(t.sent).toBe((rows[`${t.target}.add`] ?? 0) + (rows[`${t.target}.delete`] ?? 0));
      expect([t.succeeded, t.requests, t.write_calls]).toEqual([0, 0, 0]);
      expect(t.preview.length).toBeGreaterThan(0);
    }
    expect(summary.manual).toEqual([
      { target: 'wc-main', rows: rows['wc-main.manual'], path: 'wc-main.manual.csv' },
    ]);
    expect(ACCOUNTS.map((id) => s.simulators.get(id)!.journal.size)).toEqual(before);
    const human = await cli(config, warehouse, s.env, ['replay', patchDir]);
    expect(human.stdout).toMatch(/DRY RUN — nothing was sent \(add --apply to send\)/);
    expect(human.stdout).toMatch(/would add sc-main "/);
    expect(ACCOUNTS.map((id) => s.simulators.get(id)!.journal.size)).toEqual(before);
    const w = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
    expect(await w.all('SELECT * FROM replay_log')).toEqual([]);
    await w.close();
  });

  it('refuses the whole manifest when a patch file changed after planning: exit 1, nothing sent', async () => {
    const { sandbox: s, config, warehouse } = await sandbox('tamper');
    const copy = path.join(s.dir, 'patch-copy');
    cpSync(patchDir, copy, { recursive: true });
    appendFileSync(path.join(copy, 'sg-sub.add.csv'), 'x@y.example,add,sg-sub,,,\r\n');
    const { code, stderr } = await cli(config, warehouse, s.env, [
      'replay',
      copy,
      '--apply',
      '--allow-deletes',
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /PATCH_INVALID: .*sg-sub\.add\.csv: sha256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64}; the file changed after planning\. Refusing the whole patch, nothing was sent/,
    );
    expect(ACCOUNTS.flatMap((id) => s.simulators.get(id)!.journal.writes())).toEqual([]);
  });

  it('refuses a manifest naming an account the config does not have: exit 1, nothing sent', async () => {
    const { sandbox: s, warehouse } = await sandbox('unknown');
    const config = JSON.parse(readFileSync(s.configFile, 'utf8'));
    config.accounts = config.accounts.filter((a: { id: string }) => a.id !== 'wc-main');
    config.groups = [];
    const file = path.join(s.dir, 'no-wc.config.json');
    writeFileSync(file, JSON.stringify(config));
    const { code, stderr } = await cli(file, warehouse, s.env, ['replay', patchDir, '--apply']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /PATCH_INVALID: .*wc-main\.add\.csv: target account "wc-main" is not in the config .*Nothing was sent/,
    );
    expect(ACCOUNTS.flatMap((id) => s.simulators.get(id)!.journal.writes())).toEqual([]);
  });

  it('a row the provider refuses: listed with its message, the target not converged, exit 1', async () => {
    const { sandbox: s, config, warehouse } = await sandbox('refused');
    const folder = path.join(s.dir, 'runs', '20250101T000000Z-fa11ed', 'patches', 'hand');
    const row = (email: string) => ({
      email,
      op: 'add' as const,
      target_account: 'sg-sub',
      reason: 'test',
      source_accounts: 'x',
      source_unsubscribed_at: '',
    });
    await writePatchFolder(
      folder,
      {
        run_id: '20250101T000000Z-fa11ed',
        created_at: new Date().toISOString(),
        group: 'hand',
        policy: 'union',
        source: null,
        scope: 'global',
        members: ['sg-reseller', 'sg-sub'],
        diff_run_id: null,
        delete_rule: 'none',
        forced: false,
        source_shrink: null,
        checks: [],
      },
      [
        {
          target: 'sg-sub',
          provider: 'sendgrid-subuser',
          op: 'add',
          rows: [row('no at sign here'), row('fine@new.example')],
        },
      ],
    );
    const { code, stdout, stderr } = await cli(config, warehouse, s.env, [
      'replay',
      folder,
      '--apply',
      '--json',
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /REPLAY_INCOMPLETE: sg-sub: 1 row\(s\) failed; sg-sub: not converged \(1\/2 rows in state\)/,
    );
    const [target] = JSON.parse(stdout).targets;
    expect(target).toMatchObject({ target: 'sg-sub', sent: 2, succeeded: 1, failed: 1 });
    expect(target.failures).toEqual([
      {
        email: 'no at sign here',
        op: 'add',
        outcome: 'failed',
        message: expect.stringMatching(/not a valid email address/),
      },
    ]);
    expect(JSON.parse(stdout).verify.targets[0]).toMatchObject({
      converged: false,
      not_in_state: ['no at sign here'],
    });
  });

  describe('kill -9 at 21 points, then the same command again', () => {
    let reference: { state: Record<string, string[]>; writes: Record<string, string[]> };
    const apply = ['replay', '', '--apply', '--allow-deletes', '--json'];

    beforeAll(async () => {
      const { sandbox: s, config, warehouse } = await sandbox('reference');
      apply[1] = patchDir;
      const { code, stdout, stderr } = await cli(config, warehouse, s.env, apply);
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout);
      expect(summary.verify.converged).toBe(true);
      const rows = manifestRows();
      for (const t of summary.targets) {
        expect(t.succeeded + t.already).toBe(
          (rows[`${t.target}.add`] ?? 0) + (rows[`${t.target}.delete`] ?? 0),
        );
        expect(t.failed).toBe(0);
      }
      reference = { state: simulatorState(s, ACCOUNTS), writes: writeJournal(s, ACCOUNTS) };
      // No secret in the output or the journal (provider answers are redacted before they are kept).
      const w = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
      const journal = JSON.stringify(await w.allJson('SELECT * FROM stage_replay_log'));
      await w.close();
      expect(journal).toContain('"outcome":"applied"');
      for (const secret of Object.values(s.env)) {
        expect(stdout + stderr).not.toContain(secret);
        expect(journal).not.toContain(secret);
      }
      // The reference really wrote: adds to all three targets, deletes to the two that can.
      expect(reference.writes['sg-reseller']).toEqual([]);
      for (const id of ['sc-main', 'sg-sub', 'wc-main'])
        expect(reference.writes[id]!.length).toBeGreaterThan(0);
    });

    /** Runs the replay with the crash hook and returns once the process died of SIGKILL. */
    async function killedAt(point: string, config: string, warehouse: string, env: Record<string, string>) {
      const child = spawn(process.execPath, [BIN, '--config', config, '--warehouse', warehouse, ...apply], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), ...env, [CRASH_ENV]: point },
        stdio: 'ignore',
      });
      const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      expect(signal, `the process reached ${point}`).toBe('SIGKILL');
    }

    const points: string[][] = [
      ['begun:1'],
      ...[1, 2, 3, 4, 5, 6].map((n) => [`journaled:${n}`]),
      ...[1, 2, 3, 4, 5, 6].map((n) => [`answered:${n}`]),
      ...[1, 2, 3, 4, 5, 6].map((n) => [`recorded:${n}`]),
      ['verify:1'],
      // Killed mid-batch, then killed again while re-reading what the first kill left in doubt.
      ['journaled:3', 'rechecked:1'],
    ];

    it.each(points.map((kills) => ({ kills, name: kills.join(', then at ') })))(
      'killed at $name: same final state and writes as the uninterrupted run',
      async ({ kills }) => {
        const { sandbox: s, config, warehouse } = await sandbox('kill');
        for (const point of kills) await killedAt(point, config, warehouse, s.env);
        const { code, stdout, stderr } = await cli(config, warehouse, s.env, apply);
        expect(code, stderr).toBe(0);
        expect(JSON.parse(stdout).verify.converged).toBe(true);
        expect(simulatorState(s, ACCOUNTS)).toEqual(reference.state);
        // Nothing applied twice, nothing lost: the very same write requests as the reference.
        expect(writeJournal(s, ACCOUNTS)).toEqual(reference.writes);
        const w = await Warehouse.open(warehouse, { mode: 'read', command: 'test' });
        try {
          const last = await w.allJson<{ outcome: string; n: string }>(
            `SELECT outcome, count(*)::VARCHAR AS n FROM (
             SELECT last(outcome ORDER BY written_at, journal_seq) AS outcome FROM stage_replay_log GROUP BY patch_id, row_no)
           GROUP BY outcome ORDER BY outcome`,
          );
          expect(last.every((r) => ['applied', 'already', 'confirmed'].includes(r.outcome))).toBe(true);
          const runs = await w.allJson<{ status: string }>(
            `SELECT status FROM runs WHERE command = 'replay' ORDER BY started_at`,
          );
          expect(runs.map((r) => r.status)).toEqual([...kills.map(() => 'failed'), 'succeeded']);
        } finally {
          await w.close();
        }
      },
    );
  });
});
