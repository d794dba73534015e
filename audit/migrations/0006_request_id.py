"""The request id (X-Request-ID) on download and fetch events.

Adding a column with a constant default is an ALTER TABLE that rewrites no row on
PostgreSQL 11+, so the append-only trigger of 0005 (UPDATE/DELETE) is not involved and
no `athens.audit_retention` flag is needed. The default stays in the database
(db_default), so rows inserted by processes still running the previous code get "".
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_only_trigger")]

    operations = [
        migrations.AddField(
            model_name="downloadevent",
            name="request_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AddField(
            model_name="fetchevent",
            name="request_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
