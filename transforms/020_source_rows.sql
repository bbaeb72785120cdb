-- 020_source_rows
-- output: t_source_rows (temp)      grain: run_id, account_id, request_seq, page, row_no
-- inputs: raw_rows, runs, extractions, t_extraction_status, cfg_accounts, transform_params
-- purpose: every raw row of the account's current snapshot (see 010), normalised by the rules
-- of DESIGN.md "Transform" (the SQL twin of extractors/core/email.ts):
--  * email_norm: strip leading/trailing space, tab, CR, LF; Unicode NFC; lower-case;
--  * reject_reason: the first of empty, contains_whitespace, missing_at, multiple_at (an `@`
--    inside a leading quoted local part does not count), empty_local_part, empty_domain;
--  * unsubscribed_at: the provider's local wall time read with the provider's time format and
--    turned into UTC with the account's zone, in bulk by ICU (an ambiguous time resolves to the
--    later instant); NULL where the provider gives no time (WhatCounts);
--  * expires_at / active: SendCloud `expireTime` in the account's zone; an entry whose expiry
--    has passed at transform time is inactive; an unreadable expiry keeps the entry active.
-- Time formats are literals because DuckDB's strptime needs a constant format; the runner
-- refuses a provider whose format is not listed here.
CREATE OR REPLACE TEMP TABLE t_source_rows AS
WITH eligible AS (
  SELECT e.run_id, e.account_id
  FROM extractions e
  JOIN runs r USING (run_id)
  JOIN t_extraction_status s USING (account_id)
  WHERE e.status = 'complete'
    AND (s.snapshot_started_at IS NULL OR r.started_at >= s.snapshot_started_at)
),
base AS (
  SELECT r.run_id, r.account_id, r.provider, r.request_seq, r.page, r.row_no, r.fetched_at,
         r.raw_email, r.raw_time, r.raw_expires, coalesce(r.scope, 'global') AS scope,
         ru.started_at AS run_started_at,
         a.timezone, a.time_format,
         lower(nfc_normalize(regexp_replace(coalesce(r.raw_email, ''), '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g'))) AS email_norm
  FROM raw_rows r
  JOIN eligible USING (run_id, account_id)
  JOIN runs ru USING (run_id)
  JOIN cfg_accounts a USING (account_id)
),
quoted AS (
  SELECT *,
         -- 0-based index of the closing quote of a leading quoted local part, else 0
         CASE WHEN starts_with(email_norm, '"') THEN strpos(substr(email_norm, 2), '"') ELSE 0 END AS q
  FROM base
),
parts AS (
  SELECT *,
         substr(email_norm, CASE WHEN q > 0 THEN q + 2 ELSE 1 END) AS after_quote
  FROM quoted
),
checked AS (
  SELECT *,
         CASE
           WHEN length(email_norm) = 0 THEN 'empty'
           -- JS /\s/u: ASCII whitespace plus the Unicode space separators, NBSP, BOM, LS, PS
           WHEN regexp_matches(email_norm, '[\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]') THEN 'contains_whitespace'
           WHEN strpos(after_quote, '@') = 0 THEN 'missing_at'
           WHEN length(after_quote) - length(replace(after_quote, '@', '')) > 1 THEN 'multiple_at'
           WHEN q = 0 AND starts_with(email_norm, '@') THEN 'empty_local_part'
           WHEN ends_with(email_norm, '@') THEN 'empty_domain'
         END AS reject_reason,
         CASE time_format
           WHEN '%Y-%m-%d %H:%M:%S' THEN timezone(timezone, try_strptime(raw_time, '%Y-%m-%d %H:%M:%S'))
           WHEN '%Y-%m-%d' THEN timezone(timezone, try_strptime(raw_time, '%Y-%m-%d'))
           WHEN 'epoch-seconds' THEN to_timestamp(try_cast(raw_time AS DOUBLE))
         END AS unsubscribed_at,
         timezone(timezone, try_strptime(raw_expires, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])) AS expires_at
  FROM parts
)
SELECT run_id, account_id, provider, request_seq, page, row_no, fetched_at, run_started_at,
       raw_email, raw_time, raw_expires, scope, email_norm, reject_reason, unsubscribed_at, expires_at,
       expires_at IS NULL OR expires_at > (SELECT now FROM transform_params) AS active
FROM checked;
