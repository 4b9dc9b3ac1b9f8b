-- seqguard 1.0 -> 1.1. After this script a database holds exactly what a fresh 1.1
-- install makes (scripts/check-versions --server compares them), and every counter
-- keeps its position.
\echo Use "ALTER EXTENSION seqguard UPDATE TO '1.1'" to load this file. \quit

-- Taken first: allocators hold a share lock on seqguard.series for their whole
-- transaction, so none is in flight while counters change period below, and the next
-- ones see this script's counters and the definitions of 1.1.
LOCK TABLE seqguard.series, seqguard.counters IN ACCESS EXCLUSIVE MODE;

-- Counter keys compare byte by byte in 1.1 (COLLATE "C"), scope first (see the install
-- script). The view over the columns has to go while they change, and comes back below.
-- Views of the database's own over seqguard_counters would block that: say which and
-- what to do, and change nothing.
DO $$
DECLARE
  detail text;
BEGIN
  DROP VIEW seqguard_counters;
EXCEPTION WHEN dependent_objects_still_exist THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RAISE EXCEPTION 'seqguard 1.1 re-creates the view seqguard_counters, and other objects depend on it'
    USING ERRCODE = 'dependent_objects_still_exist', DETAIL = detail,
          HINT = 'Drop them, run ALTER EXTENSION seqguard UPDATE again, then create them again.';
END
$$;
ALTER TABLE seqguard.counters
  ALTER COLUMN series TYPE text COLLATE "C",
  ALTER COLUMN scope TYPE text COLLATE "C",
  ALTER COLUMN period TYPE text COLLATE "C",
  DROP CONSTRAINT counters_pkey,
  ADD PRIMARY KEY (scope, series, period);

-- Allocation privilege: every existing series stays allocatable by PUBLIC.
ALTER TABLE seqguard.series ADD COLUMN allocators regrole[] NOT NULL DEFAULT '{-}';

