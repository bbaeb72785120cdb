-- audit: suppression_events_have_evidence
-- inputs: suppression_events_state, t_event_snapshots (055), extractions, t_addresses (025)
-- purpose: the snapshots this transform compared are complete full extractions of their
-- account, and the events it appended balance: for each such snapshot N, the addresses seen in N
-- equal those seen in N−1 plus N's 'added' minus N's 'removed' (an event missing, doubled or on
-- the wrong snapshot breaks it); any row returned fails the run.
WITH compared AS (
  SELECT s.snapshot_id, s.account_id, a.account_no, s.run_id, s.bit, s.has_predecessor
  FROM t_event_snapshots s
  JOIN cfg_accounts a USING (account_id)
),
patterns AS (
  -- few distinct bit patterns: count per pattern once, then test the bits on this small table
  SELECT account_no, snapshot_bits, count(*) AS addresses
  FROM t_addresses
  WHERE usable AND snapshot_bits <> 0
  GROUP BY ALL
),
seen AS (
  SELECT c.snapshot_id,
         sum(p.addresses) FILTER (WHERE (p.snapshot_bits >> c.bit) & 1 = 1)                             AS seen_now,
         sum(p.addresses) FILTER (WHERE c.has_predecessor AND (p.snapshot_bits >> (c.bit - 1)) & 1 = 1) AS seen_before
  FROM compared c
  JOIN patterns p USING (account_no)
  GROUP BY ALL
),
changed AS (
  SELECT snapshot_id,
         count(*) FILTER (WHERE added)     AS added,
         count(*) FILTER (WHERE NOT added) AS removed
  FROM suppression_events_state
  WHERE snapshot_id IN (SELECT snapshot_id FROM compared)
  GROUP BY ALL
)
SELECT c.account_id, c.run_id, 'unbalanced' AS problem,
       coalesce(s.seen_now, 0) AS seen,
       coalesce(s.seen_before, 0) + coalesce(ch.added, 0) - coalesce(ch.removed, 0) AS expected
FROM compared c
LEFT JOIN seen s USING (snapshot_id)
LEFT JOIN changed ch USING (snapshot_id)
WHERE coalesce(s.seen_now, 0) <> coalesce(s.seen_before, 0) + coalesce(ch.added, 0) - coalesce(ch.removed, 0)
UNION ALL
SELECT c.account_id, c.run_id, 'not a complete full extraction', NULL, NULL
FROM compared c
WHERE NOT EXISTS (
  SELECT 1 FROM extractions e
  WHERE e.run_id = c.run_id AND e.account_id = c.account_id AND e.mode = 'full' AND e.status = 'complete'
);
