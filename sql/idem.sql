-- Idempotency keys (docs/reference.md, "Idempotency keys"): every rule one session can show. Concurrent
-- sessions are in specs/idem_*.spec and test/integration/idem_test.cpp.
--
-- Job ids are not printed: pg_temp.job() names them <key>#1, <key>#2, ... in the order
-- they are first seen for a key, so the output says which answers share a job without
-- depending on values. (A label taken in a transaction that rolls back is given back.)
CREATE TEMP TABLE seen (job_id bigint PRIMARY KEY, key text, label text UNIQUE);
GRANT ALL ON seen TO PUBLIC;
CREATE FUNCTION pg_temp.job(k text, id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  IF id IS NULL THEN RETURN 'NULL'; END IF;
  SELECT label INTO l FROM seen WHERE job_id = id;
  IF l IS NULL THEN
    l := k || '#' || (SELECT count(*) + 1 FROM seen WHERE key = k);
    INSERT INTO seen VALUES (id, k, l);
  END IF;
  RETURN l;
END $$;
-- Runs q and shows its error as SQLSTATE: message, job ids replaced by their labels.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; j text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  m := SQLSTATE || ': ' || SQLERRM;
  FOR j IN SELECT (regexp_matches(m, 'job (-?[0-9]+) ', 'g'))[1] LOOP
    m := replace(m, 'job ' || j || ' ', 'job ' || coalesce((SELECT label FROM seen WHERE job_id = j::bigint), j) || ' ');
  END LOOP;
  RETURN m;
END $$;
-- The superuser running the test is shown as 'me', whatever its name.
CREATE FUNCTION pg_temp.who(r regrole) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN r = session_user::regrole THEN 'me' ELSE r::text END
$$;
CREATE FUNCTION pg_temp.id(l text) RETURNS bigint LANGUAGE sql AS $$ SELECT job_id FROM seen WHERE label = l $$;
-- begin, showing the job by its label.
CREATE FUNCTION pg_temp.b(k text, fp text DEFAULT NULL, lease interval DEFAULT '5 minutes',
                          ttl interval DEFAULT '24 hours', rerun boolean DEFAULT false)
RETURNS TABLE(status text, job text, attempt integer, result jsonb) LANGUAGE sql AS $$
  SELECT b.status, pg_temp.job(k, b.job_id), b.attempt, b.result FROM seqguard_idem_begin(k, fp, lease, ttl, rerun) b
$$;
CREATE FUNCTION pg_temp.g(k text)
RETURNS TABLE(status text, job text, attempt integer, result jsonb, error text) LANGUAGE sql AS $$
  SELECT g.status, pg_temp.job(k, g.job_id), g.attempt, g.result, g.error FROM seqguard_idem_get(k) g
$$;

-- The contract: names, arguments, defaults, results; none of them STRICT (a NULL is an
-- error, not a silent NULL), all VOLATILE and PARALLEL UNSAFE.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proparallel, p.proisstrict
  FROM pg_proc p WHERE p.proname LIKE 'seqguard\_idem\_%' ORDER BY p.proname;

-- pg_dump keeps the keys and the job id sequence.
SELECT c.relname, c.relkind
  FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'seqguard' AND c.relname LIKE 'idem%' ORDER BY c.relname;

------------------------------------------------------------------------------------------
-- The double click: the first click starts job #1, the second sees it running.
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1');
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1');
SELECT * FROM pg_temp.b('u1:m1:f1');
SELECT * FROM pg_temp.g('u1:m1:f1');
SELECT expires_at > now() + interval '23 hours' AND expires_at <= clock_timestamp() + interval '24 hours' AS expires_in_24h
  FROM seqguard_idem_get('u1:m1:f1');
-- Every caller of a live key gets the same job id; job ids are never NULL.
SELECT count(DISTINCT job_id) AS jobs, count(*) FILTER (WHERE job_id IS NULL) AS null_ids
  FROM generate_series(1, 10), LATERAL seqguard_idem_begin('u1:m1:f1');

-- Job #1 completes; every later click replays its result, with or without the fingerprint.
SELECT seqguard_idem_complete('u1:m1:f1', pg_temp.id('u1:m1:f1#1'), '{"rows": 3, "file": "f1.csv"}');
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1');
SELECT * FROM pg_temp.b('u1:m1:f1');
SELECT * FROM pg_temp.g('u1:m1:f1');
-- Completing again, failing or heartbeating a finished job: 55000.
SELECT pg_temp.err($$SELECT seqguard_idem_complete('u1:m1:f1', pg_temp.id('u1:m1:f1#1'), '{}')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail('u1:m1:f1', pg_temp.id('u1:m1:f1#1'))$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('u1:m1:f1', pg_temp.id('u1:m1:f1#1'))$$);

-- Same key, different fingerprint: 22023 naming the key, the stored job untouched.
CREATE TEMP TABLE before AS SELECT * FROM seqguard_idem_get('u1:m1:f1');
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('u1:m1:f1', 'fp-2')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('u1:m1:f1', 'fp-2', rerun_completed => true)$$);
SELECT (SELECT row(b.*) FROM before b) = (SELECT row(g.*) FROM seqguard_idem_get('u1:m1:f1') g) AS untouched;

