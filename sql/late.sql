-- Late-bound gapless numbers: attach, what the application sees before and after commit,
-- updates and deletes before commit, savepoints, SET CONSTRAINTS, scopes, types,
-- partitions, errors, privileges, detach.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT seqguard_create_series('DOC', 'DOC-{seq:3}');
CREATE TABLE docs (pk bigserial PRIMARY KEY, id text UNIQUE, note text);
SELECT seqguard_attach('docs', 'id', 'DOC');
SELECT tgname, tgenabled, tgdeferrable, tginitdeferred, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE tgrelid = 'docs'::regclass;

-- Before commit the column is NULL, RETURNING included; the number arrives at commit,
-- in insertion order.
BEGIN;
INSERT INTO docs (note) VALUES ('first') RETURNING pk, id, note;
INSERT INTO docs (note) VALUES ('second'), ('third');
INSERT INTO docs (note) SELECT 'bulk ' || g FROM generate_series(1, 3) g;
SELECT pk, id, note FROM docs ORDER BY pk;
SELECT last_value FROM seqguard_counters WHERE series = 'DOC';
COMMIT;
SELECT pk, id, note FROM docs ORDER BY pk;
SELECT last_value FROM seqguard_counters WHERE series = 'DOC';

-- COPY numbers its rows the same way.
COPY docs (note) FROM stdin;
copy 1
copy 2
\.
SELECT id, note FROM docs WHERE note LIKE 'copy%' ORDER BY pk;

-- Rows updated before commit (their TID moved, more than once, HOT or not) still get
-- their number; a deleted row consumes none; an explicit value is kept and consumes none.
BEGIN;
INSERT INTO docs (note) VALUES ('will be updated'), ('will be deleted'), ('updated twice');
UPDATE docs SET note = 'updated' WHERE note = 'will be updated';
UPDATE docs SET note = 'updated once' WHERE note = 'updated twice';
UPDATE docs SET note = 'updated twice', pk = pk + 1000 WHERE note = 'updated once';
DELETE FROM docs WHERE note = 'will be deleted';
INSERT INTO docs (id, note) VALUES ('IMPORTED-7', 'explicit');
COMMIT;
SELECT id, note FROM docs WHERE pk > 8 ORDER BY id;
SELECT last_value FROM seqguard_counters WHERE series = 'DOC';

-- A row whose column the transaction set itself keeps that value.
BEGIN;
INSERT INTO docs (note) VALUES ('set by hand');
UPDATE docs SET id = 'MANUAL-1' WHERE note = 'set by hand';
COMMIT;
SELECT id FROM docs WHERE note = 'set by hand';

-- Rollbacks give everything back; so does a savepoint rollback: its rows are gone and
-- their trigger events with them.
BEGIN;
INSERT INTO docs (note) VALUES ('rolled back');
ROLLBACK;
BEGIN;
INSERT INTO docs (note) VALUES ('kept 1');
SAVEPOINT a;
INSERT INTO docs (note) VALUES ('in rolled-back savepoint');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO docs (note) VALUES ('in released savepoint');
RELEASE SAVEPOINT b;
INSERT INTO docs (note) VALUES ('kept 2');
COMMIT;
SELECT id, note FROM docs WHERE note LIKE 'kept%' OR note LIKE 'in %' ORDER BY id;

