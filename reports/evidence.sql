-- report: evidence
-- output: the HTML page's evidence blocks as JSON text      grain: one row per block
-- inputs: report_addresses, report_holder_items, report_runs, report_requests, report_accounts
--         (temp, from evidence_build.sql)
-- purpose: `index` {runs, requests}: run ids, and the requests evidence rows point to, as
-- [run, account, seq, method, url_redacted, status, window_from, window_to, page]; then the
-- addresses' holder lists (layout: evidence_build.sql) in blocks of $chunk_size addresses, block
-- `chunk` holding addresses chunk × $chunk_size onwards, so the page parses only the block of
-- the address it opens.
SELECT 'index' AS part, NULL::BIGINT AS chunk,
       '{"runs":' || (SELECT coalesce(to_json(list(run_id ORDER BY idx)), '[]'::JSON)::VARCHAR FROM report_runs)
       || ',"requests":[' || (
         SELECT coalesce(string_agg(
                  json_array(ru.idx, acc.idx, q.seq, q.method, q.url_redacted, q.status,
                             report_iso(q.window_from), report_iso(q.window_to), q.page)::VARCHAR,
                  ',' ORDER BY q.idx), '')
         FROM report_requests q
         JOIN report_runs ru USING (run_id)
         JOIN report_accounts acc USING (account_id)) || ']}' AS json
UNION ALL
SELECT 'entries', chunk, '[' || string_agg(entry, ',' ORDER BY idx) || ']'
FROM (
  SELECT a.idx, a.idx // $chunk_size AS chunk,
         '[' || coalesce(array_to_string(list_transform(
                  list_sort(list({account_idx: hi.account_idx, scope: hi.scope, item: hi.item})
                            FILTER (WHERE hi.item IS NOT NULL)),
                  x -> x.item), ','), '') || ']' AS entry
  FROM report_addresses a
  LEFT JOIN report_holder_items hi ON hi.address_idx = a.idx
  GROUP BY a.idx
)
GROUP BY chunk
ORDER BY part DESC, chunk;
