-- nightly: new_suppressions
-- output: one row per account with new suppressions      grain: account_id
-- inputs: suppressions (just rebuilt); $run_id the nightly run
-- purpose: addresses (per scope) an account holds that no earlier run had delivered.
SELECT account_id, count(*)::VARCHAR AS n
FROM suppressions
WHERE first_seen_run = $run_id
GROUP BY account_id;
