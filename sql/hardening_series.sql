-- Series under hostile or unusual use: the allocation privilege, subtransactions that
-- undo a drop, the ends of a counter's range, and keys too long to store.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 1. The allocation privilege. New series are allocatable by PUBLIC, as in 1.0.
CREATE ROLE regress_hs_clerk;
CREATE ROLE regress_hs_reporter;
CREATE ROLE regress_hs_billing;
GRANT regress_hs_billing TO regress_hs_clerk;
SELECT seqguard_create_series('HINV', 'HINV-{seq:4}');
SELECT seqguard_create_series('HTRK', 'HTRK-{seq}', gapless => false);
SELECT allocators FROM seqguard_series WHERE series IN ('HINV', 'HTRK') ORDER BY series;
SET ROLE regress_hs_reporter;
SELECT next_formatted_id('HINV'), next_formatted_id('HTRK');
RESET ROLE;

-- Taken from PUBLIC and given to a group role: members allocate, others get 42501 from
-- every call that draws or reads the counter, and see none of its counters.
SELECT seqguard_revoke_allocate('HINV', 'PUBLIC');
SELECT seqguard_revoke_allocate('HTRK', 'public');
SELECT seqguard_grant_allocate('HINV', 'regress_hs_billing');
SELECT seqguard_grant_allocate('HINV', 'regress_hs_billing');  -- twice: listed once
SELECT seqguard_grant_allocate('HTRK', 'regress_hs_billing');
SELECT series, allocators FROM seqguard_series WHERE series IN ('HINV', 'HTRK') ORDER BY series;
CREATE TABLE hs_invoices (id text PRIMARY KEY DEFAULT next_formatted_id('HINV'), note text);
GRANT SELECT, INSERT ON hs_invoices TO regress_hs_clerk, regress_hs_reporter;
SET ROLE regress_hs_reporter;
SELECT pg_temp.err($$ SELECT next_formatted_id('HINV') $$);
SELECT pg_temp.err($$ SELECT seqguard_nextval('HINV') $$);
SELECT pg_temp.err($$ SELECT seqguard_currval('HINV') $$);
SELECT pg_temp.err($$ SELECT seqguard_peek('HINV') $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('HTRK') $$);
SELECT pg_temp.err($$ SELECT seqguard_currval('HTRK') $$);
SELECT pg_temp.err($$ INSERT INTO hs_invoices (note) VALUES ('hole?') $$);
SELECT count(*) AS counters_visible FROM seqguard_counters WHERE series IN ('HINV', 'HTRK');
-- Granting is an administration function.
SELECT pg_temp.err($$ SELECT seqguard_grant_allocate('HINV', 'regress_hs_reporter') $$);
RESET ROLE;
SET ROLE regress_hs_clerk;  -- a member of regress_hs_billing
INSERT INTO hs_invoices (note) VALUES ('by a member') RETURNING id;
SELECT next_formatted_id('HTRK');
SELECT series, last_value FROM seqguard_counters WHERE series IN ('HINV', 'HTRK') ORDER BY series;
RESET ROLE;
-- The reporter's failed attempt left no hole: the clerk's invoice was number 2, after
-- the reporter's own number 1 drawn while PUBLIC still had the right.
SELECT id FROM hs_invoices ORDER BY id;
-- A right checked once holds for the transaction; a role switch inside it is checked.
BEGIN;
SET LOCAL ROLE regress_hs_clerk;
SELECT seqguard_nextval('HINV');
SET LOCAL ROLE regress_hs_reporter;
SELECT pg_temp.err($$ SELECT seqguard_nextval('HINV') $$);
ROLLBACK;
-- Revoked: the clerk loses it. Bad input: unknown series or role, NULL role.
SELECT seqguard_revoke_allocate('HINV', 'regress_hs_billing');
SET ROLE regress_hs_clerk;
SELECT pg_temp.err($$ SELECT next_formatted_id('HINV') $$);
RESET ROLE;
SELECT pg_temp.err($$ SELECT seqguard_grant_allocate('NOPE', 'regress_hs_clerk') $$);
SELECT pg_temp.err($$ SELECT seqguard_grant_allocate('HINV', 'regress_hs_nobody') $$);
SELECT pg_temp.err($$ SELECT seqguard_grant_allocate('HINV', NULL) $$);
-- The extension's owner may always allocate.
SELECT next_formatted_id('HINV');
SELECT seqguard_grant_allocate('HINV', 'public');
SET ROLE regress_hs_reporter;
SELECT next_formatted_id('HINV');
RESET ROLE;

