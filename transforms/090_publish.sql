-- 090_publish
-- phase: publish
-- output: rejects, suppressions_state, suppression_accounts, suppression_runs,
--         suppression_source_runs, group_status, discrepancies, discrepancy_summary (the `_next`
--         tables renamed), suppression_event_snapshots and suppression_event_scopes (appended),
--         views suppressions and suppression_sources
-- inputs: the `_next` tables (030–065), t_event_snapshots and t_event_scopes (055)
-- purpose: makes this transform's results the warehouse's, all at once: the runner runs this
-- file in ONE transaction, after every audit passed. Renames are catalog changes, so the
-- transaction is short whatever the data size; until it commits, readers see the previous
-- results, and a failure anywhere before leaves them in place.
DROP TABLE IF EXISTS rejects;
ALTER TABLE rejects_next RENAME TO rejects;
DROP TABLE IF EXISTS suppression_accounts;
ALTER TABLE suppression_accounts_next RENAME TO suppression_accounts;
DROP TABLE IF EXISTS suppression_runs;
ALTER TABLE suppression_runs_next RENAME TO suppression_runs;
DROP TABLE IF EXISTS suppression_source_runs;
ALTER TABLE suppression_source_runs_next RENAME TO suppression_source_runs;
DROP TABLE IF EXISTS suppressions_state;
ALTER TABLE suppressions_state_next RENAME TO suppressions_state;
DROP TABLE IF EXISTS group_status;
ALTER TABLE group_status_next RENAME TO group_status;
DROP TABLE IF EXISTS discrepancies;
ALTER TABLE discrepancies_next RENAME TO discrepancies;
DROP TABLE IF EXISTS discrepancy_summary;
ALTER TABLE discrepancy_summary_next RENAME TO discrepancy_summary;

-- the event rows 055 appended become visible with their snapshots
INSERT INTO suppression_event_scopes SELECT scope_id, scope FROM t_event_scopes;
INSERT INTO suppression_event_snapshots
SELECT snapshot_id, account_id, run_id, observed_at, compared_at FROM t_event_snapshots;

CREATE OR REPLACE VIEW suppressions AS
SELECT a.account_id,
       a.provider,
       coalesce(s.email, s.email_norm) AS email,
       s.email_norm,
       s.scope,
       s.unsubscribed_at,
       s.expires_at,
       s.active,
       json_object('observed_at', s.observed_at, 'source_rows', s.source_rows) AS detail,
       f.run_id                        AS first_seen_run,
       l.run_id                        AS last_seen_run
FROM suppressions_state s
JOIN suppression_accounts a USING (account_no)
JOIN suppression_runs f ON f.run_no = s.first_run_no
JOIN suppression_runs l ON l.run_no = s.last_run_no;

CREATE OR REPLACE VIEW suppression_sources AS
SELECT r.account_id, coalesce(r.scope, 'global') AS scope, normalise_email(coalesce(r.raw_email, '')) AS email_norm,
       r.run_id, r.request_seq, r.page, r.row_no
FROM stage_raw_rows r
JOIN suppression_source_runs USING (account_id, run_id)
WHERE email_reject_reason(normalise_email(coalesce(r.raw_email, ''))) IS NULL;
