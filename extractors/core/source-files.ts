/**
 * Where a module's `.sql` files are. tsc does not copy them into dist/: a compiled module
 * (`dist/<dir>/<module>.js`) reads them from the source tree it was built from (`<dir>/`), and a
 * module run from source (tsx, tests) finds them beside itself.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SourceLocation {
  /** The first candidate that exists; undefined when none does. */
  found: string | undefined;
  /** Every place looked, for the caller's error message. */
  candidates: string[];
}

/**
 * Finds `relative` (a file, or a folder ending in `/`) beside the module `moduleUrl`, or, for a
 * module compiled into dist/, at the same place in the source tree.
 */
export function locateSource(moduleUrl: string, relative: string): SourceLocation {
  const beside = fileURLToPath(new URL(relative, moduleUrl));
  const marker = `${path.sep}dist${path.sep}`;
  const at = beside.lastIndexOf(marker);
  const candidates =
    at < 0 ? [beside] : [beside, `${beside.slice(0, at)}${path.sep}${beside.slice(at + marker.length)}`];
  return { found: candidates.find((candidate) => existsSync(candidate)), candidates };
}
