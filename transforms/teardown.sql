-- teardown
-- output: none (drops)
-- inputs: the temporary work of a transform: the input tables the runner loads (transform_params,
--         cfg_*) and the temp tables and view of 010–060
-- purpose: frees what the transform built for itself once its outcome is read, published or not.
-- A caller that keeps the connection (nightly: report and plan come next) would otherwise carry
-- it under the same memory limit to the end of the run (t_addresses holds a row for every value
-- each account delivered). The runner runs this last, after success and after failure.
DROP VIEW IF EXISTS t_source_rows;
DROP TABLE IF EXISTS t_addresses;
DROP TABLE IF EXISTS t_state_runs;
DROP TABLE IF EXISTS t_event_scopes;
DROP TABLE IF EXISTS t_event_snapshots;
DROP TABLE IF EXISTS t_full_snapshots;
DROP TABLE IF EXISTS t_run_numbers;
DROP TABLE IF EXISTS t_extraction_status;
DROP TABLE IF EXISTS transform_params;
DROP TABLE IF EXISTS cfg_group_members;
DROP TABLE IF EXISTS cfg_groups;
DROP TABLE IF EXISTS cfg_accounts;
