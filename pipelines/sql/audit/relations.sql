-- audit/relations
-- output: which of the relations `audit` reads exist      grain: table_name
-- inputs: information_schema.tables (tables and views); $names the relations wanted
-- purpose: tell "no transform has run yet" apart from an address nobody holds.
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'main' AND list_contains($names::VARCHAR[], table_name)
ORDER BY table_name;
