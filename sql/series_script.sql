-- seqguard_series_script(): the statements that carry series, allocators and counter
-- positions to another database (what pg_dump --schema-only and a subscriber that
-- copies only the application's tables leave behind). Round trip between two databases
-- of their own, so that the suite's other series stay out of the script.
\set regress_db :DBNAME
CREATE ROLE regress_ss_clerk;
CREATE ROLE regress_ss_other;
CREATE DATABASE regress_seqguard_script_a;
CREATE DATABASE regress_seqguard_script_b;

-- The same application schema on both sides, as pg_dump --schema-only would give it.
\set app_schema 'CREATE EXTENSION seqguard; CREATE SCHEMA "Sales"; CREATE TABLE "Sales"."Invoice Lines" ("No." text UNIQUE); CREATE TABLE public.orders (pk serial PRIMARY KEY, ref text UNIQUE);'

\c regress_seqguard_script_a
SET client_min_messages = warning;
:app_schema
-- Every option and every kind of period, names that need quoting, start and increment.
SELECT seqguard_create_series('INV', 'INV-{YYYY}-{seq:4}', target_table => '"Sales"."Invoice Lines"', target_column => 'No.');
SELECT seqguard_create_series('ORD', 'ORD/{scope}/{seq:3}', start_value => 100, increment => 5, on_overflow => 'error');
SELECT seqguard_create_series('O''Neil', '{scope}-{YYYY}{DDD}-{seq:2}');
SELECT seqguard_create_series('FY', 'F{FY:4}-{seq}', time_zone => 'Asia/Tokyo');
SELECT seqguard_create_series('MON', 'M{YYYY}{MM}-{seq}', reset => 'yearly');
SELECT seqguard_create_series('ISO', 'I{IYYY}-{seq}');
SELECT seqguard_create_series('WK', 'W{IYYY}-{IW}-{seq}', gapless => false);
SELECT seqguard_create_series('DAY', 'D{YYYY}{MM}{DD}-{seq}', gapless => false, start_value => -10);
SELECT seqguard_create_series('TRK', 'TRK-{seq:6}', gapless => false);   -- never drawn from
SELECT seqguard_create_series('LATE', 'L{seq:4}');
SELECT seqguard_attach('public.orders', 'ref', 'LATE');
-- Allocators: a role and not PUBLIC; another series for two roles and PUBLIC.
SELECT seqguard_grant_allocate('INV', 'regress_ss_clerk');
SELECT seqguard_revoke_allocate('INV', 'PUBLIC');
SELECT seqguard_grant_allocate('ORD', 'regress_ss_other');
SELECT seqguard_grant_allocate('ORD', 'regress_ss_clerk');

-- Counters at various positions, in several scopes and periods.
SELECT count(next_formatted_id('INV', '', '2025-12-31')) FROM generate_series(1, 7);
SELECT next_formatted_id('INV', '', '2026-01-01');
SELECT next_formatted_id('ORD', 'EU'), next_formatted_id('ORD', 'EU'), next_formatted_id('ORD', 'it''s');
SELECT next_formatted_id('O''Neil', 'EU', '2024-02-29'), next_formatted_id('O''Neil', 'EU', '2024-12-31');
SELECT next_formatted_id('FY', '', '2025-03-31'), next_formatted_id('FY', '', '2025-04-01');
SELECT next_formatted_id('MON', '', '2025-01-15'), next_formatted_id('MON', '', '2025-11-15');
SELECT next_formatted_id('ISO', '', '2021-01-01'), next_formatted_id('ISO', '', '2021-01-04');
SELECT count(next_formatted_id('WK', '', '2021-01-03')) FROM generate_series(1, 40);
SELECT next_formatted_id('WK', '', '2024-12-30');
SELECT next_formatted_id('DAY', '', '2024-02-29'), next_formatted_id('DAY', '', '2024-02-29');
INSERT INTO public.orders DEFAULT VALUES;
INSERT INTO public.orders DEFAULT VALUES;
-- A counter set back to "start again" has a position too.
SELECT seqguard_setval('ORD', 95, 'US');
-- Job ids of idempotency keys.
SELECT job_id FROM seqguard_idem_begin('regress-ss-1');
SELECT job_id FROM seqguard_idem_begin('regress-ss-2');

-- The state to carry, as text: series settings (created_at aside), allocators by name,
-- counters' positions.
CREATE VIEW regress_ss_state AS
SELECT 'series' AS what, pg_catalog.format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', series, format, gapless, start_value,
              increment, on_overflow, target_table, target_column, reset, time_zone,
              (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(allocators) a)) AS state
  FROM seqguard_series
UNION ALL
SELECT 'counter', pg_catalog.format('%s|%s|%s|%s', series, scope, period, last_value)
  FROM seqguard_counters
