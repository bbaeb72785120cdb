-- nightly: no_previous_discrepancies
-- output: nightly_previous_discrepancies (temp, empty)      grain: group_id, email_norm, kind
-- inputs: none
-- purpose: the first transform of a warehouse has nothing before it: every discrepancy is new.
CREATE OR REPLACE TEMP TABLE nightly_previous_discrepancies (
  group_id VARCHAR, email_norm VARCHAR, kind VARCHAR
);
