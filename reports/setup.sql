-- report: setup
-- output: temp macro report_iso, temp tables report_params and report_accounts
-- inputs: none (the caller fills the tables by bound parameters: the group asked for, or NULL
--         for all, and how many discrepancies the HTML page embeds; the config's accounts)
-- purpose: what the other report queries share. Accounts are numbered so the page data can
-- refer to them by index; report_iso writes an instant as ISO 8601 UTC, with
-- milliseconds only when it has them (the session's TimeZone is UTC).
CREATE OR REPLACE TEMP MACRO report_iso(ts) AS
  CASE WHEN epoch_us(ts) % 1000000 = 0 THEN strftime(ts, '%Y-%m-%dT%H:%M:%SZ')
       ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') END;
CREATE OR REPLACE TEMP TABLE report_params (group_id VARCHAR, html_limit BIGINT NOT NULL);
CREATE OR REPLACE TEMP TABLE report_accounts (account_id VARCHAR PRIMARY KEY, idx INTEGER NOT NULL);
