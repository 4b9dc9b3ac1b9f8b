from django.db import models

from .fields import DatabaseDefaultField, LateBoundField


class Invoice(models.Model):
    """Immediate numbering: DEFAULT next_formatted_id('DINV') (set by migration 0002)."""
    number = DatabaseDefaultField(max_length=20, unique=True)
    customer = models.TextField()


class Receipt(models.Model):
    """Late-bound, refused changes (seqguard_attach's default on_change => 'error'),
    declared as a plain field: what an application has before it reads docs/orm.md."""
    number = models.CharField(max_length=20, unique=True, null=True)
    customer = models.TextField()


class Voucher(models.Model):
    """Late-bound with on_change => 'keep': an update that would change the number
    goes through, and the number is kept."""
    number = models.CharField(max_length=20, unique=True, null=True)
    customer = models.TextField()


class Ticket(models.Model):
    """Late-bound (on_change => 'error'), declared with LateBoundField."""
    number = LateBoundField(max_length=20, unique=True)
    customer = models.TextField()
