-- plan/delete_candidates
-- output: temp table macro plan_delete_candidates(p_group, p_scope, p_source, p_targets)
--         grain: target_account, email_norm
-- inputs: discrepancies, suppressions (transform), replay_log (migration 004); arguments as
--         plan_add_candidates (add_candidates.sql)
-- purpose: each `extra` discrepancy of a mirror group (a target holds what the source lacks),
-- once per planned target that holds it, with the evidence for the tracked-mirror rule: `tracked`
-- is true when unsub-recon itself added the address to that target (an add in replay_log that
-- was applied, or confirmed after an interrupted send) and no successful delete came after it.
-- An entry that is not tracked is a person's own opt-out at the target; only --delete-foreign
-- plans those. The spelling sent is the target's own, trimmed and NFC. Read twice, as the adds:
-- counted per target (delete_counts.sql), then streamed into the files (deletes.sql).
CREATE OR REPLACE TEMP MACRO plan_delete_candidates(p_group, p_scope, p_source, p_targets) AS TABLE
WITH extra AS (
  SELECT d.run_id, d.email_norm, unnest(d.present_in) AS target_account
  FROM discrepancies d
  WHERE d.group_id = p_group AND d.kind = 'extra'
),
replayed AS (
  SELECT target_account, email_norm,
         max(attempted_at) FILTER (WHERE op = 'add' AND outcome IN ('applied', 'confirmed'))  AS added_at,
         arg_max(run_id, attempted_at)
           FILTER (WHERE op = 'add' AND outcome IN ('applied', 'confirmed'))                 AS added_by_run,
         arg_max(patch_id, attempted_at)
           FILTER (WHERE op = 'add' AND outcome IN ('applied', 'confirmed'))                 AS added_by_patch,
         max(attempted_at)
           FILTER (WHERE op = 'delete' AND outcome IN ('applied', 'confirmed', 'already'))   AS deleted_at
  FROM replay_log
  GROUP BY target_account, email_norm
)
SELECT e.target_account,
       coalesce(nfc_normalize(regexp_replace(s.email, '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g')), e.email_norm) AS email,
       e.email_norm,
       s.unsubscribed_at AS target_unsubscribed_at,
       e.run_id AS diff_run_id,
       coalesce(r.added_at IS NOT NULL AND (r.deleted_at IS NULL OR r.deleted_at < r.added_at), false) AS tracked,
       r.added_by_run,
       r.added_by_patch
FROM extra e
JOIN suppressions s
  ON s.account_id = e.target_account AND s.email_norm = e.email_norm AND s.scope = p_scope AND s.active
LEFT JOIN replayed r
  ON r.target_account = e.target_account AND r.email_norm = e.email_norm
WHERE e.target_account IS DISTINCT FROM p_source
  AND list_contains(p_targets, e.target_account);
