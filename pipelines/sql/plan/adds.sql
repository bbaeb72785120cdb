-- plan/adds
-- output: the rows of the add files      grain: target_account, email_norm
-- inputs: plan_add_candidates (add_candidates.sql); params $group, $scope, $source (NULL for a
--         union group), $targets (the accounts being planned)
-- purpose: what each target's `<target>.add.csv` holds, in file order: by target, then by
-- address. Streamed a chunk at a time and cut into one file per target as the target changes.
SELECT target_account, email, present_in, first_unsubscribed_at, diff_run_id
FROM plan_add_candidates($group, $scope, $source, $targets::VARCHAR[])
ORDER BY target_account, email_norm;
