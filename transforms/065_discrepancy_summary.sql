-- 065_discrepancy_summary
-- output: discrepancy_summary_next (090 publishes it as discrepancy_summary)      grain: run_id, group_id, kind, present_account, missing_account
-- inputs: discrepancies_next (060), suppressions_state_next (041), group_status_next (050), cfg_groups, cfg_group_members, transform_params
-- purpose: counts and percentages per account pair of each diffed group: how many addresses
-- `present_account` holds (active, in the group's scope) that `missing_account` lacks, by `kind`,
-- and what share of present_account's own active suppressions that is. Every ordered pair of
-- distinct members appears for every kind the policy can produce, with 0 when they agree:
-- union → `missing`; mirror → `missing` (the source holds it, so the source is never the
-- missing_account) and `extra` (the source lacks it, so the source is never the present_account).
-- Groups that were not diffed (see group_status) have no rows.
CREATE OR REPLACE TABLE discrepancy_summary_next AS
WITH pairs AS (
  SELECT g.group_id, g.policy, g.scope, k.kind,
         p.account_id AS present_account, p.position AS present_position,
         q.account_id AS missing_account, q.position AS missing_position
  FROM cfg_groups g
  JOIN group_status_next st USING (group_id)
  JOIN cfg_group_members p USING (group_id)
  JOIN cfg_group_members q ON q.group_id = g.group_id AND q.account_id <> p.account_id
  CROSS JOIN (VALUES ('missing'), ('extra')) AS k(kind)
  WHERE st.diffed
    AND (k.kind = 'missing' OR g.policy = 'mirror')
    AND NOT (g.policy = 'mirror' AND k.kind = 'missing' AND q.account_id = g.source)
    AND NOT (g.policy = 'mirror' AND k.kind = 'extra' AND p.account_id = g.source)
),
present_pairs AS (
  SELECT group_id, kind, unnest(present_in) AS present_account, missing_from
  FROM discrepancies_next
),
counted AS (
  SELECT group_id, kind, present_account, missing_account, count(*) AS addresses
  FROM (SELECT group_id, kind, present_account, unnest(missing_from) AS missing_account FROM present_pairs)
  GROUP BY ALL
),
held AS (
  SELECT a.account_id, s.scope, count(*) AS n
  FROM suppressions_state_next s
  JOIN cfg_accounts a USING (account_no)
  WHERE s.active
  GROUP BY a.account_id, s.scope
),
totals AS (
  SELECT m.group_id, m.account_id, coalesce(h.n, 0) AS present_total
  FROM cfg_group_members m
  JOIN cfg_groups g USING (group_id)
  LEFT JOIN held h ON h.account_id = m.account_id AND h.scope = g.scope
)
SELECT (SELECT run_id FROM transform_params)                       AS run_id,
       p.group_id,
       p.policy,
       p.kind,
       p.present_account,
       p.missing_account,
       coalesce(c.addresses, 0)::BIGINT                             AS addresses,
       t.present_total::BIGINT                                      AS present_total,
       CASE WHEN t.present_total = 0 THEN 0.0
            ELSE coalesce(c.addresses, 0) * 100.0 / t.present_total END::DOUBLE AS pct_of_present
FROM pairs p
JOIN totals t ON t.group_id = p.group_id AND t.account_id = p.present_account
LEFT JOIN counted c
  ON c.group_id = p.group_id AND c.kind = p.kind
 AND c.present_account = p.present_account AND c.missing_account = p.missing_account
ORDER BY p.group_id, p.kind, p.present_position, p.missing_position;
