-- bench/scale-rows-export.sql
-- output: the file $file, newline-delimited JSON, one object per raw row of run $run_id
-- inputs: stage_raw_rows
-- purpose: the staging limit's input (bench/scale.ts, not timed): the rows the nightly staged,
-- flat, with every column of stage_raw_rows, for DuckDB's own reader to load (scale-rows-load.sql).
COPY (
  SELECT run_id, account_id, provider, request_seq, window_from, window_to, page, row_no, fetched_at,
         raw, raw_time, raw_email, scope, raw_expires
  FROM stage_raw_rows
  WHERE run_id = $run_id
) TO $file (FORMAT json);
