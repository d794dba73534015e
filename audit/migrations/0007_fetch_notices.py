"""FetchEvent.notices: what a fetch found that the go command tolerates (issue 11).

As in 0006, a column with a constant default rewrites no row on PostgreSQL 11+, so the
append-only trigger of 0005 is not involved.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_request_id")]

    operations = [
        migrations.AddField(
            model_name="fetchevent",
            name="notices",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
    ]
