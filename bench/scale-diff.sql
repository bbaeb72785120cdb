-- bench/scale-diff.sql
-- output: scale_hand_discrepancies (temp)      grain: group_id, email_norm
-- inputs: stage_raw_rows (the rows run $run_id staged), scale_members (temp: group_id, policy,
--         source, scope, account_id, position, timezone, time_format; filled by bench/scale.ts
--         from the config with bound parameters), the warehouse's macros normalise_email and
--         email_reject_reason (transforms/012); $now: the transform's clock for expiry
-- purpose: the diff limit of bench/scale.ts — ONE hand-written statement computing every
-- group's discrepancies straight from the staged rows of a first (full) nightly run, with the
-- rules the transform applies: normalise and reject addresses, read each provider's wall time,
-- keep the earliest per account, scope and address (the earliest wall time is the earliest
-- instant: convert once per kept address), an entry is active unless every row of it has an
-- expiry and the latest has passed, a group compares its members' active entries of its scope;
-- union → missing, mirror → missing when the source holds it, else extra. Only plain aggregates
-- (a bit per member, no ordered lists), so DuckDB can spill it under the same memory limit as
-- the transform. It writes nothing the transform writes: no rejects, lineage, events or audits.
CREATE OR REPLACE TEMP TABLE scale_hand_discrepancies AS
WITH accounts AS (
  SELECT DISTINCT account_id, timezone, time_format FROM scale_members
),
source_rows AS (
  SELECT r.account_id, coalesce(r.scope, 'global') AS scope,
         normalise_email(coalesce(r.raw_email, '')) AS email_norm,
         CASE a.time_format
           WHEN '%Y-%m-%d %H:%M:%S' THEN try_strptime(r.raw_time, '%Y-%m-%d %H:%M:%S')
           WHEN '%Y-%m-%d' THEN try_strptime(r.raw_time, '%Y-%m-%d')
           WHEN 'epoch-seconds' THEN to_timestamp(try_cast(r.raw_time AS DOUBLE))::TIMESTAMP
           WHEN 'iso8601' THEN try_cast(r.raw_time AS TIMESTAMPTZ)::TIMESTAMP
         END AS local_time,
         CASE WHEN r.raw_expires IS NOT NULL
              THEN try_strptime(r.raw_expires, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d']) END AS expires_local
  FROM stage_raw_rows r
  JOIN accounts a USING (account_id)
  WHERE r.run_id = $run_id
),
entries AS (
  SELECT account_id, scope, email_norm,
         min(local_time) AS first_local_time,
         bool_or(expires_local IS NULL) AS some_never_expires,
         max(expires_local) AS last_expires_local
  FROM source_rows
  WHERE email_reject_reason(email_norm) IS NULL
  GROUP BY account_id, scope, email_norm
),
active AS (
  SELECT e.account_id, e.scope, e.email_norm,
         CASE WHEN a.time_format IN ('epoch-seconds', 'iso8601') THEN timezone('UTC', e.first_local_time)
              ELSE timezone(a.timezone, e.first_local_time) END AS unsubscribed_at
  FROM entries e
  JOIN accounts a USING (account_id)
  WHERE e.some_never_expires OR timezone(a.timezone, e.last_expires_local) > $now
),
held AS (
  SELECT m.group_id, x.email_norm,
         bit_or(1::BIGINT << m.position) AS bits,
         min(x.unsubscribed_at) AS first_unsubscribed_at
  FROM active x
  JOIN scale_members m ON m.account_id = x.account_id AND m.scope = x.scope
  GROUP BY m.group_id, x.email_norm
),
groups AS (
  SELECT group_id, any_value(policy) AS policy,
         list(account_id ORDER BY position) AS accounts,
         sum(1::BIGINT << position)::BIGINT AS all_bits,
         coalesce(sum(1::BIGINT << position) FILTER (WHERE account_id = source), 0)::BIGINT AS source_bit
  FROM scale_members
  GROUP BY group_id
)
SELECT h.group_id, h.email_norm,
       list_filter(g.accounts, lambda a, i: (h.bits >> (i - 1)) & 1 = 1) AS present_in,
       list_filter(g.accounts, lambda a, i: (h.bits >> (i - 1)) & 1 = 0) AS missing_from,
       h.first_unsubscribed_at,
       CASE WHEN g.policy = 'mirror' AND h.bits & g.source_bit = 0 THEN 'extra' ELSE 'missing' END AS kind
FROM held h
JOIN groups g USING (group_id)
WHERE h.bits <> g.all_bits;
