-- nightly: previous_discrepancies
-- output: nightly_previous_discrepancies (temp)      grain: group_id, email_norm, kind
-- inputs: discrepancies (as the previous transform left it)
-- purpose: kept before the transform rebuilds `discrepancies`, so the nightly summary can say
-- which discrepancies are new tonight and which were resolved.
CREATE OR REPLACE TEMP TABLE nightly_previous_discrepancies AS
SELECT group_id, email_norm, kind FROM discrepancies;
