-- 004_replay
-- output: stage_replay_log (grain: run_id, journal_seq), view replay_log (grain: run_id, patch_id, row_no)
-- purpose: the replay journal (DESIGN.md "Patch files"). `replay` writes one row for every patch
-- item BEFORE its request is sent (outcome 'sending') and one more after the answer, each
-- committed on its own, so a run killed at any point leaves the exact set of items that may have
-- reached the provider. Append-only and never purged, whatever the run's status: a write that
-- reached a provider happened, and the next replay of the same patch reads this table to send
-- nothing twice; `plan` reads it for the tracked-mirror delete rule (only what unsub-recon itself
-- added may be deleted).
--
-- outcome vocabulary:
--   sending    written before the request; an item whose LAST row is 'sending' was in flight when
--              its run ended (in doubt: the next replay re-reads the target before resending)
--   applied    the provider made the change
--   already    the provider said it was already so ("already exists" / "does not exist"): success
--   confirmed  an in-doubt item whose state a re-read of the target confirmed; not sent again
--   failed     the provider refused this address (provider_message says why)
--   error      the request failed for good (transport, retries exhausted, credentials): effect
--              unknown, so the next replay re-reads the target before resending
CREATE TABLE stage_replay_log (
  run_id           VARCHAR NOT NULL,   -- the replay (or migrate) run that wrote the row
  journal_seq      INTEGER NOT NULL,   -- per run, in write order
  patch_id         VARCHAR NOT NULL,   -- '<plan run_id>/<group>/<target>.<op>': one patch file
  manifest_sha256  VARCHAR NOT NULL,   -- of the manifest.json bytes the run replayed
  file_sha256      VARCHAR NOT NULL,   -- of the patch file, as listed in the manifest
  group_id         VARCHAR NOT NULL,
  target_account   VARCHAR NOT NULL,
  provider         VARCHAR NOT NULL,
  row_no           INTEGER NOT NULL,   -- 1-based data row of the patch file
  email            VARCHAR NOT NULL,   -- exactly as in the patch file, and as sent
  email_norm       VARCHAR NOT NULL,   -- trimmed, NFC, lower case (extractors/core/email.ts)
  op               VARCHAR NOT NULL CHECK (op IN ('add', 'delete')),
  batch_no         INTEGER NOT NULL,   -- the write call the item travelled in, per run and file
  outcome          VARCHAR NOT NULL
                   CHECK (outcome IN ('sending', 'applied', 'already', 'confirmed', 'failed', 'error')),
  provider_message VARCHAR,            -- the provider's answer or the error, redacted
  written_at       TIMESTAMPTZ NOT NULL
);

-- One row per item and replay run: its latest state in that run. attempted_at is when the run
-- started on the item (its 'sending' row, or the re-read that confirmed it); answered_at when the
-- answer was recorded (NULL while the last row is 'sending').
CREATE VIEW replay_log AS
SELECT patch_id,
       target_account,
       arg_max(email, journal_seq)            AS email,
       arg_max(op, journal_seq)               AS op,
       arg_max(outcome, journal_seq)          AS outcome,
       arg_max(provider_message, journal_seq) AS provider_message,
       min(written_at)                        AS attempted_at,
       CASE WHEN arg_max(outcome, journal_seq) = 'sending' THEN NULL
            ELSE max(written_at) END          AS answered_at,
       run_id,
       arg_max(group_id, journal_seq)         AS group_id,
       arg_max(provider, journal_seq)         AS provider,
       row_no,
       arg_max(email_norm, journal_seq)       AS email_norm,
       arg_max(batch_no, journal_seq)         AS batch_no,
       arg_max(manifest_sha256, journal_seq)  AS manifest_sha256,
       arg_max(file_sha256, journal_seq)      AS file_sha256
FROM stage_replay_log
GROUP BY run_id, patch_id, target_account, row_no;
