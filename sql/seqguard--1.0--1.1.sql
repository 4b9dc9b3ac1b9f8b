-- seqguard 1.0 -> 1.1. After this script a database holds exactly what a fresh 1.1
-- install makes (scripts/check-versions --server compares them), and every counter
-- keeps its position.
\echo Use "ALTER EXTENSION seqguard UPDATE TO '1.1'" to load this file. \quit

-- Taken first: allocators hold a share lock on seqguard.series for their whole
-- transaction, so none is in flight while counters change period below, and the next
-- ones see this script's counters and the definitions of 1.1.
LOCK TABLE seqguard.series, seqguard.counters IN ACCESS EXCLUSIVE MODE;

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
