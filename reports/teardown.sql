-- report: teardown
-- purpose: drops the temp objects setup.sql, addresses.sql and evidence_build.sql created, so a
-- caller that keeps the connection (nightly) is left as it was.
DROP TABLE IF EXISTS report_params;
DROP TABLE IF EXISTS report_accounts;
DROP TABLE IF EXISTS report_addresses;
DROP TABLE IF EXISTS report_holders;
DROP TABLE IF EXISTS report_sources;
DROP TABLE IF EXISTS report_runs;
DROP TABLE IF EXISTS report_requests;
DROP TABLE IF EXISTS report_holder_items;
DROP MACRO IF EXISTS report_iso;
