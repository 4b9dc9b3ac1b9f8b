-- Series and counters: every function, periods, scopes, overflow, errors, privileges.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Assessments, numbered per year, as a column DEFAULT.
SELECT seqguard_create_series('ASM', 'ASM-{YYYY}-{seq:3}');
SELECT series, format, gapless, start_value, increment, on_overflow, target_table, target_column FROM seqguard_series;
CREATE TABLE assessments (id text PRIMARY KEY DEFAULT next_formatted_id('ASM'), title text);
INSERT INTO assessments (title) VALUES ('a'), ('b');
SELECT id = 'ASM-' || to_char(current_date, 'YYYY') || '-001' AS first_is_001 FROM assessments WHERE title = 'a';

-- Explicit dates: the counter restarts each year.
SELECT next_formatted_id('ASM', '', '2025-12-31'), next_formatted_id('ASM', '', '2025-12-31'),
       next_formatted_id('ASM', '', '2024-06-01');
SELECT series, scope, period, last_value FROM seqguard_counters WHERE period <> to_char(current_date, 'YYYY') ORDER BY period;

-- A rollback gives its numbers back; so does a savepoint rollback.
BEGIN;
SELECT next_formatted_id('ASM', '', '2030-01-01');
ROLLBACK;
BEGIN;
SELECT next_formatted_id('ASM', '', '2030-01-01');
SAVEPOINT s1;
SELECT next_formatted_id('ASM', '', '2030-01-01');
SELECT next_formatted_id('ASM', '', '2030-01-01');
ROLLBACK TO SAVEPOINT s1;
SELECT next_formatted_id('ASM', '', '2030-01-01');
SAVEPOINT s2;
SAVEPOINT s3;
SELECT next_formatted_id('ASM', '', '2030-01-01');
RELEASE SAVEPOINT s3;
ROLLBACK TO SAVEPOINT s2;
SAVEPOINT s4;
SELECT next_formatted_id('ASM', '', '2030-01-01');
RELEASE SAVEPOINT s4;
COMMIT;
SELECT last_value FROM seqguard_counters WHERE series = 'ASM' AND period = '2030';
-- A counter first touched inside a savepoint that rolls back is forgotten with it.
BEGIN;
SAVEPOINT s1;
SELECT next_formatted_id('ASM', '', '2031-01-01');
ROLLBACK TO SAVEPOINT s1;
SELECT next_formatted_id('ASM', '', '2031-01-01');
COMMIT;
-- An error in the middle of a transaction: its numbers are given back with it.
BEGIN;
SELECT next_formatted_id('ASM', '', '2032-01-01');
SELECT 1/0;
ROLLBACK;
SELECT next_formatted_id('ASM', '', '2032-01-01');

-- Monthly and daily periods.
SELECT seqguard_create_series('INV', 'INV/{YY}{MM}/{seq:5}');
SELECT next_formatted_id('INV', '', d::date) FROM (VALUES ('2026-11-01'), ('2026-11-30'), ('2026-12-01'), ('2027-11-01')) v(d);
SELECT seqguard_create_series('DAY', 'D{YYYY}{MM}{DD}-{seq}');
SELECT next_formatted_id('DAY', '', d::date) FROM (VALUES ('2026-11-23'), ('2026-11-23'), ('2026-11-24')) v(d);

-- Scopes: one counter each.
SELECT seqguard_create_series('TEAM', '{scope}-{seq:4}');
SELECT next_formatted_id('TEAM', s) FROM (VALUES ('EU'), ('US'), ('EU'), ('EU'), ('US')) v(s);
SELECT series, scope, period, last_value FROM seqguard_counters WHERE series = 'TEAM' ORDER BY scope;

-- start_value and increment.
SELECT seqguard_create_series('TEN', 'T{seq:3}', start_value => 10, increment => 5);
SELECT next_formatted_id('TEN'), next_formatted_id('TEN'), seqguard_nextval('TEN');

