-- One transaction may draw from any number of gapless counters with stock lock
-- settings: a counter is locked through its row (as SELECT ... FOR UPDATE locks one),
-- and a row lock lives in the row, not in the shared lock table that every session of
-- the server shares (max_locks_per_transaction x max_connections entries, a few
-- thousand by default). An import that numbers each row in a scope of its own used to
-- fail there with "out of shared memory", and could make other sessions fail too.
SHOW max_locks_per_transaction;
SELECT seqguard_create_series('MANY', 'M-{scope}-{seq:3}');
CREATE TABLE many_docs (id text PRIMARY KEY, n int);
BEGIN;
INSERT INTO many_docs SELECT next_formatted_id('MANY', 'c' || g), g FROM generate_series(1, 30000) g;
-- The locks this transaction holds do not grow with the counters it took: the series,
-- the tables, and the first 16 new counters' locks (kept so that a session waiting for
-- one of those sees what it waits for in seqguard_waits).
SELECT count(*) FILTER (WHERE locktype = 'advisory' AND mode = 'ExclusiveLock') AS creation_locks,
       count(*) < 40 AS few_locks
  FROM pg_locks WHERE pid = pg_backend_pid();
INSERT INTO many_docs SELECT next_formatted_id('MANY', 'c' || g), g FROM generate_series(1, 3) g;
COMMIT;
SELECT count(*) AS counters, min(last_value), max(last_value) FROM seqguard_counters WHERE series = 'MANY';
SELECT id FROM many_docs WHERE n <= 2 ORDER BY id;
-- A savepoint rollback gives back what it drew, from new and old counters alike.
BEGIN;
SAVEPOINT s;
INSERT INTO many_docs SELECT next_formatted_id('MANY', 'c' || g), g FROM generate_series(29999, 30002) g;
ROLLBACK TO SAVEPOINT s;
INSERT INTO many_docs SELECT next_formatted_id('MANY', 'c' || g), g FROM unnest('{30000,30003}'::int[]) g;
COMMIT;
SELECT id FROM many_docs WHERE n >= 29999 ORDER BY n, id;
SELECT count(*) AS counters FROM seqguard_counters WHERE series = 'MANY';
DROP TABLE many_docs;
SELECT seqguard_drop_series('MANY');
