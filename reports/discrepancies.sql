-- report: discrepancies
-- output: discrepancies.csv (every row, $limit NULL) and the HTML table (the first $limit rows)
-- grain: group_id, email_norm
-- inputs: discrepancies, group_status, report_addresses (temp, addresses.sql)
-- purpose: every address out of agreement, with the group's policy, in one fixed order (group,
-- kind, address) so the page's rows are exactly the first rows of the CSV. Member lists keep the
-- group's configured order (as the transform wrote them), joined with ';'. `evidence_idx` is
-- the address's number in the evidence blocks (NULL past the page's rows). Every column is
-- text: the caller reads millions of rows, streamed, and text crosses into JS fastest.
SELECT d.run_id, d.group_id, g.policy, d.kind, d.email_norm,
       array_to_string(d.present_in, ';')                      AS present_in,
       array_to_string(d.missing_from, ';')                    AS missing_from,
       report_iso(d.first_unsubscribed_at)                     AS first_unsubscribed_at,
       a.idx::VARCHAR                                          AS evidence_idx
FROM discrepancies d
JOIN group_status g USING (group_id)
LEFT JOIN report_addresses a USING (email_norm)
WHERE $group IS NULL OR d.group_id = $group
ORDER BY d.group_id, d.kind, d.email_norm
LIMIT $limit;
