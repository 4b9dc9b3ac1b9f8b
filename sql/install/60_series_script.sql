-- Carrying series to another database (docs/cutover.md).
--
-- Series and counters are rows of seqguard's tables, so `pg_dump --schema-only` and a
-- logical-replication subscriber that copies only the application's tables carry none
-- of them. This function writes the statements that re-create them elsewhere.
--
-- It runs with the caller's rights and reads seqguard's tables directly: only roles
-- that may read them (the extension owner, its members, superusers) get a script, and
-- anyone else gets PostgreSQL's own 42501. A script built from a filtered view would be
-- silently partial, and a partial script is how a cutover reissues numbers.
-- One statement per row, so that a client can run them one by one or pipe them into
-- psql; every statement is safe to run twice and never moves a counter backwards.
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
