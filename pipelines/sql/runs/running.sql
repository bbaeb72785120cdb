-- runs: running
-- output: one row per run still marked running      grain: run_id
-- inputs: runs
-- purpose: `prune` never removes the directory of a run that may still be writing it.
SELECT run_id FROM runs WHERE status = 'running';