-- A re-import after a finished one: rerun_completed starts attempt 2 as job #2.
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1', rerun => true);
SELECT pg_temp.id('u1:m1:f1#2') > pg_temp.id('u1:m1:f1#1') AS job_ids_grow;
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1', rerun => true);
-- The old worker can no longer touch the key.
SELECT pg_temp.err($$SELECT seqguard_idem_complete('u1:m1:f1', pg_temp.id('u1:m1:f1#1'), '{}')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail('u1:m1:f1', pg_temp.id('u1:m1:f1#1'), 'x')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('u1:m1:f1', pg_temp.id('u1:m1:f1#1'))$$);
-- Nor can a job id that never belonged to the key.
SELECT pg_temp.err($$SELECT seqguard_idem_complete('u1:m1:f1', -1)$$);
-- A fingerprint mismatch on a running key leaves the running job alone too.
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM seqguard_idem_get('u1:m1:f1');
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('u1:m1:f1', 'fp-2')$$);
SELECT (SELECT row(b.*) FROM before b) = (SELECT row(g.*) FROM seqguard_idem_get('u1:m1:f1') g) AS untouched;

-- Job #2 fails: the failure is kept, and the next click starts attempt 3 as job #3.
SELECT seqguard_idem_fail('u1:m1:f1', pg_temp.id('u1:m1:f1#2'), 'mapping column 4 missing');
SELECT * FROM pg_temp.g('u1:m1:f1');
SELECT * FROM pg_temp.b('u1:m1:f1', 'fp-1');
SELECT * FROM pg_temp.g('u1:m1:f1');
SELECT pg_temp.err($$SELECT seqguard_idem_complete('u1:m1:f1', pg_temp.id('u1:m1:f1#2'))$$);
-- complete and fail without a payload store NULL.
SELECT seqguard_idem_complete('u1:m1:f1', pg_temp.id('u1:m1:f1#3'));
SELECT * FROM pg_temp.b('u1:m1:f1');
SELECT * FROM pg_temp.b('null-error');
SELECT seqguard_idem_fail('null-error', pg_temp.id('null-error#1'));
SELECT * FROM pg_temp.g('null-error');

------------------------------------------------------------------------------------------
-- Leases. A worker that dies stops heartbeating; once its lease has run out the key can
-- be started again (attempt 2, new job), and the old worker gets 55000.
SELECT * FROM pg_temp.b('lease', lease => '1 second');
SELECT * FROM pg_temp.b('lease');
SELECT pg_sleep(1.1);
SELECT * FROM pg_temp.b('lease');
SELECT * FROM pg_temp.b('lease');
SELECT pg_temp.err($$SELECT seqguard_idem_complete('lease', pg_temp.id('lease#1'), '{}')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail('lease', pg_temp.id('lease#1'), 'late')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('lease', pg_temp.id('lease#1'))$$);
SELECT seqguard_idem_complete('lease', pg_temp.id('lease#2'), '"done"');
SELECT * FROM pg_temp.b('lease');

-- A heartbeat extends the lease: the key stays in progress past the first lease.
SELECT * FROM pg_temp.b('heartbeat', lease => '10 ms');
SELECT seqguard_idem_heartbeat('heartbeat', pg_temp.id('heartbeat#1'), '5 minutes');
SELECT pg_sleep(0.05);
SELECT * FROM pg_temp.b('heartbeat');
-- ... and can shorten it again.
SELECT seqguard_idem_heartbeat('heartbeat', pg_temp.id('heartbeat#1'), '10 ms');
SELECT pg_sleep(0.05);
SELECT * FROM pg_temp.b('heartbeat');

-- A worker whose lease ran out may still finish while nobody has taken the key over.
SELECT * FROM pg_temp.b('late', lease => '10 ms');
SELECT pg_sleep(0.05);
SELECT seqguard_idem_complete('late', pg_temp.id('late#1'), '{"late": true}');
SELECT * FROM pg_temp.b('late');

