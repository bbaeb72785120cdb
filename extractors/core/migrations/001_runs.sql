-- 001_runs
-- output: runs      grain: run_id
-- purpose: one row per command run and its lifecycle, running → succeeded | failed | partial.
-- The `running` row is committed on its own when the run starts, so a crash leaves a trace; a
-- run's staged rows count for derived tables and contract views only once its status is
-- `succeeded` or `partial` (DESIGN.md, "A run becomes visible only when it commits").
-- `pid` lets the next writer say which process left a run behind.
CREATE TABLE runs (
  run_id      VARCHAR PRIMARY KEY,
  command     VARCHAR NOT NULL,
  args        JSON,
  started_at  TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  status      VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial')),
  error       VARCHAR,
  pid         INTEGER NOT NULL
);
