-- bench/scale-rows-load.sql
-- output: stage_raw_rows of a scratch warehouse      grain: one row per line of $file
-- inputs: $file (bench/scale-rows-export.sql)
-- purpose: the staging limit of bench/scale.ts — DuckDB's own `read_json` loading the very rows
-- the nightly staged into a table of the same shape and column types (`raw` typed JSON), the
-- columns declared as the stager knows them (no detection pass).
INSERT INTO stage_raw_rows (run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
                            fetched_at, raw, raw_time, raw_email, scope, raw_expires)
SELECT run_id, account_id, provider, request_seq, window_from, window_to, page, row_no,
       fetched_at, raw, raw_time, raw_email, scope, raw_expires
FROM read_json($file, format = 'newline_delimited', columns = {
  run_id: 'VARCHAR', account_id: 'VARCHAR', provider: 'VARCHAR', request_seq: 'INTEGER',
  window_from: 'TIMESTAMPTZ', window_to: 'TIMESTAMPTZ', page: 'INTEGER', row_no: 'INTEGER',
  fetched_at: 'TIMESTAMPTZ', raw: 'JSON', raw_time: 'VARCHAR', raw_email: 'VARCHAR', scope: 'VARCHAR',
  raw_expires: 'VARCHAR'});
