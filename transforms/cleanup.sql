-- cleanup
-- output: none (drops)
-- inputs: suppression_events_state, suppression_event_snapshots
-- purpose: what a transform that failed or was killed before publishing (090) left behind: its
-- `_next` tables, and event rows whose snapshot was never recorded (invisible in the view).
-- The runner runs this before every transform and after a failed one.
DROP TABLE IF EXISTS rejects_next;
DROP TABLE IF EXISTS suppression_accounts_next;
DROP TABLE IF EXISTS suppression_runs_next;
DROP TABLE IF EXISTS suppression_source_runs_next;
DROP TABLE IF EXISTS suppressions_state_next;
DROP TABLE IF EXISTS group_status_next;
DROP TABLE IF EXISTS discrepancies_next;
DROP TABLE IF EXISTS discrepancy_summary_next;
DELETE FROM suppression_events_state
WHERE snapshot_id NOT IN (SELECT snapshot_id FROM suppression_event_snapshots);
