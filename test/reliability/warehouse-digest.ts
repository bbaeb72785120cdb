// A content digest of a warehouse file: every table's and view's row count and an order-free hash
// of its rows. Two digests are equal only when no row was added, removed or changed, which is how
// the reliability suites prove "nothing written" after a refused input.
import { quoteIdent, Warehouse } from '../../extractors/core/warehouse.js';

export type WarehouseDigest = Record<string, { rows: string; hash: string }>;

export async function warehouseDigest(file: string): Promise<WarehouseDigest> {
  const warehouse = await Warehouse.open(file, { mode: 'read', command: 'test' });
  try {
    const relations = await warehouse.allJson<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE NOT internal AND NOT temporary
       UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary
       ORDER BY name`,
    );
    const digest: WarehouseDigest = {};
    for (const { name } of relations) {
      // Identifiers from the catalogue, quoted; the hash of a whole row covers every column.
      const [row] = await warehouse.allJson<{ rows: string; hash: string }>(
        `SELECT count(*)::VARCHAR AS rows, coalesce(sum(hash(r))::VARCHAR, '0') AS hash FROM ${quoteIdent(name)} r`,
      );
      digest[name] = row!;
    }
    return digest;
  } finally {
    await warehouse.close();
  }
}

/** Relations whose digest differs, with both sides, for a readable failure. */
export function digestChanges(before: WarehouseDigest, after: WarehouseDigest): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]))
    .map((name) => `${name}: ${before[name]?.rows ?? 'absent'} → ${after[name]?.rows ?? 'absent'} rows`);
}
