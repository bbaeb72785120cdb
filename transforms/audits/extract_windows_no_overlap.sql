-- audit: extract_windows_no_overlap
-- inputs: extract_windows, runs, cfg_accounts
-- purpose: within one committed run, account and scope, the completed windows must not overlap
-- (an overlap reads the same rows twice under two windows and can hide a gap elsewhere); any
-- row returned fails the run. A split window is replaced by its halves and does not count.
WITH windows AS (
  SELECT w.run_id, w.account_id, w.scope, w.window_no, w.window_from, w.window_to,
         lag(w.window_to) OVER (PARTITION BY w.run_id, w.account_id, w.scope
                                ORDER BY w.window_from, w.window_to, w.window_no) AS previous_to
  FROM extract_windows w
  JOIN runs r USING (run_id)
  JOIN cfg_accounts a USING (account_id)
  WHERE w.status = 'complete' AND r.status IN ('succeeded', 'partial')
)
SELECT run_id, account_id, scope, window_no, window_from, window_to, previous_to
FROM windows
WHERE previous_to > window_from;
