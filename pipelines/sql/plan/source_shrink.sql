-- plan/source_shrink
-- output: the source's change between its last two full snapshots      grain: 0 or 1 row
-- inputs: extractions, runs, suppression_events; params $source, $scope
-- purpose: the sudden-shrink guard of mirror planning. Snapshots are the source's complete full
-- extractions of committed runs in run order (the ones suppression_events compares); a
-- snapshot's size is the running sum of its `added` minus `removed` events. `removed` is how
-- many addresses of the previous snapshot the latest one lacks: a source that lost a large part
-- of its list overnight is more likely a broken read than people re-subscribing, and mirroring
-- it would delete opt-outs everywhere. No row before the source has two full snapshots.
WITH snapshots AS (
  SELECT e.run_id, row_number() OVER (ORDER BY r.started_at, e.run_id) AS n
  FROM extractions e
  JOIN runs r USING (run_id)
  WHERE e.account_id = $source AND e.mode = 'full' AND e.status = 'complete'
    AND r.status IN ('succeeded', 'partial')
),
counted AS (
  SELECT s.n, s.run_id,
         count(ev.email_norm) FILTER (WHERE ev.event = 'added')   AS added,
         count(ev.email_norm) FILTER (WHERE ev.event = 'removed') AS removed
  FROM snapshots s
  LEFT JOIN suppression_events ev
    ON ev.run_id = s.run_id AND ev.account_id = $source AND ev.scope = $scope
  GROUP BY s.n, s.run_id
),
sized AS (
  SELECT n, run_id, removed, sum(added - removed) OVER (ORDER BY n) AS size
  FROM counted
)
SELECT latest.run_id AS latest_run_id, prev.run_id AS previous_run_id,
       prev.size::BIGINT AS previous_size, latest.size::BIGINT AS latest_size, latest.removed::BIGINT AS removed
FROM sized latest
JOIN sized prev ON prev.n = latest.n - 1
WHERE latest.n = (SELECT max(n) FROM sized);
