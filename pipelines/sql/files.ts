/**
 * The SQL of the pipelines (`pipelines/sql/<area>/<name>.sql`, one statement per file, each with
 * a header: output, grain, inputs, purpose), found by locateSource (beside this file, or in the
 * source tree of a compiled build).
 */
import { readFileSync } from 'node:fs';
import { UnsubReconError } from '../../extractors/core/errors.js';
import { locateSource } from '../../extractors/core/source-files.js';

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
  const { found, candidates } = locateSource(import.meta.url, `./${area}/${name}.sql`);
  if (found === undefined) {
    throw new SqlFileError(`SQL file ${key}.sql not found; looked in ${candidates.join(', ')}`);
  }
  const text = readFileSync(found, 'utf8');
  cache.set(key, text);
  return text;
}
