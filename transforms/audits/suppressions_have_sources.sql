-- audit: suppressions_have_sources
-- inputs: suppressions_state_next (041), t_addresses (025), suppression_source_runs_next (040),
--         stage_raw_rows, cfg_accounts
-- purpose: no suppression without a raw row, and no raw row dropped silently: every suppression
-- counts at least one raw row behind it, and per account the raw rows of the runs its state was
-- built from (counted straight from the raw layer) equal the rows its suppressions count plus
-- the rows that went to rejects; any row returned fails the run.
WITH raw AS (
  SELECT account_id, count(*) AS raw_rows
  FROM stage_raw_rows
  JOIN suppression_source_runs_next USING (account_id, run_id)
  GROUP BY account_id
),
held AS (
  SELECT a.account_id, sum(s.source_rows) AS held_rows,
         count(*) FILTER (WHERE s.source_rows < 1) AS without_rows
  FROM suppressions_state_next s
  JOIN cfg_accounts a USING (account_no)
  GROUP BY a.account_id
),
rejected AS (
  SELECT a.account_id, sum(t.state_rows) AS rejected_rows
  FROM t_addresses t
  JOIN cfg_accounts a USING (account_no)
  WHERE NOT t.usable
  GROUP BY a.account_id
)
SELECT a.account_id, r.raw_rows, h.held_rows, j.rejected_rows, h.without_rows
FROM cfg_accounts a
LEFT JOIN raw r USING (account_id)
LEFT JOIN held h USING (account_id)
LEFT JOIN rejected j USING (account_id)
WHERE coalesce(h.without_rows, 0) > 0
   OR coalesce(r.raw_rows, 0) <> coalesce(h.held_rows, 0) + coalesce(j.rejected_rows, 0);
