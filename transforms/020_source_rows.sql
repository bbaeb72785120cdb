-- 020_source_rows
-- output: t_state_runs (temp)      grain: account_id, run_id;
--         t_source_rows (temp view)      grain: run_no, account_no, request_seq, page, row_no
-- inputs: stage_raw_rows (only rows of committed runs: every run it reads is a complete
--         extraction of a succeeded or partial run), runs, extractions, t_extraction_status,
--         t_full_snapshots (015), t_run_numbers (017), cfg_accounts; the macros of 012
-- purpose: every raw row any later transform reads, normalised: the rows of each
-- account's current snapshot (`in_state`: the runs of t_state_runs, see 010; 040 keeps them in
-- suppression_source_runs for the view suppression_sources) and the rows of the full snapshots that
-- suppression_events compares this time (`snapshot_bit`, the snapshot's bit in the window of
-- 015; NULL for other rows):
--  * email_norm and reject_reason: the rules of 012;
--  * local_time: the provider's wall time read with the provider's time format (epoch seconds
--    and ISO 8601 instants with an offset: the UTC wall time), NULL where the provider gives no
--    time (WhatCounts) or it is unreadable. It is NOT turned into UTC here: 041 converts once
--    per kept address (the earliest wall time is the earliest instant, see there);
--  * expires_local: SendCloud `expireTime` as a wall time in the account's zone (NULL: never,
--    or unreadable, which keeps the entry active).
-- Time formats are literals because DuckDB's strptime needs a constant format; the runner
-- refuses a provider whose format is not listed here. A view, not a table: 025 reads it once,
-- in the same pass that aggregates it, so the normalised rows are never stored.

CREATE OR REPLACE TEMP TABLE t_state_runs AS
SELECT e.account_id, e.run_id
FROM extractions e
JOIN runs r USING (run_id)
JOIN t_extraction_status s USING (account_id)
WHERE e.status = 'complete' AND r.status IN ('succeeded', 'partial')
  AND (s.snapshot_started_at IS NULL OR r.started_at >= s.snapshot_started_at);

CREATE OR REPLACE TEMP VIEW t_source_rows AS
WITH wanted AS (
  -- one row per run × account: the references are computed here, not per raw row
  SELECT w.run_id, w.account_id, n.run_no, a.account_no, w.in_state, w.snapshot_bit, a.time_format
  FROM (
    SELECT coalesce(st.run_id, sn.run_id) AS run_id, coalesce(st.account_id, sn.account_id) AS account_id,
           st.run_id IS NOT NULL AS in_state, sn.bit AS snapshot_bit
    FROM t_state_runs st
    FULL OUTER JOIN (SELECT * FROM t_full_snapshots WHERE bit IS NOT NULL) sn USING (run_id, account_id)
  ) w
  JOIN cfg_accounts a USING (account_id)
  JOIN t_run_numbers n USING (run_id)
),
base AS (
  SELECT w.run_no, w.account_no, r.request_seq, r.page, r.row_no, r.fetched_at,
         r.raw_email, r.raw_time, r.raw_expires, coalesce(r.scope, 'global') AS scope,
         w.in_state, w.snapshot_bit, w.time_format,
         normalise_email(coalesce(r.raw_email, '')) AS email_norm
  FROM stage_raw_rows r
  JOIN wanted w USING (run_id, account_id)
)
SELECT run_no, account_no, request_seq, page, row_no, fetched_at, in_state, snapshot_bit,
       raw_email, scope, email_norm,
       email_reject_reason(email_norm) AS reject_reason,
       CASE time_format
         WHEN '%Y-%m-%d %H:%M:%S' THEN try_strptime(raw_time, '%Y-%m-%d %H:%M:%S')
         WHEN '%Y-%m-%d' THEN try_strptime(raw_time, '%Y-%m-%d')
         WHEN 'epoch-seconds' THEN to_timestamp(try_cast(raw_time AS DOUBLE))::TIMESTAMP
         -- an instant with its own offset; the session runs in UTC, so this is the UTC wall time
         WHEN 'iso8601' THEN try_cast(raw_time AS TIMESTAMPTZ)::TIMESTAMP
       END AS local_time,
       CASE WHEN raw_expires IS NOT NULL THEN try_strptime(raw_expires, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d']) END AS expires_local
FROM base;
