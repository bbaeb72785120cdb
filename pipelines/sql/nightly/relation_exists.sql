-- nightly: relation_exists
-- output: one row      grain: —
-- inputs: duckdb_tables(), duckdb_views(); $name a table or view name
-- purpose: whether a derived relation exists yet (none does before the first transform), be it
-- built as a table or exposed as a view.
SELECT count(*)::VARCHAR AS n
FROM (
  SELECT table_name AS name FROM duckdb_tables() WHERE schema_name = 'main'
  UNION ALL
  SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal
)
WHERE name = $name;
