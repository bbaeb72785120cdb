-- nightly: teardown
-- output: none (drops)
-- inputs: the temp tables of previous_discrepancies.sql / previous_suppressions.sql (or their
--         no_previous_* twins)
-- purpose: dropped once the summary's new / resolved counts are read, transform or not: report
-- and plan share the connection and its memory limit, and a full re-read's previous
-- suppressions can be every address of the account.
DROP TABLE IF EXISTS nightly_previous_discrepancies;
DROP TABLE IF EXISTS nightly_previous_suppressions;
