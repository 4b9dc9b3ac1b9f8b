-- Security: what an ordinary role can and cannot do, search_path hijacking, and catalog
-- checks that fail when a function is added without the right privileges or settings.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Roles: an attacker with no special rights, and an administrator to whom the extension
-- owner delegates series administration.
CREATE ROLE regress_sg_attacker;
CREATE ROLE regress_sg_admin;
GRANT EXECUTE ON FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name, text, text, boolean),
                          seqguard_sync_series(text)
   TO regress_sg_admin;

SELECT seqguard_create_series('SEC', 'SEC-{seq:4}');
SELECT seqguard_create_series('SECF', 'SECF-{scope}-{seq}', gapless => false);
SELECT next_formatted_id('SEC'), next_formatted_id('SECF', 'EU');
CREATE TABLE sec_docs (id text PRIMARY KEY DEFAULT next_formatted_id('SEC'), body text);
GRANT SELECT, INSERT ON sec_docs TO regress_sg_attacker;
-- The name of the fast counter's sequence, for direct attacks on it.
SELECT sequence_name AS secf_seq FROM seqguard.counters WHERE series = 'SECF' \gset

-- 1. An ordinary role allocates IDs, and can do nothing else to counters.
SET ROLE regress_sg_attacker;
INSERT INTO sec_docs (body) VALUES ('ordinary insert') RETURNING id;
SELECT next_formatted_id('SECF', 'EU');
-- Administration functions: EXECUTE is not granted (42501).
SELECT pg_temp.err($$ SELECT seqguard_setval('SEC', 0) $$);
SELECT pg_temp.err($$ SELECT seqguard_setval('SECF', 0, 'EU') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('MINE', '{seq}') $$);
SELECT pg_temp.err($$ SELECT seqguard_drop_series('SEC') $$);
SELECT pg_temp.err($$ SELECT seqguard_sync_series('SEC') $$);
-- seqguard's tables: no privilege on the schema, so no read, write or DDL (42501).
SELECT pg_temp.err($$ SELECT * FROM seqguard.counters $$);
SELECT pg_temp.err($$ UPDATE seqguard.counters SET last_value = 0 $$);
SELECT pg_temp.err($$ DELETE FROM seqguard.counters $$);
SELECT pg_temp.err($$ INSERT INTO seqguard.counters VALUES ('SEC', '', '', 0, NULL) $$);
SELECT pg_temp.err($$ UPDATE seqguard.series SET start_value = 0 $$);
SELECT pg_temp.err($$ DELETE FROM seqguard.series $$);
SELECT pg_temp.err($$ TRUNCATE seqguard.counters $$);
SELECT pg_temp.err($$ CREATE TABLE seqguard.mine (x int) $$);
SELECT pg_temp.err($$ ALTER TABLE seqguard.counters DISABLE TRIGGER ALL $$);
-- A fast counter's sequence: not reachable directly either.
SELECT pg_temp.err(format($$ SELECT setval('seqguard.%I', 1) $$, :'secf_seq'));
SELECT pg_temp.err(format($$ SELECT nextval('seqguard.%I') $$, :'secf_seq'));
SELECT pg_temp.err(format($$ ALTER SEQUENCE seqguard.%I RESTART $$, :'secf_seq'));
SELECT pg_temp.err(format($$ DROP SEQUENCE seqguard.%I $$, :'secf_seq'));
-- Views are read-only, and the extension's objects belong to the owner.
SELECT pg_temp.err($$ UPDATE seqguard_counters SET last_value = 0 $$);
SELECT pg_temp.err($$ DELETE FROM seqguard_series $$);
SELECT pg_temp.err($$ UPDATE seqguard_series SET start_value = 0 $$);
SELECT pg_temp.err($$ INSERT INTO seqguard_series (series, format) VALUES ('X', '{seq}') $$);
SELECT pg_temp.err($$ DROP VIEW seqguard_counters $$);
SELECT pg_temp.err($$ DROP FUNCTION next_formatted_id(text, text, date) $$);
SELECT pg_temp.err($$ CREATE OR REPLACE FUNCTION seqguard_peek(series text, scope text DEFAULT '', at date DEFAULT current_date) RETURNS text LANGUAGE sql AS 'SELECT NULL::text' $$);
SELECT pg_temp.err($$ DROP EXTENSION seqguard $$);
SELECT pg_temp.err($$ ALTER EXTENSION seqguard UPDATE $$);
-- Hostile text in arguments is data, never SQL.
SELECT next_formatted_id('SECF', $$x'); DELETE FROM seqguard.counters; --$$) AS hostile_scope;
SELECT pg_temp.err($$ SELECT next_formatted_id('SEC''; DROP TABLE sec_docs; --') $$);
RESET ROLE;
SELECT series, scope, period, last_value FROM seqguard_counters WHERE series LIKE 'SEC%' ORDER BY 1, 2;
SELECT count(*) AS sec_docs_rows FROM sec_docs;

-- 2. Delegation: a role granted EXECUTE administers series, but sync still reads the
-- target table with the caller's own privileges (seqguard does not read it for them).
CREATE TABLE sec_private (no text);
INSERT INTO sec_private VALUES ('P-7');
SELECT seqguard_create_series('PRIV', 'P-{seq}', target_table => 'sec_private', target_column => 'no');
SET ROLE regress_sg_admin;
SELECT seqguard_create_series('DELEGATED', 'D-{seq}');
SELECT pg_temp.err($$ SELECT seqguard_sync_series('PRIV') $$);
SELECT pg_temp.err($$ SELECT seqguard_setval('DELEGATED', 5) $$);
RESET ROLE;
SELECT seqguard_peek('PRIV');

-- 3. search_path hijacking. The attacker creates, in a schema of its own, functions and
-- operators named like everything seqguard's queries could resolve by name, and puts
-- that schema first on its path, ahead of pg_catalog. Each one records that it ran and
-- tries to make the attacker superuser (which would work if it ran as the owner).
CREATE SCHEMA sec_evil AUTHORIZATION regress_sg_attacker;
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
SET ROLE regress_sg_attacker;
CREATE TABLE sec_evil.calls (fn text, by_user name);
GRANT INSERT, SELECT ON sec_evil.calls TO PUBLIC;
CREATE FUNCTION sec_evil.caught(fn text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sec_evil.calls VALUES (fn, current_user);
  BEGIN
    EXECUTE 'ALTER ROLE regress_sg_attacker SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $$;
-- Functions with the names and argument types seqguard or its views could use.
CREATE FUNCTION sec_evil.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('now'); RETURN '2000-01-01'; END $$;
CREATE FUNCTION sec_evil.lpad(text, integer, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('lpad'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.format(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('format'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.format(text, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('format'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.to_char(date, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('to_char'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('nextval'); RETURN 1; END $$;
CREATE FUNCTION sec_evil.setval(regclass, bigint) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('setval'); RETURN 1; END $$;
CREATE FUNCTION sec_evil.setval(regclass, bigint, boolean) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('setval'); RETURN 1; END $$;
CREATE FUNCTION sec_evil.upper(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('upper'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.length(text) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('length'); RETURN 0; END $$;
CREATE FUNCTION sec_evil.text(bigint) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('text'); RETURN 'X'; END $$;
CREATE FUNCTION sec_evil.int8(integer) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('int8'); RETURN 0; END $$;
CREATE FUNCTION sec_evil.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('pg_advisory_xact_lock'); END $$;
CREATE FUNCTION sec_evil.hashtext(text) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('hashtext'); RETURN 0; END $$;
CREATE FUNCTION sec_evil.quote_ident(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('quote_ident'); RETURN 'x'; END $$;
-- Operators on the types seqguard compares and computes with.
CREATE FUNCTION sec_evil.eq_text(text, text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('= text'); RETURN true; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.eq_text);
CREATE FUNCTION sec_evil.eq_name(name, name) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('= name'); RETURN true; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = sec_evil.eq_name);
CREATE FUNCTION sec_evil.eq_name_text(name, text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('= name text'); RETURN true; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = name, RIGHTARG = text, FUNCTION = sec_evil.eq_name_text);
CREATE FUNCTION sec_evil.plus(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('+ bigint'); RETURN 0; END $$;
CREATE OPERATOR sec_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.plus);
CREATE FUNCTION sec_evil.plus48(bigint, integer) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('+ bigint int'); RETURN 0; END $$;
CREATE OPERATOR sec_evil.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = sec_evil.plus48);
CREATE FUNCTION sec_evil.lt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('< bigint'); RETURN true; END $$;
CREATE OPERATOR sec_evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.lt);
CREATE FUNCTION sec_evil.gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('> bigint'); RETURN true; END $$;
CREATE OPERATOR sec_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.gt);
CREATE FUNCTION sec_evil.concat_text(text, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN PERFORM sec_evil.caught('|| text'); RETURN 'X'; END $$;
CREATE OPERATOR sec_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.concat_text);
-- Tables and views named like seqguard's, where unqualified names would find them.
CREATE TABLE sec_evil.counters (series text, scope text, period text, last_value bigint, sequence_name name);
CREATE TABLE sec_evil.series (name text, format text);
CREATE VIEW sec_evil.pg_sequences AS SELECT 'seqguard'::name AS schemaname, 'x'::name AS sequencename, 666::bigint AS last_value;
GRANT SELECT ON sec_evil.counters, sec_evil.series, sec_evil.pg_sequences TO PUBLIC;
CREATE TEMP TABLE counters (series text, scope text, period text, last_value bigint, sequence_name name);

-- Allocating with the hijacked path: every ID is right, nothing of the attacker's ran.
SET search_path = sec_evil, pg_catalog, public;
INSERT INTO sec_docs (body) VALUES ('hijacked path') RETURNING id;
SELECT next_formatted_id('SEC'), seqguard_nextval('SEC'), seqguard_currval('SEC'), seqguard_peek('SEC');
SELECT next_formatted_id('SECF', 'EU'), next_formatted_id('SECF', 'NEW'), seqguard_peek('SECF', 'NEW');
SELECT seqguard_format('F-{YYYY}-{seq:3}', 7, '', '2026-01-02');
SELECT series, scope, period, last_value FROM seqguard_counters WHERE series LIKE 'SEC%' ORDER BY 1, 2;
BEGIN;
SELECT next_formatted_id('SEC');
ROLLBACK;
RESET search_path;
RESET ROLE;

-- The owner (a superuser here) working with a hijacked path: administration is not
-- redirected either. This is the dangerous case: code the attacker planted would run
-- with the owner's rights.
SET search_path = sec_evil, pg_catalog, public;
SELECT seqguard_create_series('SEC2', 'S2-{YYYY}-{seq:2}');
SELECT seqguard_create_series('SEC2F', 'S2F-{seq}', gapless => false);
SELECT next_formatted_id('SEC2', '', '2026-03-04'), next_formatted_id('SEC2F');
SELECT seqguard_setval('SEC2', 41, '', '2026-03-04'), seqguard_setval('SEC2F', 41);
SELECT next_formatted_id('SEC2', '', '2026-03-04'), next_formatted_id('SEC2F');
SELECT seqguard_sync_series('PRIV');
SELECT seqguard_drop_series('SEC2F');
SELECT seqguard_drop_series('SEC2');
RESET search_path;

SELECT count(*) AS attacker_code_ran, string_agg(DISTINCT fn, ', ') AS what FROM sec_evil.calls;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_sg_attacker';
SELECT count(*) AS evil_counters_rows FROM sec_evil.counters;
SELECT series, scope, period, last_value FROM seqguard_counters WHERE series LIKE 'SEC%' OR series = 'PRIV' ORDER BY 1, 2;
SELECT id, body FROM sec_docs ORDER BY id;
-- The check itself can fail: called through the path, an attacker's function does run.
SET ROLE regress_sg_attacker;
SET search_path = sec_evil, pg_catalog, public;
SELECT lpad('1', 3, '0') AS hijacked_lpad;
RESET search_path;
RESET ROLE;
SELECT count(*) AS calls_when_called_by_path FROM sec_evil.calls;

-- 4. Catalog checks over every function of the extension, present and future.
-- Functions that belong to the extension:
CREATE VIEW pg_temp.sg_functions AS
SELECT p.oid, p.oid::regprocedure AS fn, p.prosecdef, p.proconfig, p.prolang, p.proacl
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
 WHERE e.extname = 'seqguard';
SELECT count(*) > 0 AS has_functions FROM pg_temp.sg_functions;
-- A pinned search_path: set, naming no schema an ordinary role could write to, with
-- pg_temp last (unlisted, pg_temp is searched first for tables and views).
CREATE FUNCTION pg_temp.pinned(config text[]) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM unnest(config) c
                  WHERE c ~ '^search_path=' AND c ~ '[=, ]"?pg_temp"?$'
                    AND c !~ '[=, ]"?(\$user|public)"?(,|$)')
$$;
-- The rule itself fails where it should:
SELECT pg_temp.pinned(NULL) AS no_config, pg_temp.pinned('{"search_path=pg_catalog"}') AS pg_temp_implicit,
       pg_temp.pinned('{"search_path=public, pg_temp"}') AS public_listed,
       pg_temp.pinned('{"search_path=\"$user\", pg_catalog, pg_temp"}') AS user_listed,
       pg_temp.pinned('{"search_path=pg_catalog, pg_temp"}') AS pinned,
       pg_temp.pinned('{"search_path=seqguard, pg_catalog, pg_temp"}') AS pinned_with_own_schema;
-- SECURITY DEFINER functions of the extension without a pinned search_path: must be none.
SELECT fn AS security_definer_without_pinned_search_path
  FROM pg_temp.sg_functions
 WHERE prosecdef AND NOT pg_temp.pinned(proconfig);
SELECT count(*) AS security_definer_functions FROM pg_temp.sg_functions WHERE prosecdef;
-- Functions in languages that resolve names at run time (SQL, PL/pgSQL) must pin
-- search_path too, SECURITY DEFINER or not: must return no rows.
SELECT fn AS sql_function_without_pinned_search_path
  FROM pg_temp.sg_functions f JOIN pg_language l ON l.oid = f.prolang
 WHERE l.lanname NOT IN ('c', 'internal')
   AND NOT EXISTS (SELECT FROM unnest(proconfig) c WHERE c ~ '^search_path=');
-- What PUBLIC may execute: allocation, formatting and reading; drift check and repair,
-- which act with the caller's own privileges; idempotency keys, which are private to
-- each role; the pure key functions seqguard_waits calls with its reader's rights. A
-- new function is either added here on purpose or revoked from PUBLIC.
SELECT fn AS executable_by_public
  FROM pg_temp.sg_functions
 WHERE proacl IS NULL
    OR EXISTS (SELECT FROM aclexplode(proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
 ORDER BY fn::text COLLATE "C";
-- Administration functions: never executable by PUBLIC (must return no rows).
-- seqguard_sync_all() and seqguard_sync() are not among them: they run with the caller's
-- own privileges (UPDATE on each sequence) and sync bound series only for callers that
-- may execute seqguard_sync_series().
SELECT fn AS admin_function_executable_by_public
  FROM pg_temp.sg_functions
 WHERE (fn::text ~ '^(seqguard_(create_series|drop_series|setval|sync_series|attach|detach|protect|unprotect)\()')
   AND (proacl IS NULL OR EXISTS (SELECT FROM aclexplode(proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'));
-- seqguard's schema and tables: PUBLIC holds no privilege at all (must return no rows).
SELECT n.nspname AS public_privilege_on_schema
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'seqguard' AND a.grantee = 0;
SELECT c.oid::regclass AS public_privilege_on, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'seqguard'::regnamespace AND a.grantee = 0 AND c.relkind <> 'S';
-- Fast counters' sequences: PUBLIC may only read them (for the seqguard_counters view).
SELECT count(*) > 0 AS has_fast_sequences FROM pg_class WHERE relnamespace = 'seqguard'::regnamespace AND relkind = 'S';
SELECT c.oid::regclass AS public_privilege_on_sequence, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'seqguard'::regnamespace AND a.grantee = 0 AND c.relkind = 'S' AND a.privilege_type <> 'SELECT';
-- The schema belongs to the extension owner, not to whoever created a series.
SELECT pg_get_userbyid(n.nspowner) = pg_get_userbyid(e.extowner) AS schema_owned_by_extension_owner
  FROM pg_namespace n, pg_extension e WHERE n.nspname = 'seqguard' AND e.extname = 'seqguard';

-- Leave nothing behind.
SELECT count(seqguard_drop_series(series)) AS dropped FROM seqguard_series WHERE series IN ('SEC', 'SECF', 'PRIV', 'DELEGATED');
DROP TABLE sec_docs, sec_private;
SET client_min_messages = warning;
DROP SCHEMA sec_evil CASCADE;
RESET client_min_messages;
DROP OWNED BY regress_sg_attacker, regress_sg_admin;
DROP ROLE regress_sg_attacker, regress_sg_admin;
