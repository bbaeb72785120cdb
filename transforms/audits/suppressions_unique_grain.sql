-- audit: suppressions_unique_grain
-- inputs: suppressions
-- purpose: the grain (account_id, scope, email_norm) holds; any row returned fails the run.
SELECT account_id, scope, email_norm, count(*) AS n
FROM suppressions
GROUP BY ALL
HAVING count(*) > 1;
