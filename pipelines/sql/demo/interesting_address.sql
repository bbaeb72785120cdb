-- demo: interesting_address
-- output: at most one row      grain: email_norm
-- inputs: discrepancies, suppressions
-- purpose: an address for the demo's `audit`: missing from some member of a group, and held by
-- its other accounts under more than one spelling (case, spaces, Unicode form), so the audit
-- shows normalisation and the per-account evidence at once. Ties broken by the address itself,
-- so the same scenario always picks the same one.
SELECT d.email_norm,
       count(DISTINCT s.email)::VARCHAR      AS spellings,
       count(DISTINCT s.account_id)::VARCHAR AS holders
FROM (SELECT DISTINCT email_norm FROM discrepancies WHERE kind = 'missing') d
-- holders are every account holding it actively, in any group (what `audit` then shows)
JOIN suppressions s ON s.email_norm = d.email_norm AND s.active
  -- printed as `audit "<address>"` for the user to paste: nothing a shell or the option parser
  -- would take apart (the scenario's hostile addresses are the report's test, not the demo's)
WHERE NOT regexp_matches(d.email_norm, '["$`\\!]')
  AND NOT starts_with(d.email_norm, '-')
GROUP BY d.email_norm
ORDER BY count(DISTINCT s.email) > 1 DESC, count(DISTINCT s.account_id) DESC, d.email_norm
LIMIT 1;
