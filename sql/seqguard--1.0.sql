-- seqguard 1.0 install script, frozen as released: databases created at 1.0 were made by it,
-- and CREATE EXTENSION seqguard VERSION '1.0' must keep making the same objects.
-- seqguard 1.0: gapless formatted IDs, sequence drift repair, idempotency keys.
-- The SQL contract is documented in README.md.
\echo Use "CREATE EXTENSION seqguard" to load this file. \quit

-- seqguard's own state lives in a schema of its own, owned by the extension owner.
-- Ordinary roles get no privileges on it: they reach the state only through the
-- functions, which switch to the owner for their own, fully qualified queries.
CREATE SCHEMA seqguard;
REVOKE ALL ON SCHEMA seqguard FROM PUBLIC;
-- SPEC section 1: formatted IDs ("series") and their counters.

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
    CHECK ((target_table IS NULL) = (target_column IS NULL))
);

-- One row per (series, scope, period). Gapless counters keep their value here and are
-- written once per transaction, just before commit. Fast counters keep it in their
-- sequence (seqguard.counter_*), named here.
CREATE TABLE seqguard.counters (
    series        text NOT NULL,
    scope         text NOT NULL,
    period        text NOT NULL,
    last_value    bigint,
    sequence_name name,
    PRIMARY KEY (series, scope, period)
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
                                       target_column name DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_create_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_drop_series(series text)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_drop_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION next_formatted_id(series text, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS text AS 'MODULE_PATHNAME', 'next_formatted_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_nextval(series text, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_nextval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_currval(series text, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_currval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_peek(series text, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS text AS 'MODULE_PATHNAME', 'seqguard_peek'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_setval(series text, value bigint, scope text DEFAULT '', at date DEFAULT current_date)
RETURNS bigint AS 'MODULE_PATHNAME', 'seqguard_setval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync_series(series text)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync_series'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE VIEW seqguard_series AS
SELECT s.name AS series, s.format, s.gapless, s.start_value, s.increment, s.on_overflow,
       s.target_table, s.target_column, s.created_at
  FROM seqguard.series s;

-- Fast counters report their sequence's last value (NULL until first used).
CREATE VIEW seqguard_counters AS
SELECT c.series, c.scope, c.period,
       CASE WHEN c.sequence_name IS NULL THEN c.last_value ELSE q.last_value END AS last_value
  FROM seqguard.counters c
  LEFT JOIN pg_catalog.pg_sequences q
         ON q.schemaname OPERATOR(pg_catalog.=) 'seqguard'
        AND q.sequencename OPERATOR(pg_catalog.=) c.sequence_name;

-- Privileges: anyone may allocate, format and look; only the extension owner (or the
-- roles it grants EXECUTE to) may create, drop, set or sync series.
REVOKE ALL ON FUNCTION seqguard_create_series(text, text, boolean, bigint, integer, text, regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_drop_series(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_setval(text, bigint, text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_sync_series(text) FROM PUBLIC;
GRANT SELECT ON seqguard_series, seqguard_counters TO PUBLIC;
-- SPEC section 2: sequence drift, check and repair; section 4: the duplicate finder.
--
-- All four run with the caller's privileges (not SECURITY DEFINER): checking reads
-- only what the caller may read, and a sync moves only sequences the caller could
-- setval() itself, so EXECUTE stays with PUBLIC. Bound series are synced only for
-- callers who may run seqguard_sync_series. They read and write the database, hence
-- VOLATILE; they take locks and run SPI, hence PARALLEL UNSAFE.

CREATE FUNCTION seqguard_check_drift(schema_name text DEFAULT NULL)
RETURNS TABLE(table_name regclass, column_name name, sequence_name regclass, kind text,
              last_value bigint, next_value bigint, column_max bigint, status text, lag bigint)
AS 'MODULE_PATHNAME', 'seqguard_check_drift'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync_all(dry_run boolean DEFAULT false, schema_name text DEFAULT NULL)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync_all'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_sync(tbl regclass)
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_sync'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_find_duplicates(tbl regclass, col name)
RETURNS TABLE(value text, copies bigint)
AS 'MODULE_PATHNAME', 'seqguard_find_duplicates'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
-- SPEC section 3: the idempotency-key registry. See docs/idem.md.

-- One row per (role, key): the key's current attempt. A new attempt overwrites the
-- row, so the table holds at most the keys that have not expired yet plus the expired
-- ones seqguard_idem_purge() has not deleted yet. The functions write it directly
-- (not through SQL) under the key's lock; the CHECKs document the invariants they keep.
CREATE TABLE seqguard.idem_keys (
    owner        regrole NOT NULL,              -- current_user of the begin call
    key          text COLLATE "C" NOT NULL CHECK (pg_catalog.char_length(key) BETWEEN 1 AND 255),
    status       text NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed')),
    job_id       bigint NOT NULL,               -- the current attempt's job
    attempt      integer NOT NULL CHECK (attempt > 0),
    fingerprint  text,
    result       jsonb,                         -- set by complete
    error        text,                          -- set by fail
    lease_until  timestamptz,                   -- while in_progress: the worker's lease
    ttl          interval NOT NULL,             -- how long an outcome is kept (from begin)
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,          -- first attempt since the key was new
    started_at   timestamptz NOT NULL,          -- current attempt
    finished_at  timestamptz,                   -- current attempt completed or failed
    PRIMARY KEY (owner, key),
    CHECK ((status = 'in_progress') = (lease_until IS NOT NULL))
) WITH (fillfactor = 80);  -- room for HOT updates: a begin or complete rewrites the row

-- Job ids are unique for the life of the database, across keys and roles: a stale
-- worker's job id can never match a later job.
CREATE SEQUENCE seqguard.idem_job_id AS bigint;

-- pg_dump keeps the keys and the job id sequence, so after a restore replays still
-- replay and no job id is handed out twice.
SELECT pg_catalog.pg_extension_config_dump('seqguard.idem_keys', '');
SELECT pg_catalog.pg_extension_config_dump('seqguard.idem_job_id', '');

CREATE FUNCTION seqguard_idem_begin(key text, fingerprint text DEFAULT NULL,
                                    lease interval DEFAULT '5 minutes',
                                    ttl interval DEFAULT '24 hours',
                                    rerun_completed boolean DEFAULT false)
RETURNS TABLE(status text, job_id bigint, attempt integer, result jsonb)
AS 'MODULE_PATHNAME', 'seqguard_idem_begin'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_idem_complete(key text, job_id bigint, result jsonb DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_idem_complete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_idem_fail(key text, job_id bigint, error text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_idem_fail'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_idem_heartbeat(key text, job_id bigint, lease interval DEFAULT '5 minutes')
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_idem_heartbeat'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_idem_get(key text)
RETURNS TABLE(status text, job_id bigint, attempt integer, result jsonb, error text, expires_at timestamptz)
AS 'MODULE_PATHNAME', 'seqguard_idem_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Run by the extension owner (or a superuser, or a member of the owner role) it
-- deletes the expired keys of every role; run by anyone else, only that role's own.
CREATE FUNCTION seqguard_idem_purge()
RETURNS integer AS 'MODULE_PATHNAME', 'seqguard_idem_purge'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Privileges: every role may use the registry for its own keys (the functions are
-- executable by PUBLIC by default); no role but the owner can read the table.
-- Late-bound gapless numbers and sequences protected from explicit inserts (docs/late.md).

-- seqguard_attach() installs a deferred constraint trigger calling this function on the
-- table: the row is inserted with the column NULL, and the number is drawn and written
-- when the transaction commits. It lives in the `seqguard` schema, out of the users'
-- way; triggers reach it by OID, so no role needs USAGE on the schema to fire it.
CREATE FUNCTION seqguard.late_bind() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_late_bind'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_attach(tbl regclass, col name, series text, scope_column name DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_attach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_detach(tbl regclass, col name)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_detach'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- seqguard_protect() installs a statement-level AFTER INSERT trigger calling this
-- function, which moves sequences past the explicit values the statement wrote.
CREATE FUNCTION seqguard.protect_sequences() RETURNS trigger
AS 'MODULE_PATHNAME', 'seqguard_protect_sequences'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_protect(tbl regclass)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_protect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION seqguard_unprotect(tbl regclass)
RETURNS void AS 'MODULE_PATHNAME', 'seqguard_unprotect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Installing triggers is an administrator's act, like creating a series; the caller
-- must also own the table.
REVOKE ALL ON FUNCTION seqguard_attach(regclass, name, text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_detach(regclass, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_protect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard_unprotect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard.late_bind() FROM PUBLIC;
REVOKE ALL ON FUNCTION seqguard.protect_sequences() FROM PUBLIC;
