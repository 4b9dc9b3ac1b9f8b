-- Formatted IDs ("series") and their counters: docs/reference.md, "Series functions".

CREATE TABLE seqguard.series (
    name          text PRIMARY KEY,
    format        text NOT NULL,
    gapless       boolean NOT NULL,
    start_value   bigint NOT NULL,
    increment     integer NOT NULL CHECK (increment > 0),
    on_overflow   text NOT NULL CHECK (on_overflow IN ('widen', 'error')),
    target_table  regclass,
    target_column name,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- Roles that may allocate ('-' is PUBLIC). regrole, so that pg_dump writes role
    -- names and a restore into another cluster finds the same roles.
    allocators    regrole[] NOT NULL DEFAULT '{-}',
    CHECK ((target_table IS NULL) = (target_column IS NULL)),
    -- NULL: counters restart with the period the template's date tokens give.
    reset         text CHECK (reset IN ('never', 'yearly', 'fiscal', 'monthly', 'weekly', 'daily')),
    -- NULL: calls that do not pass `at` number by the session's TimeZone.
    time_zone     text
);

-- One row per (series, scope, period). Gapless counters keep their value here and are
-- written once per transaction, just before commit. Fast counters keep it in their
-- sequence (seqguard.counter_*), named here. A bulk import that creates a counter per
-- row spends much of its time comparing keys in the primary key, so the key is made
-- cheap to compare: byte by byte (C collation; a counter only needs equality), and the
-- scope first, the column that tells counters apart where there are many (an import's
-- rows share their series; leading with it made every comparison look at two columns).
-- Per-series work (drop, alter, script) reads the table through; it is rare.
CREATE TABLE seqguard.counters (
    series        text COLLATE "C" NOT NULL,
    scope         text COLLATE "C" NOT NULL,
    period        text COLLATE "C" NOT NULL,
    last_value    bigint,
    sequence_name name,
    PRIMARY KEY (scope, series, period)
);

-- pg_dump keeps these rows, so a restored database continues numbering where it stopped.
SELECT pg_catalog.pg_extension_config_dump('seqguard.series', '');
SELECT pg_catalog.pg_extension_config_dump('seqguard.counters', '');

CREATE FUNCTION seqguard_format(format text, value bigint, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS text AS 'MODULE_PATHNAME', 'seqguard_format'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

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

CREATE FUNCTION seqguard_drop_series(series text)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_drop_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- `at` defaults to 'infinity', which stands for "today": in the series' time zone when it
-- has one, else in the session's TimeZone. (current_date as the default could not be
-- told apart from a date passed on purpose.)
CREATE FUNCTION next_formatted_id(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS text AS 'MODULE_PATHNAME', 'next_formatted_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_nextval(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_nextval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_currval(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_currval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_peek(series text, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS text AS 'MODULE_PATHNAME', 'seqguard_peek'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_setval(series text, value bigint, scope text DEFAULT '', at date DEFAULT 'infinity')
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_setval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync_series(series text)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The parts of an ID the series could have issued; no row when it could not.
CREATE FUNCTION seqguard_alter_series(series text, gapless boolean DEFAULT NULL, increment integer DEFAULT NULL,
                                      on_overflow text DEFAULT NULL, format text DEFAULT NULL,
                                      reset text DEFAULT NULL, time_zone text DEFAULT NULL,
                                      target_table regclass DEFAULT NULL, target_column name DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_alter_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_revert_if_last(series text, id text)
RETURNS boolean AS 'MODULE_PATHNAME', 'seqguard_revert_if_last'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_parse_id(series text, id text)
RETURNS TABLE(scope text, period text, value bigint) AS 'MODULE_PATHNAME', 'seqguard_parse_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION seqguard_grant_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_grant_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_revoke_allocate(series text, role name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_revoke_allocate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE VIEW seqguard_series AS
SELECT s.name AS series, s.format, s.gapless, s.start_value, s.increment, s.on_overflow,
       s.target_table, s.target_column, s.created_at, s.allocators, s.reset, s.time_zone
  FROM seqguard.series s;

-- Fast counters report their sequence's last value (NULL until first used). A role sees
-- the counters of the series it may allocate from, as the functions decide it: PUBLIC,
-- a role it has the privileges of, or the extension's owner (superusers included).
CREATE VIEW seqguard_counters AS
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

-- Privileges: anyone may allocate, format and look; only the extension owner (or the
-- roles it grants EXECUTE to) may create, drop, set or sync series.
REVOKE ALL ON FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_drop_series(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_setval(text, bigint, text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_sync_series(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_grant_allocate(text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_revoke_allocate(text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_alter_series(text, boolean, integer, text, text, text, text, regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_revert_if_last(text, text) FROM PUBLIC;
GRANT SELECT ON seqguard_series, seqguard_counters TO PUBLIC;

-- What \dx+, \df+ and \d+ show; the update script sets the same text.
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
