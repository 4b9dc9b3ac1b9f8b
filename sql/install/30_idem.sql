-- The idempotency-key registry: docs/reference.md, "Idempotency keys", and docs/idem.md.

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

-- What \dx+, \df+ and \d+ show; the update script sets the same text.
COMMENT ON TABLE seqguard.idem_keys IS 'One row per (role, idempotency key): the current attempt''s status, job, lease and outcome; kept by pg_dump';
COMMENT ON SEQUENCE seqguard.idem_job_id IS 'Job ids of idempotency-key attempts, unique for the life of the database';
COMMENT ON FUNCTION seqguard_idem_begin(text, text, interval, interval, boolean) IS 'Starts the job of an idempotency key, or replays its outcome, or reports it in progress';
COMMENT ON FUNCTION seqguard_idem_complete(text, bigint, jsonb) IS 'Records the result of a key''s job; later begins replay it';
COMMENT ON FUNCTION seqguard_idem_fail(text, bigint, text) IS 'Records that a key''s job failed; a later begin retries it';
COMMENT ON FUNCTION seqguard_idem_heartbeat(text, bigint, interval) IS 'Extends the lease of a key''s job in progress';
COMMENT ON FUNCTION seqguard_idem_get(text) IS 'The current state of one of the caller''s idempotency keys';
COMMENT ON FUNCTION seqguard_idem_purge() IS 'Deletes expired idempotency keys (every role''s for the extension owner, else the caller''s); returns how many';
