-- report: completeness
-- output: the completeness view      grain: account_id
-- inputs: extractions, extract_windows, runs
-- purpose: each extracted account's latest extraction (what the completeness gate looks at) and
-- its latest complete full extraction (the snapshot its state starts from), with window counts,
-- the provider's own totals where it reports them, and the windows that failed. Accounts in the
-- config that were never extracted are added by the caller.
WITH ext AS (
  SELECT e.*, r.started_at AS run_started_at
  FROM extractions e
  JOIN runs r USING (run_id)
),
latest AS (
  SELECT account_id, arg_max(run_id, (run_started_at, run_id)) AS run_id
  FROM ext GROUP BY account_id
),
last_full AS (
  SELECT account_id,
         arg_max(run_id, (run_started_at, run_id)) AS full_run_id,
         max(finished_at)                           AS full_finished_at
  FROM ext
  WHERE status = 'complete' AND mode = 'full'
  GROUP BY account_id
),
windows AS (
  SELECT run_id, account_id,
         count(*) FILTER (WHERE status = 'complete')                     AS windows_complete,
         sum(provider_total)                                             AS provider_total,
         list(strftime(window_from, '%Y-%m-%dT%H:%M:%SZ') || '/' || strftime(window_to, '%Y-%m-%dT%H:%M:%SZ')
              || coalesce(': ' || error, '') ORDER BY window_from) FILTER (WHERE status = 'failed') AS failed_windows
  FROM extract_windows
  GROUP BY run_id, account_id
)
SELECT e.account_id, e.provider, e.run_id, e.mode, e.status, e.range_from, e.range_to,
       e.windows, e.windows_failed, coalesce(w.windows_complete, 0) AS windows_complete,
       e.requests, e.retries, e.rows, w.provider_total, e.coverage_ok, e.error,
       e.started_at, e.finished_at,
       coalesce(w.failed_windows, [])   AS failed_windows,
       f.full_run_id, f.full_finished_at
FROM latest l
JOIN ext e ON e.account_id = l.account_id AND e.run_id = l.run_id
LEFT JOIN windows w ON w.run_id = e.run_id AND w.account_id = e.account_id
LEFT JOIN last_full f ON f.account_id = e.account_id
WHERE $group IS NULL
   OR e.account_id IN (SELECT unnest(members) FROM group_status WHERE group_id = $group)
ORDER BY e.account_id;
