-- audit/suppressions
-- output: the address's state in every account and scope that holds it      grain: account_id, scope
-- inputs: suppressions (the last transform); $email_norm the normalised address
-- purpose: `present` in the audit is `active` here (an expired SendCloud entry is held but
-- does not count in the diff).
SELECT account_id, scope, active, unsubscribed_at, first_seen_run, last_seen_run
FROM suppressions
WHERE email_norm = $email_norm
ORDER BY account_id, scope;
