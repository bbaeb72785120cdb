-- replay/verify
-- output: whether each replayed item is now in its desired state      grain: one row per item
-- inputs: suppressions (rebuilt by the verifying transform); params $scope and the parallel
--         lists $targets, $norms, $ops (one per item)
-- purpose: the re-diff of `replay` verify: an add is in state when the target holds the address
-- as an active suppression in the scope, a delete when it does not.
WITH items AS (
  SELECT unnest($targets::VARCHAR[]) AS target_account,
         unnest($norms::VARCHAR[])   AS email_norm,
         unnest($ops::VARCHAR[])     AS op
)
SELECT i.target_account, i.email_norm, i.op,
       CASE i.op WHEN 'add' THEN s.email_norm IS NOT NULL ELSE s.email_norm IS NULL END AS in_state
FROM items i
LEFT JOIN suppressions s
  ON s.account_id = i.target_account AND s.email_norm = i.email_norm AND s.scope = $scope AND s.active;
