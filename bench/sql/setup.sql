-- Objects every workload of bench/run uses: the extension, and the patterns people
-- write today that seqguard is compared with. Loaded once into a scratch database.

CREATE EXTENSION seqguard;

-- A role that may allocate from the series measured with 1.1's features, so that those
-- runs pay the allocation privilege check a granted role pays (the cluster is scratch).
CREATE ROLE bench_allocator;

-- Formatting a sequence value in SQL. lpad(n::text, 6, '0') truncates 1234567 to
-- 123456 (a duplicate waiting to happen), and to_char(n, 'FM000000') prints ######.
-- 13 optional and 6 zero digit positions pad to 6 digits and widen to all 19 digits of
-- a bigint, like seqguard's {seq:6}. Kept as an expression (not a function) so that the
-- baseline is as cheap as SQL formatting gets.
--   to_char(n, 'FM9999999999999000000')

-- The row-lock counter: the pattern of the team-ID fix. One row per counter, one
-- UPDATE ... RETURNING per ID, the row lock held until commit. Gapless, but every
-- further ID in the same transaction walks past all the row versions it left behind.
CREATE TABLE bench_counters (name text PRIMARY KEY, v bigint NOT NULL);

CREATE FUNCTION bench_rowlock_next(counter text, prefix text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  UPDATE bench_counters SET v = v + 1 WHERE name = counter RETURNING v INTO n;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'counter % does not exist', counter;
  END IF;
  RETURN prefix || to_char(n, 'FM9999999999999000000');
END
$$;

-- Count-then-insert with retry: number = rows of the year + 1, insert, and on a
-- unique violation (another session took that number) count again. Three tries in
-- all; returns 0 when the row went in and 1 when it still failed after three, which is
-- what the application would show its user as an error.
CREATE TABLE c_cti (id text PRIMARY KEY, yr integer NOT NULL, payload text);
CREATE INDEX ON c_cti (yr);

CREATE FUNCTION bench_cti_insert(payload text, yr integer DEFAULT 2026) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  FOR attempt IN 1..3 LOOP
    SELECT count(*) + 1 INTO n FROM c_cti c WHERE c.yr = bench_cti_insert.yr;
    BEGIN
      INSERT INTO c_cti (id, yr, payload)
      VALUES ('ASM-' || yr || '-' || to_char(n, 'FM9999999999999000'), yr, payload);
      RETURN 0;
    EXCEPTION WHEN unique_violation THEN
      NULL;  -- somebody else took that number: count again
    END;
  END LOOP;
  RETURN 1;
END
$$;

-- Verification after a run. IDs are "<prefix><digits>"; a gapless counter starting at 1
-- that issued `expected` IDs must have stored exactly 1..expected, once each. Returns
-- 'ok' or what is wrong; a run that is not ok is a bug report, not a number.
CREATE FUNCTION bench_check_ids(tbl regclass, prefix text, expected bigint, gapless boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n bigint; d bigint; lo bigint; hi bigint; bad bigint;
BEGIN
  EXECUTE format(
    'SELECT count(*), count(DISTINCT id), min(v), max(v), count(*) FILTER (WHERE v IS NULL)
       FROM (SELECT id, CASE WHEN id::text LIKE %L || ''%%''
                             THEN nullif(substr(id::text, %s), '''')::bigint END AS v
               FROM %s) s',
    prefix, length(prefix) + 1, tbl)
    INTO n, d, lo, hi, bad;
  IF bad > 0 THEN
    RETURN format('%s IDs of %s do not look like %s<number>', bad, tbl, prefix);
  END IF;
  IF n <> expected THEN
    RETURN format('%s holds %s rows, the driver counted %s inserts', tbl, n, expected);
  END IF;
  IF d <> n THEN
    RETURN format('%s holds %s duplicate IDs among %s rows', tbl, n - d, n);
  END IF;
  IF gapless AND n > 0 AND (lo <> 1 OR hi <> n) THEN
    RETURN format('%s is not gapless: %s IDs from %s to %s', tbl, n, lo, hi);
  END IF;
  RETURN 'ok';
END
$$;

-- Drift check the way it is written by hand: a loop over information_schema, one
-- pg_get_serial_sequence and one SELECT max(col) per serial/identity column. (It does
-- not see sequences used through a plain DEFAULT nextval() that no column owns, nor
-- descending sequences; seqguard_check_drift does.)
CREATE FUNCTION bench_drift_baseline()
RETURNS TABLE (table_name text, column_name text, sequence_name text,
               last_value bigint, column_max bigint, behind boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  called boolean;
BEGIN
  FOR r IN
    SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS col
      FROM information_schema.columns c
      JOIN information_schema.tables tb
        ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
     WHERE tb.table_type = 'BASE TABLE'
       AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
       AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')
  LOOP
    table_name := format('%I.%I', r.s, r.t);
    column_name := r.col;
    sequence_name := pg_get_serial_sequence(table_name, r.col);
    CONTINUE WHEN sequence_name IS NULL;
    EXECUTE format('SELECT max(%I) FROM %s', r.col, table_name) INTO column_max;
    EXECUTE format('SELECT last_value, is_called FROM %s', sequence_name) INTO last_value, called;
    IF NOT called THEN
      last_value := NULL;
    END IF;
    behind := column_max IS NOT NULL AND column_max >= coalesce(last_value + 1, 1);
    RETURN NEXT;
  END LOOP;
END
$$;

-- Idempotency keys the way they are written by hand: one table, INSERT ... ON CONFLICT
-- that takes a key when it is new, failed, expired or its lease ran out, and otherwise
-- reports the job that has it. Same signatures as seqguard_idem_begin/complete.
CREATE TABLE bench_idem (
  owner       name NOT NULL DEFAULT current_user,
  key         text NOT NULL,
  fingerprint text,
  status      text NOT NULL,
  job_id      bigint NOT NULL,
  attempt     integer NOT NULL,
  result      jsonb,
  lease_until timestamptz,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE SEQUENCE bench_idem_jobs;

CREATE FUNCTION bench_idem_begin(key text, fingerprint text DEFAULT NULL,
                                 lease interval DEFAULT '5 minutes',
                                 ttl interval DEFAULT '24 hours',
                                 rerun_completed boolean DEFAULT false)
RETURNS TABLE (status text, job_id bigint, attempt integer, result jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  INSERT INTO bench_idem AS i (key, fingerprint, status, job_id, attempt, lease_until, expires_at)
  VALUES ($1, $2, 'started', nextval('bench_idem_jobs'), 1, now() + $3, now() + $4)
  ON CONFLICT (owner, key) DO UPDATE
     SET status = 'started', job_id = nextval('bench_idem_jobs'), attempt = i.attempt + 1,
         result = NULL, lease_until = now() + $3, expires_at = now() + $4
   WHERE i.status = 'failed' OR i.expires_at < now()
      OR (i.status = 'started' AND i.lease_until < now())
      OR (i.status = 'completed' AND $5)
  RETURNING 'started'::text, i.job_id, i.attempt, NULL::jsonb;
  IF NOT FOUND THEN
    RETURN QUERY
    SELECT CASE WHEN i.status = 'completed' THEN 'completed' ELSE 'in_progress' END,
           i.job_id, i.attempt, i.result
      FROM bench_idem i
     WHERE i.owner = current_user AND i.key = $1;
  END IF;
END
$$;

CREATE FUNCTION bench_idem_complete(key text, job_id bigint, result jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  UPDATE bench_idem i SET status = 'completed', result = $3, lease_until = NULL
   WHERE i.owner = current_user AND i.key = $1 AND i.job_id = $2 AND i.status = 'started';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % is not the live attempt of key %', $2, $1 USING ERRCODE = '55000';
  END IF;
END
$$;
