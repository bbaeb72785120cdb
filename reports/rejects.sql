-- report: rejects
-- output: rejects.csv (every row, $limit NULL) and the rejects view (the first $limit rows)
-- grain: account_id, raw_value
-- inputs: rejects, group_status
-- purpose: every raw value that is not a usable address, with the reason; with a group given,
-- only its members' rejects. One fixed order, so the page's rows are the first rows of the CSV.
SELECT run_id, account_id, raw_value, reason
FROM rejects
WHERE $group IS NULL
   OR account_id IN (SELECT unnest(members) FROM group_status WHERE group_id = $group)
ORDER BY account_id, reason, raw_value
LIMIT $limit;
