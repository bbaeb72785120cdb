-- 041_suppressions_by_account
-- output: suppressions_state_next, the rows of account $account_no      grain: account_no, scope, email_norm
-- inputs: t_addresses (025), cfg_accounts, transform_params; $account_no, $zone: the runner runs
--         this file once per account with its zone bound (DuckDB converts ~10× faster with a
--         constant zone; t_addresses is clustered by account, so each pass reads one account's blocks)
-- purpose: one row per usable address of each account's current snapshot:
--  * unsubscribed_at: the earliest time. 025 took the earliest wall time and only that one is
--    turned into UTC here (one conversion per kept address, not per row): wall time → instant
--    is non-decreasing (an ambiguous time is the later, standard-time instant, as ICU and the
--    scenario's ground truth do), so the earliest wall time is the earliest instant. A wall
--    time inside a DST gap, which no provider clock shows, is the one exception: it counts by
--    its wall time. Formats that carry their own offset were read as UTC wall times;
--  * expires_at: the latest expiry, in the account's zone; NULL when some row never expires
--    (or its expiry is unreadable); active when that is NULL or after the transform's clock;
--  * email (NULL when it equals email_norm), observed_at, first_run_no, last_run_no: as 025;
--    source_rows: the raw rows behind it (listed by the view suppression_sources, 040).
INSERT INTO suppressions_state_next
SELECT account_no, email, email_norm, scope, unsubscribed_at, expires_at,
       expires_at IS NULL OR expires_at > (SELECT now FROM transform_params) AS active,
       observed_at, source_rows, first_run_no, last_run_no
FROM (
  SELECT t.account_no, t.email, t.value AS email_norm, t.scope,
         CASE WHEN a.time_format IN ('epoch-seconds', 'iso8601') THEN timezone('UTC', t.first_local_time)
              ELSE timezone($zone, t.first_local_time) END                   AS unsubscribed_at,
         CASE WHEN NOT t.some_never_expires THEN timezone($zone, t.last_expires_local) END AS expires_at,
         t.observed_at, t.state_rows AS source_rows, t.first_run_no, t.last_run_no
  FROM t_addresses t
  JOIN cfg_accounts a USING (account_no)
  WHERE t.account_no = $account_no::SMALLINT AND t.usable AND t.state_rows > 0
);
