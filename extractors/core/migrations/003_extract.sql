-- 003_extract
-- purpose: what extraction needs beyond 002, and the contract views over committed runs.
--  * The staging tables become stage_raw_rows / stage_requests; the contract names raw_rows and
--    requests are views, so a row is visible only once its run has committed (a killed run's
--    rows stay invisible even to a reader that opens the file before the next writer cleans up).
--  * stage_raw_rows gains the fields every transform needs without knowing the provider's record
--    layout: the address exactly as received, the scope, and the provider's expiry string.
--  * stage_extractions (grain: run_id, account_id) is each account's completeness record;
--    stage_extract_windows (grain: run_id, account_id, window_no) its windows with pages and rows.
ALTER TABLE raw_rows RENAME TO stage_raw_rows;
ALTER TABLE requests RENAME TO stage_requests;
ALTER TABLE stage_raw_rows ADD COLUMN raw_email VARCHAR;     -- the address exactly as received
ALTER TABLE stage_raw_rows ADD COLUMN scope VARCHAR;         -- 'global' or 'list:<id>'
ALTER TABLE stage_raw_rows ADD COLUMN raw_expires VARCHAR;   -- provider expiry string (SendCloud expireTime)
ALTER TABLE stage_requests ADD COLUMN page INTEGER;          -- page number within its window

CREATE TABLE stage_extractions (
  run_id           VARCHAR NOT NULL,
  account_id       VARCHAR NOT NULL,
  provider         VARCHAR NOT NULL,
  mode             VARCHAR NOT NULL CHECK (mode IN ('full', 'incremental', 'range')),
  range_from       TIMESTAMPTZ NOT NULL,   -- the half-open range [from, to) asked for
  range_to         TIMESTAMPTZ NOT NULL,
  status           VARCHAR NOT NULL CHECK (status IN ('complete', 'incomplete', 'failed')),
  windows          INTEGER NOT NULL,
  windows_failed   INTEGER NOT NULL,
  requests         INTEGER NOT NULL,
  retries          INTEGER NOT NULL,
  rows             BIGINT NOT NULL,
  bytes            BIGINT NOT NULL,
  coverage_ok      BOOLEAN NOT NULL,      -- windows cover the range with no gap and no overlap
  error            VARCHAR,               -- redacted; why the account is incomplete or failed
  started_at       TIMESTAMPTZ NOT NULL,
  finished_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE stage_extract_windows (
  run_id          VARCHAR NOT NULL,
  account_id      VARCHAR NOT NULL,
  window_no       INTEGER NOT NULL,
  scope           VARCHAR NOT NULL,
  window_from     TIMESTAMPTZ NOT NULL,
  window_to       TIMESTAMPTZ NOT NULL,
  params          JSON NOT NULL,          -- what was sent for the window (dates, days), no secrets
  pages           INTEGER NOT NULL,
  rows            BIGINT NOT NULL,
  provider_total  BIGINT,                 -- the provider's own count, where it reports one
  stop_rule       VARCHAR,
  status          VARCHAR NOT NULL CHECK (status IN ('complete', 'failed', 'split')),
  error           VARCHAR
);

CREATE VIEW raw_rows AS
  SELECT s.* FROM stage_raw_rows s
  WHERE s.run_id IN (SELECT run_id FROM runs WHERE status IN ('succeeded', 'partial'));

-- The request log of a failed run stays readable: it is how a user finds the failing request.
CREATE VIEW requests AS
  SELECT s.* FROM stage_requests s
  WHERE s.run_id IN (SELECT run_id FROM runs WHERE status <> 'running');

CREATE VIEW extractions AS
  SELECT s.* FROM stage_extractions s
  WHERE s.run_id IN (SELECT run_id FROM runs WHERE status <> 'running');

CREATE VIEW extract_windows AS
  SELECT s.* FROM stage_extract_windows s
  WHERE s.run_id IN (SELECT run_id FROM runs WHERE status <> 'running');
