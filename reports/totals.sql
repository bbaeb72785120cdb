-- report: totals
-- output: the report's counts      grain: what, group_id, kind
-- inputs: discrepancies, group_status, rejects
-- purpose: how many rows discrepancies.csv and rejects.csv hold (per group and kind, and the
-- rejects as one row), counted in SQL: the page embeds only the first rows of each, so its
-- figures, the command's counts and the cut-off banner come from here.
SELECT 'discrepancies' AS what, d.group_id, d.kind, count(*) AS n
FROM discrepancies d
JOIN group_status USING (group_id)
WHERE $group IS NULL OR d.group_id = $group
GROUP BY d.group_id, d.kind
UNION ALL
SELECT 'rejects', NULL, NULL, count(*)
FROM rejects
WHERE $group IS NULL
   OR account_id IN (SELECT unnest(members) FROM group_status WHERE group_id = $group)
ORDER BY what, group_id, kind;
