-- seqguard_check_drift() and seqguard_sync_all() over seqguard's own state: what a
-- logical-replication cutover or a data-only restore leaves behind. Sequences are not
-- replicated, so a fast counter's sequence and the job id sequence start over (or are
-- missing), and counters of series whose rows were copied without seqguard's tables
-- start over too. The columns that store a series' numbers (target column, late-bound
-- column, a DEFAULT calling next_formatted_id/seqguard_nextval) tell how far they went.
CREATE SCHEMA app;
CREATE SCHEMA other;
SELECT seqguard_create_series('ORD', 'ORD-{YYYY}-{scope}-{seq:4}');             -- gapless, DEFAULT
SELECT seqguard_create_series('TRK', 'TRK-{scope}-{seq:5}', gapless => false);  -- fast, DEFAULT
SELECT seqguard_create_series('LATE', 'L{seq}');                                -- late-bound number
SELECT seqguard_create_series('NUM', 'N{seq}');                                 -- seqguard_nextval DEFAULT
SELECT seqguard_create_series('PER', 'P{YYYY}-{seq}');                          -- periodic, number column
SELECT seqguard_create_series('LONE', 'X{seq}', gapless => false);              -- fast, in no column
SELECT seqguard_create_series('OTH', 'O{seq}');                                 -- in another schema

CREATE TABLE app.orders (id text PRIMARY KEY DEFAULT next_formatted_id('ORD', 'EU', '2026-03-01'), n int);
-- Partitions inherit the DEFAULT: counted once, through the partitioned table.
CREATE TABLE app.tracks (id text DEFAULT next_formatted_id('TRK', 'A'), region text) PARTITION BY LIST (region);
CREATE TABLE app.tracks_n PARTITION OF app.tracks FOR VALUES IN ('n');
CREATE TABLE app.tracks_s PARTITION OF app.tracks FOR VALUES IN ('s');
CREATE TABLE app.bills (id serial, no bigint, branch text);
SELECT seqguard_attach('app.bills', 'no', 'LATE', scope_column => 'branch');
CREATE TABLE app.nums (n bigint DEFAULT seqguard_nextval('NUM', 'K'), note text);
CREATE TABLE app.pers (n bigint DEFAULT seqguard_nextval('PER'), note text);
CREATE TABLE other.o (id text DEFAULT next_formatted_id('OTH'));

INSERT INTO app.orders (n) SELECT g FROM generate_series(1, 7) g;
INSERT INTO app.orders (id, n) VALUES (next_formatted_id('ORD', 'US', '2025-06-01'), 0);
INSERT INTO app.tracks (region) SELECT CASE WHEN g % 2 = 0 THEN 'n' ELSE 's' END FROM generate_series(1, 9) g;
INSERT INTO app.tracks (id, region) VALUES (next_formatted_id('TRK', 'B'), 'n'), (next_formatted_id('TRK', 'B'), 's');
INSERT INTO app.bills (branch) VALUES ('north'), ('north'), ('south'), ('north');
INSERT INTO app.nums (note) SELECT 'x' FROM generate_series(1, 3);
INSERT INTO app.pers (note) VALUES ('x');
INSERT INTO other.o DEFAULT VALUES;
SELECT next_formatted_id('LONE');
SELECT status FROM seqguard_idem_begin('job-a');
SELECT status FROM seqguard_idem_begin('job-b');

-- One row per series and column, and one for the job ids; nothing to do yet.
SELECT table_name, column_name, sequence_name IS NOT NULL AS has_sequence, kind, last_value, next_value,
       column_max, status, lag
  FROM seqguard_check_drift() WHERE kind IN ('series', 'fast_counter', 'idem_job_id')
 ORDER BY kind, table_name::text COLLATE "C", column_name;
SELECT seqguard_sync_all();

-- What a subscriber looks like after a cutover: the counters' rows were copied as they
-- were when the schema was copied (here: before any draw), fast counters' rows name
-- sequences that were never created here, the job id sequence is at its start.
CREATE TEMP TABLE kept AS SELECT * FROM seqguard.counters;
UPDATE seqguard.counters SET last_value = NULL WHERE sequence_name IS NULL;
SELECT sequence_name AS trk_a FROM seqguard.counters WHERE series = 'TRK' AND scope = 'A' \gset
SELECT sequence_name AS lone FROM seqguard.counters WHERE series = 'LONE' \gset
DO $$
DECLARE s name;
BEGIN
  FOR s IN SELECT sequence_name FROM seqguard.counters WHERE sequence_name IS NOT NULL LOOP
    EXECUTE format('DROP SEQUENCE seqguard.%I', s);
  END LOOP;
END $$;
SELECT setval('seqguard.idem_job_id', 1, false);

-- Allocation cannot go on where the sequence is missing, and says what to do.
\set VERBOSITY verbose
SELECT next_formatted_id('TRK', 'A');
\set VERBOSITY default
-- Everything that could issue a number twice is reported.
SELECT table_name, column_name, sequence_name IS NOT NULL AS has_sequence, kind, last_value, next_value,
       column_max, status, lag
  FROM seqguard_check_drift() WHERE kind IN ('series', 'fast_counter', 'idem_job_id')
 ORDER BY kind, table_name::text COLLATE "C", column_name;

