-- plan/list_sizes
-- output: each planned target's list size      grain: account_id
-- inputs: suppressions (transform); params $scope, $targets
-- purpose: the denominator of maxDeleteFraction: the target's active suppressions in the group's
-- scope (0 for a target that holds none).
SELECT t.account_id, count(s.email_norm) AS list_size
FROM (SELECT unnest($targets::VARCHAR[]) AS account_id) t
LEFT JOIN suppressions s ON s.account_id = t.account_id AND s.scope = $scope AND s.active
GROUP BY t.account_id
ORDER BY t.account_id;
