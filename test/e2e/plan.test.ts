// `unsub-recon plan` end to end: the real CLI, the sandbox's simulators and a real DuckDB file.
// The add rows equal the scenario's ground truth (computed without SQL); mirror deletes follow
// the tracked-mirror rule through a real replay; every refusal exits 1 with its numbers; a
// directory is never rewritten.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../extractors/core/config.js';
import { normaliseEmail } from '../../extractors/core/email.js';
import { HttpEngine } from '../../extractors/core/http.js';
import { createRedactor } from '../../extractors/core/redact.js';
import { groundTruth } from '../../extractors/core/scenario/truth.js';
import { PROVIDERS } from '../../extractors/registry.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { configWithGroups, type TestGroup } from '../helpers/replay.js';

/** A mirror group whose targets cannot delete: their rows become manual. */
const MANUAL_GROUP: TestGroup = {
  id: 'to-wc-bh',
  accounts: ['sg-reseller', 'wc-main', 'bh-main'],
  policy: 'mirror',
  source: 'sg-reseller',
  maxDeleteFraction: 1,
};

let sandbox: Sandbox;
let config: string;
const warehouse = () => path.join(sandbox.dir, 'w.duckdb');
const cli = (args: string[], file = warehouse()) =>
  runCli(['--config', config, '--warehouse', file, ...args], { env: sandbox.env, timeoutMs: 120_000 });

beforeAll(async () => {
  sandbox = await startSandbox({ rows: 300, seed: 17, dir: mkdtempSync(path.join(tmpdir(), 'unsub-plan-')) });
  config = configWithGroups(sandbox, [MANUAL_GROUP]);
});
afterAll(async () => {
  await sandbox?.close();
});

interface CsvRow {
  email: string;
  op: string;
  target_account: string;
  reason: string;
  source_accounts: string;
  source_unsubscribed_at: string;
}
const readCsv = (file: string): CsvRow[] => parse(readFileSync(file, 'utf8'), { columns: true }) as CsvRow[];

/** Every row of a patch folder as `group|target|op|email_norm`, sorted. */
function rowsOf(dir: string, group: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .flatMap((f) =>
      readCsv(path.join(dir, f)).map(
        (r) => `${group}|${r.target_account}|${r.op}|${normaliseEmail(r.email)}`,
      ),
    )
    .sort();
}