CREATE FUNCTION seqguard_grant_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_grant_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_revoke_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_revoke_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION seqguard_grant_allocate(text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_revoke_allocate(text, name) FROM PUBLIC;

CREATE OR REPLACE VIEW seqguard_series AS
SELECT s.name AS series, s.format, s.gapless, s.start_value, s.increment, s.on_overflow,
       s.target_table, s.target_column, s.created_at, s.allocators
  FROM seqguard.series s;

CREATE OR REPLACE VIEW seqguard_counters AS
SELECT c.series, c.scope, c.period,
       CASE WHEN c.sequence_name IS NULL THEN c.last_value ELSE q.last_value END AS last_value
  FROM seqguard.counters c
  JOIN seqguard.series s ON s.name OPERATOR(pg_catalog.=) c.series
  LEFT JOIN pg_catalog.pg_sequences q
         ON q.schemaname OPERATOR(pg_catalog.=) 'seqguard'
        AND q.sequencename OPERATOR(pg_catalog.=) c.sequence_name
 WHERE EXISTS (SELECT FROM pg_catalog.unnest(s.allocators::pg_catalog.oid[]) a(r)
                WHERE a.r OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                   OR pg_catalog.pg_has_role(a.r, 'USAGE'))
    OR pg_catalog.pg_has_role((SELECT n.nspowner FROM pg_catalog.pg_namespace n
                                WHERE n.nspname OPERATOR(pg_catalog.=) 'seqguard'), 'USAGE');

-- Late-bound numbers, once assigned, stay assigned: seqguard_attach gains on_change and
-- installs a BEFORE UPDATE guard, which every existing attachment gets here too.
CREATE FUNCTION seqguard.late_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_late_guard'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION seqguard.late_guard() FROM PUBLIC;

DROP FUNCTION seqguard_attach(regclass, name, text, name);
CREATE FUNCTION seqguard_attach(tbl regclass, col name, series text, scope_column name DEFAULT NULL,
                                on_change text DEFAULT 'error')
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_attach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION seqguard_attach(regclass, name, text, name, text) FROM PUBLIC;

DO $$
DECLARE
  t record;
  args text[];
BEGIN
  -- The late-bound triggers 1.0 installed (not their clones on partitions, which follow
  -- the parent's): arguments are series, column, scope column.
  FOR t IN SELECT tg.oid, tg.tgrelid, tg.tgargs
             FROM pg_catalog.pg_trigger tg
            WHERE tg.tgfoid OPERATOR(pg_catalog.=) 'seqguard.late_bind()'::pg_catalog.regprocedure
              AND tg.tgparentid OPERATOR(pg_catalog.=) 0
  LOOP
    args := pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000');
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER %I BEFORE UPDATE OF %I ON %s FOR EACH ROW EXECUTE FUNCTION seqguard.late_guard(%L, %L)',
      'seqguard_keep_' OPERATOR(pg_catalog.||) t.oid, args[2], t.tgrelid::pg_catalog.regclass, args[2], 'error');
  END LOOP;
END $$;

-- Periods, reset, time zones and if_not_exists for series.
--
ALTER TABLE seqguard.series
    ADD COLUMN reset text CHECK (reset IN ('never', 'yearly', 'fiscal', 'monthly', 'weekly', 'daily')),
    ADD COLUMN time_zone text;

-- 1.0 restarted a counter with the finest of {YYYY} {YY} {MM} {DD} printed, even when
-- the enclosing units were not printed: R-{MM}-{seq:3} counted every month apart and
-- printed R-11-001 again a year later. 1.1 keys such a series by a coarser period (here
-- one period forever), so its 1.0 counters of one scope become one counter that goes
-- on past the largest number any of them issued: no ID printed under 1.0 comes again.
-- Gapless counters keep the largest last_value; fast counters keep the sequence that is
-- furthest on, and the others' sequences are dropped.
CREATE FUNCTION seqguard.period_key_1_1(format text, period text) RETURNS text
AS 'MODULE_PATHNAME', 'seqguard_period_key_1_1' LANGUAGE C STRICT;

DO $convert$
DECLARE
    doomed name[];
    seq name;
BEGIN
    WITH mapped AS (
        SELECT c.series, c.scope, c.period, c.last_value, c.sequence_name,
               seqguard.period_key_1_1(s.format, c.period) AS new_period,
               CASE WHEN c.sequence_name IS NULL THEN c.last_value
                    ELSE (SELECT q.last_value FROM pg_catalog.pg_sequences q
                           WHERE q.schemaname OPERATOR(pg_catalog.=) 'seqguard'
                             AND q.sequencename OPERATOR(pg_catalog.=) c.sequence_name)
               END AS position
          FROM seqguard.counters c
          JOIN seqguard.series s ON s.name OPERATOR(pg_catalog.=) c.series
    ), ranked AS (
        SELECT m.*,
               pg_catalog.row_number() OVER w AS rank,
               pg_catalog.max(m.last_value) OVER (PARTITION BY m.series, m.scope, m.new_period) AS largest
          FROM mapped m
        WINDOW w AS (PARTITION BY m.series, m.scope, m.new_period ORDER BY m.position DESC NULLS LAST, m.period)
    ), gone AS (
        DELETE FROM seqguard.counters c
         USING ranked r
         WHERE r.rank OPERATOR(pg_catalog.>) 1
           AND c.series OPERATOR(pg_catalog.=) r.series
           AND c.scope OPERATOR(pg_catalog.=) r.scope
           AND c.period OPERATOR(pg_catalog.=) r.period
        RETURNING c.sequence_name
    ), kept AS (
        UPDATE seqguard.counters c
           SET period = r.new_period,
               last_value = CASE WHEN c.sequence_name IS NULL THEN r.largest ELSE c.last_value END
          FROM ranked r
         WHERE r.rank OPERATOR(pg_catalog.=) 1
           AND r.new_period OPERATOR(pg_catalog.<>) r.period
           AND c.series OPERATOR(pg_catalog.=) r.series
           AND c.scope OPERATOR(pg_catalog.=) r.scope
           AND c.period OPERATOR(pg_catalog.=) r.period
        RETURNING 1
    )
    SELECT pg_catalog.array_agg(g.sequence_name) FILTER (WHERE g.sequence_name IS NOT NULL)
      INTO doomed
      FROM gone g, (SELECT pg_catalog.count(*) FROM kept) k;
    FOREACH seq IN ARRAY COALESCE(doomed, '{}'::name[]) LOOP
        EXECUTE pg_catalog.format('DROP SEQUENCE IF EXISTS seqguard.%I', seq);
    END LOOP;
END
$convert$;

DROP FUNCTION seqguard.period_key_1_1(text, text);

-- `at` defaults to 'infinity', which stands for "today": in the series' time zone when it
-- has one, else in the session's TimeZone. (current_date as the default could not be
-- told apart from a date passed on purpose.)
CREATE OR REPLACE FUNCTION next_formatted_id(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS text AS 'MODULE_PATHNAME', 'next_formatted_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION seqguard_nextval(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_nextval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION seqguard_currval(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_currval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION seqguard_peek(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS text AS 'MODULE_PATHNAME', 'seqguard_peek'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION seqguard_setval(series text, value bigint, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_setval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

DROP FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name);
CREATE FUNCTION seqguard_create_series(series text, format text,
                                       gapless boolean DEFAULT true,
                                       start_value bigint DEFAULT 1,
                                       increment integer DEFAULT 1,
                                       on_overflow text DEFAULT 'widen',
                                       target_table regclass DEFAULT NULL,
                                       target_column name DEFAULT NULL,
                                       reset text DEFAULT NULL,
                                       time_zone text DEFAULT NULL,
                                       if_not_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_create_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name, text, text, boolean) FROM PUBLIC;

