-- 050_group_status
-- output: group_status_next (090 publishes it as group_status)      grain: group_id (one row per configured group, for this transform run)
-- inputs: cfg_groups, cfg_group_members (temp, from the config), t_extraction_status, transform_params
-- purpose: the completeness gate. A group is diffed only when every member's latest extraction
-- is complete, or with --allow-incomplete; then `allowed_incomplete` says the diff stands on an
-- incomplete member. `incomplete_accounts` lists the members that are not complete (config
-- order) and `detail` says which account, run and window (NULL when every member is complete).
CREATE OR REPLACE TABLE group_status_next AS
SELECT (SELECT run_id FROM transform_params)                                        AS run_id,
       g.group_id,
       any_value(g.policy)                                                          AS policy,
       list(m.account_id ORDER BY m.position)                                       AS members,
       bool_and(s.complete) OR (SELECT allow_incomplete FROM transform_params)      AS diffed,
       NOT bool_and(s.complete) AND (SELECT allow_incomplete FROM transform_params) AS allowed_incomplete,
       coalesce(list(m.account_id ORDER BY m.position) FILTER (WHERE NOT s.complete), [])
                                                                                    AS incomplete_accounts,
       string_agg(s.incomplete_detail, '; ' ORDER BY m.position)                    AS detail
FROM cfg_groups g
JOIN cfg_group_members m USING (group_id)
JOIN t_extraction_status s USING (account_id)
GROUP BY g.group_id
ORDER BY g.group_id;
