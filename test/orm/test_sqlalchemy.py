"""seqguard through SQLAlchemy 1.4 (Debian's python3-sqlalchemy) and psycopg2: the recipes
of docs/orm.md, run against a real server."""
import os
import re
import threading

from sqlalchemy import (Column, DDL, FetchedValue, Integer, MetaData, Table, Text, create_engine,
                        event, func, insert, select, text)
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

from harness import APP_ROLE, check, expect, expect_sqlstate, finish, fresh_database, sql

DB = "orm_sqlalchemy"
fresh_database(DB)
engine = create_engine(
    URL.create("postgresql+psycopg2", username=APP_ROLE, database=DB,
               query={"host": os.environ["PGHOST"], "port": os.environ["PGPORT"]}),
    future=True, pool_size=8)

Base = declarative_base()
# The series are created with the tables, by create_all: if_not_exists makes that safe to
# run again (a second create_all, another service starting with the same metadata).
for name, template in [("INV", "INV-{seq:4}"), ("LAZY", "LZ-{seq:4}"), ("BULK", "B-{seq:5}"),
                       ("CONC", "C-{seq:5}"), ("RCP", "RCP-{seq:4}")]:
    event.listen(Base.metadata, "before_create", DDL(
        "SELECT seqguard_create_series('{}', '{}', if_not_exists => true)".format(name, template)))


class Invoice(Base):
    """Immediate numbering: the column's DEFAULT draws the number at INSERT, and
    eager_defaults has the ORM read it back in the same statement (RETURNING)."""
    __tablename__ = "invoices"
    __mapper_args__ = {"eager_defaults": True}
    id = Column(Integer, primary_key=True)
    number = Column(Text, server_default=text("next_formatted_id('INV')"), unique=True, nullable=False)
    customer = Column(Text)


class LazyInvoice(Base):
    """The same without eager_defaults: the number is expired after the flush and loaded
    by a SELECT when first read."""
    __tablename__ = "lazy_invoices"
    id = Column(Integer, primary_key=True)
    number = Column(Text, server_default=text("next_formatted_id('LAZY')"), unique=True, nullable=False)


class Bulk(Base):
    __tablename__ = "bulk"
    __mapper_args__ = {"eager_defaults": True}
    id = Column(Integer, primary_key=True)
    number = Column(Text, server_default=text("next_formatted_id('BULK')"), unique=True, nullable=False)
    source = Column(Text)


conc = Table("conc", Base.metadata,
             Column("id", Integer, primary_key=True),
             Column("number", Text, server_default=text("next_formatted_id('CONC')"), unique=True, nullable=False),
             Column("worker", Integer))


class Receipt(Base):
    """Late-bound: the column has no DEFAULT; seqguard writes the number at COMMIT.
    FetchedValue tells SQLAlchemy the server fills it (never sent as NULL at INSERT)."""
    __tablename__ = "receipts"
    id = Column(Integer, primary_key=True)
    number = Column(Text, FetchedValue(), unique=True)
    customer = Column(Text)


event.listen(Receipt.__table__, "after_create", DDL("SELECT seqguard_attach('receipts', 'number', 'RCP')"))


def numbers(table, prefix):
    """Every number of `table`, as integers, checked against the series' template."""
    out = []
    for (number,) in sql(DB, "SELECT number FROM {}".format(table)):
        m = re.fullmatch(re.escape(prefix) + r"(\d+)", number or "")
        expect(m, "{}: {!r} does not match the template".format(table, number))
        out.append(int(m.group(1)))
    return out


@check("sqlalchemy create_all creates the series and tables, and runs twice")
def _():
    Base.metadata.create_all(engine)
    Base.metadata.create_all(engine)  # the series exist: left alone (NOTICE), no error
    (default,) = sql(DB, "SELECT column_default FROM information_schema.columns "
                         "WHERE table_name = 'invoices' AND column_name = 'number'")[0]
    expect(default == "next_formatted_id('INV'::text)", "unexpected default " + repr(default))
    expect(sql(DB, "SELECT seqguard_peek('INV')") == [("INV-0001",)], "INV does not start at 1")
    expect(sql(DB, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'receipts'::regclass "
                   "AND tgname = 'seqguard_late_number'") == [(1,)], "receipts is not late-bound")


@check("sqlalchemy core insert returns the number (RETURNING)")
def _():
    with engine.begin() as conn:
        number = conn.execute(insert(Invoice.__table__).values(customer="core")
                              .returning(Invoice.__table__.c.number)).scalar_one()
    expect(number == "INV-0001", "RETURNING gave " + repr(number))


@check("sqlalchemy orm eager_defaults reads the number at flush")
def _():
    with Session(engine) as session, session.begin():
        inv = Invoice(customer="orm")
        session.add(inv)
        session.flush()
        # Read by the INSERT's RETURNING: already in the object's state, no SELECT needed.
        expect("number" in inv.__dict__, "number not loaded by the flush")
        expect(inv.number == "INV-0002", "flush gave " + repr(inv.number))
        pk = inv.id
    expect(sql(DB, "SELECT number FROM invoices WHERE id = %s", (pk,)) == [("INV-0002",)],
           "the stored number differs from the one read back")


