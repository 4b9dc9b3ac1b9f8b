-- What scripts/demo shows: seqguard on real SQL, in a fresh database.
\set ECHO queries
CREATE EXTENSION seqguard;

-- Try a template before creating a series.
SELECT seqguard_format('ASM-{YYYY}-{seq:3}', 6);
SELECT seqguard_format('INV/{YY}{MM}/{scope}/{seq:5}', 1, 'EU', '2026-11-23');
SELECT seqguard_format('ICCT-{seq:3}', 1000) AS widened_never_truncated, lpad(1000::text, 3, '0') AS what_lpad_does;

-- Assessments numbered per year, gapless, as a column DEFAULT.
SELECT seqguard_create_series('ASM', 'ASM-{YYYY}-{seq:3}');
CREATE TABLE assessments (id text PRIMARY KEY DEFAULT next_formatted_id('ASM'), title text);
INSERT INTO assessments (title) VALUES ('first'), ('second');
BEGIN;
INSERT INTO assessments (title) VALUES ('rolled back: its number is given back');
ROLLBACK;
INSERT INTO assessments (title) VALUES ('third');
SELECT * FROM assessments ORDER BY id;

-- Team IDs, and a bulk load: one counter lock, counted in memory, written at commit.
SELECT seqguard_create_series('ICCT', 'ICCT-{seq:3}');
CREATE TABLE teams (team_id text PRIMARY KEY DEFAULT next_formatted_id('ICCT'), name text);
\timing on
INSERT INTO teams (name) SELECT 'team ' || g FROM generate_series(1, 100000) g;
\timing off
SELECT count(*) AS rows, count(DISTINCT team_id) AS distinct_ids,
       (SELECT team_id FROM teams ORDER BY length(team_id) DESC, team_id DESC LIMIT 1) AS last_id
  FROM teams;
SELECT * FROM seqguard_counters ORDER BY series, scope, period;

-- An import left a sequence behind the data: the next insert would fail with 23505.
CREATE TABLE markers (id serial PRIMARY KEY, label text);
INSERT INTO markers (id, label) SELECT g, 'imported' FROM generate_series(1, 40) g;
SELECT table_name, sequence_name, next_value, column_max, status FROM seqguard_check_drift();
SELECT seqguard_sync_all();
INSERT INTO markers (label) VALUES ('new') RETURNING id;

-- A double-clicked import: one job per key.
SELECT * FROM seqguard_idem_begin('user7:mapping3:file9');
SELECT * FROM seqguard_idem_begin('user7:mapping3:file9');
