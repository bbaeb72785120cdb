-- 040_suppressions
-- output: suppressions_state_next (041 fills it), suppression_accounts_next, suppression_runs_next,
--         suppression_source_runs_next (090 publishes them without `_next`, with the views
--         suppressions and suppression_sources)
--         grain: suppressions: account_id, scope, email_norm; suppression_sources: run_id,
--         account_id, request_seq, page, row_no
-- inputs: cfg_accounts, t_run_numbers (017), t_state_runs (020)
-- purpose: the current state of each address in each account and scope (041 says how each
-- column is derived) and its lineage; the views are defined in 090. suppressions_state keeps
-- compact columns (an account and
-- a run are small numbers, explained by suppression_accounts and suppression_runs); the
-- contract view `suppressions` turns them back into names and builds `detail` (JSON:
-- `observed_at`, the first fetch, the only time WhatCounts gives; `source_rows`, how many raw
-- rows back it) only when read, so the transform never writes millions of JSON strings.
-- `suppression_sources` lists those raw rows, one per row, keyed as in raw_rows: the usable raw
-- rows of the runs the state was built from (suppression_source_runs), normalised when read.
-- Nothing is copied: the raw layer is append-only and those runs are committed, so the view
-- shows exactly the rows 025 counted until the next transform.
CREATE OR REPLACE TABLE suppression_accounts_next AS
SELECT account_no, account_id, provider FROM cfg_accounts;

CREATE OR REPLACE TABLE suppression_runs_next AS
SELECT run_no, run_id FROM t_run_numbers;

CREATE OR REPLACE TABLE suppression_source_runs_next AS
SELECT account_id, run_id FROM t_state_runs;

CREATE OR REPLACE TABLE suppressions_state_next (
  account_no      SMALLINT    NOT NULL,   -- suppression_accounts
  -- Addresses are nearly all distinct: FSST straight away, without DuckDB first trying a
  -- dictionary, which cost ~3× the write time of the whole column.
  email           VARCHAR     USING COMPRESSION fsst,   -- NULL: the same as email_norm
  email_norm      VARCHAR     NOT NULL USING COMPRESSION fsst,
  scope           VARCHAR     NOT NULL,
  unsubscribed_at TIMESTAMPTZ,
  expires_at      TIMESTAMPTZ,
  active          BOOLEAN     NOT NULL,
  observed_at     TIMESTAMPTZ NOT NULL,
  source_rows     INTEGER     NOT NULL,
  first_run_no    INTEGER     NOT NULL,   -- suppression_runs
  last_run_no     INTEGER     NOT NULL
);
