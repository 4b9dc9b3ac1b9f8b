-- A late-bound number, once assigned, stays assigned: an UPDATE that would set it to
-- NULL or to another value is refused (or, with on_change => 'keep', ignored), whatever
-- sends it (an ORM saving a stale object sends "SET number = NULL").
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT seqguard_create_series('LK', 'LK-{seq:4}');
CREATE TABLE lk_inv (pk serial PRIMARY KEY, number text UNIQUE, customer text);
SELECT seqguard_attach('lk_inv', 'number', 'LK');
INSERT INTO lk_inv (customer) VALUES ('a'), ('b');
SELECT pk, number, customer FROM lk_inv ORDER BY pk;

-- After commit: NULL and another value are refused (23001), nothing changes.
SELECT pg_temp.err($$ UPDATE lk_inv SET number = NULL, customer = 'a2' WHERE pk = 1 $$);
SELECT pg_temp.err($$ UPDATE lk_inv SET number = 'LK-9999' WHERE pk = 1 $$);
SELECT pg_temp.err($$ UPDATE lk_inv SET number = number || 'x' $$);
-- The same value written back, or the column left out: works as ever.
UPDATE lk_inv SET number = 'LK-0001', customer = 'a3' WHERE pk = 1;
UPDATE lk_inv SET customer = 'b2' WHERE pk = 2;
UPDATE lk_inv SET number = number, customer = customer || '!';
SELECT pk, number, customer FROM lk_inv ORDER BY pk;
-- The error names the table and the number, and says what to do.
\set VERBOSITY verbose
UPDATE lk_inv SET number = NULL WHERE pk = 2;
\set VERBOSITY default

-- Before commit the row has no number yet: the inserting transaction may still write
-- the column (the row then consumes nothing) or leave it to the commit.
BEGIN;
INSERT INTO lk_inv (customer) VALUES ('c') RETURNING pk, number;
UPDATE lk_inv SET customer = 'c2', number = NULL WHERE customer = 'c';
INSERT INTO lk_inv (customer) VALUES ('d');
UPDATE lk_inv SET number = 'MANUAL-1' WHERE customer = 'd';
COMMIT;
SELECT pk, number, customer FROM lk_inv ORDER BY pk;
-- Numbered early with SET CONSTRAINTS ... IMMEDIATE: from then on it is assigned.
BEGIN;
INSERT INTO lk_inv (customer) VALUES ('e');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT number FROM lk_inv WHERE customer = 'e';
SELECT pg_temp.err($$ UPDATE lk_inv SET number = NULL WHERE customer = 'e' $$);
ROLLBACK;
-- Inside a savepoint: the refused update rolls back to it, the transaction goes on.
BEGIN;
SAVEPOINT s;
UPDATE lk_inv SET number = NULL WHERE pk = 1;
ROLLBACK TO s;
UPDATE lk_inv SET customer = 'a4' WHERE pk = 1;
COMMIT;
SELECT pk, number, customer FROM lk_inv ORDER BY pk;
-- Nothing was lost: the next number follows the last one drawn.
INSERT INTO lk_inv (customer) VALUES ('f') RETURNING pk;
SELECT number FROM lk_inv WHERE customer = 'f';

-- on_change => 'keep': the update goes through and the number stays.
CREATE TABLE lk_keep (pk serial PRIMARY KEY, number bigint, note text);
SELECT seqguard_attach('lk_keep', 'number', 'LK', on_change => 'keep');
INSERT INTO lk_keep (note) VALUES ('x');
UPDATE lk_keep SET number = NULL, note = 'edited' RETURNING number, note;
UPDATE lk_keep SET number = 42 RETURNING number, note;
SELECT pg_temp.err($$ SELECT seqguard_attach('lk_keep', 'note', 'LK', on_change => 'drop') $$);

-- Partitioned tables: the guard reaches every partition.
CREATE TABLE lk_part (pk int, number text, region text) PARTITION BY LIST (region);
CREATE TABLE lk_part_eu PARTITION OF lk_part FOR VALUES IN ('EU');
CREATE TABLE lk_part_us PARTITION OF lk_part FOR VALUES IN ('US');
SELECT seqguard_attach('lk_part', 'number', 'LK');
INSERT INTO lk_part (pk, region) VALUES (1, 'EU'), (2, 'US');
SELECT pg_temp.err($$ UPDATE lk_part SET number = NULL WHERE pk = 2 $$);
SELECT pg_temp.err($$ UPDATE lk_part_eu SET number = 'other' $$);
-- Moving a row to another partition keeps its number.
UPDATE lk_part SET region = 'US' WHERE pk = 1;
SELECT pk, region, number IS NOT NULL AS numbered FROM lk_part ORDER BY pk;

-- Detached: the guard goes with the late-bound trigger.
SELECT seqguard_detach('lk_inv', 'number');
SELECT seqguard_detach('lk_part', 'number');
SELECT tgrelid::regclass, count(*) FROM pg_trigger
 WHERE tgfoid = 'seqguard.late_guard()'::regprocedure GROUP BY 1 ORDER BY 1;
UPDATE lk_inv SET number = NULL WHERE pk = 1;

-- A database on 1.0: its attachments get the guard with ALTER EXTENSION UPDATE.
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_seqguard_lk_update;
\c regress_seqguard_lk_update
SET client_min_messages = warning;
CREATE EXTENSION seqguard VERSION '1.0';
RESET client_min_messages;
SELECT seqguard_create_series('OLD', 'OLD-{seq}');
CREATE TABLE old_inv (pk serial PRIMARY KEY, number text);
SELECT seqguard_attach('old_inv', 'number', 'OLD');
INSERT INTO old_inv DEFAULT VALUES;
ALTER EXTENSION seqguard UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'seqguard';
DO $$
BEGIN
  UPDATE old_inv SET number = NULL;
  RAISE EXCEPTION 'the update went through';
EXCEPTION WHEN restrict_violation THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;
INSERT INTO old_inv DEFAULT VALUES;
SELECT pk, number FROM old_inv ORDER BY pk;
-- Detach finds the guard the update installed.
SELECT seqguard_detach('old_inv', 'number');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'old_inv'::regclass;
\c :regress_db
DROP DATABASE regress_seqguard_lk_update;

DROP TABLE lk_inv, lk_keep, lk_part;
SELECT seqguard_drop_series('LK');