-- A dry run says what it would do, and does nothing.
SELECT seqguard_sync_all(dry_run => true);
SELECT count(*) AS sequences_still_missing FROM seqguard.counters c
 WHERE sequence_name IS NOT NULL AND to_regclass('seqguard.' || quote_ident(sequence_name)) IS NULL;

-- A sync of one schema leaves the rest (and the job ids) alone.
SELECT seqguard_sync_all(schema_name => 'other');
SELECT next_formatted_id('OTH') AS next_oth;

-- One call repairs everything else.
SELECT seqguard_sync_all();
SELECT table_name, column_name, kind, next_value, column_max, status
  FROM seqguard_check_drift() WHERE kind IN ('series', 'fast_counter', 'idem_job_id')
 ORDER BY kind, table_name::text COLLATE "C", column_name;
SELECT seqguard_sync_all() AS nothing_left;

-- And numbering goes on where it stopped, for every kind.
INSERT INTO app.orders (n) VALUES (8);
SELECT max(id) FROM app.orders WHERE id LIKE 'ORD-2026-EU-%';
SELECT next_formatted_id('ORD', 'US', '2025-06-01');
INSERT INTO app.tracks (region) VALUES ('n');
SELECT max(id) FROM app.tracks WHERE id LIKE 'TRK-A-%';
SELECT next_formatted_id('TRK', 'B');
INSERT INTO app.bills (branch) VALUES ('north'), ('south');
SELECT branch, array_agg(no ORDER BY no) FROM app.bills GROUP BY branch ORDER BY branch;
INSERT INTO app.nums (note) VALUES ('y');
SELECT max(n) FROM app.nums;
SELECT next_formatted_id('LONE') AS lone_starts_over;  -- no column showed its numbers
SELECT job_id FROM seqguard_idem_begin('job-c');
-- The re-created sequences carry the series' definition.
SELECT increment_by, min_value, max_value FROM pg_sequences
 WHERE schemaname = 'seqguard' AND sequencename = :'trk_a';

-- Privileges: the repair of seqguard's state belongs to the roles that may run
-- seqguard_sync_series (the extension owner and whom it grants); others neither see nor
-- move it.
CREATE ROLE regress_own_user;
GRANT USAGE ON SCHEMA app TO regress_own_user;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO regress_own_user;
GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA app TO regress_own_user;
UPDATE seqguard.counters SET last_value = 1 WHERE series = 'ORD';
SET ROLE regress_own_user;
SELECT count(*) AS own_rows FROM seqguard_check_drift() WHERE kind IN ('series', 'fast_counter', 'idem_job_id');
SELECT seqguard_sync_all();
RESET ROLE;
SELECT last_value FROM seqguard.counters WHERE series = 'ORD' ORDER BY scope;
-- Granted seqguard_sync_series but not SELECT on a column: no_privilege, and sync_all
-- fails naming it (after moving what it could, without moving series counters).
CREATE ROLE regress_own_admin;
GRANT EXECUTE ON FUNCTION seqguard_sync_series(text) TO regress_own_admin;
GRANT USAGE ON SCHEMA app TO regress_own_admin;
GRANT SELECT ON app.orders TO regress_own_admin;
GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA app TO regress_own_admin;
SET ROLE regress_own_admin;
SELECT table_name, column_name, kind, status FROM seqguard_check_drift()
 WHERE kind IN ('series', 'fast_counter') ORDER BY kind, table_name::text COLLATE "C", column_name;
\set VERBOSITY terse
SELECT seqguard_sync_all();
\set VERBOSITY default
RESET ROLE;
SELECT last_value FROM seqguard.counters WHERE series = 'ORD' ORDER BY scope;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO regress_own_admin;
GRANT USAGE ON SCHEMA other TO regress_own_admin;
GRANT SELECT ON other.o TO regress_own_admin;
SET ROLE regress_own_admin;
SELECT seqguard_sync_all();
RESET ROLE;
SELECT last_value FROM seqguard.counters WHERE series = 'ORD' ORDER BY scope;

-- search_path cannot change what is read: a max() that answers min.
SELECT seqguard_sync_all(dry_run => true);
CREATE SCHEMA evil;
CREATE AGGREGATE evil.max(bigint) (sfunc = int8smaller, stype = bigint);
SET search_path = evil, pg_catalog, public;
UPDATE seqguard.counters SET last_value = 1 WHERE series = 'NUM';
SELECT seqguard_sync_all();
RESET search_path;

DROP SCHEMA evil CASCADE;
SELECT seqguard_detach('app.bills', 'no');
DROP SCHEMA app CASCADE;
DROP SCHEMA other CASCADE;
SELECT seqguard_drop_series(s) FROM unnest('{ORD,TRK,LATE,NUM,PER,LONE,OTH}'::text[]) s;
SELECT seqguard_idem_purge();
DROP ROLE regress_own_user;
REVOKE ALL ON FUNCTION seqguard_sync_series(text) FROM regress_own_admin;
DROP ROLE regress_own_admin;
