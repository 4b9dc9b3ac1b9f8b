-- Changing a series later (seqguard_alter_series) and giving the last number back
-- (seqguard_revert_if_last): every counter, in every scope and period, keeps its place.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Odoo's switch of implementation: gapless 1,2,3 -> fast 4,5 -> gapless 6, in two scopes
-- and two periods.
SELECT seqguard_create_series('AS1', 'AS-{YYYY}-{scope}-{seq:3}');
SELECT next_formatted_id('AS1', s, d)
  FROM (VALUES ('EU'), ('US')) x(s), (VALUES (date '2025-06-01'), (date '2026-06-01')) y(d),
       generate_series(1, 3) ORDER BY 1;
SELECT seqguard_alter_series('AS1', gapless => false);
SELECT gapless FROM seqguard_series WHERE series = 'AS1';
SELECT next_formatted_id('AS1', 'EU', '2026-06-01'), next_formatted_id('AS1', 'EU', '2026-06-01'),
       next_formatted_id('AS1', 'US', '2025-06-01');
SELECT seqguard_alter_series('AS1', gapless => true);
SELECT next_formatted_id('AS1', 'EU', '2026-06-01'), next_formatted_id('AS1', 'US', '2025-06-01'),
       next_formatted_id('AS1', 'EU', '2025-06-01');
SELECT scope, period, last_value FROM seqguard_counters WHERE series = 'AS1' ORDER BY 1, 2;
-- No sequence of the fast interlude is left behind.
SELECT count(*) FROM seqguard.counters WHERE series = 'AS1' AND sequence_name IS NOT NULL;

-- The step, the overflow mode and a new format with the same period and scope.
SELECT seqguard_alter_series('AS1', increment => 10, format => 'AS/{YYYY}/{scope}/{seq:5}');
SELECT next_formatted_id('AS1', 'EU', '2026-06-01');
SELECT seqguard_alter_series('AS1', gapless => false, increment => 5);
SELECT next_formatted_id('AS1', 'EU', '2026-06-01');
SELECT seqguard_alter_series('AS1', on_overflow => 'error');
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', format => 'AS/{YYYY}/{scope}/{seq:1}') $$);
SELECT format, gapless, increment, on_overflow FROM seqguard_series WHERE series = 'AS1';

-- What would orphan counters is refused (22023) and changes nothing.
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', format => 'AS/{YYYY}{MM}/{scope}/{seq:5}') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', format => 'AS/{seq:5}') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', format => 'AS/{YYYY}/{seq:5}') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', reset => 'never') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', increment => 0) $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', on_overflow => 'wrap') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', format => 'AS/{YYYY}/{scope}/{nope}') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('AS1', time_zone => 'Mars/Olympus') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('NOPE', gapless => true) $$);
SELECT format, gapless, increment, on_overflow FROM seqguard_series WHERE series = 'AS1';
-- A reset that keeps the period is a no-op for the counters; a time zone is just set.
SELECT seqguard_alter_series('AS1', reset => 'yearly', time_zone => 'Asia/Tokyo');
SELECT reset, time_zone FROM seqguard_series WHERE series = 'AS1';

-- Binding an existing series to a column keeps its counters; sync then reads it.
SELECT seqguard_create_series('ASB', 'B-{seq:3}');
SELECT next_formatted_id('ASB');
CREATE TABLE as_bound (id text);
INSERT INTO as_bound VALUES ('B-040');
SELECT pg_temp.err($$ SELECT seqguard_alter_series('ASB', target_table => 'as_bound') $$);
SELECT seqguard_alter_series('ASB', target_table => 'as_bound', target_column => 'id');
SELECT seqguard_sync_series('ASB');
SELECT next_formatted_id('ASB');

-- In a transaction that drew from the series, the alteration is refused (55006).
BEGIN;
SELECT next_formatted_id('ASB');
SELECT pg_temp.err($$ SELECT seqguard_alter_series('ASB', increment => 2) $$);
ROLLBACK;
-- In a savepoint that rolls back, nothing changed.
BEGIN;
SAVEPOINT s;
SELECT seqguard_alter_series('ASB', gapless => false);
SELECT next_formatted_id('ASB');
ROLLBACK TO s;
SELECT gapless FROM seqguard_series WHERE series = 'ASB';
SELECT next_formatted_id('ASB');
COMMIT;

-- Frappe's revert on delete: only the last number of its counter comes back.
SELECT seqguard_create_series('RV', 'RV-{YYYY}-{seq:3}');
CREATE TABLE rv_docs (id text PRIMARY KEY DEFAULT next_formatted_id('RV', '', '2026-03-01'), note text);
INSERT INTO rv_docs (note) SELECT 'doc' FROM generate_series(1, 3);
BEGIN;
DELETE FROM rv_docs WHERE id = 'RV-2026-002';
SELECT seqguard_revert_if_last('RV', 'RV-2026-002');  -- not the last: false
DELETE FROM rv_docs WHERE id = 'RV-2026-003';
SELECT seqguard_revert_if_last('RV', 'RV-2026-003');  -- the last: true
SELECT seqguard_revert_if_last('RV', 'RV-2026-003');  -- no longer the last
COMMIT;
INSERT INTO rv_docs (note) VALUES ('after revert') RETURNING id;
-- Undone with its transaction; unparsable IDs and other periods are no match.
BEGIN;
SELECT seqguard_revert_if_last('RV', 'RV-2026-003');
ROLLBACK;
SELECT seqguard_revert_if_last('RV', 'RV-2025-003'), seqguard_revert_if_last('RV', 'garbage'),
       seqguard_revert_if_last('RV', 'RV-2026-3');
INSERT INTO rv_docs (note) VALUES ('next') RETURNING id;
-- The first number gives the counter back to its start.
SELECT seqguard_create_series('RV1', 'RV1-{seq}', start_value => 10);
SELECT next_formatted_id('RV1');
SELECT seqguard_revert_if_last('RV1', 'RV1-10');
SELECT next_formatted_id('RV1');
-- Fast counters cannot give numbers back (their sequences move outside transactions).
SELECT seqguard_create_series('RVF', 'RVF-{seq}', gapless => false);
SELECT next_formatted_id('RVF');
SELECT pg_temp.err($$ SELECT seqguard_revert_if_last('RVF', 'RVF-1') $$);
-- Both are administration functions.
CREATE ROLE regress_as_app;
SET ROLE regress_as_app;
SELECT pg_temp.err($$ SELECT seqguard_revert_if_last('RV', 'RV-2026-003') $$);
SELECT pg_temp.err($$ SELECT seqguard_alter_series('RV', increment => 2) $$);
RESET ROLE;
DROP ROLE regress_as_app;

DROP TABLE as_bound, rv_docs;
SELECT seqguard_drop_series(s) FROM unnest(ARRAY['AS1', 'ASB', 'RV', 'RV1', 'RVF']) s;
