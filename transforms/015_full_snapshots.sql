-- 015_full_snapshots
-- output: t_full_snapshots (temp)      grain: account_id, n (also unique: run_id, account_id)
-- inputs: extractions, runs, cfg_accounts, suppression_event_snapshots (migration 005)
-- purpose: the full snapshots of each configured account, numbered: a snapshot is a complete
-- full extraction of a committed run (succeeded or partial); n counts from 1 in run start order.
-- suppression_events is built incrementally (055): suppression_event_snapshots remembers each
-- snapshot already compared with its predecessor. This transform compares the oldest pending
-- ones, at most 126 per account: `compare` marks them, and `bit` numbers the window of
-- snapshots whose rows 020 reads for it (the pending ones and the predecessor of the first),
-- 0…126, so 025 can record which of them hold an address in one 127-bit HUGEINT. A longer
-- backlog (only when events were never built for months of snapshots) is finished by the next
-- transforms; the command says so.
CREATE OR REPLACE TEMP TABLE t_full_snapshots AS
WITH numbered AS (
  SELECT e.run_id, e.account_id, e.finished_at,
         row_number() OVER (PARTITION BY e.account_id ORDER BY r.started_at, e.run_id) AS n,
         EXISTS (SELECT 1 FROM suppression_event_snapshots d
                 WHERE d.account_id = e.account_id AND d.run_id = e.run_id) AS compared_before
  FROM extractions e
  JOIN runs r USING (run_id)
  JOIN cfg_accounts a USING (account_id)
  WHERE e.mode = 'full' AND e.status = 'complete' AND r.status IN ('succeeded', 'partial')
),
pending AS (
  SELECT account_id, min(n) AS first_pending
  FROM numbered
  WHERE NOT compared_before
  GROUP BY account_id
),
windowed AS (
  SELECT s.*, p.first_pending,
         -- the window starts at the predecessor of the first pending snapshot (if any)
         s.n - greatest(p.first_pending - 1, 1) AS offset_in_window
  FROM numbered s
  LEFT JOIN pending p USING (account_id)
)
SELECT run_id, account_id, finished_at, n,
       CASE WHEN offset_in_window BETWEEN 0 AND 126 THEN offset_in_window END     AS bit,
       NOT compared_before AND offset_in_window BETWEEN 0 AND 126                 AS compare,
       NOT compared_before AND NOT coalesce(offset_in_window BETWEEN 0 AND 126, false) AS deferred
FROM windowed;
