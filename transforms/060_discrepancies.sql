-- 060_discrepancies
-- output: discrepancies      grain: group_id, email_norm
-- inputs: suppressions, cfg_groups, cfg_group_members, t_group_gate, transform_params
-- purpose: per diffed group, each address held (active, in the group's scope) by some members
-- and not others. One fixed vocabulary in `kind`:
--   missing  an address some member holds and others lack (union; mirror when the source holds it)
--   extra    mirror only: targets hold an address the source lacks (a delete candidate)
-- present_in / missing_from list member accounts in the group's configured order;
-- first_unsubscribed_at is the earliest known time among the holders (NULL when none is known).
CREATE OR REPLACE TABLE discrepancies AS
WITH holders AS (
  SELECT g.group_id, s.email_norm,
         list(s.account_id)     AS held,
         min(s.unsubscribed_at) AS first_unsubscribed_at
  FROM cfg_groups g
  JOIN t_group_gate gate USING (group_id)
  JOIN cfg_group_members m USING (group_id)
  JOIN suppressions s ON s.account_id = m.account_id AND s.scope = g.scope AND s.active
  WHERE gate.diffed
  GROUP BY g.group_id, s.email_norm
)
SELECT (SELECT run_id FROM transform_params)                                          AS run_id,
       h.group_id,
       h.email_norm,
       list(m.account_id ORDER BY m.position) FILTER (WHERE list_contains(h.held, m.account_id))     AS present_in,
       list(m.account_id ORDER BY m.position) FILTER (WHERE NOT list_contains(h.held, m.account_id)) AS missing_from,
       h.first_unsubscribed_at,
       CASE WHEN any_value(g.policy) = 'mirror' AND NOT list_contains(h.held, any_value(g.source))
            THEN 'extra' ELSE 'missing' END                                             AS kind
FROM holders h
JOIN cfg_groups g USING (group_id)
JOIN cfg_group_members m USING (group_id)
GROUP BY h.group_id, h.email_norm, h.held, h.first_unsubscribed_at
HAVING count(*) FILTER (WHERE NOT list_contains(h.held, m.account_id)) > 0
ORDER BY h.group_id, h.email_norm;
