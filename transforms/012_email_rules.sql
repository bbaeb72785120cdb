-- 012_email_rules
-- (the rules are code, not data: they are replaced outside the publishing transaction)
-- output: macros normalise_email(raw), email_reject_reason(email_norm), after_quoted_local_part(e)
--         (kept in the warehouse: the view suppression_sources and analysts use them too)
-- inputs: none
-- purpose: the address rules of DESIGN.md "Transform", the SQL twin of extractors/core/email.ts:
--  * normalise_email: strip leading/trailing space, tab, CR, LF; Unicode NFC; lower-case;
--  * email_reject_reason: NULL for a usable address, else the first of empty,
--    contains_whitespace, control_character (C0/C1 controls, DEL), too_long (over 254 UTF-8
--    octets, RFC 5321), missing_at, multiple_at (an `@` inside a leading quoted local part
--    does not count), empty_local_part, empty_domain.
-- Macros are inlined by DuckDB. Most values are plain `local@domain` with no
-- surrounding space, no quote and no inner whitespace: cheap tests and one regular expression
-- settle those, and only the rest go through the rule-by-rule CASE.
CREATE OR REPLACE MACRO normalise_email(raw) AS
  -- the regular expression runs only when an end is whitespace (a cheap test on two characters)
  lower(nfc_normalize(
    CASE WHEN left(raw, 1) IN (' ', chr(9), chr(10), chr(13)) OR right(raw, 1) IN (' ', chr(9), chr(10), chr(13))
         THEN regexp_replace(raw, '^[ \t\r\n]+|[ \t\r\n]+$', '', 'g') ELSE raw END));
CREATE OR REPLACE MACRO after_quoted_local_part(e) AS
  -- the value after a leading quoted local part ("…"), else the whole value
  CASE WHEN starts_with(e, '"') AND strpos(substr(e, 2), '"') > 0
       THEN substr(e, strpos(substr(e, 2), '"') + 2) ELSE e END;
CREATE OR REPLACE MACRO email_reject_reason(e) AS
  CASE
    WHEN strlen(e) <= 254 AND regexp_full_match(e, '[^@"\x00-\x20\x7F-\x{9F}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]+@[^@\x00-\x20\x7F-\x{9F}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]+') THEN NULL
    WHEN length(e) = 0 THEN 'empty'
    -- JS /\s/u: ASCII whitespace plus the Unicode space separators, NBSP, BOM, LS, PS
    WHEN regexp_matches(e, '[\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]') THEN 'contains_whitespace'
    WHEN regexp_matches(e, '[\x00-\x1F\x7F-\x{9F}]') THEN 'control_character'
    WHEN strlen(e) > 254 THEN 'too_long'
    WHEN strpos(after_quoted_local_part(e), '@') = 0 THEN 'missing_at'
    WHEN length(after_quoted_local_part(e)) - length(replace(after_quoted_local_part(e), '@', '')) > 1 THEN 'multiple_at'
    WHEN starts_with(e, '@') THEN 'empty_local_part'
    WHEN ends_with(e, '@') THEN 'empty_domain'
  END;

