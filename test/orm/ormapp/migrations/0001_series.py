from django.db import migrations


class Migration(migrations.Migration):
    """The series. if_not_exists => true leaves an identical series alone (a NOTICE), so
    the migration may run again: after `migrate ormapp zero`, on a database restored
    with its series, or from two apps that share one. A series of the same name with
    another definition still fails (42710). Going back keeps the series: dropping it
    would throw away its counters, and numbers issued already would be issued again."""

    initial = True
    dependencies = []
    operations = [
        migrations.RunSQL(
            "SELECT seqguard_create_series('{}', '{}', if_not_exists => true)".format(name, template),
            reverse_sql=migrations.RunSQL.noop)
        for name, template in [("DINV", "DINV-{seq:4}"), ("DRCP", "DRCP-{seq:4}"),
                               ("DVCH", "DVCH-{seq:4}"), ("DTKT", "DTKT-{seq:4}")]
    ]
