-- nightly: new_suppressions
-- output: one row per account with new suppressions      grain: account_id
-- inputs: suppressions (just rebuilt), nightly_previous_suppressions (previous_suppressions.sql);
--         $run_id the nightly run
-- purpose: addresses (per scope) an account holds that no earlier run had delivered: first seen
-- in this run, and not held before it by an account this run re-read in full.
SELECT s.account_id, count(*)::VARCHAR AS n
FROM suppressions s
ANTI JOIN nightly_previous_suppressions p USING (account_id, scope, email_norm)
WHERE s.first_seen_run = $run_id
GROUP BY s.account_id;
