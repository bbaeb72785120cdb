-- audit: discrepancies_have_evidence
-- inputs: discrepancies_next (060), suppressions_state_next (041), cfg_groups, cfg_group_members, cfg_accounts
-- purpose: each discrepancy's present_in is exactly the members that hold the address (active,
-- in the group's scope), read again from suppressions_state_next independently of 060's bits, and
-- missing_from is every other member; any row returned fails the run.
WITH members AS (
  SELECT g.group_id, g.scope, m.account_id, a.account_no, m.position
  FROM cfg_groups g
  JOIN cfg_group_members m USING (group_id)
  JOIN cfg_accounts a USING (account_id)
),
held AS (
  SELECT mb.group_id, s.email_norm, list(mb.account_id ORDER BY mb.position) AS holders
  FROM suppressions_state_next s
  JOIN members mb ON mb.account_no = s.account_no AND mb.scope = s.scope
  WHERE s.active AND s.email_norm IN (SELECT email_norm FROM discrepancies_next)
  GROUP BY ALL
),
sizes AS (
  SELECT group_id, count(*) AS members FROM cfg_group_members GROUP BY group_id
)
SELECT d.group_id, d.email_norm, d.present_in, d.missing_from, h.holders
FROM discrepancies_next d
JOIN sizes z USING (group_id)
LEFT JOIN held h USING (group_id, email_norm)
WHERE d.present_in IS DISTINCT FROM h.holders
   OR len(d.present_in) + len(d.missing_from) <> z.members
   OR list_has_any(d.present_in, d.missing_from);
