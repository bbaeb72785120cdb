-- plan/add_candidates
-- output: temp table macro plan_add_candidates(p_group, p_scope, p_source, p_targets)
--         grain: target_account, email_norm
-- inputs: discrepancies, suppressions (transform); arguments: the group, its scope, the mirror
--         source (NULL for a union group), the accounts being planned (VARCHAR[])
-- purpose: each `missing` discrepancy of the group, once per planned member that lacks it, with
-- the spelling to send: a holder's own (the source's in a mirror group, else the earliest
-- holder's, ties by group order) with surrounding whitespace removed and in Unicode NFC, case
-- kept — never the lower-cased email_norm, whose local part may differ from the person's address.
-- One definition read twice: first counted per target (add_counts.sql, before anything is
-- written), then streamed into the files (adds.sql), so the counts and the files cannot differ.
CREATE OR REPLACE TEMP MACRO plan_add_candidates(p_group, p_scope, p_source, p_targets) AS TABLE
WITH missing AS (
  SELECT d.run_id, d.email_norm, d.present_in, d.first_unsubscribed_at,
         unnest(d.missing_from) AS target_account
  FROM discrepancies d
  WHERE d.group_id = p_group AND d.kind = 'missing'
),
spelling AS (
  SELECT d.email_norm,
         first(s.email ORDER BY s.account_id IS DISTINCT FROM p_source, s.unsubscribed_at NULLS LAST,
                                list_position(d.present_in, s.account_id)) AS email
  FROM discrepancies d
  JOIN suppressions s
    ON s.email_norm = d.email_norm AND s.scope = p_scope AND s.active
   AND list_contains(d.present_in, s.account_id)
  WHERE d.group_id = p_group AND d.kind = 'missing'
  GROUP BY d.email_norm
)
SELECT m.target_account,
       coalesce(nfc_normalize(regexp_replace(sp.email, '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g')), m.email_norm) AS email,
       m.email_norm,
       m.present_in,
       m.first_unsubscribed_at,
       m.run_id AS diff_run_id
FROM missing m
JOIN spelling sp USING (email_norm)
WHERE list_contains(p_targets, m.target_account);
