// The JSON each reliability suite leaves in test/reliability/results/ for render.ts to turn into
// RELIABILITY.md. Only the full matrix (RELIABILITY_FULL=1, `make reliability`) writes it: the
// bounded subset of `make test` must not replace the committed figures with a partial table.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ResultRow {
  case: string;
  expected: string;
  outcome: 'pass' | 'fail' | 'n/a';
  detail: string;
}

export const RELIABILITY_FULL = process.env.RELIABILITY_FULL === '1';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** The seed of a seeded suite: RELIABILITY_SEED if set, else `fallback`; printed so a run can be repeated. */
export function suiteSeed(suite: string, fallback: number): number {
  const text = process.env.RELIABILITY_SEED;
  const seed = text !== undefined && text !== '' ? Number(text) : fallback;
  if (!Number.isInteger(seed)) throw new Error(`RELIABILITY_SEED=${text}: expected a whole number`);
  console.log(`${suite}: seed ${seed} (repeat with RELIABILITY_SEED=${seed})`);
  return seed;
}

/** Mulberry32: small, seedable, good enough to pick test points reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes results/<suite>.json when the full matrix ran; returns the file, or null when it did not. */
export function writeSuiteResults(suite: string, command: string, rows: readonly ResultRow[]): string | null {
  if (!RELIABILITY_FULL) return null;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${suite}.json`);
  const ordered = [...rows].sort((a, b) => a.case.localeCompare(b.case));
  writeFileSync(
    file,
    `${JSON.stringify({ suite, command, generatedAt: new Date().toISOString(), rows: ordered }, null, 2)}\n`,
  );
  return file;
}
