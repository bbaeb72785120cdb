-- 025_addresses
-- output: t_addresses (temp), the rows of account $account_no      grain: account_no, scope, value
-- inputs: t_source_rows (020); $account_no: the runner runs this file once per account
--         (one account's values at a time: the aggregation's working set is one account's
--         addresses, not every account's, so growing accounts spill later and less; the
--         table comes out clustered by account, which lets 041 skip the others' blocks)
-- purpose: the ONE aggregation over the raw rows: every value each account delivered, per
-- account × scope × value (`value` is email_norm for a usable address, the raw value for a
-- reject; `usable` tells which):
--  * over the current-snapshot rows (`in_state`): state_rows (the raw rows behind it); `email`,
--    the original spelling of the earliest row (by wall time; rows with the same time by a
--    hash of their spelling, so the choice does not depend on the order rows arrive in), NULL
--    when that is the normalised spelling itself; the earliest wall time; expiry
--    (some_never_expires, last_expires_local); first fetch; first and last run — for rejects
--    (030) and suppressions (041);
--  * over the rows of the snapshots 055 compares: `snapshot_bits`, bit b set when the snapshot
--    with window bit b (015) holds it.
-- Plain aggregates over fixed-width keys only (no lists, no ordered aggregates, no STRUCT keys:
-- their states cannot spill), so the hash aggregate spills to disk under DuckDB's memory_limit
-- instead of failing; the source rows themselves stay in the raw
-- layer (the view suppression_sources, 040).
INSERT INTO t_addresses
SELECT account_no,
       scope,
       CASE WHEN reject_reason IS NULL THEN email_norm ELSE coalesce(raw_email, '') END AS value,
       -- one value is never both: a raw value that is a usable address is its own normalised
       -- spelling, so it is not rejected
       bool_and(reject_reason IS NULL)                                              AS usable,
       any_value(reject_reason)                                                     AS reject_reason,
       count(*) FILTER (WHERE in_state)                                             AS state_rows,
       -- '' stands for "the normalised spelling" (arg_min skips NULLs; a usable value is never '')
       nullif(arg_min(CASE WHEN raw_email IS DISTINCT FROM email_norm THEN raw_email ELSE '' END,
                      (coalesce(epoch_us(local_time), 9223372036854775807)::HUGEINT << 64)
                        + hash(raw_email)::HUGEINT)
                FILTER (WHERE in_state), '')                                        AS email,
       min(local_time) FILTER (WHERE in_state)                                      AS first_local_time,
       bool_or(expires_local IS NULL) FILTER (WHERE in_state)                       AS some_never_expires,
       max(expires_local) FILTER (WHERE in_state)                                   AS last_expires_local,
       min(fetched_at) FILTER (WHERE in_state)                                      AS observed_at,
       min(run_no) FILTER (WHERE in_state)                                          AS first_run_no,
       max(run_no) FILTER (WHERE in_state)                                          AS last_run_no,
       coalesce(bit_or(1::HUGEINT << snapshot_bit), 0)                              AS snapshot_bits
FROM t_source_rows
WHERE account_no = $account_no::SMALLINT
GROUP BY account_no, scope, value;
