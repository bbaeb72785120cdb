-- replay/item_states
-- output: each journaled item's last state across runs      grain: patch_id, row_no
-- inputs: stage_replay_log; params $files (each '<patch_id>#<file sha256>' being replayed)
-- purpose: what a replay of the same patch must not do again. The last row per item decides:
-- applied / already / confirmed are done; sending (in flight when its run ended) and error are
-- in doubt and re-read before anything is resent; failed is sent again. A file's rows are
-- matched by patch id AND sha256, so a rewritten file is never mistaken for the one replayed.
SELECT patch_id,
       row_no,
       last(outcome ORDER BY written_at, journal_seq) AS outcome,
       last(run_id ORDER BY written_at, journal_seq)  AS run_id
FROM stage_replay_log
WHERE list_contains($files::VARCHAR[], patch_id || '#' || file_sha256)
GROUP BY patch_id, row_no;
