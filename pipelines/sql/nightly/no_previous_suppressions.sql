-- nightly: no_previous_suppressions
-- output: nightly_previous_suppressions (temp, empty)      grain: account_id, scope, email_norm
-- inputs: none
-- purpose: the first transform of a warehouse has nothing before it: every suppression is new.
CREATE OR REPLACE TEMP TABLE nightly_previous_suppressions (
  account_id VARCHAR, scope VARCHAR, email_norm VARCHAR
);
