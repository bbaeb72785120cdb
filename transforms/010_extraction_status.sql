-- 010_extraction_status
-- output: t_extraction_status (temp)      grain: account_id
-- inputs: cfg_accounts (temp, from the config), extractions, extract_windows, runs
-- purpose: for every configured account, its latest extraction and whether it is complete, and
-- the snapshot its state is built from: the latest complete FULL extraction (a full read is the
-- only one that can show a removal) plus every complete extraction started after it; with no
-- full extraction yet, every complete extraction. `failed_windows` names the windows that did
-- not complete; `incomplete_detail` says in words why an incomplete account is incomplete (the
-- completeness gate's message, `group_status.detail`), NULL for a complete one.
CREATE OR REPLACE TEMP TABLE t_extraction_status AS
WITH ext AS (
  SELECT e.*, r.started_at AS run_started_at
  FROM extractions e
  JOIN runs r USING (run_id)
),
latest AS (
  SELECT account_id,
         arg_max(run_id, (run_started_at, run_id)) AS run_id
  FROM ext
  GROUP BY account_id
),
snapshot AS (
  SELECT account_id, max(run_started_at) AS snapshot_started_at
  FROM ext
  WHERE status = 'complete' AND mode = 'full'
  GROUP BY account_id
),
failed_windows AS (
  SELECT run_id, account_id,
         list(strftime(window_from, '%Y-%m-%dT%H:%M:%SZ') || '/' || strftime(window_to, '%Y-%m-%dT%H:%M:%SZ')
              ORDER BY window_from) AS windows
  FROM extract_windows
  WHERE status = 'failed'
  GROUP BY ALL
)
SELECT a.account_id,
       l.run_id                          AS latest_run_id,
       e.status                          AS latest_status,
       e.mode                            AS latest_mode,
       e.range_from                      AS latest_range_from,
       e.range_to                        AS latest_range_to,
       e.error                           AS latest_error,
       coalesce(w.windows, [])           AS failed_windows,
       coalesce(e.status = 'complete', false) AS complete,
       s.snapshot_started_at,
       CASE
         WHEN l.run_id IS NULL THEN a.account_id || ': never extracted'
         WHEN e.status <> 'complete' THEN
           a.account_id || ': latest extraction (run ' || l.run_id || ') is ' || e.status || ', ' ||
           CASE
             WHEN len(coalesce(w.windows, [])) > 0 THEN
               'failed window(s) ' || array_to_string(w.windows[1:3], ', ') ||
               CASE WHEN len(w.windows) > 3 THEN ' and ' || (len(w.windows) - 3) || ' more' ELSE '' END
             ELSE 'range ' || coalesce(strftime(e.range_from, '%Y-%m-%dT%H:%M:%SZ'), '?') || '/' ||
                  coalesce(strftime(e.range_to, '%Y-%m-%dT%H:%M:%SZ'), '?')
           END ||
           CASE WHEN e.error IS NOT NULL AND e.error <> '' THEN ': ' || e.error ELSE '' END
       END                               AS incomplete_detail
FROM cfg_accounts a
LEFT JOIN latest l USING (account_id)
LEFT JOIN ext e ON e.account_id = l.account_id AND e.run_id = l.run_id
LEFT JOIN snapshot s ON s.account_id = a.account_id
LEFT JOIN failed_windows w ON w.account_id = l.account_id AND w.run_id = l.run_id;