-- SET CONSTRAINTS ... IMMEDIATE numbers the pending rows at once (and takes the
-- counter's lock until commit). Rolled back to a savepoint, the numbers go back too and
-- the rows are numbered again at commit.
BEGIN;
INSERT INTO docs (note) VALUES ('immediate');
SET CONSTRAINTS seqguard_late_id IMMEDIATE;
SELECT id FROM docs WHERE note = 'immediate';
SELECT seqguard_currval('DOC');
SET CONSTRAINTS seqguard_late_id DEFERRED;
SAVEPOINT s;
INSERT INTO docs (note) VALUES ('numbered in a savepoint');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT id FROM docs WHERE note = 'numbered in a savepoint';
ROLLBACK TO SAVEPOINT s;
INSERT INTO docs (note) VALUES ('after the savepoint');
COMMIT;
SELECT id, note FROM docs WHERE note IN ('immediate', 'numbered in a savepoint', 'after the savepoint') ORDER BY id;

-- A commit that fails after the numbers were drawn consumes none of them.
CREATE TABLE strict_docs (id text, code int UNIQUE DEFERRABLE INITIALLY DEFERRED);
SELECT seqguard_attach('strict_docs', 'id', 'DOC');
BEGIN;
INSERT INTO strict_docs (code) VALUES (1), (1);
COMMIT;
SELECT count(*) FROM strict_docs;
SELECT last_value FROM seqguard_counters WHERE series = 'DOC';

-- REPEATABLE READ and SERIALIZABLE transactions commit their numbers as well.
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO docs (note) VALUES ('repeatable read');
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
INSERT INTO docs (note) VALUES ('serializable');
COMMIT;
SELECT id, note FROM docs WHERE note IN ('repeatable read', 'serializable') ORDER BY id;

-- Committed IDs of the counter: exactly 1..n across both tables.
SELECT count(*) AS numbered, min(substr(id, 5)::int), max(substr(id, 5)::int)
  FROM (SELECT id FROM docs UNION ALL SELECT id FROM strict_docs) d WHERE id LIKE 'DOC-%';

-- PREPARE TRANSACTION is refused, as for any gapless allocation.
BEGIN;
INSERT INTO docs (note) VALUES ('prepared');
PREPARE TRANSACTION 'late';
SELECT count(*) FROM docs WHERE note = 'prepared';

-- Scopes come from a column of the row; integer columns get the number itself.
SELECT seqguard_create_series('TEAM', '{scope}-{seq:3}');
CREATE TABLE members (team text NOT NULL, badge varchar(20), no integer, name text);
SELECT seqguard_attach('members', 'badge', 'TEAM', scope_column => 'team');
SELECT seqguard_create_series('MEMBER_NO', '{seq}', start_value => 100, increment => 10);
SELECT seqguard_attach('members', 'no', 'MEMBER_NO');
INSERT INTO members (team, name) VALUES ('EU', 'ana'), ('US', 'bob'), ('EU', 'cy');
BEGIN;
INSERT INTO members (team, name) VALUES ('US', 'di');
UPDATE members SET team = 'EU' WHERE name = 'di';  -- the scope is read at commit
COMMIT;
SELECT team, badge, no, name FROM members ORDER BY no;

-- Partitioned tables: the trigger is cloned to every partition, present and future.
SELECT seqguard_create_series('PART', 'P{seq}');
CREATE TABLE parts (region int NOT NULL, id text, note text) PARTITION BY LIST (region);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES IN (1);
SELECT seqguard_attach('parts', 'id', 'PART');
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES IN (2);
BEGIN;
INSERT INTO parts (region, note) VALUES (1, 'a'), (2, 'b');
INSERT INTO parts_2 (region, note) VALUES (2, 'straight into the partition');
INSERT INTO parts (region, note) VALUES (1, 'moved to region 2');
UPDATE parts SET region = 2 WHERE note = 'moved to region 2';
COMMIT;
SELECT tableoid::regclass, region, id, note FROM parts ORDER BY id;
SELECT last_value FROM seqguard_counters WHERE series = 'PART';
SELECT pg_temp.err($$SELECT seqguard_detach('parts_1', 'id')$$);

-- Quoted names everywhere: schema, table, column, scope column, series.
CREATE SCHEMA "Odd ""Schema""";
CREATE TABLE "Odd ""Schema"""."Inv Table" ("Doc No" text, "Team's" text);
SELECT seqguard_create_series('Odd''s series', '{scope}/{seq}');
SELECT seqguard_attach('"Odd ""Schema"""."Inv Table"', 'Doc No', 'Odd''s series', 'Team''s');
BEGIN;
INSERT INTO "Odd ""Schema"""."Inv Table" ("Team's") VALUES ('a"b');
SET CONSTRAINTS "Odd ""Schema"""."seqguard_late_Doc No" IMMEDIATE;
SELECT * FROM "Odd ""Schema"""."Inv Table";
COMMIT;
SELECT seqguard_detach('"Odd ""Schema"""."Inv Table"', 'Doc No');
DROP SCHEMA "Odd ""Schema""" CASCADE;
SELECT seqguard_drop_series('Odd''s series');

-- Errors: each with its SQLSTATE, and nothing installed.
CREATE TABLE bad (id text NOT NULL, d text DEFAULT 'x', n date, g int GENERATED ALWAYS AS IDENTITY, free text);
CREATE VIEW docs_view AS SELECT * FROM docs;
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'nope', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'id', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'd', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'n', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'g', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'free', 'NO_SUCH_SERIES')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'free', 'DOC', 'nope')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'free', 'DOC', 'free')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('docs', 'id', 'TEAM')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('docs_view', 'id', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach(NULL, 'id', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', NULL, 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_attach('bad', 'free', NULL)$$);
SELECT pg_temp.err($$SELECT seqguard_detach('bad', 'free')$$);
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bad'::regclass;

-- A late-bound column renamed without detaching: the commit fails, clearly, and
-- consumes nothing.
CREATE TABLE renamed (id text, note text);
SELECT seqguard_attach('renamed', 'id', 'DOC');
ALTER TABLE renamed RENAME COLUMN id TO doc_id;
INSERT INTO renamed (note) VALUES ('x');
SELECT seqguard_detach('renamed', 'id');
SELECT seqguard_attach('renamed', 'doc_id', 'DOC');
INSERT INTO renamed (note) VALUES ('y');
SELECT doc_id, note FROM renamed;

-- Privileges: attach and detach are the owner's (REVOKE ... FROM PUBLIC), and the table
-- must be the caller's own. A role that may only INSERT still gets its numbers: the
-- trigger writes them as the table's owner, even through row-level security forced on
-- that owner (no policy lets anyone UPDATE this table).
CREATE ROLE late_owner;
CREATE ROLE late_clerk;
CREATE ROLE late_admin;
CREATE TABLE ledger (id text, note text);
ALTER TABLE ledger OWNER TO late_owner;
SELECT seqguard_attach('ledger', 'id', 'DOC');
GRANT EXECUTE ON FUNCTION seqguard_attach(regclass, name, text, name, text) TO late_admin;
GRANT EXECUTE ON FUNCTION seqguard_detach(regclass, name) TO late_admin;
GRANT INSERT, SELECT ON ledger TO late_clerk;
ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY inserts ON ledger FOR INSERT WITH CHECK (true);
CREATE POLICY reads ON ledger FOR SELECT USING (true);
SET ROLE late_clerk;
SELECT pg_temp.err($$SELECT seqguard_attach('ledger', 'note', 'DOC')$$);
SELECT pg_temp.err($$SELECT seqguard_detach('ledger', 'id')$$);
SELECT pg_temp.err($$UPDATE ledger SET id = 'x'$$);
INSERT INTO ledger (note) VALUES ('by a clerk');
SELECT id, note FROM ledger;
RESET ROLE;
SET ROLE late_admin;
SELECT pg_temp.err($$SELECT seqguard_detach('ledger', 'id')$$);
RESET ROLE;
-- A BEFORE UPDATE trigger that swallows the write: the commit fails, nothing consumed.
CREATE FUNCTION pg_temp.swallow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER swallow BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION pg_temp.swallow();
INSERT INTO ledger (note) VALUES ('swallowed');
SELECT last_value FROM seqguard_counters WHERE series = 'DOC';
DROP TRIGGER swallow ON ledger;

-- Detach: later rows stay NULL, earlier ones keep their IDs. Not while rows of the
-- transaction still wait for their number.
BEGIN;
INSERT INTO docs (note) VALUES ('pending');
SELECT pg_temp.err($$SELECT seqguard_detach('docs', 'id')$$);
COMMIT;
SELECT seqguard_detach('docs', 'id');
INSERT INTO docs (note) VALUES ('after detach');
SELECT id, note FROM docs WHERE note IN ('pending', 'after detach') ORDER BY note;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'docs'::regclass AND tgname LIKE 'seqguard%';

DROP TABLE docs, strict_docs, members, parts, bad, renamed, ledger CASCADE;
DROP OWNED BY late_owner, late_clerk, late_admin;
DROP ROLE late_owner, late_clerk, late_admin;
SELECT seqguard_drop_series(s) FROM unnest(ARRAY['DOC', 'TEAM', 'MEMBER_NO', 'PART']) s;
