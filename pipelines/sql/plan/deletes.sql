-- plan/deletes
-- output: the rows of the delete (or manual) files      grain: target_account, email_norm
-- inputs: plan_delete_candidates (delete_candidates.sql); params $group, $scope, $source,
--         $targets, $foreign (true with --delete-foreign)
-- purpose: the deletes planned, in file order (by target, then by address): entries unsub-recon
-- added (tracked), and with $foreign also those it did not. Streamed a chunk at a time and cut
-- into one file per target; a target that cannot delete safely gets them as manual rows.
SELECT target_account, email, diff_run_id, tracked, added_by_run, added_by_patch
FROM plan_delete_candidates($group, $scope, $source, $targets::VARCHAR[])
WHERE tracked OR $foreign
ORDER BY target_account, email_norm;
