// `unsub-recon migrate` end to end between every pair of the sandbox's providers (all of them can
// add; the pairs come from the registry's scenario, so a new provider joins automatically), each
// on fresh simulators: the target ends up holding exactly what the ground truth says the source
// holds, only the target is written to, bulk providers use ⌈rows / batch⌉ write calls, and a dry
// run writes nothing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../extractors/core/email.js';
import { generateScenario } from '../../extractors/core/scenario/generate.js';
import { groundTruth } from '../../extractors/core/scenario/truth.js';
import { defaultEmailKey } from '../../extractors/core/simulator/index.js';
import { PROVIDERS } from '../../extractors/registry.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { runCli } from '../helpers/cli.js';

const SEED = 29;
const ROWS = 100;
const NOW = Math.floor(Date.now() / 60_000) * 60_000;
const scenario = generateScenario({ seed: SEED, rows: ROWS, now: NOW });
const truth = groundTruth(scenario);
const sandboxes: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
});

async function fresh(name: string) {
  const sandbox = await startSandbox({
    rows: ROWS,
    seed: SEED,
    now: NOW,
    dir: mkdtempSync(path.join(tmpdir(), `unsub-migrate-${name}-`)),
  });
  sandboxes.push(sandbox);
  const cli = (args: string[]) =>
    runCli(['--config', sandbox.configFile, '--warehouse', path.join(sandbox.dir, 'w.duckdb'), ...args], {
      env: sandbox.env,
      timeoutMs: 120_000,
    });
  return { sandbox, cli };
}

/** Active global suppressions of an account in the ground truth. */
const held = (account: string) =>
  new Set(
    truth.suppressions
      .filter((s) => s.accountId === account && s.scope === 'global' && s.active)
      .map((s) => s.emailNorm),
  );

/**
 * Every unordered pair once, oriented so that every account is a source in some pairs and a
 * target in others (a regular tournament: i → j when j − i is odd).
 */
const ids = scenario.accounts.map((a) => a.id);
const pairs = ids.flatMap((a, i) =>
  ids.slice(i + 1).map((b, k) => ((k + 1) % 2 === 1 ? [a, b] : [b, a]) as [string, string]),
);

describe('migrate', () => {
  it('every account is a source and a target in the pairs below', () => {
    expect(pairs).toHaveLength((ids.length * (ids.length - 1)) / 2);
    for (const id of ids) {
      expect(pairs.some(([from]) => from === id)).toBe(true);
      expect(pairs.some(([, to]) => to === id)).toBe(true);
    }
  });

  it('refuses bad arguments with exit 2', async () => {
    const { cli } = await fresh('usage');
    for (const [args, message] of [
      [['--from', 'sc-main', '--to', 'sc-main'], /--from and --to are both sc-main/],
      [['--from', 'nope', '--to', 'sc-main'], /--from nope: no such account/],
    ] as const) {
      const { code, stderr } = await cli(['migrate', ...args]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('dry run by default: plans the adds and writes nothing anywhere', async () => {
    const [from, to] = pairs[0]!;
    const { sandbox, cli } = await fresh('dry');
    const { code, stdout, stderr } = await cli(['migrate', '--from', from, '--to', to, '--json']);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.mode).toBe('dry-run');
    expect(result.adds).toBe([...held(from)].filter((e) => !held(to).has(e)).length);
    expect(result.replay.targets[0].sent).toBe(result.adds);
    expect(ids.flatMap((id) => sandbox.simulators.get(id)!.journal.writes())).toEqual([]);
  });

  it.each(pairs)(
    '%s → %s: the target holds everything the source holds, only the target is written to',
    async (from, to) => {
      const { sandbox, cli } = await fresh(`${from}-${to}`);
      const { code, stdout, stderr } = await cli([
        'migrate',
        '--from',
        from,
        '--to',
        to,
        '--apply',
        '--json',
      ]);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout);
      expect(result.status).toBe('ok');
      expect(result.replay.verify.converged).toBe(true);
      expect(result.replay.verify.targets[0]).toMatchObject({ target: to, missing_left: 0 });

      const expected = [...held(from)].filter((e) => !held(to).has(e)).sort();
      expect(expected.length).toBeGreaterThan(0);
      const rows = parse(readFileSync(path.join(result.patchDir, `${to}.add.csv`), 'utf8'), {
        columns: true,
      }) as { email: string }[];
      expect(rows.map((r) => normaliseEmail(r.email)).sort()).toEqual(expected);
      const [target] = result.replay.targets;
      expect(target.succeeded + target.already).toBe(expected.length);

      for (const id of ids.filter((id) => id !== to))
        expect(sandbox.simulators.get(id)!.journal.writes(), id).toEqual([]);
      const provider = sandbox.scenario.accounts.find((a) => a.id === to)!.provider;
      const batch = PROVIDERS[provider].capabilities.writeBatchSize;
      const writes = sandbox.simulators.get(to)!.journal.writes().length;
      expect(writes).toBe(batch > 1 ? Math.ceil(expected.length / batch) : target.succeeded);
      const state = new Set(
        sandbox.simulators
          .get(to)!
          .dump(1_000_000)
          .accounts.flatMap((a) =>
            a.entries.filter((e) => e.listId === undefined).map((e) => defaultEmailKey(e.email)),
          ),
      );
      for (const email of expected) expect(state.has(email), email).toBe(true);
    },
  );
});
