-- 017_run_numbers
-- output: t_run_numbers (temp)      grain: run_no (also unique: run_id)
-- inputs: runs
-- purpose: every run numbered in start order. The big derived tables refer to a run by this
-- small number instead of its name (a fraction of the cost to write, compare and aggregate for
-- millions of rows), and min()/max() over it give the first and the last run; 040 keeps the
-- numbering in suppression_runs for the views.
CREATE OR REPLACE TEMP TABLE t_run_numbers AS
SELECT row_number() OVER (ORDER BY started_at, run_id)::INTEGER AS run_no, run_id
FROM runs;
