"""API tokens stored as SHA-256 digests (modules/tokens/), replacing DRF's plain-text
rest_framework.authtoken tokens.

Every existing authtoken row becomes an ApiToken named "migrated" whose digest is the
hash of the old key (clients keep working with the same key), then the plain-text rows
are deleted (modules/tokens/legacy.py). Reversing drops the new table: the old keys
cannot be recovered from their digests.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from modules.tokens import legacy


class Migration(migrations.Migration):

    dependencies = [
        ("modules", "0010_fetch_failure_public_message"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("api", "API")], default="api", max_length=16)),
                ("name", models.CharField(blank=True, default="", max_length=100)),
                ("prefix", models.CharField(db_index=True, max_length=8)),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("last_used", models.DateTimeField(blank=True, null=True)),
                ("expires", models.DateTimeField(blank=True, null=True)),
                ("revoked", models.DateTimeField(blank=True, null=True)),
                ("user", models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="api_tokens", to=settings.AUTH_USER_MODEL,
                )),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created", "-id"],
            },
        ),
        migrations.RunPython(legacy.forwards, migrations.RunPython.noop, elidable=False),
    ]
