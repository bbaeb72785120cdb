-- nightly: previous_suppressions
-- output: nightly_previous_suppressions (temp)      grain: account_id, scope, email_norm
-- inputs: suppressions (as the previous transform left it), extractions; $run_id the nightly run
-- purpose: what the accounts this run re-read in full (`--full`) held before it. A full
-- extraction is the account's new snapshot, so every address it delivers has this run as its
-- first_seen_run; new_suppressions.sql counts only those the account did not hold before.
-- Accounts read incrementally need nothing here (their earlier runs still count).
CREATE OR REPLACE TEMP TABLE nightly_previous_suppressions AS
SELECT s.account_id, s.scope, s.email_norm
FROM suppressions s
WHERE s.account_id IN (SELECT account_id FROM extractions WHERE run_id = $run_id AND mode = 'full');
