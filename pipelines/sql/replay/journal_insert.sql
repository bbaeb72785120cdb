-- replay/journal_insert
-- output: rows of stage_replay_log (migration 004)      grain: run_id, journal_seq
-- inputs: params — one batch of one patch file: $run_id, $patch_id, $manifest_sha256,
--         $file_sha256, $group_id, $target, $provider, $op, $batch_no, $written_at, and the
--         parallel lists $seqs, $row_nos, $emails, $norms, $outcomes, $messages (one per item)
-- purpose: journal a batch in one statement, so its rows commit together: before the request
-- (outcome 'sending') and again after the answer.
INSERT INTO stage_replay_log (run_id, journal_seq, patch_id, manifest_sha256, file_sha256, group_id,
                              target_account, provider, row_no, email, email_norm, op, batch_no,
                              outcome, provider_message, written_at)
SELECT $run_id, unnest($seqs::INTEGER[]), $patch_id, $manifest_sha256, $file_sha256, $group_id,
       $target, $provider, unnest($row_nos::INTEGER[]), unnest($emails::VARCHAR[]),
       unnest($norms::VARCHAR[]), $op, $batch_no, unnest($outcomes::VARCHAR[]),
       unnest($messages::VARCHAR[]), $written_at;
