-- Hardening of the code that runs with rights the caller lacks: the protect trigger and
-- seqguard_protect (which read the table as its owner and move sequences as the
-- extension owner) and the late-bound trigger (which writes the row as the table's
-- owner). A hostile role plants look-alikes of every function and operator these paths
-- use, puts them first on its search_path and inserts: none may run. And protect moves
-- only sequences the acting role may UPDATE.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- What nextval() would return now, without calling it.
CREATE FUNCTION pg_temp.next_of(seq regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE last bigint; called boolean; inc bigint;
BEGIN
  EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last, called;
  SELECT increment_by INTO inc FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename)::regclass = seq;
  RETURN CASE WHEN called THEN last + inc ELSE last END;
END $$;

CREATE ROLE regress_hp_attacker;
CREATE ROLE regress_hp_victim;
CREATE SCHEMA hp_mal AUTHORIZATION regress_hp_attacker;
GRANT USAGE ON SCHEMA hp_mal TO PUBLIC;

-- 1. Look-alikes. Each records that it ran, and as whom, then tries to make the attacker
-- superuser (which succeeds if it runs as a superuser, here the tables' owner).
SET ROLE regress_hp_attacker;
CREATE TABLE hp_mal.calls (fn text, by_user name);
GRANT INSERT, SELECT ON hp_mal.calls TO PUBLIC;
CREATE FUNCTION hp_mal.caught(fn text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hp_mal.calls VALUES (fn, current_user);
  BEGIN
    EXECUTE 'ALTER ROLE regress_hp_attacker SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $$;
DO $$
DECLARE
  t text;
  op record;
BEGIN
  -- Aggregates and casts by function name, for every integer type a guarded column or
  -- a late-bound column can have.
  FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'smallint'] LOOP
    EXECUTE format($f$CREATE FUNCTION hp_mal.max(%1$s) RETURNS %1$s LANGUAGE plpgsql AS
      'BEGIN PERFORM hp_mal.caught(''max(%1$s)''); RETURN $1; END'$f$, t);
    EXECUTE format($f$CREATE FUNCTION hp_mal.min(%1$s) RETURNS %1$s LANGUAGE plpgsql AS
      'BEGIN PERFORM hp_mal.caught(''min(%1$s)''); RETURN $1; END'$f$, t);
    EXECUTE format($f$CREATE FUNCTION hp_mal.int8(%1$s) RETURNS bigint LANGUAGE plpgsql AS
      'BEGIN PERFORM hp_mal.caught(''int8(%1$s)''); RETURN 0; END'$f$, t);
    EXECUTE format($f$CREATE FUNCTION hp_mal.text(%1$s) RETURNS text LANGUAGE plpgsql AS
      'BEGIN PERFORM hp_mal.caught(''text(%1$s)''); RETURN ''X''; END'$f$, t);
  END LOOP;
  EXECUTE $f$CREATE FUNCTION hp_mal.int4(bigint) RETURNS integer LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''int4(bigint)''); RETURN 0; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.int2(bigint) RETURNS smallint LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''int2(bigint)''); RETURN 0; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.numeric(bigint) RETURNS numeric LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''numeric(bigint)''); RETURN 0; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''nextval''); RETURN 1; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.setval(regclass, bigint) RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''setval''); RETURN 1; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.setval(regclass, bigint, boolean) RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''setval''); RETURN 1; END'$f$;
  EXECUTE $f$CREATE FUNCTION hp_mal.pg_sequence_last_value(regclass) RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN PERFORM hp_mal.caught(''pg_sequence_last_value''); RETURN 1; END'$f$;
  -- Comparison operators between every pair of types the queries compare: column
  -- against a bigint parameter, ctid against a tid parameter, text against text.
  FOR op IN
    SELECT o.sym, o.fn, l.typ AS l, r.typ AS r
      FROM (VALUES ('=', 'eq'), ('<>', 'ne'), ('<', 'lt'), ('>', 'gt'), ('<=', 'le'), ('>=', 'ge')) o(sym, fn),
           (VALUES ('bigint'), ('integer'), ('smallint')) l(typ), (VALUES ('bigint')) r(typ)
    UNION ALL SELECT '=', 'eq', 'bigint', 'integer'
    UNION ALL SELECT '=', 'eq', 'tid', 'tid'
    UNION ALL SELECT '=', 'eq', 'text', 'text'
  LOOP
    EXECUTE format($f$CREATE FUNCTION hp_mal.%1$s_%2$s_%3$s(%2$s, %3$s) RETURNS boolean LANGUAGE plpgsql AS
      'BEGIN PERFORM hp_mal.caught(''%2$s %4$s %3$s''); RETURN true; END'$f$, op.fn, op.l, op.r, op.sym);
    EXECUTE format('CREATE OPERATOR hp_mal.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = hp_mal.%s_%s_%s)',
                   op.sym, op.l, op.r, op.fn, op.l, op.r);
  END LOOP;
