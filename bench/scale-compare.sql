-- bench/scale-compare.sql
-- output: one row per group × kind found on either side      grain: group_id, kind
-- inputs: discrepancies (the view the nightly's transform published), scale_hand_discrepancies
--         (bench/scale-diff.sql)
-- purpose: checks the hand-written limit row for row against the pipeline: per group and kind,
-- the rows on each side and the rows of each side the other lacks (whole rows compared: address,
-- present_in, missing_from, first_unsubscribed_at, kind). bench/scale.ts fails the run unless
-- both "only" counts are 0 everywhere.
WITH ours AS (
  SELECT group_id, email_norm, present_in, missing_from, first_unsubscribed_at, kind FROM discrepancies
),
hand AS (
  SELECT group_id, email_norm, present_in, missing_from, first_unsubscribed_at, kind
  FROM scale_hand_discrepancies
),
counted AS (
  SELECT group_id, kind, 'ours' AS side, count(*) AS n FROM ours GROUP BY ALL
  UNION ALL
  SELECT group_id, kind, 'hand', count(*) FROM hand GROUP BY ALL
  UNION ALL
  SELECT group_id, kind, 'only_ours', count(*) FROM (SELECT * FROM ours EXCEPT ALL SELECT * FROM hand) GROUP BY ALL
  UNION ALL
  SELECT group_id, kind, 'only_hand', count(*) FROM (SELECT * FROM hand EXCEPT ALL SELECT * FROM ours) GROUP BY ALL
)
SELECT group_id, kind,
       coalesce(sum(n) FILTER (WHERE side = 'ours'), 0)::BIGINT AS ours,
       coalesce(sum(n) FILTER (WHERE side = 'hand'), 0)::BIGINT AS hand,
       coalesce(sum(n) FILTER (WHERE side = 'only_ours'), 0)::BIGINT AS only_ours,
       coalesce(sum(n) FILTER (WHERE side = 'only_hand'), 0)::BIGINT AS only_hand
FROM counted
GROUP BY group_id, kind
ORDER BY group_id, kind;
