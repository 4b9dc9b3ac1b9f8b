-- Counters in a database whose collation does not order text byte by byte (ICU en-US:
-- 'a' < 'B' there, 'B' < 'a' in C). seqguard 1.1 keys counters with COLLATE "C"; 1.0's
-- tables have the database's collation, and the 1.1 library must find their counters
-- as well: a look-up that descends the primary key in the wrong order misses a counter
-- that exists, and creating it again fails with 23505.
SELECT attname, collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
 WHERE attrelid = 'seqguard.counters'::regclass AND attnum > 0 ORDER BY attnum;

\set regress_db :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS seqguard_icu;
RESET client_min_messages;
CREATE DATABASE seqguard_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8';
\c seqguard_icu
SET client_min_messages = warning;

-- Scopes of both cases, interleaved, enough for a primary key of several pages.
CREATE TABLE docs (id text PRIMARY KEY, scope text NOT NULL);
CREATE VIEW scopes AS
SELECT (CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END) || chr(97 + g % 26) || chr(65 + (g / 26) % 26) || g AS scope
  FROM generate_series(1, 3000) g;
-- Every scope numbered once per pass; each pass must continue every counter.
CREATE FUNCTION pass(n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  INSERT INTO docs SELECT next_formatted_id('S', scope), scope FROM scopes;
  SELECT format('%s rows, %s at %s', count(*), count(*) FILTER (WHERE id = 'S-' || scope || '-' || n), n)
    INTO r FROM docs WHERE id LIKE '%-' || n;
  RETURN r;
END
$$;

-- 1.0's tables, numbered by the 1.1 library before the update.
CREATE EXTENSION seqguard VERSION '1.0';
SELECT seqguard_create_series('S', 'S-{scope}-{seq}');
SELECT pass(1);
SELECT pass(2);
SELECT collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
 WHERE attrelid = 'seqguard.counters'::regclass AND attname = 'scope';

-- A view of the database's own over seqguard_counters holds the update back, with what
-- to do; nothing has changed.
CREATE VIEW my_counters AS SELECT series, scope FROM seqguard_counters;
\set SHOW_CONTEXT never
ALTER EXTENSION seqguard UPDATE;
\set SHOW_CONTEXT errors
SELECT extversion FROM pg_extension WHERE extname = 'seqguard';
DROP VIEW my_counters;

-- Updated: the key compares in C, and every counter continues.
ALTER EXTENSION seqguard UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'seqguard';
SELECT attname, collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
 WHERE attrelid = 'seqguard.counters'::regclass AND attnum > 0 ORDER BY attnum;
SELECT pass(3);
SELECT count(*), min(last_value), max(last_value) FROM seqguard_counters;
-- A look-up by key with plain literals still uses the primary key (the column's
-- collation wins over the literals' default).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT last_value FROM seqguard.counters WHERE series = 'S' AND scope = 'aaA26' AND period = '';
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A fresh 1.1 install in the same database.
DROP EXTENSION seqguard;
TRUNCATE docs;
CREATE EXTENSION seqguard;
\c seqguard_icu
SELECT seqguard_create_series('S', 'S-{scope}-{seq}');
SELECT pass(1);
SELECT pass(2);

\c :regress_db
DROP DATABASE seqguard_icu;
