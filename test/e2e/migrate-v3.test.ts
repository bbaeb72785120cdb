// `unsub-recon migrate --from <sendgrid-subuser account> --to <sendgrid-v3 account>`: the README's
// "Migrating from the SendGrid legacy API to v3" recipe, end to end — the real CLI against the
// sandbox's legacy and v3 simulators and a real DuckDB file. What it must add is the ground truth
// of a mirror group legacy → v3; what the v3 simulator holds afterwards is read back over HTTP.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../extractors/core/email.js';
import { groundTruth } from '../../extractors/core/scenario/truth.js';
import { Warehouse } from '../../extractors/core/warehouse.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

let sandbox: Sandbox;
const LEGACY = 'sg-sub';
const V3 = 'sg-v3';
const cli = (args: string[]) =>
  runCli(['--config', sandbox.configFile, '--json', 'migrate', '--from', LEGACY, '--to', V3, ...args], {
    env: sandbox.env,
  });

beforeAll(async () => {
  sandbox = await startSandbox({
    rows: 400,
    seed: 13,
    dir: mkdtempSync(path.join(tmpdir(), 'unsub-migrate-v3-')),
  });
});
afterAll(async () => {
  await sandbox?.close();
});

/** The addresses the v3 account must gain: the truth of a mirror group with the legacy account as source. */
function expectedAdds(): string[] {
  const truth = groundTruth({
    ...sandbox.scenario,
    groups: [{ id: 'm', accounts: [LEGACY, V3], policy: 'mirror', source: LEGACY }],
  });
  return truth.patches.filter((p) => p.target === V3 && p.op === 'add').map((p) => p.email);
}

/** Every address the v3 simulator holds, normalised (its state, not our warehouse's). */
function heldByV3(): Set<string> {
  const [account] = sandbox.simulators.get(V3)!.dump(1_000_000).accounts;
  return new Set(account!.entries.map((e) => normaliseEmail(e.email)));
}

describe('migrate: SendGrid legacy (subuser) → SendGrid v3', () => {
  let adds: string[];
  beforeAll(() => {
    adds = expectedAdds();
  });

  it('the scenario gives the migration something to do', () => {
    expect(adds.length).toBeGreaterThan(3);
    for (const email of adds) expect(heldByV3().has(email)).toBe(false);
  });

  it('dry run: plans exactly the missing addresses and sends nothing', async () => {
    const { code, stdout, stderr } = await cli([]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 'ok', mode: 'dry-run', from: LEGACY, to: V3, adds: adds.length });
    expect(sandbox.simulators.get(V3)!.journal.writes()).toEqual([]);
    expect(sandbox.simulators.get(LEGACY)!.journal.writes()).toEqual([]);
  });

  it('--apply: adds them to v3 in batched POSTs, verifies convergence, touches nothing else', async () => {
    const before = heldByV3();
    const { code, stdout, stderr } = await cli(['--apply']);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 'ok', mode: 'apply', adds: adds.length });
    const [target] = result.replay.targets;
    expect(target).toMatchObject({ target: V3, provider: 'sendgrid-v3', sent: adds.length, failed: 0 });
    expect(result.replay.verify.converged).toBe(true);

    const after = heldByV3();
    expect([...after].filter((e) => !before.has(e)).sort()).toEqual([...adds].sort());
    const writes = sandbox.simulators.get(V3)!.journal.writes();
    expect(new Set(writes.map((w) => `${w.method} ${w.path}`))).toEqual(
      new Set(['POST /v3/asm/suppressions/global']),
    );
    expect(writes.length).toBe(Math.ceil(adds.length / 500));
    expect(sandbox.simulators.get(LEGACY)!.journal.writes()).toEqual([]);

    const warehouse = await Warehouse.open(path.join(sandbox.dir, 'warehouse.duckdb'), {
      mode: 'read',
      command: 'test',
    });
    try {
      const log = await warehouse.allJson<{ email_norm: string; outcome: string }>(
        `SELECT email_norm, outcome FROM replay_log WHERE run_id = $1 AND target_account = $2`,
        [result.run_id, V3],
      );
      expect(log.map((r) => r.email_norm).sort()).toEqual([...adds].sort());
      expect(new Set(log.map((r) => r.outcome))).toEqual(new Set(['applied']));
    } finally {
      await warehouse.close();
    }
  });

  it('a second migration finds nothing left to add', async () => {
    const { code, stdout, stderr } = await cli(['--apply']);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'ok', adds: 0 });
  });
});
