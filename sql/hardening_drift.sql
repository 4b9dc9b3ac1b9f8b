-- Drift under row-level security, and syncs in read-only transactions.
--
-- A max() computed by a role that policies hide rows from proves nothing: the table is
-- no_privilege for it (nothing computed, shown or moved), and a sync fails for it as for
-- any other no_privilege object. A sync that would write is refused in a read-only
-- transaction (25006), as setval() is, whether or not anything is behind; a dry run
-- writes nothing and works there.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.next_of(seq regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE last bigint; called boolean; inc bigint;
BEGIN
  EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last, called;
  SELECT increment_by INTO inc FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename)::regclass = seq;
  RETURN CASE WHEN called THEN last + inc ELSE last END;
END $$;

CREATE ROLE regress_hd_owner;
CREATE ROLE regress_hd_reader;
CREATE ROLE regress_hd_bypass BYPASSRLS;
CREATE SCHEMA hd AUTHORIZATION regress_hd_owner;
GRANT USAGE ON SCHEMA hd TO regress_hd_reader, regress_hd_bypass;

-- The reader may read the table and read and move its sequence; a policy shows it only
-- its own rows (ids up to 10). Rows it cannot see go up to 100; the sequence is at 11:
-- past what the reader sees, behind the table.
SET ROLE regress_hd_owner;
CREATE TABLE hd.notes (id serial PRIMARY KEY, author name NOT NULL);
INSERT INTO hd.notes SELECT g, CASE WHEN g <= 10 THEN 'regress_hd_reader' ELSE 'someone' END
  FROM generate_series(1, 100) g;
SELECT setval('hd.notes_id_seq', 10);
ALTER TABLE hd.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON hd.notes FOR SELECT USING (author = current_user);
GRANT SELECT ON hd.notes TO regress_hd_reader, regress_hd_bypass;
GRANT SELECT, UPDATE ON SEQUENCE hd.notes_id_seq TO regress_hd_reader, regress_hd_bypass;
-- A table without policies next to it, behind too: it still syncs.
CREATE TABLE hd.open (id serial PRIMARY KEY);
INSERT INTO hd.open VALUES (1), (2), (3);
GRANT SELECT ON hd.open TO regress_hd_reader;
GRANT SELECT, UPDATE ON SEQUENCE hd.open_id_seq TO regress_hd_reader;
RESET ROLE;

SET ROLE regress_hd_reader;
SELECT max(id) AS max_the_reader_sees FROM hd.notes;
SELECT table_name, sequence_name, last_value, next_value, column_max, status, lag
  FROM seqguard_check_drift('hd') ORDER BY 1;
SELECT seqguard_sync_all(dry_run => true, schema_name => 'hd');
SELECT pg_temp.err($$SELECT seqguard_sync_all(schema_name => 'hd')$$);
SELECT pg_temp.err($$SELECT seqguard_sync('hd.notes')$$);
-- The same with row_security off: a query on the table would fail, so would the check.
SET row_security = off;
SELECT status, column_max FROM seqguard_check_drift('hd') WHERE table_name = 'hd.notes'::regclass;
RESET row_security;
RESET ROLE;
SELECT pg_temp.next_of('hd.notes_id_seq') AS notes_next, pg_temp.next_of('hd.open_id_seq') AS open_next;

-- A policy that happens to hide nothing is no proof either: policies may change.
SET ROLE regress_hd_owner;
CREATE POLICY everything ON hd.notes FOR SELECT TO regress_hd_reader USING (true);
RESET ROLE;
SET ROLE regress_hd_reader;
SELECT max(id) AS max_the_reader_sees FROM hd.notes;
SELECT status, column_max FROM seqguard_check_drift('hd') WHERE table_name = 'hd.notes'::regclass;
RESET ROLE;
SET ROLE regress_hd_owner;
DROP POLICY everything ON hd.notes;
RESET ROLE;

-- Roles policies do not apply to see every row: BYPASSRLS, and the owner unless the
-- table forces row security on it too.
SET ROLE regress_hd_bypass;
SELECT status, column_max FROM seqguard_check_drift('hd') WHERE table_name = 'hd.notes'::regclass;
RESET ROLE;
SET ROLE regress_hd_owner;
SELECT status, column_max FROM seqguard_check_drift('hd') WHERE table_name = 'hd.notes'::regclass;
ALTER TABLE hd.notes FORCE ROW LEVEL SECURITY;
SELECT status, column_max FROM seqguard_check_drift('hd') WHERE table_name = 'hd.notes'::regclass;
SELECT pg_temp.err($$SELECT seqguard_sync('hd.notes')$$);
ALTER TABLE hd.notes NO FORCE ROW LEVEL SECURITY;
SELECT seqguard_sync('hd.notes');
RESET ROLE;
SELECT pg_temp.next_of('hd.notes_id_seq') AS notes_next;

