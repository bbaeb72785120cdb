-- 060_discrepancies
-- output: discrepancies_next (090 publishes it as discrepancies)      grain: group_id, email_norm
-- inputs: suppressions_state_next (041), group_status_next (050), cfg_groups (group_no: the runner
--         numbers the groups), cfg_group_members,
--         cfg_accounts, transform_params
-- purpose: per diffed group, each address held (active, in the group's scope) by some members
-- and not others. One fixed vocabulary in `kind`:
--   missing  an address some member holds and others lack (union; mirror when the source holds it)
--   extra    mirror only: targets hold an address the source lacks (a delete candidate)
-- present_in / missing_from list member accounts in the group's configured order;
-- first_unsubscribed_at is the earliest known time among the holders (NULL when none is known).
-- Which members hold an address is one bit per member (the runner allows at most 62 members),
-- so one plain aggregation over suppressions does the diff and can spill to disk.
CREATE OR REPLACE TABLE discrepancies_next AS
WITH members AS (
  SELECT g.group_no, g.group_id, g.scope, g.policy, g.source, m.account_id, a.account_no,
         m.position, (1::BIGINT << m.position) AS bit
  FROM cfg_groups g
  JOIN group_status_next st USING (group_id)
  JOIN cfg_group_members m USING (group_id)
  JOIN cfg_accounts a USING (account_id)
  WHERE st.diffed
),
groups AS (
  SELECT group_no, any_value(group_id) AS group_id, any_value(policy) AS policy,
         list(account_id ORDER BY position)                                    AS accounts,
         sum(bit)::BIGINT                                                      AS all_bits,
         coalesce(sum(bit) FILTER (WHERE account_id = source), 0)::BIGINT      AS source_bit
  FROM members
  GROUP BY group_no
),
held AS (
  -- by group_no, not group_id: a small number is cheaper to hash and compare millions of times
  SELECT m.group_no, s.email_norm,
         bit_or(m.bit)          AS bits,
         min(s.unsubscribed_at) AS first_unsubscribed_at
  FROM suppressions_state_next s
  JOIN members m ON m.account_no = s.account_no AND m.scope = s.scope
  WHERE s.active
  GROUP BY m.group_no, s.email_norm
)
SELECT (SELECT run_id FROM transform_params)                                          AS run_id,
       g.group_id,
       h.email_norm,
       list_filter(g.accounts, lambda a, i: (h.bits >> (i - 1)) & 1 = 1)                AS present_in,
       list_filter(g.accounts, lambda a, i: (h.bits >> (i - 1)) & 1 = 0)                AS missing_from,
       h.first_unsubscribed_at,
       CASE WHEN g.policy = 'mirror' AND h.bits & g.source_bit = 0 THEN 'extra' ELSE 'missing' END AS kind
FROM held h
JOIN groups g USING (group_no)
WHERE h.bits <> g.all_bits;
