-- audit: rejects_known_reason
-- inputs: rejects_next (030)
-- purpose: every reject carries one of the reasons of extractors/core/email.ts; any row returned fails the run.
SELECT *
FROM rejects_next
WHERE reason IS NULL
   OR reason NOT IN ('empty', 'contains_whitespace', 'control_character', 'too_long', 'missing_at', 'multiple_at', 'empty_local_part', 'empty_domain');