END $$;
RESET ROLE;
SELECT count(*) AS planted_functions FROM pg_proc WHERE pronamespace = 'hp_mal'::regnamespace;
SELECT count(*) AS planted_operators FROM pg_operator WHERE oprnamespace = 'hp_mal'::regnamespace;

-- 2. The protect trigger, as a role with nothing but INSERT on a superuser's table. A
-- bigint column draws from a sequence still AS integer: 3000000000 lies beyond the
-- sequence's range, which sends the trigger to its fallback query, run as the owner.
CREATE SEQUENCE hp_int_seq AS integer;
CREATE TABLE hp_accounts (id bigint PRIMARY KEY DEFAULT nextval('hp_int_seq'), note text);
SELECT seqguard_protect('hp_accounts');
GRANT INSERT ON hp_accounts TO regress_hp_attacker;
SET ROLE regress_hp_attacker;
SET search_path = hp_mal, pg_catalog;
INSERT INTO public.hp_accounts (id, note) VALUES (1, 'a'), (3000000000, 'b');
RESET search_path;
RESET ROLE;
-- The attacker may not setval this sequence, so the trigger left it alone (it said so).
SELECT pg_temp.next_of('hp_int_seq');

-- The same with a role that may UPDATE the sequences: now the fallback query's answer
-- moves them, still with the hijacked path. Also descending (min) and a smallint
-- sequence behind an integer column.
GRANT UPDATE ON SEQUENCE hp_int_seq TO regress_hp_attacker;
CREATE SEQUENCE hp_down_seq AS integer INCREMENT BY -1;
CREATE TABLE hp_down (id bigint PRIMARY KEY DEFAULT nextval('hp_down_seq'));
SELECT seqguard_protect('hp_down');
CREATE SEQUENCE hp_small_seq AS smallint;
CREATE TABLE hp_small (id integer PRIMARY KEY DEFAULT nextval('hp_small_seq'));
SELECT seqguard_protect('hp_small');
GRANT INSERT ON hp_down, hp_small TO regress_hp_attacker;
GRANT UPDATE ON SEQUENCE hp_down_seq, hp_small_seq TO regress_hp_attacker;
SET ROLE regress_hp_attacker;
SET search_path = hp_mal, pg_catalog;
INSERT INTO public.hp_accounts (id, note) VALUES (5, 'c'), (4000000000, 'd');
INSERT INTO public.hp_down (id) VALUES (-7), (-3000000000);
INSERT INTO public.hp_small (id) VALUES (9), (40000);
RESET search_path;
RESET ROLE;
SELECT pg_temp.next_of('hp_int_seq') AS accounts_next, pg_temp.next_of('hp_down_seq') AS down_next,
       pg_temp.next_of('hp_small_seq') AS small_next;

-- 3. seqguard_protect itself, run by a superuser whose search_path is the attacker's:
-- repairing existing drift runs the same fallback query.
CREATE SEQUENCE hp_late_seq AS integer;
CREATE TABLE hp_drifted (id bigint PRIMARY KEY DEFAULT nextval('hp_late_seq'));
INSERT INTO hp_drifted VALUES (11), (5000000000);
SET search_path = hp_mal, pg_catalog, public;
SELECT seqguard_protect('hp_drifted');
SELECT seqguard_unprotect('hp_drifted');
RESET search_path;
SELECT pg_temp.next_of('hp_late_seq');

