-- runs: list
-- output: one row per run, newest first      grain: run_id
-- inputs: runs, extractions; $limit how many
-- purpose: `unsub-recon runs`: each run with its status and what it extracted (accounts
-- extracted and complete, rows staged; 0 for runs that extracted nothing).
SELECT r.run_id, r.command, r.status, r.started_at, r.finished_at, r.error,
       count(e.account_id)                                       AS accounts,
       count(e.account_id) FILTER (WHERE e.status = 'complete')  AS accounts_complete,
       coalesce(sum(e.rows), 0)                                  AS rows
FROM runs r
LEFT JOIN extractions e USING (run_id)
GROUP BY ALL
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT $limit;
