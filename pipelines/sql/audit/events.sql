-- audit/events
-- output: the additions and removals observed for the address      grain: account_id, scope, run_id, event
-- inputs: suppression_events; $email_norm the normalised address
-- purpose: the history part of `audit`, per account and scope, oldest first.
SELECT account_id, scope, event, observed_at, run_id
FROM suppression_events
WHERE email_norm = $email_norm
ORDER BY account_id, scope, observed_at, run_id, event;