UNION ALL
SELECT 'job_id', last_value::text FROM seqguard.idem_job_id;
SELECT what, state FROM regress_ss_state ORDER BY what, state COLLATE "C";
SELECT string_agg(what || ':' || state, E'\n' ORDER BY what, state COLLATE "C") AS state_a FROM regress_ss_state \gset

-- The script, whatever the DateStyle and search_path it is made and run under.
SET datestyle = 'SQL, DMY';
SET search_path = pg_catalog;
SELECT s AS statement FROM public.seqguard_series_script() s;
SELECT string_agg(s, E'\n') AS script FROM public.seqguard_series_script() s \gset
RESET search_path;
RESET datestyle;

\c regress_seqguard_script_b
SET client_min_messages = warning;
:app_schema
CREATE VIEW regress_ss_state AS
SELECT 'series' AS what, pg_catalog.format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', series, format, gapless, start_value,
              increment, on_overflow, target_table, target_column, reset, time_zone,
              (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(allocators) a)) AS state
  FROM seqguard_series
UNION ALL
SELECT 'counter', pg_catalog.format('%s|%s|%s|%s', series, scope, period, last_value)
  FROM seqguard_counters
UNION ALL
SELECT 'job_id', last_value::text FROM seqguard.idem_job_id;
SET datestyle = 'SQL, MDY';
SET search_path = pg_catalog;
BEGIN;
\o /dev/null
:script
\o
COMMIT;
RESET search_path;
RESET datestyle;
-- The same state: every series, allocator and position (a fast counter never drawn
-- from has none to carry, as on the source).
SELECT string_agg(what || ':' || state, E'\n' ORDER BY what, state COLLATE "C") = :'state_a' AS same_state
  FROM regress_ss_state;
-- The late-bound column's trigger is schema (pg_dump --schema-only has it, a set-up
-- script attaches it after creating its series).
SELECT seqguard_attach('public.orders', 'ref', 'LATE');
-- And the next numbers continue, in every kind of counter.
SELECT next_formatted_id('INV', '', '2025-06-01'), next_formatted_id('ORD', 'EU'), next_formatted_id('ORD', 'US'),
       next_formatted_id('WK', '', '2021-01-03'), next_formatted_id('DAY', '', '2024-02-29'),
       next_formatted_id('FY', '', '2024-12-01'), next_formatted_id('ISO', '', '2020-12-31');
INSERT INTO public.orders DEFAULT VALUES RETURNING pk;
SELECT ref FROM public.orders;
SET ROLE regress_ss_other;
SELECT next_formatted_id('INV');   -- not an allocator of INV (42501)
RESET ROLE;

-- Safe to run twice, and never backwards: a counter that moved on since stays.
SELECT next_formatted_id('MON', '', '2025-06-01');
SELECT string_agg(what || ':' || state, E'\n' ORDER BY what, state COLLATE "C") AS state_b FROM regress_ss_state \gset
BEGIN;
\o /dev/null
:script
\o
COMMIT;
RESET search_path;
SELECT string_agg(what || ':' || state, E'\n' ORDER BY what, state COLLATE "C") = :'state_b' AS unchanged
  FROM regress_ss_state;

-- A counter keyed by a period no template gives cannot be placed: an error, not a
-- counter set in today's period.
-- (The message alone: where PostgreSQL places an error inside a SQL function's query
-- differs between majors.)
BEGIN;
INSERT INTO seqguard.counters (series, scope, period, last_value) VALUES ('INV', '', 'Q2025-1', 3);
DO $$
BEGIN
  PERFORM count(*) FROM seqguard_series_script();
  RAISE INFO 'no error';
EXCEPTION WHEN OTHERS THEN
  RAISE INFO '% %', SQLSTATE, SQLERRM;
END $$;
ROLLBACK;

-- Only the extension owner gets a script: seqguard's tables are the owner's.
CREATE ROLE regress_ss_admin;
SET ROLE regress_ss_admin;
SELECT count(*) FROM seqguard_series_script();   -- no EXECUTE (42501)
RESET ROLE;
GRANT EXECUTE ON FUNCTION seqguard_series_script() TO regress_ss_admin;
SET ROLE regress_ss_admin;
DO $$
BEGIN
  PERFORM count(*) FROM seqguard_series_script();   -- EXECUTE is not enough (42501)
  RAISE INFO 'no error';
EXCEPTION WHEN OTHERS THEN
  RAISE INFO '% %', SQLSTATE, SQLERRM;
END $$;
RESET ROLE;
DROP OWNED BY regress_ss_admin;
DROP ROLE regress_ss_admin;

\c :regress_db
DROP DATABASE regress_seqguard_script_a;
DROP DATABASE regress_seqguard_script_b;
DROP ROLE regress_ss_clerk;
DROP ROLE regress_ss_other;
