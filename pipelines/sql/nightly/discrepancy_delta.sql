-- nightly: discrepancy_delta
-- output: one row per group      grain: group_id
-- inputs: discrepancies (just rebuilt), nightly_previous_discrepancies (temp)
-- purpose: per group, discrepancies that were not there before this run's transform (`new`) and
-- those that were and are gone (`resolved`), compared on (group, address, kind).
WITH now AS (SELECT group_id, email_norm, kind FROM discrepancies),
     before AS (SELECT group_id, email_norm, kind FROM nightly_previous_discrepancies),
     added AS (SELECT * FROM now EXCEPT SELECT * FROM before),
     gone AS (SELECT * FROM before EXCEPT SELECT * FROM now),
     groups AS (SELECT group_id FROM now UNION SELECT group_id FROM before)
SELECT g.group_id,
       (SELECT count(*) FROM added a WHERE a.group_id = g.group_id)::VARCHAR AS new,
       (SELECT count(*) FROM gone r WHERE r.group_id = g.group_id)::VARCHAR  AS resolved
FROM groups g;