-- 4. The late-bound trigger writes the number as the table's owner, at the inserting
-- role's COMMIT, under its search_path: an integer column (int8 to int4 on assignment)
-- and a text column (the formatted ID).
SELECT seqguard_create_series('HP', 'HP-{seq:3}');
SELECT seqguard_create_series('HPN', '{seq}', start_value => 70);
CREATE TABLE hp_ledger (num integer, ref text, note text);
SELECT seqguard_attach('hp_ledger', 'num', 'HPN');
SELECT seqguard_attach('hp_ledger', 'ref', 'HP');
GRANT INSERT ON hp_ledger TO regress_hp_attacker;
SET ROLE regress_hp_attacker;
SET search_path = hp_mal, pg_catalog;
BEGIN;
INSERT INTO public.hp_ledger (note) VALUES ('x'), ('y');
COMMIT;
RESET search_path;
RESET ROLE;
SELECT num, ref, note FROM hp_ledger ORDER BY note;

-- Nothing planted ran, and the attacker is no superuser.
SELECT count(*) AS planted_code_ran, string_agg(DISTINCT fn || ' as ' || by_user, ', ') AS what FROM hp_mal.calls;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_hp_attacker';
-- The check can fail: resolved through that path, a planted function does run.
SET ROLE regress_hp_attacker;
SET search_path = hp_mal, pg_catalog;
SELECT max(1::bigint) AS hijacked_max;
RESET search_path;
RESET ROLE;
SELECT fn, by_user FROM hp_mal.calls;

-- 5. Sequences protect may move. A role allowed to run seqguard_protect owns a table
-- whose column draws from a sequence of someone else's schema, on which it holds USAGE
-- (nextval) but not UPDATE (setval): protect refuses before it installs or moves anything.
CREATE SCHEMA hp_victim AUTHORIZATION regress_hp_victim;
CREATE SEQUENCE hp_victim.invoice_seq;
ALTER SEQUENCE hp_victim.invoice_seq OWNER TO regress_hp_victim;
GRANT USAGE ON SCHEMA hp_victim TO regress_hp_attacker;
GRANT USAGE ON SEQUENCE hp_victim.invoice_seq TO regress_hp_attacker;
GRANT EXECUTE ON FUNCTION seqguard_protect(regclass) TO regress_hp_attacker, regress_hp_victim;
SET ROLE regress_hp_attacker;
CREATE TABLE hp_mal.grab (id bigint PRIMARY KEY DEFAULT nextval('hp_victim.invoice_seq'));
INSERT INTO hp_mal.grab VALUES (9223372036854775806);
SELECT pg_temp.err($$SELECT setval('hp_victim.invoice_seq', 9223372036854775806)$$);
SELECT pg_temp.err($$SELECT seqguard_protect('hp_mal.grab')$$);
RESET ROLE;
SELECT count(*) AS triggers_installed FROM pg_trigger WHERE tgrelid = 'hp_mal.grab'::regclass;
SELECT pg_temp.next_of('hp_victim.invoice_seq') AS victim_next;

-- The trigger: the victim protects its own table and lets the attacker insert. The
-- attacker's explicit value leaves the victim's sequence where it is (with a WARNING),
-- and seqguard_check_drift() shows it behind.
CREATE TABLE hp_victim.orders (id bigint PRIMARY KEY DEFAULT nextval('hp_victim.invoice_seq'), note text);
ALTER TABLE hp_victim.orders OWNER TO regress_hp_victim;
SET ROLE regress_hp_victim;
SELECT seqguard_protect('hp_victim.orders');
GRANT INSERT ON hp_victim.orders TO regress_hp_attacker;
RESET ROLE;
SET ROLE regress_hp_attacker;
INSERT INTO hp_victim.orders (id, note) VALUES (9223372036854775806, 'end of range');
INSERT INTO hp_victim.orders (note) VALUES ('default');
RESET ROLE;
SELECT id, note FROM hp_victim.orders ORDER BY id;
SELECT pg_temp.next_of('hp_victim.invoice_seq') AS victim_next;
SELECT table_name, column_name, sequence_name, next_value, column_max, status
  FROM seqguard_check_drift('hp_victim');

DROP TABLE hp_accounts, hp_down, hp_small, hp_drifted, hp_ledger;
DROP SEQUENCE hp_int_seq, hp_down_seq, hp_small_seq, hp_late_seq;
SELECT seqguard_drop_series('HP'), seqguard_drop_series('HPN');
SET client_min_messages = warning;
DROP SCHEMA hp_mal, hp_victim CASCADE;
RESET client_min_messages;
DROP OWNED BY regress_hp_attacker, regress_hp_victim;
DROP ROLE regress_hp_attacker, regress_hp_victim;
