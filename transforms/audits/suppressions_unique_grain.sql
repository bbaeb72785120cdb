-- audit: suppressions_unique_grain
-- inputs: suppressions_state_next (the table behind the `suppressions` view, before 090), t_addresses (025)
-- purpose: the grain (account_no, scope, email_norm) holds; any row returned fails the run.
-- 025's GROUP BY makes each kept address unique there, so a duplicate in suppressions_state can
-- only come from a row written twice (041 runs once per zone); comparing the counts is exact
-- for that and costs nothing. Only when they differ are the keys grouped, to name the duplicates.
WITH counts AS (
  SELECT (SELECT count(*) FROM suppressions_state_next) AS written,
         (SELECT count(*) FROM t_addresses WHERE usable AND state_rows > 0) AS kept
)
SELECT account_no, scope, email_norm, count(*) AS n, (SELECT written FROM counts) AS written,
       (SELECT kept FROM counts) AS kept
FROM suppressions_state_next
WHERE (SELECT written <> kept FROM counts)
GROUP BY account_no, scope, email_norm
HAVING count(*) > 1
UNION ALL
-- rows missing (written < kept) are not duplicates but fail the grain check all the same
SELECT NULL, NULL, NULL, NULL, written, kept FROM counts WHERE written < kept;
