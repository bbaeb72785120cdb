-- 002_staging
-- output: requests (grain: run_id, account_id, seq), raw_rows (grain: run_id, account_id, request_seq, row_no)
-- purpose: the extract layer's append-only staging: the redacted request log and every row exactly
-- as a provider returned it (parsed record as JSON plus the provider's original timestamp string).
-- Rows are never updated in place; they carry run_id and become visible through the run's status.
-- No keys or indexes: DuckDB's ART indexes slow bulk appends, and uniqueness is the engine's job.
CREATE TABLE requests (
  run_id       VARCHAR NOT NULL,
  account_id   VARCHAR NOT NULL,
  seq          INTEGER NOT NULL,      -- per run and account, in the order requests were issued
  method       VARCHAR NOT NULL,
  url_redacted VARCHAR NOT NULL,      -- secrets removed at the HTTP boundary
  status       INTEGER,               -- HTTP status; NULL when no response arrived
  attempts     INTEGER NOT NULL,
  duration_ms  INTEGER,
  rows         INTEGER,               -- raw rows parsed from the answer
  bytes        BIGINT,
  window_from  TIMESTAMPTZ,           -- the half-open window [from, to) the request covers
  window_to    TIMESTAMPTZ,
  error        VARCHAR,
  started_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw_rows (
  run_id      VARCHAR NOT NULL,
  account_id  VARCHAR NOT NULL,
  provider    VARCHAR NOT NULL,
  request_seq INTEGER NOT NULL,       -- requests.seq of the answer this row came from
  window_from TIMESTAMPTZ,
  window_to   TIMESTAMPTZ,
  page        INTEGER,
  row_no      INTEGER NOT NULL,       -- position of the row within its page
  fetched_at  TIMESTAMPTZ NOT NULL,
  raw         JSON NOT NULL,
  raw_time    VARCHAR                 -- the provider's timestamp string, untouched
);
