import type { Warehouse } from '../../extractors/core/warehouse.js';

/**
 * Every temporary table, view and macro of the connection, e.g. `table t_addresses`, read from
 * DuckDB's catalog independently of `Warehouse.withScratch`, which the tests check with it.
 */
export async function temporaryObjects(warehouse: Warehouse): Promise<string[]> {
  const rows = await warehouse.allJson<{ object: string }>(
    `SELECT 'table ' || table_name AS object FROM duckdb_tables() WHERE temporary
     UNION ALL SELECT 'view ' || view_name FROM duckdb_views() WHERE temporary AND NOT internal
     UNION ALL SELECT DISTINCT 'macro ' || function_name FROM duckdb_functions() WHERE database_name = 'temp'
     ORDER BY 1`,
  );
  return rows.map((r) => r.object);
}