CREATE OR REPLACE VIEW seqguard_series AS
SELECT s.name AS series, s.format, s.gapless, s.start_value, s.increment, s.on_overflow,
       s.target_table, s.target_column, s.created_at, s.allocators, s.reset, s.time_zone
  FROM seqguard.series s;

-- The parts of an ID the series could have issued; no row when it could not.
CREATE FUNCTION seqguard_parse_id(series text, id text)
RETURNS TABLE(scope text, period text, value bigint) AS 'MODULE_PATHNAME', 'seqguard_parse_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Changing a series later, and giving its last number back.
CREATE FUNCTION seqguard_alter_series(series text, gapless boolean DEFAULT NULL, increment integer DEFAULT NULL,
                                      on_overflow text DEFAULT NULL, format text DEFAULT NULL,
                                      reset text DEFAULT NULL, time_zone text DEFAULT NULL,
                                      target_table regclass DEFAULT NULL, target_column name DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_alter_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_revert_if_last(series text, id text)
RETURNS boolean AS 'MODULE_PATHNAME', 'seqguard_revert_if_last'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION seqguard_alter_series(text, boolean, integer, text, text, text, text, regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_revert_if_last(text, text) FROM PUBLIC;

-- Comments on every object, as a fresh 1.1 install sets them (1.0 had none).
COMMENT ON SCHEMA seqguard IS 'seqguard''s internal state (series, counters, idempotency keys); reached only through the extension''s functions';
COMMENT ON TABLE seqguard.series IS 'One row per series: its template, mode, start, increment, overflow rule, reset, time zone, bound column and allocators; kept by pg_dump';
COMMENT ON TABLE seqguard.counters IS 'One row per (series, scope, period): a gapless counter''s last value, or the name of a fast counter''s sequence; kept by pg_dump';
COMMENT ON FUNCTION seqguard_format(text, bigint, text, date) IS 'Renders a template for a value, scope and date without touching any counter';
COMMENT ON FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name, text, text, boolean) IS 'Creates a series of formatted IDs: gapless (default) or fast, optionally bound to the column that stores its IDs';
COMMENT ON FUNCTION seqguard_drop_series(text) IS 'Drops a series with its counters and their sequences';
COMMENT ON FUNCTION next_formatted_id(text, text, date) IS 'Draws the next number of a series'' counter for the scope and date and returns the formatted ID';
COMMENT ON FUNCTION seqguard_nextval(text, text, date) IS 'Draws the next number of a series'' counter for the scope and date and returns it as bigint';
COMMENT ON FUNCTION seqguard_currval(text, text, date) IS 'Gapless: this transaction''s last number, else the last committed one; fast: this session''s last number; NULL when none';
COMMENT ON FUNCTION seqguard_peek(text, text, date) IS 'The ID the next draw would return; consumes nothing';
COMMENT ON FUNCTION seqguard_setval(text, bigint, text, date) IS 'Sets a counter so that value + increment is the next number';
COMMENT ON FUNCTION seqguard_sync_series(text) IS 'Moves each counter of a bound series past the largest ID in its column; never backwards; returns how many moved';
COMMENT ON FUNCTION seqguard_alter_series(text, boolean, integer, text, text, text, text, regclass, name) IS 'Changes a series'' settings (NULL keeps one) without losing any counter''s position';
COMMENT ON FUNCTION seqguard_revert_if_last(text, text) IS 'Gives a gapless series'' number back when the ID is the last its counter issued; else returns false and changes nothing';
COMMENT ON FUNCTION seqguard_parse_id(text, text) IS 'Reads an ID of a series back into scope, period and number; no row when it is not one';
COMMENT ON FUNCTION seqguard_grant_allocate(text, name) IS 'Allows a role (or PUBLIC) and its members to draw numbers from a series';
COMMENT ON FUNCTION seqguard_revoke_allocate(text, name) IS 'Withdraws a role''s (or PUBLIC''s) right to draw numbers from a series';
COMMENT ON VIEW seqguard_series IS 'Every series with its settings and allocators';
COMMENT ON VIEW seqguard_counters IS 'Counters of the series the current role may allocate from: series, scope, period, last value';
COMMENT ON FUNCTION seqguard_check_drift(text) IS 'Compares every sequence-backed column the caller may read with its sequence, and seqguard''s own counters and job ids with the data they numbered: status (ok, behind, empty, exhausted, no_privilege) and lag';
COMMENT ON FUNCTION seqguard_sync_all(boolean, text) IS 'Moves every drifted sequence, series counter and job id sequence the caller may set past the data (after a restore or a cutover); returns how many moved';
COMMENT ON FUNCTION seqguard_sync(regclass) IS 'Moves the sequences of one table''s columns past the data; returns how many moved';
COMMENT ON FUNCTION seqguard_find_duplicates(regclass, name) IS 'The values that occur more than once in a table''s column, with their number of copies';
COMMENT ON TABLE seqguard.idem_keys IS 'One row per (role, idempotency key): the current attempt''s status, job, lease and outcome; kept by pg_dump';
COMMENT ON SEQUENCE seqguard.idem_job_id IS 'Job ids of idempotency-key attempts, unique for the life of the database';
COMMENT ON FUNCTION seqguard_idem_begin(text, text, interval, interval, boolean) IS 'Starts the job of an idempotency key, or replays its outcome, or reports it in progress';
COMMENT ON FUNCTION seqguard_idem_complete(text, bigint, jsonb) IS 'Records the result of a key''s job; later begins replay it';
COMMENT ON FUNCTION seqguard_idem_fail(text, bigint, text) IS 'Records that a key''s job failed; a later begin retries it';
COMMENT ON FUNCTION seqguard_idem_heartbeat(text, bigint, interval) IS 'Extends the lease of a key''s job in progress';
COMMENT ON FUNCTION seqguard_idem_get(text) IS 'The current state of one of the caller''s idempotency keys';
COMMENT ON FUNCTION seqguard_idem_purge() IS 'Deletes expired idempotency keys (every role''s for the extension owner, else the caller''s); returns how many';
COMMENT ON FUNCTION seqguard.late_bind() IS 'Trigger function of late-bound columns: draws the gapless number at commit and writes it into the row';
COMMENT ON FUNCTION seqguard.late_guard() IS 'Trigger function of late-bound columns: refuses or ignores an UPDATE that would change an assigned number';
COMMENT ON FUNCTION seqguard_attach(regclass, name, text, name, text) IS 'Makes a column late-bound: its gapless number is drawn from a series when the inserting transaction commits';
COMMENT ON FUNCTION seqguard_detach(regclass, name) IS 'Removes a column''s late-bound triggers; the numbers already written stay';
COMMENT ON FUNCTION seqguard.protect_sequences() IS 'Trigger function of protected tables: moves sequences past explicit values an INSERT wrote';
COMMENT ON FUNCTION seqguard_protect(regclass) IS 'Protects a table''s sequences from drift: an INSERT with explicit IDs moves them past the values';
COMMENT ON FUNCTION seqguard_unprotect(regclass) IS 'Removes a table''s sequence protection';

-- seqguard_waits (docs/waits.md), as a fresh 1.1 install makes it (sql/install/50_waits.sql):
-- which series or counter a session waiting in pg_locks waits for.

-- The keys seqguard's series and counter locks are taken with (advisory locks, see
-- src/pg/locks.hpp), and the period a series' counter is in on a date.
-- Internal: they live in the `seqguard` schema, out of the users' way; the view calls
-- them with the caller's EXECUTE right (PUBLIC's), and they only compute on their
-- arguments.
CREATE FUNCTION seqguard.series_lock_key(series text) RETURNS bigint
AS 'MODULE_PATHNAME', 'seqguard_series_lock_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION seqguard.counter_lock_key(series text, scope text, period text) RETURNS bigint
AS 'MODULE_PATHNAME', 'seqguard_counter_lock_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION seqguard.period_key(format text, reset text, at date) RETURNS text
AS 'MODULE_PATHNAME', 'seqguard_period_key'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- One row per session waiting for a series or counter lock of this database (per name
-- that matches its lock, should two ever hash alike). Names are those of the series the
-- caller may allocate from, as in seqguard_counters; any other wait keeps NULL names and
-- shows only what pg_locks shows everyone. The view reads pg_locks once; the names are
-- computed only when someone waits.
CREATE VIEW seqguard_waits AS
WITH locks AS MATERIALIZED (
    SELECT CASE WHEN l.objsubid OPERATOR(pg_catalog.=) 21252::pg_catalog.int2 THEN 21250
                ELSE l.objsubid::pg_catalog.int4 END AS space,
           l.objsubid::pg_catalog.int4 AS lockspace,
           (l.classid::pg_catalog.int8 OPERATOR(pg_catalog.<<) 32)
               OPERATOR(pg_catalog.|) l.objid::pg_catalog.int8 AS key,
           l.pid, l.granted, l.waitstart
      FROM pg_catalog.pg_locks l
     WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory'
       AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                               WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
       AND (l.objsubid OPERATOR(pg_catalog.=) 21249::pg_catalog.int2
            OR l.objsubid OPERATOR(pg_catalog.=) 21250::pg_catalog.int2
            OR l.objsubid OPERATOR(pg_catalog.=) 21252::pg_catalog.int2)
),
waits AS MATERIALIZED (
    SELECT w.space, w.lockspace, w.key, w.pid, w.waitstart FROM locks w WHERE NOT w.granted
),
-- Names to try. A counter is named from its committed row, or, when it has none yet
-- (its first number, in a new period or scope, is not committed until its transaction
-- ends, and that is when sessions queue on it), from the scopes its series already has
-- (and '') in the periods of yesterday, today and tomorrow in the series' time zone
-- (the session's when it has none; a day either side covers any waiter's zone).
candidates AS (
    SELECT 21249 AS space, s.name AS series, NULL::pg_catalog.text AS scope, NULL::pg_catalog.text AS period,
           seqguard.series_lock_key(s.name) AS key
      FROM seqguard.series s
     WHERE EXISTS (SELECT FROM waits w WHERE w.space OPERATOR(pg_catalog.=) 21249)
    UNION ALL
    SELECT 21250, k.series, k.scope, k.period, seqguard.counter_lock_key(k.series, k.scope, k.period)
      FROM (SELECT c.series, c.scope, c.period FROM seqguard.counters c
            UNION ALL
            SELECT sc.series, sc.scope, p.period
              FROM (SELECT c.series, c.scope FROM seqguard.counters c
                    UNION ALL
                    SELECT s.name, '' FROM seqguard.series s) sc
              JOIN (SELECT DISTINCT s.name AS series, seqguard.period_key(s.format, s.reset, d.day) AS period
                      FROM seqguard.series s,
                           LATERAL (SELECT pg_catalog.timezone(COALESCE(s.time_zone, pg_catalog.current_setting('TimeZone')),
                                                               pg_catalog.statement_timestamp())::pg_catalog.date
                                           OPERATOR(pg_catalog.+) i
                                      FROM pg_catalog.generate_series(-1, 1) i) d(day)) p
                ON p.series OPERATOR(pg_catalog.=) sc.series) k
     WHERE EXISTS (SELECT FROM waits w WHERE w.space OPERATOR(pg_catalog.=) 21250)
),
-- Names come several times (a scope with many periods): hashing them again is cheaper
-- than sorting every counter to remove them, so only the few that match are made unique.
-- A gapless counter in use is locked through its row of seqguard.counters (as SELECT
-- ... FOR UPDATE locks one): the first session in line holds the row's tuple lock and
-- waits for the holder's transaction, the others wait for their place in line (21252
-- above), which the holder keeps when it came through the line. The tuple names the row, and the row's xmax the transaction that holds it.
row_waits AS MATERIALIZED (
    SELECT t.pid, pg_catalog.format('(%s,%s)', t.page, t.tuple)::pg_catalog.tid AS ctid,
           COALESCE(x.waitstart, t.waitstart) AS waitstart
      FROM pg_catalog.pg_locks t
      LEFT JOIN pg_catalog.pg_locks x
             ON t.granted AND x.pid OPERATOR(pg_catalog.=) t.pid
            AND x.locktype OPERATOR(pg_catalog.=) 'transactionid' AND NOT x.granted
     WHERE t.locktype OPERATOR(pg_catalog.=) 'tuple'
       AND t.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                               WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
       AND t.relation OPERATOR(pg_catalog.=) 'seqguard.counters'::pg_catalog.regclass::pg_catalog.oid
       AND (NOT t.granted OR x.pid IS NOT NULL)
),
matches AS (
    SELECT DISTINCT c.space, c.key, c.series, c.scope, c.period
      FROM candidates c
      JOIN seqguard.series s ON s.name OPERATOR(pg_catalog.=) c.series
     WHERE EXISTS (SELECT FROM waits w
                    WHERE w.space OPERATOR(pg_catalog.=) c.space AND w.key OPERATOR(pg_catalog.=) c.key)
       AND (EXISTS (SELECT FROM pg_catalog.unnest(s.allocators::pg_catalog.oid[]) a(r)
                     WHERE a.r OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                        OR pg_catalog.pg_has_role(a.r, 'USAGE'))
            OR pg_catalog.pg_has_role((SELECT n.nspowner FROM pg_catalog.pg_namespace n
                                        WHERE n.nspname OPERATOR(pg_catalog.=) 'seqguard'), 'USAGE'))
)
SELECT w.pid AS waiter_pid,
       CASE WHEN w.space OPERATOR(pg_catalog.=) 21250 THEN 'counter' ELSE 'series' END AS waits_for,
       m.series, m.scope, m.period,
       w.waitstart AS waiting_since,
       h.pids AS holder_pids,
       h.xact_start AS holder_xact_start
  FROM waits w
  LEFT JOIN matches m ON m.space OPERATOR(pg_catalog.=) w.space AND m.key OPERATOR(pg_catalog.=) w.key
  -- A prepared transaction holds with no pid; a session waiting to strengthen a lock it
  -- holds is not its own holder. xact_start is NULL where pg_stat_activity hides it.
  CROSS JOIN LATERAL (
    SELECT pg_catalog.array_agg(DISTINCT g.pid ORDER BY g.pid) AS pids,
           pg_catalog.min((SELECT a.xact_start FROM pg_catalog.pg_stat_activity a
                            WHERE a.pid OPERATOR(pg_catalog.=) g.pid)) AS xact_start
      FROM locks g
     WHERE g.granted AND g.lockspace OPERATOR(pg_catalog.=) w.lockspace AND g.key OPERATOR(pg_catalog.=) w.key
       AND g.pid OPERATOR(pg_catalog.<>) w.pid
  ) h