-- 2. A drop that a savepoint rolls back keeps what the transaction drew.
SELECT seqguard_create_series('DD', 'DD-{seq}');
CREATE TABLE hs_dd (id text PRIMARY KEY DEFAULT next_formatted_id('DD'));
INSERT INTO hs_dd DEFAULT VALUES;
BEGIN;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
SAVEPOINT s;
SELECT seqguard_drop_series('DD');
ROLLBACK TO s;
COMMIT;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
-- The same from a plpgsql EXCEPTION block.
DO $$
BEGIN
  INSERT INTO hs_dd DEFAULT VALUES;
  BEGIN
    PERFORM seqguard_drop_series('DD');
    RAISE EXCEPTION 'undo the drop';
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
END $$;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
-- Dropped and re-created inside the savepoint, then rolled back: the old counter again.
BEGIN;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
SAVEPOINT s;
SELECT seqguard_drop_series('DD');
SELECT seqguard_create_series('DD', 'DD-{seq}', start_value => 500);
SELECT next_formatted_id('DD');
ROLLBACK TO s;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
COMMIT;
SELECT last_value FROM seqguard_counters WHERE series = 'DD';
-- A drop that stands: the counter is gone, the re-created series starts afresh.
BEGIN;
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
SELECT seqguard_drop_series('DD');
SELECT seqguard_create_series('DD', 'DD-{seq}', start_value => 900);
INSERT INTO hs_dd DEFAULT VALUES RETURNING id;
COMMIT;
SELECT last_value FROM seqguard_counters WHERE series = 'DD';
-- Created in a savepoint that rolls back: the series is gone again.
BEGIN;
SAVEPOINT s;
SELECT seqguard_create_series('GONE', 'GONE-{seq}');
SELECT next_formatted_id('GONE');
ROLLBACK TO s;
SELECT pg_temp.err($$ SELECT next_formatted_id('GONE') $$);
COMMIT;
-- setval in a savepoint that rolls back.
BEGIN;
SELECT next_formatted_id('DD');
SAVEPOINT s;
SELECT seqguard_setval('DD', 5000);
ROLLBACK TO s;
SELECT next_formatted_id('DD');
COMMIT;
SELECT id, count(*) FROM hs_dd GROUP BY id HAVING count(*) > 1;

-- 3. The ends of a counter's range.
-- A fast series at the end of bigint: 22003 naming the series, as for gapless.
SELECT seqguard_create_series('HBIGF', 'B-{seq}', gapless => false, start_value => 9223372036854775806);
SELECT seqguard_create_series('HBIGG', 'B-{seq}', start_value => 9223372036854775806);
SELECT seqguard_nextval('HBIGF'), seqguard_nextval('HBIGF');
SELECT pg_temp.err($$ SELECT seqguard_nextval('HBIGF') $$);
SELECT seqguard_nextval('HBIGG'), seqguard_nextval('HBIGG');
SELECT pg_temp.err($$ SELECT seqguard_nextval('HBIGG') $$);
-- currval of an exhausted counter is its last value.
SELECT seqguard_currval('HBIGG'), seqguard_currval('HBIGF');
SELECT pg_temp.err($$ SELECT seqguard_peek('HBIGG') $$);
-- on_overflow => 'error' starting at the largest value its width allows: issued once.
SELECT seqguard_create_series('H9F', 'N{seq:1}', gapless => false, on_overflow => 'error', start_value => 9);
SELECT seqguard_create_series('H9G', 'N{seq:1}', on_overflow => 'error', start_value => 9);
SELECT next_formatted_id('H9F'), next_formatted_id('H9G');
SELECT pg_temp.err($$ SELECT next_formatted_id('H9F') $$);
SELECT pg_temp.err($$ SELECT next_formatted_id('H9G') $$);

-- 4. Scopes longer than a counter key can hold are refused at the call, not at COMMIT.
SELECT seqguard_create_series('HSC', '{scope}-{seq}');
SELECT pg_temp.err(format($$ SELECT next_formatted_id('HSC', %L) $$, repeat('x', 1025)));
SELECT pg_temp.err(format($$ SELECT seqguard_peek('HSC', %L) $$, repeat('x', 1025)));
SELECT pg_temp.err(format($$ SELECT seqguard_setval('HSC', 3, %L) $$, repeat('x', 1025)));
SELECT pg_temp.err(format($$ SELECT seqguard_create_series(%L, '{seq}') $$, repeat('s', 201)));
SELECT length(next_formatted_id('HSC', repeat('y', 1024)));
SELECT length(next_formatted_id('HSC', repeat('é', 512)));

-- 5. DROP EXTENSION in a transaction that drew IDs commits; a re-created extension
-- starts empty and numbers afresh.
SET client_min_messages = warning;  -- the objects CASCADE drops, in no fixed order
BEGIN;
SELECT next_formatted_id('DD');
DROP EXTENSION seqguard CASCADE;
COMMIT;
BEGIN;
CREATE EXTENSION seqguard;
SELECT seqguard_create_series('DD', 'NEW-{seq}');
SELECT next_formatted_id('DD');
DROP EXTENSION seqguard CASCADE;
CREATE EXTENSION seqguard;
SELECT seqguard_create_series('DD', 'THIRD-{seq}', start_value => 100);
SELECT next_formatted_id('DD');
COMMIT;
RESET client_min_messages;
SELECT series, scope, period, last_value FROM seqguard_counters;
-- A DROP EXTENSION that a savepoint rolls back: numbering goes on where it was.
SET client_min_messages = warning;
BEGIN;
SELECT next_formatted_id('DD');
SAVEPOINT s;
DROP EXTENSION seqguard CASCADE;
CREATE EXTENSION seqguard;
SELECT seqguard_create_series('DD', 'OTHER-{seq}');
SELECT next_formatted_id('DD');
ROLLBACK TO s;
SELECT next_formatted_id('DD');
COMMIT;
RESET client_min_messages;
SELECT series, scope, period, last_value FROM seqguard_counters;
SELECT seqguard_drop_series('DD');

DROP TABLE hs_invoices, hs_dd;
DROP ROLE regress_hs_clerk, regress_hs_reporter, regress_hs_billing;
