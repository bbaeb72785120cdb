// End-to-end tests drive the real CLI (`node bin/unsub-recon.js`), which runs the compiled
// dist/. Build once before any test so they never run a stale build.
//
// Every temporary file of the run (the tests' folders, the CLI children's staging spools, a
// killed process's leftovers, Chromium's profiles) goes under one folder that is removed when the
// run ends: the tests write warehouses full of addresses, and a folder per test left in /tmp after
// every run would keep them. Workers and the CLI children inherit TMPDIR; `os.tmpdir()` reads it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../extractors/core/warehouse.js';

const RUN_FOLDER_PREFIX = 'unsub-recon-test-';

/** Removes the folders of earlier runs that were killed before their teardown (their pid is gone). */
function removeKilledRunsFolders(parent: string): void {
  for (const name of readdirSync(parent)) {
    const owner = new RegExp(`^${RUN_FOLDER_PREFIX}(\\d+)-`).exec(name);
    if (owner !== null && !isProcessAlive(Number(owner[1]))) {
      rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

export default function setup(): () => void {
  const parent = tmpdir();
  removeKilledRunsFolders(parent);
  const runFolder = mkdtempSync(path.join(parent, `${RUN_FOLDER_PREFIX}${process.pid}-`));
  process.env.TMPDIR = runFolder;
  const teardown = () => rmSync(runFolder, { recursive: true, force: true });

  // Unit-only runs during development may skip the build (UNSUB_SKIP_BUILD=1); CI never does.
  if (process.env.UNSUB_SKIP_BUILD === '1' && process.env.CI !== 'true') return teardown;
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (error) {
    teardown();
    throw error;
  }
  return teardown;
}
