-- report: evidence_build
-- output: temp tables report_holders, report_sources, report_runs, report_requests,
--         report_holder_items
-- inputs: suppressions, suppression_sources, raw_rows, requests,
--         report_addresses, report_accounts (temp)
-- purpose: the per-address evidence of the HTML page. For every address the page shows
-- (report_addresses, numbered by addresses.sql), each account that holds it in any scope
-- (active or not) — since when, the spelling, expiry, the runs that saw it — and every raw row
-- behind it with the request that delivered it (URL redacted at the HTTP boundary). Each step is a temp table so the later ones read it once instead of recomputing it.
-- JSON is built here as text: converting hundreds of thousands of values into JS one by one
-- costs ~10× more. Only the page's addresses: the work and the JSON are bounded by the page's
-- row limit, however many discrepancies there are. A holder item (read by reports/assets/app.js):
--   [account, scope, spelling (0: the address itself), since, expires, active,
--    observed_at (first fetch; only when since is unknown), first_seen_run, last_seen_run,
--    [[run, request_seq, page, row_no, raw_email (0: the spelling), raw_time, raw_expires,
--      request (-1: not in the request log)], …]]
CREATE OR REPLACE TEMP TABLE report_holders AS
SELECT s.email_norm, s.account_id, s.scope, s.email, s.unsubscribed_at, s.expires_at, s.active,
       s.first_seen_run, s.last_seen_run, a.idx AS address_idx
FROM suppressions s
JOIN report_addresses a USING (email_norm);

CREATE OR REPLACE TEMP TABLE report_sources AS
SELECT ss.email_norm, ss.account_id, ss.scope, ss.run_id, ss.request_seq, ss.page, ss.row_no,
       r.raw_email, r.raw_time, r.raw_expires, r.fetched_at
FROM suppression_sources ss
JOIN report_addresses USING (email_norm)
JOIN raw_rows r
  ON r.run_id = ss.run_id AND r.account_id = ss.account_id AND r.request_seq = ss.request_seq
 AND r.page IS NOT DISTINCT FROM ss.page AND r.row_no = ss.row_no;

CREATE OR REPLACE TEMP TABLE report_runs AS
SELECT run_id, row_number() OVER (ORDER BY run_id) - 1 AS idx
FROM (SELECT run_id FROM report_sources
      UNION SELECT first_seen_run FROM report_holders
      UNION SELECT last_seen_run FROM report_holders);

CREATE OR REPLACE TEMP TABLE report_requests AS
SELECT q.run_id, q.account_id, q.seq, q.method, q.url_redacted, q.status, q.window_from, q.window_to,
       q.page, row_number() OVER (ORDER BY q.run_id, q.account_id, q.seq) - 1 AS idx
FROM requests q
JOIN (SELECT DISTINCT run_id, account_id, request_seq AS seq FROM report_sources) USING (run_id, account_id, seq);

CREATE OR REPLACE TEMP TABLE report_holder_items AS
WITH source_lists AS (
  SELECT s.email_norm, s.account_id, s.scope,
         min(s.fetched_at) AS observed_at,
         -- list_sort of each (small) list: an ORDER BY inside the aggregate is ~4× slower here
         array_to_string(list_transform(list_sort(list({
           run_id: s.run_id, request_seq: s.request_seq, page: s.page, row_no: s.row_no,
           item: json_array(ru.idx, s.request_seq, s.page, s.row_no,
                            CASE WHEN s.raw_email = h.email THEN to_json(0) ELSE to_json(s.raw_email) END,
                            s.raw_time, s.raw_expires, coalesce(q.idx, -1))::VARCHAR
         })), x -> x.item), ',') AS items
  FROM report_sources s
  JOIN report_holders h USING (email_norm, account_id, scope)
  JOIN report_runs ru USING (run_id)
  LEFT JOIN report_requests q ON q.run_id = s.run_id AND q.account_id = s.account_id AND q.seq = s.request_seq
  GROUP BY s.email_norm, s.account_id, s.scope
)
SELECT h.address_idx, acc.idx AS account_idx, h.scope,
       -- the source list is already JSON text: spliced in before the closing bracket, not parsed again
       left(json_array(acc.idx, h.scope,
                       CASE WHEN h.email = h.email_norm THEN to_json(0) ELSE to_json(h.email) END,
                       report_iso(h.unsubscribed_at), report_iso(h.expires_at), h.active,
                       CASE WHEN h.unsubscribed_at IS NULL THEN report_iso(sl.observed_at) END,
                       first_run.idx, last_run.idx)::VARCHAR, -1)
         || ',[' || coalesce(sl.items, '') || ']]' AS item
FROM report_holders h
JOIN report_accounts acc USING (account_id)
JOIN report_runs first_run ON first_run.run_id = h.first_seen_run
JOIN report_runs last_run ON last_run.run_id = h.last_seen_run
LEFT JOIN source_lists sl USING (email_norm, account_id, scope);
