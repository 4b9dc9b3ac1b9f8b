"""seqguard through Django 3.2 (Debian's python3-django): the app in ormapp/ with its
migrations, run against a real server. The recipes are in docs/orm.md."""
import os

import django
from django.conf import settings

from harness import APP_ROLE, check, expect, expect_sqlstate, finish, fresh_database, sql

DB = "orm_django"
fresh_database(DB)
settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": DB,
        "HOST": os.environ["PGHOST"], "PORT": os.environ["PGPORT"],
        "USER": APP_ROLE}},
    INSTALLED_APPS=["ormapp"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True)
django.setup()

from django.core.management import call_command  # noqa: E402 (needs the settings)
from django.db import IntegrityError, ProgrammingError, connection, migrations, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from ormapp.models import Invoice, Receipt, Ticket, Voucher  # noqa: E402


def row(table, pk):
    return sql(DB, "SELECT number, customer FROM ormapp_{} WHERE id = %s".format(table), (pk,))[0]


def expect_refused(obj, **save_args):
    """obj.save() must fail with 23001 and leave the transaction usable."""
    try:
        obj.save(**save_args)
    except IntegrityError as e:
        expect_sqlstate(e, "23001")
    else:
        raise AssertionError("the save went through")


@check("django migrations create the series, the default and the late-bound triggers")
def _():
    call_command("migrate", "ormapp", verbosity=0)
    (default,) = sql(DB, "SELECT column_default FROM information_schema.columns "
                         "WHERE table_name = 'ormapp_invoice' AND column_name = 'number'")[0]
    expect(default == "next_formatted_id('DINV'::text)", "unexpected default " + repr(default))
    triggers = sql(DB, "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                       "WHERE tgrelid::regclass::text LIKE 'ormapp_%' ORDER BY 1, 2")
    expect(triggers == [(t, n) for t in ("ormapp_receipt", "ormapp_ticket", "ormapp_voucher")
                        for n in ("seqguard_keep_number", "seqguard_late_number")],
           "late-bound triggers: " + repr(triggers))
    # The migrations describe the models exactly (the custom fields deconstruct as declared).
    call_command("makemigrations", "ormapp", check=True, dry_run=True, verbosity=0)


@check("django save() reads the number from the database default (RETURNING)")
def _():
    inv = Invoice(customer="a")
    inv.full_clean()  # no number yet, and that is valid
    with CaptureQueriesContext(connection) as queries:
        inv.save()
    expect(inv.number == "DINV-0001", "save() gave " + repr(inv.number))
    expect(len(queries) == 1 and "RETURNING" in queries[0]["sql"] and "DEFAULT" in queries[0]["sql"],
           "not one INSERT ... DEFAULT ... RETURNING: " + repr([q["sql"] for q in queries]))
    b = Invoice.objects.create(customer="b")
    expect(b.number == "DINV-0002", "create() gave " + repr(b.number))
    expect(row("invoice", b.pk) == ("DINV-0002", "b"), "stored: " + repr(row("invoice", b.pk)))
    # An explicit value is inserted as is and consumes no number.
    Invoice.objects.create(number="MANUAL-1", customer="m")
    expect(Invoice.objects.create(customer="c").number == "DINV-0003", "the explicit value consumed a number")


@check("django bulk_create numbers 1..N once each and reads every number back")
def _():
    objs = Invoice.objects.bulk_create([Invoice(customer="bulk") for _ in range(500)], batch_size=200)
    expect([o.number for o in objs] == ["DINV-{:04d}".format(i) for i in range(4, 504)],
           "bulk_create read back " + repr([o.number for o in objs][:5]) + "...")
    got = sorted(int(n[5:]) for (n,) in sql(DB, "SELECT number FROM ormapp_invoice WHERE number LIKE 'DINV-%'"))
    expect(got == list(range(1, 504)), "numbers are not exactly 1..503 (duplicates or gaps)")


@check("django migrations run again after migrate zero: the series and its counter stay")
def _():
    call_command("migrate", "ormapp", "zero", verbosity=0)
    expect(sql(DB, "SELECT to_regclass('ormapp_invoice')") == [(None,)], "the table survived migrate zero")
    expect(sql(DB, "SELECT seqguard_peek('DINV')") == [("DINV-0504",)], "the series was not kept")
    call_command("migrate", "ormapp", verbosity=0)  # 0001 again: identical series, no error
    expect(Invoice.objects.create(customer="again").number == "DINV-0504",
           "the counter restarted: numbers would be issued twice")


@check("django RunSQL creating a series that exists with another definition fails (42710)")
def _():
    op = migrations.RunSQL("SELECT seqguard_create_series('DINV', 'OTHER-{seq}', if_not_exists => true)")
    try:
        with connection.schema_editor(atomic=True) as editor:
            op.database_forwards("ormapp", editor, None, None)
    except ProgrammingError as e:
        expect_sqlstate(e, "42710")
    else:
        raise AssertionError("a series was silently redefined or ignored")
    expect(sql(DB, "SELECT seqguard_peek('DINV')") == [("DINV-0505",)], "the series changed")


@check("django late-bound number: NULL after save, read by refresh_from_db in on_commit")
def _():
    with transaction.atomic():
        r = Receipt.objects.create(customer="a")
        expect(r.number is None, "number before commit: " + repr(r.number))
        stored = Receipt.objects.filter(pk=r.pk).values_list("number", flat=True).get()
        expect(stored is None, "numbered before commit: " + repr(stored))
        transaction.on_commit(lambda: r.refresh_from_db(fields=["number"]))
    expect(r.number == "DRCP-0001", "after commit: " + repr(r.number))


@check("django save() again before the commit (number NULL written back): numbered at commit")
def _():
    with transaction.atomic():  # as with ATOMIC_REQUESTS: one transaction per request
        r = Receipt.objects.create(customer="e")
        r.customer = "e2"
        r.save()  # UPDATE ... SET number = NULL, customer = 'e2', before the number exists
    expect(row("receipt", r.pk) == ("DRCP-0002", "e2"), "stored: " + repr(row("receipt", r.pk)))


@check("django stale save() of a late-bound row is refused (23001), the row unchanged")
def _():
    r = Receipt.objects.create(customer="b")  # autocommit: numbered at once, None here
    expect(r.number is None, "not stale: " + repr(r.number))
    r.customer = "b2"
    expect_refused(r)  # UPDATE ... SET number = NULL, customer = 'b2'
    expect(row("receipt", r.pk) == ("DRCP-0003", "b"), "stored: " + repr(row("receipt", r.pk)))


@check("django row loaded before the commit and saved after it is refused (23001)")
def _():
    with transaction.atomic():
        r = Receipt.objects.create(customer="c")
        loaded = Receipt.objects.get(pk=r.pk)  # e.g. by a signal handler or a form
    expect(loaded.number is None, "not stale: " + repr(loaded.number))
    loaded.customer = "c2"
    expect_refused(loaded)
    expect(row("receipt", r.pk) == ("DRCP-0004", "c"), "stored: " + repr(row("receipt", r.pk)))


@check("django save(update_fields=...) of a stale late-bound object keeps the number")
def _():
    r = Receipt.objects.create(customer="d")
    r.customer = "d2"
    r.save(update_fields=["customer"])
    expect(row("receipt", r.pk) == ("DRCP-0005", "d2"), "stored: " + repr(row("receipt", r.pk)))
    r.refresh_from_db()
    expect(r.number == "DRCP-0005", "refresh_from_db gave " + repr(r.number))


@check("django on_change => 'keep': a stale save() goes through and the number is kept")
def _():
    v = Voucher.objects.create(customer="a")
    v.customer = "a2"
    v.save()  # SET number = NULL, customer = 'a2': the NULL is ignored
    expect(row("voucher", v.pk) == ("DVCH-0001", "a2"), "stored: " + repr(row("voucher", v.pk)))
    expect(v.number is None, "the object learnt its number by itself")
    v.number = "DVCH-9999"
    v.save()
    expect(row("voucher", v.pk) == ("DVCH-0001", "a2"), "another number was written")


@check("django LateBoundField: stale save() keeps the number, changing it is refused (23001)")
def _():
    with transaction.atomic():
        t = Ticket.objects.create(customer="a")
        t.customer = "a1"
        t.save()  # updated before commit: still numbered at commit
    expect(row("ticket", t.pk) == ("DTKT-0001", "a1"), "stored: " + repr(row("ticket", t.pk)))
    t.customer = "a2"
    t.save()  # stale (number None here): SET number = number
    expect(row("ticket", t.pk) == ("DTKT-0001", "a2"), "stored: " + repr(row("ticket", t.pk)))
    t.refresh_from_db()
    expect(t.number == "DTKT-0001", "refresh_from_db gave " + repr(t.number))
    t.number = "DTKT-9999"
    expect_refused(t)
    expect(row("ticket", t.pk) == ("DTKT-0001", "a2"), "the number changed")


connection.close()
finish()
