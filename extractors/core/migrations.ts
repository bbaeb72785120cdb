/**
 * Versioned warehouse schema: the SQL files in `migrations/` (`NNN_<name>.sql`, applied in
 * version order, each in its own transaction, recorded in `schema_migrations`) and the list of
 * tables whose rows belong to a run. `warehouse.ts` applies them on every write-mode open.
 *
 * A migration, once released, is never edited: a change to the schema is a new file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { WarehouseError } from './errors.js';
import { locateSource } from './source-files.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** A table whose rows carry `run_id` and are written while the run is still `running`. */
export interface RunScopedTable {
  readonly table: string;
  /**
   * Delete the run's rows when it fails or is abandoned. `false` keeps them as evidence of what
   * the run attempted: STYLE.md "a failure is recorded as data, never dropped". Kept rows stay
   * invisible to derived tables, which read only runs that are `succeeded` or `partial`.
   */
  readonly purgeWhenFailed: boolean;
}

/**
 * Every run-scoped table. Add a table here in the same change as the migration that creates it,
 * so a failed or killed run never leaves half-staged rows behind. Tables the file does not have
 * yet (an older schema version) are skipped.
 */
export const RUN_SCOPED_TABLES: readonly RunScopedTable[] = [
  // Before migration 003 the staging tables had the contract names; after it those are views.
  { table: 'raw_rows', purgeWhenFailed: true },
  { table: 'stage_raw_rows', purgeWhenFailed: true },
  // The request log and completeness records of a failed run are how the user finds out what failed.
  { table: 'requests', purgeWhenFailed: false },
  { table: 'stage_requests', purgeWhenFailed: false },
  { table: 'stage_extractions', purgeWhenFailed: false },
  { table: 'stage_extract_windows', purgeWhenFailed: false },
  // Migration 004. A replayed write that reached a provider happened whatever became of its run:
  // the next replay reads these rows to send nothing twice.
  { table: 'stage_replay_log', purgeWhenFailed: false },
];

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

function migrationsDir(): string {
  const { found, candidates } = locateSource(import.meta.url, './migrations/');
  if (found === undefined) {
    throw new WarehouseError(`warehouse migrations not found; looked in ${candidates.join(', ')}`);
  }
  return found;
}

let cached: readonly Migration[] | undefined;

/**
 * The known migrations in version order, read once per process.
 * @throws WarehouseError when the folder is missing, a file name does not match `NNN_<name>.sql`,
 *   or versions are not 1, 2, 3, … without gaps or duplicates.
 */
export function loadMigrations(): readonly Migration[] {
  if (cached !== undefined) return cached;
  const dir = migrationsDir();
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(file);
    if (match === null) {
      throw new WarehouseError(`migration file ${file} in ${dir} is not named NNN_<name>.sql`);
    }
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) {
      throw new WarehouseError(
        `migration ${file}: expected version ${expected}, migrations must be numbered 1, 2, 3, …`,
      );
    }
    migrations.push({ version, name: match[2]!, sql: readFileSync(`${dir}/${file}`, 'utf8') });
  }
  cached = migrations;
  return migrations;
}

/** The schema version a fully migrated warehouse has. */
export function latestSchemaVersion(): number {
  return loadMigrations().at(-1)?.version ?? 0;
}