@check("sqlalchemy orm without eager_defaults loads the number on access or refresh")
def _():
    with Session(engine) as session, session.begin():
        a, b = LazyInvoice(), LazyInvoice()
        session.add_all([a, b])
        session.flush()
        expect("number" not in a.__dict__, "number loaded without eager_defaults")
        expect(a.number == "LZ-0001", "attribute access gave " + repr(a.number))
        session.refresh(b)
        expect(b.number == "LZ-0002", "refresh gave " + repr(b.number))


@check("sqlalchemy bulk inserts (orm, executemany, insert from select) number 1..N once each")
def _():
    with Session(engine) as session, session.begin():
        objs = [Bulk(source="orm") for _ in range(300)]
        session.add_all(objs)
        session.flush()
        given = [o.number for o in objs]
    with engine.begin() as conn:
        conn.execute(insert(Bulk.__table__), [{"source": "executemany"}] * 1000)
        conn.execute(insert(Bulk.__table__).from_select(
            ["source"], select(text("'select'")).select_from(func.generate_series(1, 700))))
    got = numbers("bulk", "B-")
    expect(len(got) == 2000, "{} rows".format(len(got)))
    expect(sorted(got) == list(range(1, 2001)), "numbers are not exactly 1..2000 (duplicates or gaps)")
    expect(given == ["B-{:05d}".format(i) for i in range(1, 301)],
           "the ORM objects did not get 1..300 in insertion order")


@check("sqlalchemy concurrent sessions with rollbacks leave 1..N gapless")
def _():
    committed = [0]
    errors = []
    lock = threading.Lock()

    def worker(w):
        try:
            for i in range(20):
                with engine.connect() as conn:
                    tx = conn.begin()
                    conn.execute(insert(conc), [{"worker": w}] * 3)
                    if i % 3 == 2:
                        tx.rollback()  # its three numbers are handed out again
                    else:
                        tx.commit()
                        with lock:
                            committed[0] += 3
        except Exception as e:  # reported below: a thread cannot fail the check itself
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(not errors, "worker errors: " + "; ".join(errors))
    got = numbers("conc", "C-")
    expect(committed[0] == 4 * 14 * 3, "committed {} rows".format(committed[0]))
    expect(sorted(got) == list(range(1, committed[0] + 1)),
           "numbers are not exactly 1..{} (duplicates or gaps)".format(committed[0]))


@check("sqlalchemy late-bound number: NULL until commit, loaded after it (expire_on_commit)")
def _():
    session = Session(engine)  # expire_on_commit=True, the default
    r = Receipt(customer="a")
    session.add(r)
    session.flush()
    expect(r.number is None, "number before commit: " + repr(r.number))
    session.commit()
    # Every attribute was expired by the commit: this access runs a SELECT.
    expect(r.number == "RCP-0001", "after commit: " + repr(r.number))
    session.close()


@check("sqlalchemy late-bound number: FetchedValue loads it on first access after commit")
def _():
    session = Session(engine, expire_on_commit=False)
    r = Receipt(customer="b")
    session.add(r)
    session.commit()
    # FetchedValue left the attribute unloaded at the flush: read now, after the commit.
    expect("number" not in r.__dict__, "number loaded before commit: " + repr(r.__dict__.get("number")))
    expect(r.number == "RCP-0002", "first access after commit: " + repr(r.number))
    session.close()


@check("sqlalchemy late-bound number read before commit stays stale until refresh")
def _():
    session = Session(engine, expire_on_commit=False)
    r = Receipt(customer="c")
    session.add(r)
    session.flush()
    expect(r.number is None, "number before commit: " + repr(r.number))
    session.commit()
    expect(r.number is None, "the object was refreshed by itself: " + repr(r.number))
    session.refresh(r)
    expect(r.number == "RCP-0003", "after refresh: " + repr(r.number))
    session.close()


@check("sqlalchemy stale late-bound object: the update writes only what changed, number kept")
def _():
    session = Session(engine, expire_on_commit=False)
    r = Receipt(customer="d")
    session.add(r)
    session.flush()
    expect(r.number is None, "number before commit: " + repr(r.number))
    session.commit()
    expect(r.number is None, "not stale")  # RCP-0004 in the database, None here
    r.customer = "d2"
    session.commit()  # UPDATE receipts SET customer=... : the number is not in it
    session.close()
    expect(sql(DB, "SELECT number, customer FROM receipts WHERE id = %s", (r.id,)) == [("RCP-0004", "d2")],
           "the stale save changed the number")


@check("sqlalchemy clearing an assigned late-bound number is refused (23001)")
def _():
    with Session(engine) as session:
        r = session.execute(select(Receipt).where(Receipt.number == "RCP-0001")).scalar_one()
        r.number = None
        r.customer = "cleared"
        try:
            session.commit()
        except IntegrityError as e:
            expect_sqlstate(e, "23001")
        else:
            raise AssertionError("the number was cleared")
    expect(sql(DB, "SELECT number, customer FROM receipts WHERE customer IN ('a', 'cleared')")
           == [("RCP-0001", "a")], "the refused UPDATE left something behind")


engine.dispose()
finish()
