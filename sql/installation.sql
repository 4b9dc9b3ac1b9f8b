-- Installation choices: CREATE EXTENSION ... SCHEMA x puts the functions and views in
-- x and keeps the state in the schema seqguard; the extension is not trusted (only a
-- superuser installs it); it cannot be moved afterwards. Run in a database of its own,
-- so that the suite's extension stays as it is.
\set regress_db :DBNAME
SELECT version, superuser, trusted, relocatable, schema
  FROM pg_available_extension_versions WHERE name = 'seqguard' ORDER BY version;
CREATE ROLE regress_sg_dbowner;
CREATE DATABASE regress_seqguard_install OWNER regress_sg_dbowner;
\c regress_seqguard_install
SET client_min_messages = warning;

-- Not trusted: a database owner (CREATE on the database) may not install it.
SET ROLE regress_sg_dbowner;
CREATE EXTENSION seqguard;
RESET ROLE;

-- SCHEMA x: functions and views in x, state in seqguard.
CREATE SCHEMA regress_sg_x;
CREATE EXTENSION seqguard SCHEMA regress_sg_x;
SELECT extnamespace::regnamespace AS extension_schema FROM pg_extension WHERE extname = 'seqguard';
-- (which kinds land where; not counted: other features add members)
SELECT DISTINCT n.nspname, c.relname AS catalog
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
  JOIN pg_class c ON c.oid = d.classid
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  LEFT JOIN pg_class r ON d.classid = 'pg_class'::regclass AND r.oid = d.objid
  JOIN pg_namespace n ON n.oid = COALESCE(p.pronamespace, r.relnamespace)
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'seqguard'
 ORDER BY 1, 2;
-- Nothing landed in public.
SELECT count(*) AS in_public FROM pg_proc WHERE pronamespace = 'public'::regnamespace;

-- Every feature works with x off the search_path (as it is here) and on it.
SHOW search_path;
SELECT regress_sg_x.seqguard_create_series('INS', 'INS-{seq:3}');
SELECT regress_sg_x.seqguard_create_series('INSF', 'INSF-{scope}-{seq}', gapless => false);
SELECT regress_sg_x.next_formatted_id('INS'), regress_sg_x.next_formatted_id('INS');
SELECT regress_sg_x.next_formatted_id('INSF', 'EU'), regress_sg_x.next_formatted_id('INSF', 'EU');
SELECT series, scope, last_value FROM regress_sg_x.seqguard_counters ORDER BY 1, 2;
CREATE TABLE ins_docs (id text PRIMARY KEY DEFAULT regress_sg_x.next_formatted_id('INS'), late text, body text);
SELECT regress_sg_x.seqguard_attach('ins_docs', 'late', 'INS');
INSERT INTO ins_docs (body) VALUES ('a'), ('b');
SELECT id, late, body FROM ins_docs ORDER BY id;
CREATE TABLE ins_rows (id serial PRIMARY KEY);
SELECT regress_sg_x.seqguard_protect('ins_rows');
INSERT INTO ins_rows VALUES (41);
INSERT INTO ins_rows DEFAULT VALUES RETURNING id;
INSERT INTO ins_rows SELECT 100;
SELECT regress_sg_x.seqguard_sync_all(schema_name => 'public');
SELECT status, job_id > 0 AS has_job FROM regress_sg_x.seqguard_idem_begin('ins-key');
SET search_path = regress_sg_x, public;
SELECT next_formatted_id('INS'), seqguard_currval('INS'), seqguard_peek('INS');
RESET search_path;

-- Not relocatable: the functions pin search_path and name seqguard's own schema.
ALTER EXTENSION seqguard SET SCHEMA public;

-- The update from 1.0 creates its new functions in x too.
DROP EXTENSION seqguard CASCADE;
DROP TABLE ins_docs, ins_rows;
CREATE EXTENSION seqguard SCHEMA regress_sg_x VERSION '1.0';
ALTER EXTENSION seqguard UPDATE;
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.proname IN ('seqguard_grant_allocate', 'seqguard_attach', 'late_guard') ORDER BY p.oid::regprocedure::text;

-- A schema named seqguard is the extension's own: one that exists already is refused.
DROP EXTENSION seqguard;
CREATE SCHEMA seqguard;
-- PostgreSQL 18 adds the line of the extension script as CONTEXT; the error is the same.
\set SHOW_CONTEXT never
CREATE EXTENSION seqguard;
\set SHOW_CONTEXT errors
DROP SCHEMA seqguard;

\c :regress_db
DROP DATABASE regress_seqguard_install WITH (FORCE);
DROP ROLE regress_sg_dbowner;
