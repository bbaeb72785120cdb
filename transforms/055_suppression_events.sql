-- 055_suppression_events
-- output: t_event_snapshots, t_event_scopes (temp: the snapshots compared now and new scopes, with
--         their ids); rows appended to suppression_events_state, invisible until 090 records
--         their snapshots in suppression_event_snapshots (the view suppression_events joins it)
--         grain: account_id, scope, email_norm, run_id, event
-- inputs: t_addresses (025: snapshot_bits), t_full_snapshots (015), cfg_accounts, transform_params,
--         suppression_event_snapshots, suppression_event_scopes
-- purpose: the additions and removals observed between consecutive FULL snapshots of each
-- configured account. A snapshot is a complete full extraction of a committed run (succeeded or
-- partial), numbered in run start order (015). An address × scope seen in snapshot N and not in
-- N−1 is 'added' (every address of an account's first snapshot is 'added'); one seen in N−1 and
-- not in N is 'removed'. observed_at is snapshot N's finished_at; run_id is snapshot N's run. An
-- address counts as seen when some raw row of the snapshot normalises to it and is not a
-- reject; expiry does not matter here: an expired SendCloud entry is still held by the provider.
-- Incremental and range reads cannot show a removal and are ignored.
-- Built incrementally: a committed snapshot never changes, so each one is compared with its
-- predecessor once (the snapshots 015 marks `compare`, read through the window bits of 025) and
-- its rows are never rewritten. An event row keeps only the address and small numbers
-- (snapshot, scope, added); the view adds the names. Rows of a transform that fails before 090
-- stay invisible and are deleted by the next one (cleanup.sql).
CREATE OR REPLACE TEMP TABLE t_event_scopes AS
SELECT (SELECT coalesce(max(scope_id), 0) FROM suppression_event_scopes) + row_number() OVER (ORDER BY scope) AS scope_id,
       scope
FROM (SELECT DISTINCT scope FROM t_addresses WHERE usable AND snapshot_bits <> 0)
WHERE scope NOT IN (SELECT scope FROM suppression_event_scopes);

CREATE OR REPLACE TEMP TABLE t_event_snapshots AS
SELECT ((SELECT coalesce(max(snapshot_id), 0) FROM suppression_event_snapshots)
          + row_number() OVER (ORDER BY account_id, n))::INTEGER AS snapshot_id,
       account_id, run_id, finished_at AS observed_at, (SELECT now FROM transform_params) AS compared_at,
       bit, n > 1 AS has_predecessor   -- then the predecessor is the snapshot at bit - 1 (015)
FROM t_full_snapshots
WHERE compare;

INSERT INTO suppression_events_state
WITH compared AS (
  SELECT s.snapshot_id, a.account_no, s.bit, s.has_predecessor
  FROM t_event_snapshots s
  JOIN cfg_accounts a USING (account_id)
),
presence AS (
  SELECT c.snapshot_id, t.scope, t.value AS email_norm,
         (t.snapshot_bits >> c.bit) & 1 = 1                                       AS seen_now,
         c.has_predecessor AND (t.snapshot_bits >> (c.bit - 1)) & 1 = 1           AS seen_before
  FROM t_addresses t
  JOIN compared c USING (account_no)
  WHERE t.usable AND t.snapshot_bits <> 0
),
scopes AS (
  SELECT scope_id, scope FROM suppression_event_scopes
  UNION ALL
  SELECT scope_id, scope FROM t_event_scopes
)
SELECT p.snapshot_id, sc.scope_id, p.email_norm, p.seen_now AS added
FROM presence p
JOIN scopes sc USING (scope)
WHERE p.seen_now <> p.seen_before;
