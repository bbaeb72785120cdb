/**
 * bench/RESULTS.md is written by the benchmarks, never by hand: each benchmark owns one section
 * (between `<!-- bench:NAME -->` markers) and replaces it with its latest figures, so running one
 * benchmark leaves the others' figures in place.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

const HEADER = `# Benchmark results

Produced by \`make bench\` (\`node --expose-gc --import tsx bench/run.ts [name…]\`); each section is rewritten by its
benchmark. Limits are measured in the same run as the figure they bound, and reported as ratios.
`;

export function machineLine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString()}`;
}

export function writeSection(name: string, markdown: string): void {
  const text = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : HEADER;
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${markdown.trim()}\n\n_Machine: ${machineLine()}_\n${end}`;
  const pattern = new RegExp(`${begin}[\\s\\S]*?${end}`);
  writeFileSync(
    RESULTS_FILE,
    pattern.test(text) ? text.replace(pattern, block) : `${text.trimEnd()}\n\n${block}\n`,
  );
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Bytes on disk of a file, or of every file under a folder; 0 for what does not exist, including
 * an entry removed while it is being walked (DuckDB deletes its temp files as it goes).
 */
export function sizeOnDisk(target: string): number {
  try {
    const stat = statSync(target);
    if (!stat.isDirectory()) return stat.size;
    return readdirSync(target).reduce((n, entry) => n + sizeOnDisk(path.join(target, entry)), 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
