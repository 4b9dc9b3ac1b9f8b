-- Every member of the extension explains itself in \dx+, \df+ and \d+: a function,
-- view, table, sequence or schema added without COMMENT ON is listed here.
-- From PostgreSQL 17 on, the row types of the extension's tables and views (and their
-- array types) are members too; they are described by their relations' comments and
-- are left out, so that the check reads the same on every major.
CREATE TEMP VIEW seqguard_members AS
SELECT d.classid, d.objid, d.objsubid
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'seqguard'
   AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (
         SELECT FROM pg_type t
          WHERE t.oid = d.objid
            AND (t.typrelid <> 0
                 OR EXISTS (SELECT FROM pg_type el WHERE el.oid = t.typelem AND el.typrelid <> 0))));
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) AS member_without_comment
  FROM seqguard_members m
 WHERE obj_description(m.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = m.classid)) IS NULL
 ORDER BY 1;
-- The check sees members of every kind (not counted: other features add members).
SELECT DISTINCT c.relname AS catalog
  FROM seqguard_members m
  JOIN pg_class c ON c.oid = m.classid
 ORDER BY 1;
-- And it would fail: a member whose comment is removed is listed.
BEGIN;
COMMENT ON FUNCTION seqguard_peek(text, text, date) IS NULL;
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) AS member_without_comment
  FROM seqguard_members m
 WHERE obj_description(m.objid, (SELECT c.relname FROM pg_class c WHERE c.oid = m.classid)) IS NULL;
ROLLBACK;
DROP VIEW seqguard_members;
