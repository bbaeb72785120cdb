-- report: addresses
-- output: report_addresses (temp)      grain: email_norm
-- inputs: discrepancies, group_status, report_params (temp)
-- purpose: the addresses the HTML page shows, numbered in email_norm order (discrepancies.sql
-- and evidence.sql use the same numbers): those of the first `html_limit` discrepancies in the
-- order of discrepancies.csv (group, kind, address). The page embeds only these rows and their
-- evidence; the CSV and the warehouse hold every discrepancy.
CREATE OR REPLACE TEMP TABLE report_addresses AS
SELECT email_norm, row_number() OVER (ORDER BY email_norm) - 1 AS idx
FROM (
  SELECT DISTINCT email_norm
  FROM (SELECT d.email_norm
        FROM discrepancies d
        JOIN group_status USING (group_id), report_params p
        WHERE p.group_id IS NULL OR d.group_id = p.group_id
        ORDER BY d.group_id, d.kind, d.email_norm
        LIMIT (SELECT html_limit FROM report_params))
);