describe('plan', () => {
  it('refuses before any transform (exit 1) and refuses bad arguments (exit 2)', async () => {
    const early = await cli(['plan', '--group', 'all-brands']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /PLAN_FAILED: .*run `unsub-recon extract` and `unsub-recon transform` before planning/,
    );
    for (const [args, message] of [
      [['plan', '--group', 'nope'], /--group nope: no such group; expected one of all-brands, sg-to-sc/],
      [
        ['plan', '--group', 'all-brands', '--force', 'sg-to-sc'],
        /--force sg-to-sc: not a group being planned/,
      ],
      [
        ['plan', '--group', 'sg-to-sc', '--target', 'sg-reseller'],
        /--target sg-reseller: it is the source of sg-to-sc/,
      ],
      [['plan'], /required option '--group <id...>' not specified/],
    ] as const) {
      const { code, stderr } = await cli([...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('writes the ground truth: union and mirror adds per target, byte-exact addresses and a manifest with sha256', async () => {
    expect((await cli(['extract'])).code).toBe(0);
    expect((await cli(['transform'])).code).toBe(0);
    const { code, stdout, stderr } = await cli([
      'plan',
      '--group',
      'all-brands',
      '--group',
      'sg-to-sc',
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.status).toBe('planned');
    expect(result.patchRoot).toBe(path.join(sandbox.dir, 'runs', result.run_id, 'patches'));
    const truth = groundTruth(sandbox.scenario);
    for (const group of result.groups) {
      expect(group.status).toBe('planned');
      const expected = truth.patches
        .filter((p) => p.groupId === group.group_id)
        .map((p) => `${p.groupId}|${p.target}|${p.op}|${p.email}`)
        .sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(rowsOf(group.patchDir, group.group_id)).toEqual(expected);
      const manifest = JSON.parse(readFileSync(path.join(group.patchDir, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({
        run_id: result.run_id,
        group: group.group_id,
        delete_rule: group.policy === 'mirror' ? 'tracked' : 'none',
      });
      for (const file of manifest.files) {
        expect(file.provider).toBe(sandbox.scenario.accounts.find((a) => a.id === file.target)!.provider);
        expect(file.rows).toBe(readCsv(path.join(group.patchDir, file.path)).length);
      }
    }
    // Byte-exact: surrounding space removed, NFC, case and formula-like leads kept as they are.
    const emails = readdirSync(result.groups[0].patchDir)
      .filter((f) => f.endsWith('.csv'))
      .flatMap((f) => readCsv(path.join(result.groups[0].patchDir, f)).map((r) => r.email));
    expect(emails.some((e) => e !== e.toLowerCase())).toBe(true);
    for (const e of emails) {
      expect(e).toBe(e.trim());
      expect(e).toBe(e.normalize('NFC'));
      expect(e.startsWith("'")).toBe(false);
    }
    // No secret reaches a patch file.
    for (const file of readdirSync(result.groups[0].patchDir)) {
      const text = readFileSync(path.join(result.groups[0].patchDir, file), 'utf8');
      for (const secret of Object.values(sandbox.env)) expect(text).not.toContain(secret);
    }
  });

  it('--delete-foreign: refused past maxDeleteFraction with the numbers (exit 1, nothing written); --force plans the truth', async () => {
    const refused = await cli(['plan', '--group', 'sg-to-sc', '--delete-foreign', '--json']);
    expect(refused.code).toBe(1);
    const result = JSON.parse(refused.stdout);
    expect(result.status).toBe('refused');
    expect(result.groups[0].patchDir).toBeNull();
    expect(existsSync(path.join(result.patchRoot, 'sg-to-sc'))).toBe(false);
    const { deletes, list_size } = result.groups[0].targets[0];
    expect(deletes / list_size).toBeGreaterThan(0.01);
    expect(refused.stderr).toContain(
      `PLAN_REFUSED: group sg-to-sc: ${deletes} deletes planned for sc-main, ${((deletes / list_size) * 100).toFixed(2)}% of its ${list_size} active suppressions, above maxDeleteFraction 0.01 (at most ${Math.floor(0.01 * list_size)} deletes)`,
    );
    expect(refused.stderr).toContain('re-run with --force sg-to-sc if this is intended');

    const forced = await cli([
      'plan',
      '--group',
      'sg-to-sc',
      '--delete-foreign',
      '--force',
      'sg-to-sc',
      '--json',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    const group = JSON.parse(forced.stdout).groups[0];
    expect(group.forced).toBe(true);
    const truth = groundTruth(sandbox.scenario);
    const expected = [...truth.patches, ...truth.foreignDeletes]
      .filter((p) => p.groupId === 'sg-to-sc')
      .map((p) => `${p.groupId}|${p.target}|${p.op}|${p.email}`)
      .sort();
    expect(rowsOf(group.patchDir, 'sg-to-sc')).toEqual(expected);
  });

  it('targets that cannot delete (WhatCounts, BlueHornet) get manual rows with why, never a delete file', async () => {
    // The config gave the transform this group from the start; the simulators are untouched so far.
    const { code, stdout, stderr } = await cli([
      'plan',
      '--group',
      MANUAL_GROUP.id,
      '--delete-foreign',
      '--json',
    ]);
    expect(code, stderr).toBe(0);
    const group = JSON.parse(stdout).groups[0];
    const files = readdirSync(group.patchDir).sort();
    expect(files).toEqual([
      'bh-main.add.csv',
      'bh-main.manual.csv',
      'manifest.json',
      'wc-main.add.csv',
      'wc-main.manual.csv',
    ]);
    const truth = groundTruth({
      ...sandbox.scenario,
      groups: [MANUAL_GROUP as (typeof sandbox.scenario.groups)[number]],
    });
    expect(rowsOf(group.patchDir, MANUAL_GROUP.id)).toEqual(
      [...truth.patches, ...truth.foreignDeletes]
        .map((p) => `${p.groupId}|${p.target}|${p.op}|${p.email}`)
        .sort(),
    );
    expect(readCsv(path.join(group.patchDir, 'bh-main.manual.csv'))[0]!.reason).toMatch(
      /^manual, not replayed: extra: .*bluehornet cannot delete it safely: BlueHornet has no documented way to undo an opt-out/,
    );
    // Replay lists them and sends none.
    const replay = await cli(['replay', group.patchDir, '--json']);
    expect(
      JSON.parse(replay.stdout)
        .manual.map((m: { target: string }) => m.target)
        .sort(),
    ).toEqual(['bh-main', 'wc-main']);
  });

  it('tracked mirror: after a replay, only what unsub-recon added and the source dropped is deleted', async () => {
    const plan = JSON.parse((await cli(['plan', '--group', 'sg-to-sc', '--json'])).stdout);
    const patchDir = plan.groups[0].patchDir;
    const applied = await cli(['replay', patchDir, '--apply', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const ours = readCsv(path.join(patchDir, 'sc-main.add.csv'))[0]!.email;
    // An address sc-main held all along (the person's own opt-out there), also held by the source.
    const truth = groundTruth(sandbox.scenario);
    const shared = truth.suppressions.find(
      (s) =>
        s.accountId === 'sc-main' &&
        s.active &&
        truth.suppressions.some(
          (o) => o.accountId === 'sg-reseller' && o.emailNorm === s.emailNorm && o.active,
        ),
    )!.emailNorm;
    // The source drops both (a real delete through its API).
    const cfg = loadConfig(config, { env: sandbox.env });
    const source = cfg.accounts.find((a) => a.id === 'sg-reseller')!;
    const http = new HttpEngine({ redact: createRedactor(cfg.secrets) });
    const removed = await PROVIDERS[source.provider].createClient(source, http).remove([ours, shared]);
    await http.close();
    expect(removed.map((r) => r.outcome)).toEqual(['applied', 'applied']);

    expect((await cli(['extract', '--full', '--account', 'sg-reseller'])).code).toBe(0);
    expect((await cli(['transform'])).code).toBe(0);
    const { code, stdout, stderr } = await cli(['plan', '--group', 'sg-to-sc', '--json']);
    expect(code, stderr).toBe(0);
    const group = JSON.parse(stdout).groups[0];
    const deletes = readCsv(path.join(group.patchDir, 'sc-main.delete.csv'));
    expect(deletes.map((r) => normaliseEmail(r.email))).toEqual([normaliseEmail(ours)]);
    expect(deletes[0]!.reason).toContain(
      `unsub-recon added it to sc-main (replay run ${JSON.parse(applied.stdout).run_id}`,
    );
    expect(stderr).toMatch(
      /sc-main: \d+ entr(y|ies) the source lacks (was|were) not added by unsub-recon and (is|are) kept \(tracked-mirror rule/,
    );
  });

  it('refuses mirror deletes when the source shrank sharply since its previous full snapshot; --force overrides', async () => {
    const source = sandbox.scenario.accounts.find((a) => a.id === 'sg-reseller')!;
    sandbox.simulators.get('sg-reseller')!.setFaults(source.key, 'shrink/0.2:1');
    expect((await cli(['extract', '--full', '--account', 'sg-reseller'])).code).toBe(0);
    sandbox.simulators.get('sg-reseller')!.setFaults(source.key, '');
    expect((await cli(['transform'])).code).toBe(0);
    const refused = await cli(['plan', '--group', 'sg-to-sc', '--delete-foreign', '--json']);
    expect(refused.code).toBe(1);
    const shrink = JSON.parse(refused.stdout).groups[0].source_shrink;
    expect(shrink.fraction).toBeGreaterThan(0.15);
    expect(refused.stderr).toContain(
      `source sg-reseller lost ${shrink.removed} of the ${shrink.previous_size} addresses of its previous full snapshot`,
    );
    const forced = await cli(['plan', '--group', 'sg-to-sc', '--delete-foreign', '--force', 'sg-to-sc']);
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('each plan run has its own directory; an earlier one is never rewritten', () => {
    const runs = readdirSync(path.join(sandbox.dir, 'runs')).filter((d) =>
      /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(d),
    );
    expect(runs.length).toBeGreaterThanOrEqual(5);
    expect(new Set(runs).size).toBe(runs.length);
  });
});
