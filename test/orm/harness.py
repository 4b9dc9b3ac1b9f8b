"""What the ORM tests share: one fresh database per test file, and checks that print
"orm: ok <name>" or "orm: FAILED <name>" so that scripts/test can count them.

The server is the scratch cluster test/orm/run started: libpq finds it through PGHOST
(its socket directory), PGPORT and PGUSER (a superuser, for set-up and for reading
what the ORMs wrote)."""
import os
import sys
import traceback

import psycopg2

FAILED = []


# The ORMs connect as this role, as applications do: no superuser, the owner of its
# database (so of the schema public, where it creates its tables), allowed to run the
# administration functions its migrations call, as the extension owner may allow.
APP_ROLE = "regress_orm_app"


def dsn(dbname, user=None):
    return "host={} port={} user={} dbname={}".format(
        os.environ["PGHOST"], os.environ["PGPORT"], user or os.environ.get("PGUSER", "postgres"), dbname)


def fresh_database(name):
    """Drops and creates database `name`, owned by APP_ROLE, with the extension in it."""
    admin = psycopg2.connect(dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "{0}"'.format(name))
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
        if not cur.fetchone():
            cur.execute("CREATE ROLE regress_orm_app LOGIN")
        cur.execute('CREATE DATABASE "{0}" OWNER regress_orm_app'.format(name))
    admin.close()
    conn = psycopg2.connect(dsn(name))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION seqguard")  # seqguard is not trusted: a superuser installs it
        cur.execute("GRANT EXECUTE ON FUNCTION seqguard_create_series, seqguard_attach, seqguard_detach "
                    "TO regress_orm_app")
    conn.close()


def sql(dbname, query, params=None):
    """Runs one statement in its own committed transaction; returns all rows, if any."""
    conn = psycopg2.connect(dsn(dbname))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def check(name):
    """Runs the decorated function at once as the check `name`."""
    def run(fn):
        try:
            fn()
        except Exception:  # any failure, assertion or error, fails this check only
            FAILED.append(name)
            print("orm: FAILED " + name)
            traceback.print_exc(file=sys.stdout)
        else:
            print("orm: ok " + name)
        sys.stdout.flush()
        return fn
    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_sqlstate(exc, sqlstate):
    """The driver error under an ORM exception must carry `sqlstate`."""
    orig = getattr(exc, "orig", None) or getattr(exc, "__cause__", None) or exc
    code = getattr(orig, "pgcode", None)
    expect(code == sqlstate, "expected SQLSTATE {}, got {} ({!r})".format(sqlstate, code, exc))


def finish():
    sys.exit(2 if FAILED else 0)  # test/orm/run tells this from a crash (1)
