-- report: accounts
-- output: report_accounts (temp), extended      grain: account_id
-- inputs: report_accounts (the config's accounts), group_status, rejects, extractions,
--         suppressions, report_addresses (temp, addresses.sql)
-- purpose: numbers every account the report can mention after the configured ones, in id
-- order: a member of a group, an extracted account, or one holding an address the page shows,
-- that the current config no longer lists.
INSERT INTO report_accounts
SELECT account_id, (SELECT count(*) FROM report_accounts) + row_number() OVER (ORDER BY account_id) - 1
FROM (
  SELECT unnest(members) AS account_id FROM group_status
  UNION SELECT account_id FROM rejects
  UNION SELECT account_id FROM extractions
  UNION SELECT account_id FROM suppressions WHERE email_norm IN (SELECT email_norm FROM report_addresses)
)
WHERE account_id NOT IN (SELECT account_id FROM report_accounts);
