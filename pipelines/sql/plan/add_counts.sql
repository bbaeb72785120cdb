-- plan/add_counts
-- output: how many adds each planned target gets      grain: target_account (targets with none
--         are absent)
-- inputs: plan_add_candidates (add_candidates.sql); params $group, $scope, $source, $targets
-- purpose: the plan's numbers before any file is written, without holding the rows.
SELECT target_account, count(*) AS adds
FROM plan_add_candidates($group, $scope, $source, $targets::VARCHAR[])
GROUP BY target_account
ORDER BY target_account;