-- Team IDs: overflow widens by default, never truncates.
SELECT seqguard_create_series('ICCT', 'ICCT-{seq:3}');
SELECT next_formatted_id('ICCT');
SELECT seqguard_setval('ICCT', 998);
SELECT next_formatted_id('ICCT'), next_formatted_id('ICCT'), next_formatted_id('ICCT');
-- The seed's reset: set to 100, next is ICCT-101.
SELECT seqguard_setval('ICCT', 100);
SELECT next_formatted_id('ICCT');
-- setval to start_value - increment starts over.
SELECT seqguard_setval('ICCT', 0);
SELECT next_formatted_id('ICCT');
SELECT pg_temp.err($$ SELECT seqguard_setval('ICCT', -1) $$);
SELECT pg_temp.err($$ SELECT seqguard_setval('ICCT', 9223372036854775807) $$);

-- on_overflow => 'error': 22003, and nothing is consumed.
SELECT seqguard_create_series('SMALL', 'S{seq:2}', on_overflow => 'error');
SELECT seqguard_setval('SMALL', 98);
SELECT next_formatted_id('SMALL');
SELECT pg_temp.err($$ SELECT next_formatted_id('SMALL') $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('SMALL') $$);
SELECT seqguard_currval('SMALL'), seqguard_peek('SMALL');

-- peek and currval take no lock and consume nothing.
SELECT seqguard_peek('TEAM', 'EU'), seqguard_peek('TEAM', 'EU'), seqguard_currval('TEAM', 'EU');
SELECT seqguard_peek('TEAM', 'XX'), seqguard_currval('TEAM', 'XX');
BEGIN;
SELECT next_formatted_id('TEAM', 'EU'), seqguard_currval('TEAM', 'EU'), seqguard_peek('TEAM', 'EU');
ROLLBACK;
SELECT seqguard_currval('TEAM', 'EU');

-- Fast mode: a real sequence per counter; unique, holes allowed on rollback.
SELECT seqguard_create_series('TRK', 'TRK-{YYYY}-{seq:6}', gapless => false);
SELECT next_formatted_id('TRK', '', '2026-01-05'), next_formatted_id('TRK', '', '2026-01-05');
BEGIN;
SELECT next_formatted_id('TRK', '', '2026-01-05');
ROLLBACK;
SELECT next_formatted_id('TRK', '', '2026-01-05') AS after_rollback_hole_allowed;
SELECT next_formatted_id('TRK', '', '2027-01-05') AS new_period_restarts;
SELECT seqguard_currval('TRK', '', '2026-01-05'), seqguard_peek('TRK', '', '2026-01-05');
SELECT seqguard_setval('TRK', 500, '', '2026-01-05');
SELECT next_formatted_id('TRK', '', '2026-01-05');
SELECT seqguard_setval('TRK', 0, '', '2026-01-05');
SELECT next_formatted_id('TRK', '', '2026-01-05');
SELECT series, scope, period, last_value FROM seqguard_counters WHERE series = 'TRK' ORDER BY period;
SELECT count(*) AS fast_sequences FROM pg_sequences WHERE schemaname = 'seqguard' AND sequencename LIKE 'counter\_%';
-- Fast and on_overflow => 'error': the sequence's MAXVALUE is the largest fitting number.
SELECT seqguard_create_series('FSMALL', 'F{seq:1}', gapless => false, on_overflow => 'error');
SELECT string_agg(next_formatted_id('FSMALL'), ',') FROM generate_series(1, 9);
SELECT pg_temp.err($$ SELECT next_formatted_id('FSMALL') $$);
SELECT seqguard_currval('FSMALL');

-- Bulk: one INSERT ... SELECT, gapless and unique.
CREATE TABLE bulk (id text PRIMARY KEY DEFAULT next_formatted_id('BULK'), n int);
SELECT seqguard_create_series('BULK', 'B{seq:6}');
INSERT INTO bulk (n) SELECT g FROM generate_series(1, 50000) g;
SELECT count(*), min(id), max(id), count(DISTINCT id) FROM bulk;
SELECT bool_and(id = 'B' || lpad(n::text, 6, '0')) AS gapless_in_order FROM bulk;