UNION ALL
SELECT rw.pid, 'counter',
       CASE WHEN r.allowed THEN r.series END, CASE WHEN r.allowed THEN r.scope END,
       CASE WHEN r.allowed THEN r.period END, rw.waitstart, h.pids, h.xact_start
  FROM row_waits rw
  -- The locked version: a parameterized TID scan, whatever the table's size. Names as
  -- for the other waits: only of series the reader may allocate from.
  CROSS JOIN LATERAL (
    SELECT c.series, c.scope, c.period, c.xmax,
           EXISTS (SELECT FROM seqguard.series s
                    WHERE s.name OPERATOR(pg_catalog.=) c.series
                      AND (EXISTS (SELECT FROM pg_catalog.unnest(s.allocators::pg_catalog.oid[]) a(ro)
                                    WHERE a.ro OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                                       OR pg_catalog.pg_has_role(a.ro, 'USAGE'))
                           OR pg_catalog.pg_has_role((SELECT n.nspowner FROM pg_catalog.pg_namespace n
                                                       WHERE n.nspname OPERATOR(pg_catalog.=) 'seqguard'),
                                                     'USAGE'))) AS allowed
      FROM seqguard.counters c
     WHERE c.ctid OPERATOR(pg_catalog.=) rw.ctid
  ) r
  CROSS JOIN LATERAL (
    SELECT pg_catalog.array_agg(DISTINCT g.pid ORDER BY g.pid) AS pids,
           pg_catalog.min((SELECT a.xact_start FROM pg_catalog.pg_stat_activity a
                            WHERE a.pid OPERATOR(pg_catalog.=) g.pid)) AS xact_start
      FROM pg_catalog.pg_locks g
     WHERE g.locktype OPERATOR(pg_catalog.=) 'transactionid' AND g.granted
       AND g.transactionid OPERATOR(pg_catalog.=) r.xmax AND g.pid OPERATOR(pg_catalog.<>) rw.pid
  ) h;

