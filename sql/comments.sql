-- Every member of the extension explains itself in \dx+, \df+ and \d+: a function,
-- view, table, sequence or schema added without COMMENT ON is listed here.
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS member_without_comment
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'seqguard'
   AND obj_description(d.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = d.classid)) IS NULL
 ORDER BY 1;
-- The check sees members of every kind (not counted: other features add members).
SELECT DISTINCT c.relname AS catalog
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
  JOIN pg_class c ON c.oid = d.classid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'seqguard'
 ORDER BY 1;
-- And it would fail: a member whose comment is removed is listed.
BEGIN;
COMMENT ON FUNCTION seqguard_peek(text, text, date) IS NULL;
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS member_without_comment
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'seqguard'
   AND obj_description(d.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = d.classid)) IS NULL;
ROLLBACK;
