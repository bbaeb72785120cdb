-- report: account_counts
-- output: the bar chart of each group      grain: group_id, kind, account_id
-- inputs: discrepancies, discrepancy_summary, group_status
-- purpose: per member of a diffed group and kind, how many discrepant addresses it lacks
-- (`missing_here`: what it would have to add, or for `extra`, what it lacks that targets hold)
-- and how many it holds that some other member lacks (`held_here`). Every member appears for
-- every kind its group's policy produces, with 0 where it has none.
WITH members AS (
  SELECT group_id, account_id, list_position(members, account_id) AS position
  FROM (SELECT group_id, members, unnest(members) AS account_id
        FROM group_status
        WHERE diffed AND ($group IS NULL OR group_id = $group))
),
kinds AS (
  SELECT DISTINCT group_id, kind FROM discrepancy_summary
),
roles AS (
  SELECT group_id, kind, unnest(missing_from) AS account_id, 1 AS missing, 0 AS held FROM discrepancies
  UNION ALL
  SELECT group_id, kind, unnest(present_in) AS account_id, 0 AS missing, 1 AS held FROM discrepancies
),
counts AS (
  SELECT group_id, kind, account_id, sum(missing) AS missing_here, sum(held) AS held_here
  FROM roles
  GROUP BY ALL
)
SELECT m.group_id, k.kind, m.account_id,
       coalesce(c.missing_here, 0)::BIGINT AS missing_here,
       coalesce(c.held_here, 0)::BIGINT    AS held_here
FROM members m
JOIN kinds k USING (group_id)
LEFT JOIN counts c ON c.group_id = m.group_id AND c.kind = k.kind AND c.account_id = m.account_id
ORDER BY m.group_id, k.kind, m.position;