GRANT SELECT ON seqguard_waits, seqguard_counters TO PUBLIC;

COMMENT ON FUNCTION seqguard.series_lock_key(text) IS 'Key of the advisory lock a series is locked with (pg_locks classid and objid), for seqguard_waits';
COMMENT ON FUNCTION seqguard.counter_lock_key(text, text, text) IS 'Key of the advisory lock a counter is locked with (pg_locks classid and objid), for seqguard_waits';
COMMENT ON FUNCTION seqguard.period_key(text, text, date) IS 'Period key of a counter of a series (template, reset) on a date, for seqguard_waits';
COMMENT ON VIEW seqguard_waits IS 'Sessions waiting for a series or counter lock: which series, scope and period (for series the current role may allocate from), since when, and who holds it';

-- Carrying series to another database (docs/cutover.md): the statements that re-create
-- every series, its allocators and its counters' positions. Same text as a fresh install.
CREATE FUNCTION seqguard_series_script()
RETURNS SETOF text
LANGUAGE sql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
WITH ext AS (
  -- The target has the extension in the same schema: the calls name it.
  SELECT pg_catalog.quote_ident(n.nspname) AS schema
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
   WHERE e.extname OPERATOR(pg_catalog.=) 'seqguard'
),
series AS (
  SELECT s.*,
         -- Named by schema and table, whatever the caller's search_path.
         (SELECT pg_catalog.format('%I.%I', tn.nspname, t.relname)
            FROM pg_catalog.pg_class t
            JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace
           WHERE t.oid OPERATOR(pg_catalog.=) s.target_table::pg_catalog.oid) AS target
    FROM seqguard.series s
),
counters AS (
  -- A fast counter's position is its sequence's; one never drawn from (or whose
  -- sequence this database lacks) has nothing to carry: it starts at start_value.
  SELECT c.series, c.scope, c.period,
         CASE WHEN c.sequence_name IS NULL THEN c.last_value
              ELSE pg_catalog.pg_sequence_last_value(q.oid) END AS last_value
    FROM seqguard.counters c
    LEFT JOIN pg_catalog.pg_class q
           ON q.relname OPERATOR(pg_catalog.=) c.sequence_name
          AND q.relnamespace OPERATOR(pg_catalog.=) 'seqguard'::pg_catalog.regnamespace
          AND q.relkind OPERATOR(pg_catalog.=) 'S'
),
positioned AS (
  -- seqguard_setval picks the counter by a date: any date of the period will do.
  -- Period keys are "" (no period), "2026", "FY2025-04", "ISO2020", "2026-11",
  -- "2020-W53" and "2026-11-23"; 4 January is always in week 1 of its ISO year.
  SELECT c.*,
         CASE
           WHEN c.period OPERATOR(pg_catalog.=) '' THEN NULL
           WHEN c.period OPERATOR(pg_catalog.~) '^[0-9]{4}$'
             THEN pg_catalog.make_date(pg_catalog.substr(c.period, 1, 4)::integer, 1, 1)
           WHEN c.period OPERATOR(pg_catalog.~) '^FY[0-9]{4}-[0-9]{2}$'
             THEN pg_catalog.make_date(pg_catalog.substr(c.period, 3, 4)::integer,
                                       pg_catalog.substr(c.period, 8, 2)::integer, 1)
           WHEN c.period OPERATOR(pg_catalog.~) '^ISO[0-9]{4}$'
             THEN pg_catalog.make_date(pg_catalog.substr(c.period, 4, 4)::integer, 1, 4)
           WHEN c.period OPERATOR(pg_catalog.~) '^[0-9]{4}-[0-9]{2}$'
             THEN pg_catalog.make_date(pg_catalog.substr(c.period, 1, 4)::integer,
                                       pg_catalog.substr(c.period, 6, 2)::integer, 1)
           WHEN c.period OPERATOR(pg_catalog.~) '^[0-9]{4}-W[0-9]{2}$'
             THEN pg_catalog.make_date(pg_catalog.substr(c.period, 1, 4)::integer, 1, 4)
                  OPERATOR(pg_catalog.+) (7 OPERATOR(pg_catalog.*)
                                          (pg_catalog.substr(c.period, 7, 2)::integer OPERATOR(pg_catalog.-) 1))
           WHEN c.period OPERATOR(pg_catalog.~) '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
             THEN c.period::pg_catalog.date
           -- No other key exists; were one to appear, an error beats a counter set in
           -- today's period instead of its own.
           ELSE pg_catalog.format('seqguard_series_script: period "%s" of a counter of series "%s" is unknown',
                                  c.period, c.series)::pg_catalog.date
         END AS at
    FROM counters c
   WHERE c.last_value IS NOT NULL
),
statements AS (
  -- pg_dump's own first statement: names in the rest resolve the same everywhere.
  SELECT 0 AS part, ''::text AS k1, ''::text AS k2, ''::text AS k3,
         'SELECT pg_catalog.set_config(''search_path'', '''', false);' AS stmt
  UNION ALL
  SELECT 1, s.name, '', '',
         pg_catalog.format('SELECT %s.seqguard_create_series(series => %L, format => %L, gapless => %s, '
                           'start_value => %s, increment => %s, on_overflow => %L, target_table => %L, '
                           'target_column => %L, reset => %L, time_zone => %L, if_not_exists => true);',
                           ext.schema, s.name, s.format,
                           CASE WHEN s.gapless THEN 'true' ELSE 'false' END, s.start_value, s.increment,
                           s.on_overflow, s.target, s.target_column, s.reset, s.time_zone)
    FROM series s, ext
  UNION ALL
  -- Allocators are kept as roles; the roles themselves are global objects
  -- (pg_dumpall --roles-only). A role dropped since it was granted is left out.
  SELECT 2, s.name, '1', r.rolname,
         pg_catalog.format('SELECT %s.seqguard_grant_allocate(%L, %L);', ext.schema, s.name, r.rolname)
    FROM series s, ext, pg_catalog.unnest(s.allocators) a(role)
    JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.role::pg_catalog.oid
  UNION ALL
  SELECT 2, s.name, '2', '',
         pg_catalog.format('SELECT %s.seqguard_revoke_allocate(%L, ''PUBLIC'');', ext.schema, s.name)
    FROM series s, ext
   WHERE NOT 0::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (s.allocators::pg_catalog.oid[])
  UNION ALL
  SELECT 3, p.series, p.scope, p.period,
         pg_catalog.format('SELECT %s.seqguard_setval(%L, %s, %L%s) WHERE NOT EXISTS (SELECT FROM %s.seqguard_counters c '
                           'WHERE c.series OPERATOR(pg_catalog.=) %L AND c.scope OPERATOR(pg_catalog.=) %L '
                           'AND c.period OPERATOR(pg_catalog.=) %L AND c.last_value OPERATOR(pg_catalog.>=) %s);',
                           ext.schema, p.series, p.last_value, p.scope,
                           CASE WHEN p.at IS NULL THEN ''
                                -- ISO, whatever the DateStyle of either side
                                ELSE pg_catalog.format(', %L::pg_catalog.date',
                                                       pg_catalog.to_char(p.at, 'YYYY-MM-DD')) END,
                           ext.schema, p.series, p.scope, p.period, p.last_value)
    FROM positioned p, ext
  UNION ALL
  -- Job ids of idempotency keys: the next one must not be one already handed out.
  SELECT 4, '', '', '',
         pg_catalog.format('SELECT pg_catalog.setval(''seqguard.idem_job_id'', %s) FROM seqguard.idem_job_id j '
                           'WHERE CASE WHEN j.is_called THEN j.last_value OPERATOR(pg_catalog.<) %s '
                           'ELSE j.last_value OPERATOR(pg_catalog.<=) %s END;',
                           j.last_value, j.last_value, j.last_value)
    FROM seqguard.idem_job_id j
   WHERE j.is_called
)
SELECT stmt FROM statements
 ORDER BY part, k1 COLLATE "C", k2 COLLATE "C", k3 COLLATE "C"
$$;

-- An administrator's tool, like seqguard_setval: reading seqguard's tables needs the
-- owner's rights anyway, and the script is only useful to whoever can run it.
REVOKE ALL ON FUNCTION seqguard_series_script() FROM PUBLIC;

-- What \dx+, \df+ and \d+ show; the update script sets the same text.
COMMENT ON FUNCTION seqguard_series_script() IS 'The statements that re-create every series, its allocators and its counters'' positions (and the job id sequence''s) in another database; one per row, safe to run twice, never moving a counter backwards';
