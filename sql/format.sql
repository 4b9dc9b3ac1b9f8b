-- The template engine through seqguard_format(): every token, padding, errors.
-- Errors are shown with their SQLSTATE through a helper that catches them, which also
-- proves that the session keeps working after an error raised deep in C++.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The examples of docs/reference.md, "Templates".
SELECT seqguard_format('ASM-{YYYY}-{seq:3}', 6, '', '2026-03-01');
SELECT seqguard_format('ICCT-{seq:3}', 1);
SELECT seqguard_format('INV/{YY}{MM}/{seq:5}', 1, '', '2026-11-23');
SELECT seqguard_format('{scope}-{seq:4}', 1, 'EU');
SELECT seqguard_format('INV/{YY}{MM}/{scope}/{seq:5}', 1, 'EU', '2026-11-23');

-- The default date is today.
SELECT seqguard_format('ASM-{YYYY}-{seq:3}', 6) = 'ASM-' || to_char(current_date, 'YYYY') || '-006' AS uses_current_date;

-- Every date token, zero padded.
SELECT seqguard_format('{YYYY}|{YY}|{MM}|{DD}|{seq}', 7, '', '2009-02-03');
SELECT seqguard_format('{DD}.{MM}.{YYYY}-{seq:2}', 7, '', '0999-12-31');

-- Padding widens, it never truncates (lpad does: that is a duplicate-ID bug).
SELECT v, seqguard_format('ICCT-{seq:3}', v) AS seqguard, 'ICCT-' || lpad(v::text, 3, '0') AS lpad
  FROM unnest(ARRAY[1, 99, 999, 1000, 12345]) v;
SELECT seqguard_format('{seq}', 0), seqguard_format('{seq:18}', 1), seqguard_format('{seq:2}', 9223372036854775807);
SELECT seqguard_format('N{seq:4}', -5), seqguard_format('N{seq}', -9223372036854775808);

-- Literal braces.
SELECT seqguard_format('{{{seq:2}}}', 3), seqguard_format('a}}b{{c-{seq}', 3);

-- Scope can be anything, including braces and the empty string.
SELECT seqguard_format('{scope}/{seq}', 1, 'x{seq}y'), seqguard_format('[{scope}]{seq}', 1, '');

-- Bad templates: 22023 with the position of the bad token.
SELECT pg_temp.err($$ SELECT seqguard_format('ASM-{foo}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('ASM-{YYYY}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq}-{seq:2}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq:0}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq:19}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq:x}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{yyyy}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('ASM-{YYYY', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('ASM}-{seq}', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('', 1) $$);

-- NULLs are errors, never a NULL ID (22004); dates must be finite (22008).
SELECT pg_temp.err($$ SELECT seqguard_format(NULL, 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq}', NULL) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{seq}', 1, NULL) $$);
SELECT pg_temp.err($$ SELECT seqguard_format('{YYYY}{seq}', 1, '', 'infinity') $$);

-- An error raised in C++ reaches the client directly too, and the session goes on.
SELECT seqguard_format('{nope}{seq}', 1);
SELECT seqguard_format('still-{seq}', 1) AS session_still_works;
