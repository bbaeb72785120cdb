-- plan/transform_tables
-- output: which of the relations planning reads exist      grain: table_name
-- inputs: information_schema.tables (tables and views); params $tables
-- purpose: tell "no transform has run yet" apart from an empty diff, before any other query.
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'main' AND list_contains($tables::VARCHAR[], table_name)
ORDER BY table_name;
