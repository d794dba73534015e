"""ModuleVersion.time becomes optional and ModuleVersion.notices appears (issue 11).

Both are safe on a populated database: existing rows keep their bytes (`info`,
`go_mod` are untouched), their time stays what it was, and their notices start empty.
Dropping NOT NULL and adding a column with a constant default rewrite no row on
PostgreSQL 11+, so the cache NOTIFY triggers of 0005 do not fire. The default stays in
the database (db_default), so rows inserted by processes still running the previous
code get [] too.
"""

from django.db import migrations, models
from django.db.models.functions import Cast


def fill_unknown_times(apps, schema_editor):
    ModuleVersion = apps.get_model("modules", "ModuleVersion")
    ModuleVersion.objects.filter(time__isnull=True).update(time=models.F("fetched_at"))


class Migration(migrations.Migration):
    dependencies = [("modules", "0005_cache_notify_triggers")]

    operations = [
        migrations.AddField(
            model_name="moduleversion",
            name="notices",
            field=models.JSONField(
                blank=True, default=list, db_default=Cast(models.Value("[]"), models.JSONField())
            ),
        ),
        migrations.AlterField(
            model_name="moduleversion",
            name="time",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Going back to NOT NULL needs a time on every row: the fetch time stands in.
        migrations.RunPython(migrations.RunPython.noop, reverse_code=fill_unknown_times),
    ]
