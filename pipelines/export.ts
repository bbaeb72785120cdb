/**
 * `unsub-recon export --format parquet --out DIR [--overwrite]`: every contract view that exists
 * in the warehouse, as Parquet files any engine reads as-is (Spark, Trino, DuckDB, pandas).
 *
 * Layout under DIR:
 *   <view>.parquet                              small views (runs, extractions, rejects, …)
 *   <view>/account_id=<id>/data_0.parquet       per-account views (raw_rows, requests,
 *                                               suppressions, suppression_sources,
 *                                               suppression_events): Hive-style
 *                                               partitions; the account_id column lives in the
 *                                               folder name, readers add it back
 * Timestamps are Parquet TIMESTAMP(MICROS, isAdjustedToUTC=true); JSON columns are UTF-8 strings
 * with the JSON logical type.
 *
 * The warehouse is opened read-only: COPY … TO writes files, not the database, so the export runs
 * beside readers and needs no writer lock. Files are written into a hidden folder inside DIR and
 * moved into place only when every view was written, so a failed export leaves DIR as it was.
 * DIR must be empty or missing unless --overwrite, which replaces only the paths the export
 * writes (other files in DIR are left alone).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../extractors/core/errors.js';
import { quoteIdent, Warehouse } from '../extractors/core/warehouse.js';
import { formatTable, type Output } from './output.js';

/**
 * The warehouse contract (DESIGN.md) plus the transform's lineage (suppression_sources), per-pair
 * summary and group status, in export order. Views not yet built are skipped.
 */
export const CONTRACT_VIEWS = [
  'runs',
  'requests',
  'raw_rows',
  'extractions',
  'extract_windows',
  'suppressions',
  'suppression_sources',
  'suppression_events',
  'rejects',
  'discrepancies',
  'discrepancy_summary',
  'group_status',
  'replay_log',
] as const;

/** Views with many rows per account: partitioned by account_id (when they have that column). */
const PARTITIONED_VIEWS: ReadonlySet<string> = new Set([
  'requests',
  'raw_rows',
  'suppressions',
  'suppression_sources',
  'suppression_events',
]);

export const EXPORT_FORMATS = ['parquet'] as const;

export interface ExportCommandOptions {
  format: string;
  out?: string;
  overwrite?: boolean;
}

export interface ExportedView {
  view: string;
  rows: number;
  /** The file, or the folder of a partitioned dataset. */
  path: string;
  partitionBy: string | null;
  /** Parquet files written, relative to DIR. */
  parquetFiles: string[];
}

export interface ExportResult {
  status: 'ok';
  out: string;
  files: ExportedView[];
}

export async function exportCommand(
  warehouseFile: string,
  options: ExportCommandOptions,
  out: Output,
): Promise<ExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`--format: got "${options.format}", expected one of ${EXPORT_FORMATS.join(', ')}`);
  }
  if (options.out === undefined || options.out.trim() === '') {
    throw new UsageError('--out DIR is required: the folder the Parquet files go to');
  }
  const outDir = path.resolve(options.out);
  checkOutDir(outDir, options.overwrite === true);

  const warehouse = await Warehouse.open(warehouseFile, { mode: 'read', command: 'export' });
  let result: ExportResult;
  try {
    result = await exportParquet(warehouse, outDir);
  } finally {
    await warehouse.close();
  }
  out.result(
    { ...result },
    () =>
      `${formatTable(
        result.files.map((f) => ({
          view: f.view,
          rows: f.rows,
          path: f.path,
          partition_by: f.partitionBy ?? '',
        })),
      )}exported ${result.files.length} view(s) to ${outDir}\n`,
  );
  return result;
}

/** Refuses a file, or a non-empty folder unless overwriting. */
function checkOutDir(outDir: string, overwrite: boolean): void {
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) {
    throw new UsageError(`--out ${outDir}: exists and is not a folder`);
  }
  if (!overwrite && readdirSync(outDir).length > 0) {
    throw new UsageError(
      `--out ${outDir}: the folder is not empty; choose an empty or new folder, or pass --overwrite ` +
        'to replace the exported views in it',
    );
  }
}

/** Writes every existing contract view under `outDir`; see the module comment for the layout. */
export async function exportParquet(warehouse: Warehouse, outDir: string): Promise<ExportResult> {
  const views = await existingContractViews(warehouse);
  mkdirSync(outDir, { recursive: true });
  const staging = path.join(outDir, `.unsub-export-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(staging);
  try {
    const files: ExportedView[] = [];
    for (const { view, columns } of views) {
      const partitionBy = PARTITIONED_VIEWS.has(view) && columns.includes('account_id') ? 'account_id' : null;
      const name = partitionBy === null ? `${view}.parquet` : view;
      const target = path.join(staging, name);
      // The path is a bound parameter (DuckDB accepts one for COPY … TO), so any character in a
      // user-given folder name is safe; the view name is a quoted identifier from the fixed list.
      const options =
        partitionBy === null
          ? '(FORMAT parquet)'
          : `(FORMAT parquet, PARTITION_BY (${quoteIdent(partitionBy)}))`;
      const copied = await warehouse.all<{ Count: bigint }>(
        `COPY (SELECT * FROM ${quoteIdent(view)}) TO $1 ${options}`,
        [target],
      );
      if (partitionBy !== null) mkdirSync(target, { recursive: true }); // an empty view: an empty dataset
      files.push({
        view,
        rows: Number(copied[0]?.Count ?? 0n),
        path: path.join(outDir, name),
        partitionBy,
        parquetFiles: parquetFilesUnder(target).map((f) => path.join(name, f)),
      });
    }
    for (const file of files) {
      const name = path.basename(file.path);
      rmSync(file.path, { recursive: true, force: true });
      renameSync(path.join(staging, name), file.path);
    }
    return { status: 'ok', out: outDir, files };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Contract views (or tables) present in this warehouse, with their columns. */
async function existingContractViews(
  warehouse: Warehouse,
): Promise<Array<{ view: string; columns: string[] }>> {
  const rows = await warehouse.all<{ name: string; columns: string[] }>(
    `SELECT table_name AS name, list(column_name ORDER BY column_index) AS columns
       FROM duckdb_columns()
      WHERE database_name = current_database() AND schema_name = 'main'
      GROUP BY table_name`,
  );
  const byName = new Map(rows.map((r) => [r.name, r.columns]));
  return CONTRACT_VIEWS.flatMap((view) => {
    const columns = byName.get(view);
    return columns === undefined ? [] : [{ view, columns }];
  });
}

function parquetFilesUnder(target: string): string[] {
  if (!existsSync(target)) return [];
  if (!statSync(target).isDirectory()) return [''];
  return (readdirSync(target, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).sort();
}
