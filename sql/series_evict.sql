-- A transaction that touches more counters than it keeps in memory (16,384) lets go of
-- the entries whose row holds all there is to know, and finds them again through the
-- row: every counter still continues gapless, savepoints still give numbers back, and
-- what the transaction holds still counts for ALTER and PREPARE.
SELECT seqguard_create_series('EV', 'E-{scope}-{seq}');
CREATE TABLE ev_docs (id text PRIMARY KEY, scope int, n int);
BEGIN;
-- Twice in a few counters first: those have a value still to write at commit.
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'd' || g), g, 1 FROM generate_series(1, 3) g;
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'd' || g), g, 2 FROM generate_series(1, 3) g;
SAVEPOINT a;
-- Inside a subtransaction: past the bound, with the dirty ones kept.
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'c' || g), g, 1 FROM generate_series(1, 17000) g;
ROLLBACK TO SAVEPOINT a;
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'c' || g), g, 1 FROM generate_series(1, 17000) g;
-- Past the bound again, at the top level: the early counters were let go of.
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'c' || g), g, 2 FROM generate_series(1, 17000, 1700) g;
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'd' || g), g, 3 FROM generate_series(1, 3) g;
SAVEPOINT b;
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'c' || g), g, 3 FROM generate_series(1, 17000, 1700) g;
ROLLBACK TO SAVEPOINT b;
SELECT seqguard_currval('EV', 'c1') AS c1_now, seqguard_peek('EV', 'c1701') AS c1701_next,
       seqguard_currval('EV', 'd2') AS d2_now;
SAVEPOINT c;
SELECT seqguard_alter_series('EV', increment => 2);
ROLLBACK TO SAVEPOINT c;
COMMIT;
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids FROM ev_docs;
-- Each counter's numbers are 1..n, without a gap. A hash join: the counters' statistics
-- may come from a background ANALYZE before these 17,000 counters existed, and a nested
-- loop over both sides took minutes under valgrind.
SET enable_nestloop = off;
SELECT count(*) AS counters,
       count(*) FILTER (WHERE last_value OPERATOR(pg_catalog.=) n) AS gapless
  FROM seqguard_counters c
  JOIN (SELECT split_part(id, '-', 2) AS scope, count(*) AS n, max(split_part(id, '-', 3)::int) AS top
          FROM ev_docs GROUP BY 1) d ON d.scope = c.scope AND d.top = d.n
 WHERE c.series = 'EV';
RESET enable_nestloop;
SELECT id FROM ev_docs WHERE scope IN (1, 1701) ORDER BY n, id;
BEGIN;
INSERT INTO ev_docs SELECT next_formatted_id('EV', 'p' || g), g, 1 FROM generate_series(1, 17000) g;
PREPARE TRANSACTION 'ev';
DROP TABLE ev_docs;
SELECT seqguard_drop_series('EV');
