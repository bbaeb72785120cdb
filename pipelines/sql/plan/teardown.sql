-- plan/teardown
-- output: none      grain: none
-- inputs: the temp macros of add_candidates.sql and delete_candidates.sql
-- purpose: drops them when planning ends, so a caller that keeps the connection (nightly,
-- migrate) is left as it was. Two statements, run without parameters.
DROP MACRO TABLE IF EXISTS plan_add_candidates;
DROP MACRO TABLE IF EXISTS plan_delete_candidates;
