-- replay/missing_left
-- output: per target, the group's addresses it still lacks      grain: target_account
-- inputs: discrepancies (rebuilt by the verifying transform); params $group, $targets
-- purpose: the re-diff as the user sees it: how many `missing` discrepancies of the group still
-- name the target after the replay (0 once adds have converged).
SELECT t.target_account, count(d.email_norm) AS missing_left
FROM (SELECT unnest($targets::VARCHAR[]) AS target_account) t
LEFT JOIN discrepancies d
  ON d.group_id = $group AND d.kind = 'missing' AND list_contains(d.missing_from, t.target_account)
GROUP BY t.target_account
ORDER BY t.target_account;
