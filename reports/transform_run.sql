-- report: transform_run
-- output: one row: the transform (or nightly) run whose results the report shows
-- inputs: group_status, runs
-- purpose: `group_status` is rebuilt by every transform and carries that run's id, so it names
-- the run the discrepancies, summary and rejects belong to. No row: no transform has run yet.
SELECT r.run_id, r.command, r.started_at, r.finished_at, r.status, r.args
FROM runs r
WHERE r.run_id = (SELECT any_value(run_id) FROM group_status);
