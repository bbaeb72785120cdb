-- 050_group_gate
-- output: t_group_gate (temp)      grain: group_id
-- inputs: cfg_groups, cfg_group_members (temp, from the config), t_extraction_status, transform_params
-- purpose: the completeness gate. A group is diffed only when every member's latest extraction
-- is complete (or with --allow-incomplete); `blocked_by` lists the members that are not.
CREATE OR REPLACE TEMP TABLE t_group_gate AS
SELECT g.group_id,
       list(m.account_id ORDER BY m.position) FILTER (WHERE NOT s.complete) AS blocked_by,
       bool_and(s.complete) OR (SELECT allow_incomplete FROM transform_params) AS diffed
FROM cfg_groups g
JOIN cfg_group_members m USING (group_id)
JOIN t_extraction_status s USING (account_id)
GROUP BY g.group_id;
