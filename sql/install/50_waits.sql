-- Watching counters (docs/waits.md): which series or counter a session waits for.
--
-- seqguard's series and counter locks are advisory locks in spaces of their own
-- (src/pg/locks.hpp): pg_locks shows them with objsubid 21249 (0x5301, a series),
-- 21250 (0x5302, a counter) or 21252 (0x5304, a place in line for a counter whose row
-- another session holds: shown as a counter wait, the holder being the session ahead)
-- and a 64-bit hash of the name in classid (high half) and objid (low half). A hash
-- cannot be read back, so seqguard_waits hashes the names it knows and compares.

-- The keys those locks are taken with, and the period a series' counter is in on a date.
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

GRANT SELECT ON seqguard_waits TO PUBLIC;

COMMENT ON FUNCTION seqguard.series_lock_key(text) IS 'Key of the advisory lock a series is locked with (pg_locks classid and objid), for seqguard_waits';
COMMENT ON FUNCTION seqguard.counter_lock_key(text, text, text) IS 'Key of the advisory lock a counter is locked with (pg_locks classid and objid), for seqguard_waits';
COMMENT ON FUNCTION seqguard.period_key(text, text, date) IS 'Period key of a counter of a series (template, reset) on a date, for seqguard_waits';
COMMENT ON VIEW seqguard_waits IS 'Sessions waiting for a series or counter lock: which series, scope and period (for series the current role may allocate from), since when, and who holds it';
