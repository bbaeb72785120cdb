-- report: group_status
-- output: one row per group (all, or the one given)      grain: group_id
-- inputs: group_status
-- purpose: whether each group was diffed, and whether it was diffed despite an incomplete member
-- (--allow-incomplete), for the summary and the banner shown on every view.
SELECT run_id, group_id, policy, members, diffed, allowed_incomplete, incomplete_accounts, detail
FROM group_status
WHERE $group IS NULL OR group_id = $group
ORDER BY group_id;
