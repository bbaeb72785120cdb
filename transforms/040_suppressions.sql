-- 040_suppressions
-- output: suppressions      grain: account_id, scope, email_norm
-- inputs: t_source_rows
-- purpose: the current state of each address in each account and scope, deduplicated across
-- pages, windows, labels, lists and runs: the earliest unsubscribe time, active when any source
-- row is active, expires_at the latest expiry (NULL when some row never expires), `email` the
-- original spelling of the earliest row, and every source reference in `detail.sources`.
-- `detail.observed_at` is when the address was first fetched: the only time WhatCounts gives.
CREATE OR REPLACE TABLE suppressions AS
SELECT account_id,
       any_value(provider)                                                   AS provider,
       first(raw_email ORDER BY unsubscribed_at NULLS LAST, run_started_at, request_seq, page, row_no) AS email,
       email_norm,
       scope,
       min(unsubscribed_at)                                                  AS unsubscribed_at,
       CASE WHEN bool_or(expires_at IS NULL) THEN NULL ELSE max(expires_at) END AS expires_at,
       bool_or(active)                                                       AS active,
       json_object(
         'observed_at', min(fetched_at),
         'sources', list(json_object('run_id', run_id, 'request_seq', request_seq, 'page', page,
                                     'row_no', row_no, 'raw_email', raw_email, 'raw_time', raw_time,
                                     'raw_expires', raw_expires)
                         ORDER BY run_started_at, request_seq, page, row_no)
       )                                                                     AS detail,
       arg_min(run_id, (run_started_at, run_id))                             AS first_seen_run,
       arg_max(run_id, (run_started_at, run_id))                             AS last_seen_run
FROM t_source_rows
WHERE reject_reason IS NULL
GROUP BY account_id, scope, email_norm
ORDER BY account_id, scope, email_norm;
