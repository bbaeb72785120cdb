-- 030_rejects
-- output: rejects      grain: account_id, raw_value
-- inputs: t_source_rows
-- purpose: every raw value that is not a usable address, with the reason (never dropped
-- silently). One row per account and raw value however often it was seen; run_id is the first
-- extraction run that delivered it.
CREATE OR REPLACE TABLE rejects AS
SELECT arg_min(run_id, (run_started_at, run_id)) AS run_id,
       account_id,
       coalesce(raw_email, '')                   AS raw_value,
       any_value(reject_reason)                  AS reason
FROM t_source_rows
WHERE reject_reason IS NOT NULL
GROUP BY account_id, coalesce(raw_email, '')
ORDER BY account_id, raw_value;
