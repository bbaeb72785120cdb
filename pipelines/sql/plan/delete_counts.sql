-- plan/delete_counts
-- output: each planned target's delete candidates, tracked or not      grain: target_account
--         (targets with none are absent)
-- inputs: plan_delete_candidates (delete_candidates.sql); params $group, $scope, $source, $targets
-- purpose: what the delete-safety checks and the tracked-mirror note need, decided before any
-- file is written: `tracked` entries unsub-recon added, `untracked` ones it did not (planned
-- only with --delete-foreign, otherwise kept).
SELECT target_account,
       count(*) FILTER (WHERE tracked)     AS tracked,
       count(*) FILTER (WHERE NOT tracked) AS untracked
FROM plan_delete_candidates($group, $scope, $source, $targets::VARCHAR[])
GROUP BY target_account
ORDER BY target_account;
