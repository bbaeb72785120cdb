-- bench/scale-windows.sql
-- output: one row per page the extraction $run_id fetched for account $account_id, in window order
-- grain: window_no, page
-- inputs: stage_extract_windows, stage_raw_rows (the nightly's own records)
-- purpose: what bench/scale-fetch.ts needs to send the very requests the pipeline sent: every
-- completed window (its range, scope and the params it sent), each of its pages, and the rows
-- the pipeline parsed from that page (the paginator's stop rule reads them). A page without
-- rows (the empty last page of some stop rules) has rows 0. Split and failed windows are left
-- out: their requests timed out or failed, and the leaves that replaced them are listed.
WITH pages AS (
  SELECT w.window_no, w.scope, w.window_from, w.window_to, w.params, w.provider_total,
         w.pages, unnest(generate_series(1, w.pages)) AS page
  FROM stage_extract_windows w
  WHERE w.run_id = $run_id AND w.account_id = $account_id AND w.status = 'complete'
),
counted AS (
  SELECT window_from, window_to, coalesce(scope, 'global') AS scope, page, count(*) AS rows
  FROM stage_raw_rows
  WHERE run_id = $run_id AND account_id = $account_id
  GROUP BY ALL
)
SELECT p.window_no, p.scope, p.window_from, p.window_to, p.params::VARCHAR AS params,
       p.provider_total, p.page::INTEGER AS page, coalesce(c.rows, 0) AS rows
FROM pages p
LEFT JOIN counted c USING (window_from, window_to, scope, page)
ORDER BY p.window_no, p.page;
