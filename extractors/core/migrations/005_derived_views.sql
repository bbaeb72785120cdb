-- 005_derived_views
-- output: tables suppression_events_state (grain: snapshot_id, scope_id, email_norm),
--         suppression_event_snapshots (grain: snapshot_id; also account_id, run_id),
--         suppression_event_scopes (grain: scope_id); view suppression_events
-- purpose: from this version `transform` keeps `suppressions` as a view over compact tables it
-- rebuilds (so it writes millions of rows fast), and builds `suppression_events` incrementally:
-- a committed full snapshot never changes, so each one is compared with its predecessor once
-- and the result kept. The tables of the same names that earlier versions wrote are dropped
-- here; the next `transform` rebuilds suppressions, and every event (no snapshot is recorded as
-- compared yet).
DROP TABLE IF EXISTS suppressions;
DROP TABLE IF EXISTS suppression_events;

-- one row per address × scope that changed between a snapshot and the one before it
CREATE TABLE suppression_events_state (
  snapshot_id INTEGER NOT NULL,                          -- suppression_event_snapshots
  scope_id    INTEGER NOT NULL,                          -- suppression_event_scopes
  email_norm  VARCHAR NOT NULL USING COMPRESSION fsst,   -- nearly all distinct: FSST at once
  added       BOOLEAN NOT NULL                           -- false: removed
);

-- every full snapshot already compared with the one before it
CREATE TABLE suppression_event_snapshots (
  snapshot_id INTEGER     NOT NULL,
  account_id  VARCHAR     NOT NULL,
  run_id      VARCHAR     NOT NULL,
  observed_at TIMESTAMPTZ NOT NULL,   -- the extraction's finished_at
  compared_at TIMESTAMPTZ NOT NULL    -- when a transform compared it
);

CREATE TABLE suppression_event_scopes (
  scope_id INTEGER NOT NULL,
  scope    VARCHAR NOT NULL
);

CREATE VIEW suppression_events AS
SELECT s.account_id, e.email_norm, sc.scope, CASE WHEN e.added THEN 'added' ELSE 'removed' END AS event,
       s.observed_at, s.run_id
FROM suppression_events_state e
JOIN suppression_event_snapshots s USING (snapshot_id)
JOIN suppression_event_scopes sc USING (scope_id);
