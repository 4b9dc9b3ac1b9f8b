-- Trigger names of late-bound columns (the numbering trigger "seqguard_late_<col>" and
-- the guard "seqguard_keep_<col>"): unique whatever the column names. Identifiers have
-- 63 bytes; the prefix leaves 49 for the column, so names that share their first 49
-- bytes need more than a clipped prefix. Triggers made by 1.0 (clipped, no
-- hash) keep their names and are still found and detached.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT seqguard_create_series('HL1', 'ONE-{seq:3}');
SELECT seqguard_create_series('HL2', 'TWO-{seq:3}');

-- Two 63-byte column names that differ only in their last 3 bytes.
CREATE TABLE hl_docs (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone text, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo text, note text);
SELECT seqguard_attach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone', 'HL1');
SELECT seqguard_attach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo', 'HL2');
SELECT tgname, octet_length(tgname) AS bytes, encode(tgargs, 'escape') AS args
  FROM pg_trigger WHERE tgrelid = 'hl_docs'::regclass ORDER BY tgname;
BEGIN;
INSERT INTO hl_docs (note) VALUES ('first'), ('second');
COMMIT;
SELECT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone AS one, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo AS two, note FROM hl_docs ORDER BY note;
-- Attaching again is still refused by what the trigger is, not by its name.
SELECT pg_temp.err($$SELECT seqguard_attach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo', 'HL1')$$);
-- Long names work wherever a trigger name is used.
BEGIN;
INSERT INTO hl_docs (note) VALUES ('third');
SELECT pg_temp.err(format('SET CONSTRAINTS %I IMMEDIATE', (SELECT tgname FROM pg_trigger
  WHERE tgrelid = 'hl_docs'::regclass AND tgfoid = 'seqguard.late_bind'::regproc
    AND encode(tgargs, 'escape') LIKE '%two%')));
SELECT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo AS two FROM hl_docs WHERE note = 'third';
COMMIT;
SELECT seqguard_detach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone');
SELECT seqguard_detach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'hl_docs'::regclass;

-- A trigger as seqguard 1.0 made it: the name clipped to 63 bytes, no hash. Attaching the
-- other column gets a name of its own; detaching finds the 1.0 trigger by what it is.
CREATE CONSTRAINT TRIGGER "seqguard_late_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" AFTER INSERT ON hl_docs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION seqguard.late_bind('HL1', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone', '');
SELECT seqguard_attach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo', 'HL2');
SELECT tgname, encode(tgargs, 'escape') AS args FROM pg_trigger WHERE tgrelid = 'hl_docs'::regclass ORDER BY tgname;
INSERT INTO hl_docs (note) VALUES ('fourth');
SELECT aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone AS one, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo AS two FROM hl_docs WHERE note = 'fourth';
SELECT seqguard_detach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone');
SELECT seqguard_detach('hl_docs', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'hl_docs'::regclass;

-- Multibyte names: the clipped part never ends inside a character (here the 2-byte "é"
-- would straddle the cut: "seqguard_late_x" is 15 bytes).
CREATE TABLE hl_wide ("xééééééééééééééééééééééééééééééé" text, "yééééééééééééééééééééééééééééééé" text);
SELECT seqguard_attach('hl_wide', 'xééééééééééééééééééééééééééééééé', 'HL1');
SELECT seqguard_attach('hl_wide', 'yééééééééééééééééééééééééééééééé', 'HL2');
SELECT tgname, octet_length(tgname) AS bytes, tgname ~ '^seqguard_(late|keep)_[xy](é)+_[0-9a-f]{8}$' AS whole_characters
  FROM pg_trigger WHERE tgrelid = 'hl_wide'::regclass ORDER BY tgname;
INSERT INTO hl_wide DEFAULT VALUES;
SELECT "xééééééééééééééééééééééééééééééé" AS x, "yééééééééééééééééééééééééééééééé" AS y FROM hl_wide;

-- A partition already has triggers of the plain names: the partitioned table's triggers,
-- cloned to every partition under their own names, take others.
CREATE TABLE hl_parts (region text, ref text) PARTITION BY LIST (region);
CREATE TABLE hl_parts_eu PARTITION OF hl_parts FOR VALUES IN ('EU');
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER seqguard_late_ref AFTER INSERT ON hl_parts_eu FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
CREATE TRIGGER seqguard_keep_ref AFTER INSERT ON hl_parts_eu FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
SELECT seqguard_attach('hl_parts', 'ref', 'HL1');
SELECT tgrelid::regclass, tgname, tgfoid IN ('seqguard.late_bind'::regproc, 'seqguard.late_guard'::regproc) AS ours
  FROM pg_trigger
 WHERE tgrelid IN ('hl_parts'::regclass, 'hl_parts_eu'::regclass) ORDER BY 1, 2;
INSERT INTO hl_parts VALUES ('EU', NULL);
SELECT region, ref FROM hl_parts;
SELECT seqguard_detach('hl_parts', 'ref');

-- Protect installs one trigger per table, named after nothing the user chose: long
-- column names cannot collide there.
CREATE SEQUENCE hl_s1;
CREATE SEQUENCE hl_s2;
CREATE TABLE hl_serials (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaone int DEFAULT nextval('hl_s1'), aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaatwo bigint DEFAULT nextval('hl_s2'));
SELECT seqguard_protect('hl_serials');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'hl_serials'::regclass;
INSERT INTO hl_serials VALUES (5, 7);
INSERT INTO hl_serials DEFAULT VALUES RETURNING *;

DROP TABLE hl_docs, hl_wide, hl_parts, hl_serials;
DROP SEQUENCE hl_s1, hl_s2;
SELECT seqguard_drop_series('HL1'), seqguard_drop_series('HL2');
