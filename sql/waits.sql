-- seqguard_waits: what the view is made of, and the keys it names locks by. The waits
-- themselves need several sessions: specs/series_waits.spec.

-- Its columns, as documented.
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a
 WHERE a.attrelid = 'seqguard_waits'::regclass AND a.attnum > 0
 ORDER BY a.attnum;

-- Nobody waits: no row.
SELECT count(*) FROM seqguard_waits;

-- The keys are the ones a series and a counter are locked with: what pg_locks shows
-- (classid high, objid low; objsubid 21249 a series, 21250 a counter) while this
-- transaction holds them.
SELECT seqguard_create_series('WK', 'WK-{YYYY}-{MM}-{scope}-{seq}');
BEGIN;
SELECT seqguard_nextval('WK', 'north', '2026-11-23');
SELECT l.objsubid, l.mode,
       (l.classid::int8 << 32) | l.objid::int8 = CASE l.objsubid
           WHEN 21249 THEN seqguard.series_lock_key('WK')
           ELSE seqguard.counter_lock_key('WK', 'north', '2026-11') END AS key_matches
  FROM pg_locks l
 WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid()
 ORDER BY l.objsubid;
-- Held without waiters: still no row.
SELECT count(*) FROM seqguard_waits;
COMMIT;
-- Scope and period are separate parts of the key: ('ab', 'c') is not ('a', 'bc').
SELECT seqguard.counter_lock_key('WK', 'ab', 'c') <> seqguard.counter_lock_key('WK', 'a', 'bc') AS distinct_keys,
       seqguard.series_lock_key('WK') <> seqguard.counter_lock_key('WK', '', '') AS series_not_counter;

-- The period of a counter on a date, as allocation computes it: the template's, or the
-- reset's; NULL template or date, NULL.
SELECT f, r, seqguard.period_key(f, r, '2026-11-23') AS period
  FROM (VALUES ('X-{YYYY}-{MM}-{seq}', NULL), ('X-{YYYY}-{MM}-{seq}', 'yearly'),
               ('X-{YYYY}{MM}{DD}-{seq}', NULL), ('X-{FY:4}-{seq}', NULL),
               ('X-{IYYY}-{IW}-{seq}', NULL), ('X-{seq}', NULL)) v(f, r);
SELECT seqguard.period_key(NULL, NULL, '2026-11-23') IS NULL AS null_format,
       seqguard.period_key('X-{seq}', NULL, NULL) IS NULL AS null_date;

-- An ordinary role reads the view (its names follow its rights; specs/series_waits.spec),
-- though it may not call the internal key functions itself: they are the view's.
CREATE ROLE regress_waits_reader;
SET ROLE regress_waits_reader;
SELECT count(*) FROM seqguard_waits;
SELECT seqguard.series_lock_key('WK');
RESET ROLE;
DROP ROLE regress_waits_reader;

SELECT seqguard_drop_series('WK');
