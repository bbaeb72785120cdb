-- 055_suppression_events
-- output: suppression_events      grain: account_id, scope, email_norm, run_id, event
-- inputs: extractions, runs, raw_rows, cfg_accounts
-- purpose: the additions and removals observed between consecutive FULL snapshots of each
-- configured account. A snapshot is a complete full extraction of a committed run (succeeded or
-- partial), ordered by the run's start. An address × scope seen in snapshot N and not in N−1 is
-- 'added' (every address of the first snapshot is 'added'); one seen in N−1 and not in N is
-- 'removed'. observed_at is snapshot N's finished_at; run_id is snapshot N's run. An address
-- counts as seen when some raw row normalises to it and is not a reject (the rules of
-- 020_source_rows.sql / extractors/core/email.ts); expiry does not matter here: an expired
-- SendCloud entry is still held by the provider. Incremental and range reads cannot show a
-- removal and are ignored. Rebuilt whole on every transform.
CREATE OR REPLACE TABLE suppression_events AS
WITH snapshots AS (
  SELECT e.run_id, e.account_id, e.finished_at,
         row_number() OVER (PARTITION BY e.account_id ORDER BY r.started_at, e.run_id) AS n
  FROM extractions e
  JOIN runs r USING (run_id)
  JOIN cfg_accounts a USING (account_id)
  WHERE e.mode = 'full' AND e.status = 'complete' AND r.status IN ('succeeded', 'partial')
),
base AS (
  SELECT s.n, s.account_id, coalesce(rr.scope, 'global') AS scope,
         lower(nfc_normalize(regexp_replace(coalesce(rr.raw_email, ''), '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g'))) AS email_norm
  FROM snapshots s
  JOIN raw_rows rr USING (run_id, account_id)
),
quoted AS (
  SELECT *,
         CASE WHEN starts_with(email_norm, '"') THEN strpos(substr(email_norm, 2), '"') ELSE 0 END AS q
  FROM base
),
parts AS (
  SELECT *, substr(email_norm, CASE WHEN q > 0 THEN q + 2 ELSE 1 END) AS after_quote
  FROM quoted
),
present AS (
  -- the negation of 020's reject_reason CASE, condition by condition
  SELECT DISTINCT n, account_id, scope, email_norm
  FROM parts
  WHERE length(email_norm) > 0
    AND NOT regexp_matches(email_norm, '[\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]')
    AND strpos(after_quote, '@') > 0
    AND length(after_quote) - length(replace(after_quote, '@', '')) <= 1
    AND NOT (q = 0 AND starts_with(email_norm, '@'))
    AND NOT ends_with(email_norm, '@')
),
added AS (
  SELECT cur.account_id, cur.email_norm, cur.scope, 'added' AS event, cur.n
  FROM present cur
  LEFT JOIN present prev
    ON prev.account_id = cur.account_id AND prev.n = cur.n - 1
   AND prev.scope = cur.scope AND prev.email_norm = cur.email_norm
  WHERE prev.n IS NULL
),
removed AS (
  SELECT prev.account_id, prev.email_norm, prev.scope, 'removed' AS event, prev.n + 1 AS n
  FROM present prev
  JOIN snapshots nxt ON nxt.account_id = prev.account_id AND nxt.n = prev.n + 1
  LEFT JOIN present cur
    ON cur.account_id = prev.account_id AND cur.n = prev.n + 1
   AND cur.scope = prev.scope AND cur.email_norm = prev.email_norm
  WHERE cur.n IS NULL
),
events AS (
  SELECT * FROM added
  UNION ALL
  SELECT * FROM removed
)
SELECT ev.account_id, ev.email_norm, ev.scope, ev.event, s.finished_at AS observed_at, s.run_id
FROM events ev
JOIN snapshots s USING (account_id, n)
ORDER BY ev.account_id, ev.scope, ev.email_norm, s.finished_at, ev.event;
