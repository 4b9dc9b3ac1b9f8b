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
SELECT min(team_id), max(team_id), count(*) FROM teams;
SELECT * FROM seqguard_counters ORDER BY series, scope, period;
