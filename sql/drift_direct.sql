-- seqguard_check_drift() reads small tables and sequences without a statement: what it
-- reads must be exactly what SELECT max(col) FROM tbl and SELECT last_value, is_called
-- FROM seq read, with the same privileges. Every row is compared with those SELECTs.
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_seqguard_drift_direct;
CREATE DATABASE regress_seqguard_drift_direct;
\c regress_seqguard_drift_direct
CREATE EXTENSION seqguard;
SET search_path = public;

CREATE SCHEMA d;
-- Deleted and updated rows are not counted: their old versions are still on the page.
CREATE TABLE d.gone (id serial, v int);
INSERT INTO d.gone (id, v) SELECT g, 0 FROM generate_series(1, 50) g;
DELETE FROM d.gone WHERE id > 20;
UPDATE d.gone SET id = 30 WHERE id = 20;
-- NULLs are skipped; a column of NULLs only has no maximum.
CREATE TABLE d.nulls (id int DEFAULT nextval('d.nulls_seq'), v int);
CREATE SEQUENCE d.nulls_seq OWNED BY d.nulls.id;
INSERT INTO d.nulls VALUES (NULL, 1), (4, 2), (NULL, 3);
CREATE TABLE d.all_null (id serial);
INSERT INTO d.all_null VALUES (NULL);
ALTER TABLE d.all_null ALTER COLUMN id DROP NOT NULL;
INSERT INTO d.all_null VALUES (NULL);
DELETE FROM d.all_null WHERE id IS NOT NULL;
-- smallint and a domain over it, read as smallint; a descending sequence: its minimum.
CREATE DOMAIN d.small AS smallint;
CREATE SEQUENCE d.down_seq AS smallint INCREMENT BY -1 MINVALUE -30000 MAXVALUE -1;
CREATE TABLE d.down (id d.small DEFAULT nextval('d.down_seq'));
ALTER SEQUENCE d.down_seq OWNED BY d.down.id;
INSERT INTO d.down VALUES (-7), (-29999), (-3);
-- bigint beyond the range of integer.
CREATE TABLE d.big (id bigserial);
INSERT INTO d.big VALUES (5000000000), (4000000000);
-- A dropped column before the serial one: attribute numbers, not positions.
CREATE TABLE d.dropped (a int, b text, id serial);
ALTER TABLE d.dropped DROP COLUMN a;
INSERT INTO d.dropped (b, id) VALUES ('x', 12), ('y', 11);
-- A table larger than a few pages goes through SQL: same answer.
CREATE TABLE d.large (id serial, pad text);
INSERT INTO d.large (id, pad) SELECT g, repeat('x', 500) FROM generate_series(1, 300) g;
-- A sequence set back and not called: its next value is its last_value.
CREATE TABLE d.reset (id serial);
INSERT INTO d.reset VALUES (3);
SELECT setval('d.reset_id_seq', 100, false);
-- Rows inserted by a transaction that rolled back are not there.
CREATE TABLE d.aborted (id serial);
INSERT INTO d.aborted VALUES (2);
BEGIN;
INSERT INTO d.aborted VALUES (900);
ROLLBACK;

-- What the direct reads must agree with.
CREATE FUNCTION pg_temp.by_sql(t regclass, col name, asc_ boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  EXECUTE format('SELECT %s(%I)::bigint FROM %s', CASE WHEN asc_ THEN 'max' ELSE 'min' END, col, t) INTO v;
  RETURN v;
END $$;
CREATE FUNCTION pg_temp.next_by_sql(s regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE l bigint; c boolean;
BEGIN
  EXECUTE format('SELECT last_value, is_called FROM %s', s) INTO l, c;
  RETURN CASE WHEN c THEN l + (SELECT seqincrement FROM pg_sequence WHERE seqrelid = s) ELSE l END;
END $$;

SELECT pg_relation_size('d.large') > 8 * current_setting('block_size')::int AS large_is_large;
SELECT table_name, column_name, column_max, next_value, status,
       column_max IS NOT DISTINCT FROM pg_temp.by_sql(table_name, column_name,
         (SELECT seqincrement > 0 FROM pg_sequence WHERE seqrelid = sequence_name)) AS max_as_sql,
       next_value = pg_temp.next_by_sql(sequence_name) AS next_as_sql
  FROM seqguard_check_drift('d') ORDER BY table_name::text COLLATE "C";

-- Privileges: SELECT on the column alone is enough, as for SELECT max(id); SELECT on
-- another column is not; without USAGE on the schema nothing is listed.
CREATE ROLE regress_direct_reader;
CREATE SCHEMA p;
CREATE TABLE p.col_only (id serial, secret text);
CREATE TABLE p.other_col (id serial, shown text);
INSERT INTO p.col_only VALUES (8, 's');
INSERT INTO p.other_col VALUES (9, 's');
GRANT USAGE ON SCHEMA p TO regress_direct_reader;
GRANT SELECT (id) ON p.col_only TO regress_direct_reader;
GRANT SELECT (shown) ON p.other_col TO regress_direct_reader;
GRANT SELECT ON p.col_only_id_seq, p.other_col_id_seq TO regress_direct_reader;
SET ROLE regress_direct_reader;
SELECT table_name, column_name, column_max, next_value, status FROM seqguard_check_drift('p')
 ORDER BY table_name::text COLLATE "C";
RESET ROLE;
-- A sequence the caller may not read: its table's maximum is still read, the sequence not.
REVOKE SELECT ON p.col_only_id_seq FROM regress_direct_reader;
SET ROLE regress_direct_reader;
SELECT table_name, column_name, last_value, column_max, next_value, status FROM seqguard_check_drift('p')
 ORDER BY table_name::text COLLATE "C";
RESET ROLE;

\c :regress_db
DROP DATABASE regress_seqguard_drift_direct;
DROP ROLE regress_direct_reader;