-- Through a parent: the policies of the table queried are the ones that count (a
-- partition's own policies do not apply through its parent; the parent's do).
SET ROLE regress_hd_owner;
CREATE TABLE hd.parted (id bigint NOT NULL DEFAULT nextval('hd.notes_id_seq'), author name) PARTITION BY RANGE (id);
CREATE TABLE hd.parted_low PARTITION OF hd.parted FOR VALUES FROM (1) TO (1000);
INSERT INTO hd.parted VALUES (500, 'someone');
ALTER TABLE hd.parted_low ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON hd.parted TO regress_hd_reader;
RESET ROLE;
SET ROLE regress_hd_reader;
SELECT table_name, status, column_max FROM seqguard_check_drift('hd') WHERE sequence_name = 'hd.notes_id_seq'::regclass ORDER BY 1;
RESET ROLE;
SET ROLE regress_hd_owner;
ALTER TABLE hd.parted ENABLE ROW LEVEL SECURITY;
RESET ROLE;
SET ROLE regress_hd_reader;
SELECT table_name, status, column_max FROM seqguard_check_drift('hd') WHERE sequence_name = 'hd.notes_id_seq'::regclass ORDER BY 1;
-- The sequence is shared by both tables: one no_privilege column is enough to refuse it.
SELECT pg_temp.err($$SELECT seqguard_sync('hd.notes')$$);
RESET ROLE;
SELECT pg_temp.next_of('hd.notes_id_seq') AS notes_next;
DROP TABLE hd.parted;

-- A series bound to a column of a table with row-level security: seqguard_sync_all
-- reports it no_privilege for the reader, seqguard_sync_series refuses (42501).
SET ROLE regress_hd_owner;
CREATE TABLE hd.invoices (ref text, author name);
INSERT INTO hd.invoices VALUES ('HD-005', 'regress_hd_reader'), ('HD-090', 'someone');
ALTER TABLE hd.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON hd.invoices FOR SELECT USING (author = current_user);
GRANT SELECT ON hd.invoices TO regress_hd_reader;
RESET ROLE;
SELECT seqguard_create_series('HD', 'HD-{seq:3}', target_table => 'hd.invoices', target_column => 'ref');
GRANT EXECUTE ON FUNCTION seqguard_sync_series(text) TO regress_hd_reader;
SET ROLE regress_hd_reader;
SELECT seqguard_sync_all(dry_run => true, schema_name => 'hd');
SELECT pg_temp.err($$SELECT seqguard_sync_all(schema_name => 'hd')$$);
SELECT pg_temp.err($$SELECT seqguard_sync_series('HD')$$);
RESET ROLE;
SELECT seqguard_peek('HD');
-- Its owner sees every row (no FORCE) and syncs it.
SELECT seqguard_sync_series('HD');
SELECT seqguard_peek('HD');

-- Read-only transactions: every sync that would write raises 25006 up front, whether or
-- not anything is behind (hd.open is in step now); a dry run works.
SELECT seqguard_sync_all(schema_name => 'hd');
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.err($$SELECT seqguard_sync_all()$$);
ROLLBACK;
SET default_transaction_read_only = on;
SELECT pg_temp.err($$SELECT seqguard_sync_all(schema_name => 'hd')$$);
SELECT pg_temp.err($$SELECT seqguard_sync('hd.open')$$);
SELECT pg_temp.err($$SELECT seqguard_sync_series('HD')$$);
SELECT seqguard_sync_all(dry_run => true, schema_name => 'hd');
SELECT status FROM seqguard_check_drift('hd') WHERE table_name = 'hd.open'::regclass;
RESET default_transaction_read_only;
-- Something behind: still 25006 from the sync itself, not setval()'s.
INSERT INTO hd.open VALUES (50);
BEGIN TRANSACTION READ ONLY;
SELECT pg_temp.err($$SELECT seqguard_sync('hd.open')$$);
SELECT seqguard_sync_all(dry_run => true, schema_name => 'hd');
ROLLBACK;

SELECT seqguard_drop_series('HD');
DROP SCHEMA hd CASCADE;
DROP OWNED BY regress_hd_owner, regress_hd_reader, regress_hd_bypass;
DROP ROLE regress_hd_owner, regress_hd_reader, regress_hd_bypass;
