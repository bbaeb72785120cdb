-- audit/evidence
-- output: the raw rows behind the address's suppressions, each with the request that returned it
--         grain: account_id, run_id, request_seq, page, row_no
-- inputs: raw_rows, suppression_source_runs (the runs the last transform built each account's
--         state from), requests; the macro normalise_email (transforms/012); $email_norm
-- purpose: the evidence of `audit`: the same rows as the view suppression_sources, with the
-- values exactly as the provider sent them and the redacted URL, window and page of the request.
-- The `contains` test is a cheap pre-filter (the lower-cased, NFC raw value contains its own
-- normalised form), so only candidate rows are normalised in full.
SELECT r.account_id, coalesce(r.scope, 'global') AS scope, r.run_id, r.request_seq, r.page, r.row_no,
       r.fetched_at, r.raw_email, r.raw_time, r.raw,
       q.method, q.url_redacted, q.status, q.window_from, q.window_to, q.page AS request_page
FROM raw_rows r
JOIN suppression_source_runs s USING (account_id, run_id)
LEFT JOIN requests q ON q.run_id = r.run_id AND q.account_id = r.account_id AND q.seq = r.request_seq
WHERE contains(lower(nfc_normalize(r.raw_email)), $email_norm)
  AND normalise_email(coalesce(r.raw_email, '')) = $email_norm
ORDER BY r.account_id, scope, r.run_id, r.request_seq, r.page, r.row_no;