-- sync_series: IDs imported from elsewhere; the counter continues after them.
CREATE TABLE teams (team_id text PRIMARY KEY, name text);
SELECT seqguard_create_series('TEAMS', 'ICCT-{seq:3}', target_table => 'teams', target_column => 'team_id');
INSERT INTO teams VALUES ('ICCT-001', 'a'), ('ICCT-005', 'b'), ('ICCT-1200', 'c'), ('not an id', 'd'), ('ICCT-0007', 'e');
SELECT seqguard_sync_series('TEAMS');
SELECT next_formatted_id('TEAMS');
SELECT seqguard_sync_series('TEAMS') AS nothing_to_move;
-- per (scope, period) counters of a bound series
CREATE TABLE invoices (no text);
SELECT seqguard_create_series('INVS', 'INV/{YYYY}/{scope}/{seq:3}', target_table => 'invoices', target_column => 'no');
INSERT INTO invoices VALUES ('INV/2025/EU/007'), ('INV/2025/EU/003'), ('INV/2026/EU/002'), ('INV/2026/US/010');
SELECT seqguard_sync_series('INVS');
SELECT next_formatted_id('INVS', 'EU', '2025-05-05'), next_formatted_id('INVS', 'EU', '2026-05-05'),
       next_formatted_id('INVS', 'US', '2026-05-05'), next_formatted_id('INVS', 'US', '2025-05-05');
-- A series used as a column DEFAULT is synced from that column (assessments.id).
SELECT seqguard_sync_series('ASM');
SELECT pg_temp.err($$ SELECT seqguard_sync_series('TEN') $$);

-- Errors: unknown series 42704, duplicate 42710, bad options 22023, NULLs 22004.
SELECT pg_temp.err($$ SELECT next_formatted_id('nope') $$);
SELECT pg_temp.err($$ SELECT seqguard_peek('nope') $$);
SELECT pg_temp.err($$ SELECT seqguard_drop_series('nope') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('ASM', '{seq}') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seqq}') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seq}', increment => 0) $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seq}', on_overflow => 'wrap') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seq:2}', start_value => 100, on_overflow => 'error') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seq}', target_table => 'teams') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', 'X-{seq}', target_table => 'teams', target_column => 'nope') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('', 'X-{seq}') $$);
SELECT pg_temp.err(format($$ SELECT seqguard_create_series('LONG', '%s{seq}') $$, repeat('{YYYY}-', 64)));
SELECT pg_temp.err(format($$ SELECT seqguard_create_series('LONG', '%s{seq}') $$, repeat('x', 600)));
SELECT pg_temp.err($$ SELECT seqguard_create_series(NULL, 'X-{seq}') $$);
SELECT pg_temp.err($$ SELECT seqguard_create_series('BAD', NULL) $$);
SELECT pg_temp.err($$ SELECT next_formatted_id(NULL) $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('ASM', NULL) $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('ASM', '', NULL) $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('ASM', '', '-infinity') $$);
SELECT count(*) AS no_bad_series FROM seqguard_series WHERE series = 'BAD';
-- A read-only transaction cannot allocate: PostgreSQL's own error (25006) crosses the C++ layer.
BEGIN READ ONLY;
SELECT pg_temp.err($$ SELECT next_formatted_id('ASM') $$);
ROLLBACK;
-- PREPARE TRANSACTION after a gapless allocation is refused (0A000), nothing is kept.
BEGIN;
SELECT next_formatted_id('ASM', '', '2040-01-01');
PREPARE TRANSACTION 'seqguard_p1';
SELECT count(*) AS no_prepared FROM pg_prepared_xacts WHERE gid = 'seqguard_p1';
SELECT seqguard_peek('ASM', '', '2040-01-01');

