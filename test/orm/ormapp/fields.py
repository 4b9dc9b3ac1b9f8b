"""Two model fields for columns that seqguard fills (the recipes of docs/orm.md).

Django 3.2 has no notion of a database-side default (db_default came in 5.0): it sends
every field's value at INSERT, NULL included, which would override the column's
DEFAULT next_formatted_id(...). And its save() of an existing row writes every field
back, so an object loaded before a late-bound number was assigned would write NULL over
it."""
from django.db import models
from django.db.models import F
from django.db.models.expressions import Expression


class DatabaseDefault(Expression):
    """The SQL keyword DEFAULT as a value: the column's own DEFAULT applies."""

    def as_sql(self, compiler, connection):
        return "DEFAULT", []


class DatabaseDefaultField(models.CharField):
    """A column whose value comes from its DEFAULT (DEFAULT next_formatted_id('X')).

    An INSERT of an object that has no value sends DEFAULT, and db_returning has Django
    read the number back with RETURNING, as for the primary key: after save() or
    bulk_create() the object holds its number. An explicit value is inserted as is."""

    db_returning = True

    def __init__(self, *args, **kwargs):
        # It has no value before the INSERT: full_clean() must not call that an error
        # (it skips fields that are not editable), and forms have nothing to edit.
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_default(self):
        # A CharField without a default starts as '', which would be inserted as is.
        return super().get_default() if self.has_default() else None

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if add and value is None:
            return DatabaseDefault(output_field=self)
        return value


class LateBoundField(models.CharField):
    """A late-bound column (seqguard_attach): NULL until the inserting transaction
    commits, then numbered by the database.

    The object saved at INSERT never learns its number by itself (read it back with
    refresh_from_db() after the commit). When such a stale object is saved again, the
    field writes the column onto itself (SET number = number) instead of the NULL it
    holds, so the number stays and seqguard's guard has nothing to refuse. Assigning a
    value still writes it (and the guard refuses changing an assigned number)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if not add and value is None:
            return F(self.attname)
        return value
