from django.db import migrations, models

import ormapp.fields


def model(name, number_field):
    return migrations.CreateModel(
        name=name,
        fields=[
            ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("number", number_field),
            ("customer", models.TextField()),
        ])


class Migration(migrations.Migration):
    dependencies = [("ormapp", "0001_series")]
    operations = [
        model("Invoice", ormapp.fields.DatabaseDefaultField(max_length=20, unique=True)),
        # Django 3.2 cannot declare a database default: set it in SQL.
        migrations.RunSQL(
            "ALTER TABLE ormapp_invoice ALTER COLUMN number SET DEFAULT next_formatted_id('DINV')",
            reverse_sql="ALTER TABLE ormapp_invoice ALTER COLUMN number DROP DEFAULT"),
        model("Receipt", models.CharField(max_length=20, unique=True, null=True)),
        migrations.RunSQL("SELECT seqguard_attach('ormapp_receipt', 'number', 'DRCP')",
                          reverse_sql="SELECT seqguard_detach('ormapp_receipt', 'number')"),
        model("Voucher", models.CharField(max_length=20, unique=True, null=True)),
        migrations.RunSQL("SELECT seqguard_attach('ormapp_voucher', 'number', 'DVCH', on_change => 'keep')",
                          reverse_sql="SELECT seqguard_detach('ormapp_voucher', 'number')"),
        model("Ticket", ormapp.fields.LateBoundField(max_length=20, unique=True)),
        migrations.RunSQL("SELECT seqguard_attach('ormapp_ticket', 'number', 'DTKT')",
                          reverse_sql="SELECT seqguard_detach('ormapp_ticket', 'number')"),
    ]
