-- audit: discrepancies_have_evidence
-- inputs: discrepancies, suppressions, cfg_groups
-- purpose: every account a discrepancy says holds the address holds it (active, group scope),
-- and every account it says lacks it does not; any row returned fails the run.
WITH claims AS (
  SELECT d.group_id, d.email_norm, unnest(d.present_in) AS account_id, true AS claims_held FROM discrepancies d
  UNION ALL
  SELECT d.group_id, d.email_norm, unnest(d.missing_from) AS account_id, false AS claims_held FROM discrepancies d
)
SELECT c.*
FROM claims c
JOIN cfg_groups g USING (group_id)
WHERE c.claims_held <> EXISTS (
  SELECT 1 FROM suppressions s
  WHERE s.account_id = c.account_id AND s.email_norm = c.email_norm AND s.scope = g.scope AND s.active
);
