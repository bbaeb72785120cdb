-- report: rejects
-- output: rejects.csv and the rejects view      grain: account_id, raw_value
-- inputs: rejects, group_status
-- purpose: every raw value that is not a usable address, with the reason; with a group given,
-- only its members' rejects.
SELECT run_id, account_id, raw_value, reason
FROM rejects
WHERE $group IS NULL
   OR account_id IN (SELECT unnest(members) FROM group_status WHERE group_id = $group)
ORDER BY account_id, reason, raw_value;
