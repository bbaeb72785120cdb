-- plan/group_state
-- output: the group's row of the last transform      grain: group_id (0 or 1 row)
-- inputs: group_status (transform); params $group
-- purpose: whether the last transform diffed the group, over which members, and in which run, so
-- planning never works from a diff that is missing, blocked or made for another membership.
SELECT run_id, policy, members, diffed, allowed_incomplete, detail
FROM group_status
WHERE group_id = $group;
