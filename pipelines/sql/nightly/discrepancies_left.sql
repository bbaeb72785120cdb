-- nightly: discrepancies_left
-- output: one row      grain: —
-- inputs: discrepancies (as the last re-diff left it)
-- purpose: after `--apply-adds` and its verification, how many discrepancies remain in every
-- group: what `--fail-on-discrepancy` then judges.
SELECT count(*)::VARCHAR AS n FROM discrepancies;