-- Privileges: ordinary roles allocate without any privilege on seqguard's tables, but
-- cannot create, drop, set or sync series, nor touch the tables.
CREATE ROLE regress_seqguard_user;
GRANT INSERT, SELECT ON assessments TO regress_seqguard_user;
SET ROLE regress_seqguard_user;
INSERT INTO assessments (title) VALUES ('by an ordinary role') RETURNING id ~ '^ASM-\d{4}-003$' AS got_003;
SELECT next_formatted_id('TRK', '', '2026-01-05') IS NOT NULL AS fast_mode_too;
SELECT seqguard_peek('ASM', '', '2025-12-31'), seqguard_currval('ASM', '', '2025-12-31');
SELECT count(*) > 0 AS can_read_views FROM seqguard_counters;
SELECT pg_temp.err($$ SELECT seqguard_create_series('MINE', '{seq}') $$);
SELECT pg_temp.err($$ SELECT seqguard_setval('ASM', 1) $$);
SELECT pg_temp.err($$ SELECT seqguard_drop_series('ASM') $$);
SELECT pg_temp.err($$ SELECT seqguard_sync_series('TEAMS') $$);
SELECT pg_temp.err($$ UPDATE seqguard.counters SET last_value = 0 $$);
SELECT pg_temp.err($$ SELECT * FROM seqguard.series $$);
RESET ROLE;
-- The owner can delegate administration with GRANT.
GRANT EXECUTE ON FUNCTION seqguard_setval(text, bigint, text, date) TO regress_seqguard_user;
SET ROLE regress_seqguard_user;
SELECT seqguard_setval('ICCT', 200);
RESET ROLE;
SELECT next_formatted_id('ICCT');

-- search_path hijack: an operator = and functions named like the ones seqguard's
-- queries use, in a schema ahead of pg_catalog, change nothing.
CREATE SCHEMA evil;
CREATE FUNCTION evil.always_true(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_true);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
CREATE TABLE evil.counters (series text, scope text, period text, last_value bigint);
GRANT USAGE ON SCHEMA evil TO PUBLIC;
SET search_path = evil, pg_catalog, public;
SELECT next_formatted_id('TEAM', 'EU'), next_formatted_id('TEAM', 'US');
SELECT seqguard_peek('TEAM', 'EU'), seqguard_currval('TEAM', 'US');
SELECT seqguard_create_series('SAFE', 'S{seq}');
SELECT next_formatted_id('SAFE');
RESET search_path;
SELECT series, scope, last_value FROM seqguard_counters WHERE series IN ('TEAM', 'SAFE') ORDER BY 1, 2;
SELECT count(*) AS evil_untouched FROM evil.counters;
DROP SCHEMA evil CASCADE;

-- drop_series removes the series, its counters and its sequences.
SELECT seqguard_drop_series('TRK');
SELECT count(*) FROM seqguard_counters WHERE series = 'TRK';
-- Only FSMALL's sequence is left.
SELECT count(*) AS fast_sequences_left FROM pg_sequences WHERE schemaname = 'seqguard' AND sequencename LIKE 'counter\_%';
SELECT pg_temp.err($$ SELECT next_formatted_id('TRK') $$);
-- dropped and re-created: starts over.
SELECT seqguard_drop_series('TEN');
SELECT seqguard_create_series('TEN', 'T{seq:3}');
SELECT next_formatted_id('TEN');

-- Functions that write are VOLATILE and PARALLEL UNSAFE.
SELECT proname, provolatile, proparallel FROM pg_proc
 WHERE proname IN ('next_formatted_id', 'seqguard_nextval', 'seqguard_setval', 'seqguard_create_series',
                   'seqguard_drop_series', 'seqguard_sync_series', 'seqguard_format')
 ORDER BY proname;
-- Counter and series rows are kept by pg_dump.
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS cfg(relid) JOIN pg_class c ON c.oid = cfg.relid
 WHERE e.extname = 'seqguard' AND c.relname IN ('series', 'counters') ORDER BY 1;

-- Leave nothing behind for the next test file.
SELECT count(seqguard_drop_series(series)) AS dropped FROM seqguard_series;
SELECT count(*) AS counters_left FROM seqguard_counters;
DROP TABLE assessments, bulk, teams, invoices;
DROP OWNED BY regress_seqguard_user;
DROP ROLE regress_seqguard_user;
