/**
 * The SQL of the pipelines (`pipelines/sql/<area>/<name>.sql`, one statement per file, each with
 * a header: output, grain, inputs, purpose). tsc does not copy `.sql` files into dist/, so the
 * compiled module reads them from the source tree it was built from
 * (dist/pipelines/sql/ → ../../../pipelines/sql/); under tsx they sit beside this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnsubReconError } from '../../extractors/core/errors.js';

/** A pipeline SQL file is missing: the installation is incomplete. */
export class SqlFileError extends UnsubReconError {
  readonly code = 'SQL_FILE_MISSING';
}

const cache = new Map<string, string>();

/**
 * The text of `pipelines/sql/<area>/<name>.sql`, read once per process.
 * @throws SqlFileError when the file exists in neither place.
 */
export function sqlFile(area: string, name: string): string {
  const key = `${area}/${name}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const candidates = [
    new URL(`./${area}/${name}.sql`, import.meta.url),
    new URL(`../../../pipelines/sql/${area}/${name}.sql`, import.meta.url),
  ].map((url) => fileURLToPath(url));
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new SqlFileError(`SQL file ${key}.sql not found; looked in ${candidates.join(', ')}`);
  }
  const text = readFileSync(found, 'utf8');
  cache.set(key, text);
  return text;
}
