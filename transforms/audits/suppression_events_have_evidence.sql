-- audit: suppression_events_have_evidence
-- inputs: suppression_events, raw_rows, extractions
-- purpose: every event comes from a complete full extraction of its account, and every 'added'
-- event has a raw row in that run that normalises to the address; any row returned fails the run.
SELECT ev.*
FROM suppression_events ev
WHERE NOT EXISTS (
        SELECT 1 FROM extractions e
        WHERE e.run_id = ev.run_id AND e.account_id = ev.account_id
          AND e.mode = 'full' AND e.status = 'complete'
      )
   OR (ev.event = 'added' AND NOT EXISTS (
        SELECT 1 FROM raw_rows rr
        WHERE rr.run_id = ev.run_id AND rr.account_id = ev.account_id
          AND coalesce(rr.scope, 'global') = ev.scope
          AND lower(nfc_normalize(regexp_replace(coalesce(rr.raw_email, ''), '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g'))) = ev.email_norm
      ));
