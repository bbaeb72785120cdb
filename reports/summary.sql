-- report: summary
-- output: summary.csv and the per-group pair tables      grain: group_id, kind, present_account, missing_account
-- inputs: discrepancy_summary
-- purpose: per group and ordered account pair, how many addresses one holds that the other
-- lacks, by kind, and that count as a percentage of the holder's active suppressions.
SELECT run_id, group_id, policy, kind, present_account, missing_account, addresses, present_total,
       pct_of_present
FROM discrepancy_summary
WHERE $group IS NULL OR group_id = $group;
