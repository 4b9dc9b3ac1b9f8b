-- seqguard keeps its own tables open between calls of one statement (a new counter then
-- costs no relation opening). Whatever ends a statement or a (sub)transaction must
-- leave them closed or forgotten: a table this session still had open would make DROP
-- EXTENSION and ALTER TABLE fail with "is being used by active queries in this
-- session", and one left open at commit would print a relcache reference leak WARNING
-- (any WARNING makes this file's expected output differ).
SELECT seqguard_create_series('OT', 'OT-{scope}-{seq}');
SELECT seqguard_create_series('OF', 'OF-{seq}', gapless => false);
CREATE TABLE ot_docs (id text PRIMARY KEY);

-- Inside savepoints, committed and rolled back, opened at each level.
BEGIN;
SAVEPOINT a;
INSERT INTO ot_docs SELECT next_formatted_id('OT', 's' || g) FROM generate_series(1, 3) g;
RELEASE SAVEPOINT a;
SAVEPOINT b;
INSERT INTO ot_docs SELECT next_formatted_id('OT', 's' || g) FROM generate_series(1, 3) g;
ROLLBACK TO SAVEPOINT b;
INSERT INTO ot_docs SELECT next_formatted_id('OT', 's' || g) FROM generate_series(1, 3) g;
COMMIT;
SELECT id FROM ot_docs ORDER BY id;

-- plpgsql: an assignment evaluates the call without an executor of its own, so no
-- statement end closes the tables; an EXCEPTION block's subtransaction aborts after it.
DO $$
DECLARE
  v text;
BEGIN
  v := next_formatted_id('OT', 'p');
  BEGIN
    v := next_formatted_id('OT', 'q');
    v := next_formatted_id('OT', 'p');
    RAISE EXCEPTION 'undo %', v;
  EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
  v := next_formatted_id('OT', 'p');
  RAISE NOTICE 'after the block: %', v;
  BEGIN
    v := next_formatted_id('OT', 'r');  -- opened inside the block, released with it
  END;
  RAISE NOTICE 'last: %', next_formatted_id('OT', 'r');
END
$$;
SELECT series, scope, last_value FROM seqguard_counters WHERE series = 'OT' AND scope IN ('p', 'q', 'r')
 ORDER BY scope;

-- A procedure that commits between allocations.
CREATE PROCEDURE ot_batches() LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..3 LOOP
    INSERT INTO ot_docs VALUES (next_formatted_id('OT', 'b'));
    COMMIT;
  END LOOP;
END
$$;
CALL ot_batches();
SELECT id FROM ot_docs WHERE id LIKE 'OT-b-%' ORDER BY id;

-- DDL on seqguard's own tables right after a call, in the same transaction: from the
-- same simple-query string, from plpgsql after an assignment, and after a fast
-- counter's first use (which creates its sequence through a utility command).
BEGIN;
SELECT next_formatted_id('OT', 'x') \; ALTER TABLE seqguard.counters ALTER COLUMN last_value SET STATISTICS 100;
ROLLBACK;
BEGIN;
DO $$
DECLARE
  v text := next_formatted_id('OT', 'y');
BEGIN
  v := next_formatted_id('OF');
  ALTER TABLE seqguard.counters ALTER COLUMN last_value SET STATISTICS 100;
END
$$;
DROP EXTENSION seqguard CASCADE;
ROLLBACK;
SELECT next_formatted_id('OT', 'y') AS y_after_rollback;

-- PREPARE TRANSACTION after a fast counter (gapless ones are refused), and an error
-- in the middle of a statement that had them open.
BEGIN;
SELECT next_formatted_id('OF') IS NOT NULL AS drew;
PREPARE TRANSACTION 'ot';
ROLLBACK PREPARED 'ot';
SELECT next_formatted_id('OT', 'e' || g)::int FROM generate_series(1, 2) g;
SELECT next_formatted_id('OT', 'e2') AS e2_after_error;

-- A table is checked when it is first opened (and after any change to it): a primary
-- key of seqguard.counters on other columns than series, scope and period (in any
-- order) stops the call with a clear error instead of a look-up that names the wrong
-- columns. The table is empty in this transaction, so the key can change.
BEGIN;
DELETE FROM seqguard.counters;
ALTER TABLE seqguard.counters DROP CONSTRAINT counters_pkey;
ALTER TABLE seqguard.counters ADD PRIMARY KEY (scope, series);
SAVEPOINT s;
SELECT next_formatted_id('OT', 'k');
ROLLBACK TO SAVEPOINT s;
ALTER TABLE seqguard.counters DROP CONSTRAINT counters_pkey;
ALTER TABLE seqguard.counters ADD PRIMARY KEY (period, series, scope);
SELECT next_formatted_id('OT', 'k') AS k_any_key_order;
ROLLBACK;
SELECT next_formatted_id('OT', 'k') AS k_after_rollback;

DROP PROCEDURE ot_batches();
DROP TABLE ot_docs;
SELECT seqguard_drop_series('OT');
SELECT seqguard_drop_series('OF');
