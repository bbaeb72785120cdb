-- 030_rejects
-- output: rejects_next (090 publishes it as rejects)      grain: account_id, raw_value
-- inputs: t_addresses (025), cfg_accounts, t_run_numbers (017)
-- purpose: every raw value of the accounts' current snapshots that is not a usable address, with
-- the reason (never dropped silently). One row per account and raw value however often (and in
-- whatever scope) it was seen; run_id is the first extraction run that delivered it.
CREATE OR REPLACE TABLE rejects_next AS
SELECT n.run_id, a.account_id, r.raw_value, r.reason
FROM (
  SELECT account_no, value AS raw_value, min(first_run_no) AS first_run_no, any_value(reject_reason) AS reason
  FROM t_addresses
  WHERE NOT usable AND state_rows > 0
  GROUP BY account_no, value
) r
JOIN cfg_accounts a USING (account_no)
JOIN t_run_numbers n ON n.run_no = r.first_run_no
ORDER BY a.account_id, r.raw_value;
