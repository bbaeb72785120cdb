-- 024_addresses_table
-- output: t_addresses (temp, empty)      grain: account_no, scope, value
-- inputs: none
-- purpose: the table 025 fills one account at a time; its columns are described there.
CREATE OR REPLACE TEMP TABLE t_addresses (
  account_no         SMALLINT NOT NULL,
  scope              VARCHAR  NOT NULL,
  value              VARCHAR  NOT NULL,
  usable             BOOLEAN  NOT NULL,
  reject_reason      VARCHAR,
  state_rows         BIGINT   NOT NULL,
  email              VARCHAR,
  first_local_time   TIMESTAMP,
  some_never_expires BOOLEAN,
  last_expires_local TIMESTAMP,
  observed_at        TIMESTAMPTZ,
  first_run_no       INTEGER,
  last_run_no        INTEGER,
  snapshot_bits      HUGEINT  NOT NULL
);
