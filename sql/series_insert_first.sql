-- A transaction that has found only new counters for a while (32 in a row) inserts the
-- next new counter's row without looking it up first; the primary key's check at insert
-- looks instead. A counter that exists after all costs one insert undone (counted in
-- n_tup_del below) and continues from its stored value; the transaction then looks
-- first again. Every counter stays gapless, savepoints included.
SELECT seqguard_create_series('IF', 'IF-{scope}-{seq}');
CREATE TABLE if_docs (id text PRIMARY KEY, scope text NOT NULL);
INSERT INTO if_docs SELECT next_formatted_id('IF', s), s FROM unnest(ARRAY['old', 'old', 'old', 'mid', 'late']) s;

BEGIN;
-- Rows inserted and deleted in seqguard.counters, counted from here (the statistics of
-- earlier transactions may or may not have been sent yet).
SELECT n_tup_ins AS ins0, n_tup_del AS del0 FROM pg_stat_xact_user_tables
 WHERE relid = 'seqguard.counters'::regclass \gset
-- 40 new counters: the last 8 are inserted without a look-up.
INSERT INTO if_docs SELECT next_formatted_id('IF', 'n' || g), 'n' || g FROM generate_series(1, 40) g;
SELECT n_tup_ins - :ins0 AS inserted, n_tup_del - :del0 AS deleted FROM pg_stat_xact_user_tables
 WHERE relid = 'seqguard.counters'::regclass;
-- An existing counter right after: the insert is undone, the counter continues at 4.
INSERT INTO if_docs VALUES (next_formatted_id('IF', 'old'), 'old');
SELECT n_tup_ins - :ins0 AS inserted, n_tup_del - :del0 AS deleted FROM pg_stat_xact_user_tables
 WHERE relid = 'seqguard.counters'::regclass;
-- Looking first again: 'mid' exists and costs nothing undone.
INSERT INTO if_docs SELECT next_formatted_id('IF', s), s FROM unnest(ARRAY['mid', 'old']) s;
SELECT n_tup_ins - :ins0 AS inserted, n_tup_del - :del0 AS deleted FROM pg_stat_xact_user_tables
 WHERE relid = 'seqguard.counters'::regclass;
-- Back to inserting first after 32 more new ones; one of them rolled back with its
-- savepoint, then drawn again.
INSERT INTO if_docs SELECT next_formatted_id('IF', 'm' || g), 'm' || g FROM generate_series(1, 34) g;
SAVEPOINT s;
INSERT INTO if_docs SELECT next_formatted_id('IF', 'r' || g), 'r' || g FROM generate_series(1, 2) g;
ROLLBACK TO SAVEPOINT s;
INSERT INTO if_docs SELECT next_formatted_id('IF', 'r' || g), 'r' || g FROM generate_series(1, 3) g;
-- An existing counter met in insert-first mode inside a savepoint that is kept, drawn
-- twice; and one this transaction already holds, which needs no look-up at all.
SAVEPOINT t;
INSERT INTO if_docs SELECT next_formatted_id('IF', 'late'), 'late' FROM generate_series(1, 2);
INSERT INTO if_docs SELECT next_formatted_id('IF', 'old'), 'old' FROM generate_series(1, 2);
RELEASE SAVEPOINT t;
SELECT n_tup_ins - :ins0 AS inserted, n_tup_del - :del0 AS deleted FROM pg_stat_xact_user_tables
 WHERE relid = 'seqguard.counters'::regclass;
COMMIT;

SELECT scope, count(*) AS ids, max(split_part(id, '-', 3)::int) AS top
  FROM if_docs WHERE scope IN ('old', 'mid', 'late', 'n1', 'n40', 'm34', 'r1', 'r3') GROUP BY scope ORDER BY scope;
-- Every counter holds as many numbers as were issued, gapless, and one row each.
SELECT count(*) AS counters,
       count(*) FILTER (WHERE c.last_value OPERATOR(pg_catalog.=) d.n AND d.n OPERATOR(pg_catalog.=) d.top) AS gapless
  FROM seqguard_counters c
  JOIN (SELECT scope, count(*) AS n, max(split_part(id, '-', 3)::int) AS top FROM if_docs GROUP BY scope) d
    ON d.scope OPERATOR(pg_catalog.=) c.scope
 WHERE c.series = 'IF';
SELECT count(*) AS rows_per_counter_above_one
  FROM (SELECT scope FROM seqguard.counters WHERE series = 'IF' GROUP BY scope HAVING count(*) > 1) x;

DROP TABLE if_docs;
SELECT seqguard_drop_series('IF');