------------------------------------------------------------------------------------------
-- Transactions: begin takes effect with the caller's transaction.
BEGIN;
SELECT * FROM pg_temp.b('tx');
SELECT * FROM pg_temp.b('tx');  -- the same transaction sees its own job
SELECT job_id AS rolled_back_job FROM seqguard_idem_get('tx') \gset
ROLLBACK;
SELECT * FROM pg_temp.g('tx');
SELECT * FROM pg_temp.b('tx');  -- the key was never taken: attempt 1, a new job
SELECT pg_temp.id('tx#1') > :rolled_back_job AS new_job;
BEGIN;
SELECT * FROM pg_temp.b('savepoint');
SAVEPOINT s;
SELECT seqguard_idem_complete('savepoint', pg_temp.id('savepoint#1'), '1');
SELECT * FROM pg_temp.g('savepoint');
ROLLBACK TO SAVEPOINT s;
SELECT * FROM pg_temp.g('savepoint');
SAVEPOINT s2;
SELECT * FROM pg_temp.b('in-savepoint');
ROLLBACK TO SAVEPOINT s2;
SELECT * FROM pg_temp.g('in-savepoint');
COMMIT;
SELECT * FROM pg_temp.g('savepoint');
SELECT * FROM pg_temp.b('in-savepoint');
-- Read-only transactions may look but not begin.
BEGIN READ ONLY;
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('read-only')$$);
ROLLBACK;
BEGIN READ ONLY;
SELECT * FROM pg_temp.g('savepoint');
ROLLBACK;

------------------------------------------------------------------------------------------
-- Arguments. A key is 1 to 255 characters (characters, not bytes).
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('')$$);
SELECT status, attempt FROM seqguard_idem_begin(repeat('k', 255));
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin(repeat('k', 256))$$);
SELECT status, attempt FROM seqguard_idem_begin(repeat('é', 255));
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin(repeat('é', 256))$$);
SELECT pg_temp.err($$SELECT seqguard_idem_complete('', 1)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail(repeat('k', 256), 1)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('', 1)$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_get(repeat('k', 256))$$);
-- NULL where a value is needed: 22004.
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin(NULL)$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', lease => NULL)$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', ttl => NULL)$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', rerun_completed => NULL)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_complete(NULL, 1)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_complete('k', NULL)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail('k', NULL)$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('k', 1, NULL)$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_get(NULL)$$);
-- Leases and TTLs are positive and at most 1000 years (a month counts 30 days).
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', lease => '0')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', lease => '-1 minute')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', ttl => '1 day -25 hours')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', ttl => '1001 years')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', ttl => '365000 days')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', ttl => '100000000 days')$$);
SELECT pg_temp.err($$SELECT * FROM seqguard_idem_begin('k', lease => '2000000000 months')$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('k', 1, '0')$$);
-- Deadlines are clock_timestamp() + interval, added as SQL adds them (calendar years).
BEGIN;
SELECT status, attempt FROM seqguard_idem_begin('long ttl', ttl => '1000 years');
SELECT expires_at BETWEEN now() + interval '1000 years' AND clock_timestamp() + interval '1000 years' AS in_1000_years
  FROM seqguard_idem_get('long ttl');
COMMIT;
-- None of the failed calls above left a key behind.
SELECT * FROM pg_temp.g('k');
SELECT * FROM pg_temp.g('read-only');

-- A large result is stored out of line and replayed intact.
CREATE TEMP TABLE big AS
SELECT jsonb_build_object('rows', jsonb_agg(jsonb_build_object('n', i, 'md5', md5(i::text)))) AS r
  FROM generate_series(1, 5000) i;
SELECT status, attempt FROM pg_temp.b('big');
SELECT seqguard_idem_complete('big', pg_temp.id('big#1'), (SELECT r FROM big));
SELECT status, result = (SELECT r FROM big) AS intact, jsonb_array_length(result->'rows') AS rows
  FROM seqguard_idem_begin('big');

