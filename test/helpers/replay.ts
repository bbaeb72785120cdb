// What the plan / replay / migrate end-to-end tests share: a sandbox config with extra groups,
// and the simulators' final state and write journal in a form two runs can be compared by.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultEmailKey } from '../../extractors/core/simulator/index.js';
import type { Sandbox } from '../../pipelines/sandbox.js';

export interface TestGroup {
  id: string;
  accounts: string[];
  policy?: 'union' | 'mirror';
  source?: string;
  maxDeleteFraction?: number;
  maxDeletes?: number;
}

/** The sandbox's config plus `groups`, written beside it; returns the file. */
export function configWithGroups(
  sandbox: Sandbox,
  groups: readonly TestGroup[],
  name = 'test.config.json',
): string {
  const config = JSON.parse(readFileSync(sandbox.configFile, 'utf8'));
  config.groups = [...config.groups, ...groups];
  const file = path.join(sandbox.dir, name);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** Each account's held addresses (normalised, with their list), sorted: the provider's final state. */
export function simulatorState(sandbox: Sandbox, accounts: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(
    accounts.map((id) => [
      id,
      sandbox.simulators
        .get(id)!
        .dump(1_000_000)
        .accounts.flatMap((a) => a.entries.map((e) => `${defaultEmailKey(e.email)}|${e.listId ?? ''}`))
        .sort(),
    ]),
  );
}

/** Every write request each account received (method, path, parameters; secrets masked), sorted. */
export function writeJournal(sandbox: Sandbox, accounts: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(
    accounts.map((id) => [
      id,
      sandbox.simulators
        .get(id)!
        .journal.writes()
        .map((w) => `${w.method} ${w.path} ${JSON.stringify(Object.entries(w.params).sort())}`)
        .sort(),
    ]),
  );
}

/** Copies a closed warehouse file (and its WAL, if one was left). */
export function copyWarehouse(from: string, to: string): void {
  copyFileSync(from, to);
  if (existsSync(`${from}.wal`)) copyFileSync(`${from}.wal`, `${to}.wal`);
}