------------------------------------------------------------------------------------------
-- Keys are private to current_user: another role cannot read, finish or detect them.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_idem_alice;
DROP ROLE IF EXISTS regress_idem_bob;
RESET client_min_messages;
CREATE ROLE regress_idem_alice;
CREATE ROLE regress_idem_bob;
SET ROLE regress_idem_alice;
SELECT * FROM pg_temp.b('alice:import', 'fp-a');
SELECT * FROM pg_temp.b('u1:m1:f1');  -- the superuser's key of that name is not hers
SET ROLE regress_idem_bob;
SELECT * FROM pg_temp.g('alice:import');
-- Finishing her job fails exactly as for a key that never existed.
SELECT pg_temp.err($$SELECT seqguard_idem_complete('alice:import', pg_temp.id('alice:import#1'))$$);
SELECT pg_temp.err($$SELECT seqguard_idem_fail('alice:import', pg_temp.id('alice:import#1'))$$);
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('alice:import', pg_temp.id('alice:import#1'))$$);
SELECT pg_temp.err($$SELECT seqguard_idem_complete('never:used', pg_temp.id('alice:import#1'))$$);
-- Her fingerprint does not bind him, and his begin is his own attempt 1.
SELECT * FROM pg_temp.b('alice:import', 'fp-b');
SELECT pg_temp.err($$SELECT count(*) FROM seqguard.idem_keys$$);
RESET ROLE;
SET ROLE regress_idem_alice;
SELECT * FROM pg_temp.g('alice:import');
RESET ROLE;
SELECT pg_temp.who(owner) AS owner, key, status, attempt FROM seqguard.idem_keys WHERE key LIKE 'alice%' OR owner <> current_user::regrole
 ORDER BY owner::text, key;

------------------------------------------------------------------------------------------
-- Expiry and purge. An expired key is gone for every function, whatever its status,
-- and can be used again as new: attempt 1, any fingerprint.
SELECT status, attempt FROM pg_temp.b('exp:completed', 'fp-x', ttl => '10 ms');
SELECT seqguard_idem_complete('exp:completed', pg_temp.id('exp:completed#1'), '{}');
SELECT status, attempt FROM pg_temp.b('exp:failed', ttl => '10 ms');
SELECT seqguard_idem_fail('exp:failed', pg_temp.id('exp:failed#1'));
SELECT status, attempt FROM pg_temp.b('exp:dead-worker', lease => '10 ms', ttl => '10 ms');
SELECT status, attempt FROM pg_temp.b('exp:live-worker', lease => '5 minutes', ttl => '10 ms');
SELECT status, attempt FROM pg_temp.b('exp:reused', 'fp-old', ttl => '10 ms');
SELECT seqguard_idem_complete('exp:reused', pg_temp.id('exp:reused#1'), '"old"');
SET ROLE regress_idem_alice;
SELECT status, attempt FROM pg_temp.b('exp:alice', ttl => '10 ms');
SELECT seqguard_idem_complete('exp:alice', pg_temp.id('exp:alice#1'));
SET ROLE regress_idem_bob;
SELECT status, attempt FROM pg_temp.b('exp:bob', ttl => '10 ms');
SELECT seqguard_idem_fail('exp:bob', pg_temp.id('exp:bob#1'));
RESET ROLE;
SELECT pg_sleep(0.05);
SELECT * FROM pg_temp.g('exp:completed');
SELECT pg_temp.err($$SELECT seqguard_idem_heartbeat('exp:dead-worker', pg_temp.id('exp:dead-worker#1'))$$);
SELECT * FROM pg_temp.g('exp:live-worker');
SELECT * FROM pg_temp.b('exp:reused', 'fp-new');
-- Bob purges his own expired key only; the owner purges everybody's, except the key
-- whose worker still holds a live lease.
SET ROLE regress_idem_bob;
SELECT seqguard_idem_purge() AS bob_purged;
RESET ROLE;
SELECT pg_temp.who(owner) AS owner, key, status FROM seqguard.idem_keys WHERE key LIKE 'exp:%' ORDER BY key;
SELECT seqguard_idem_purge() AS purged;
SELECT pg_temp.who(owner) AS owner, key, status FROM seqguard.idem_keys WHERE key LIKE 'exp:%' ORDER BY key;
SELECT seqguard_idem_purge() AS purged_again;
SELECT * FROM pg_temp.g('exp:live-worker');
SELECT seqguard_idem_complete('exp:live-worker', pg_temp.id('exp:live-worker#1'));
-- A purged key is new again.
SELECT * FROM pg_temp.b('exp:completed', 'fp-y');

-- What the table holds: one row per (role, key), a lease exactly while in progress.
SELECT count(*) AS keys, count(DISTINCT (owner, key)) AS distinct_keys,
       count(*) FILTER (WHERE (status = 'in_progress') <> (lease_until IS NOT NULL)) AS bad_lease,
       count(*) FILTER (WHERE expires_at < started_at) AS bad_expiry
  FROM seqguard.idem_keys;

DROP ROLE regress_idem_alice;
DROP ROLE regress_idem_bob;
