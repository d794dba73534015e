"""Tell every process when a proxy token, a user or a group membership changes, so
that the tokens each process keeps verified in memory (modules/tokens/client_auth.py,
modules/hot_cache.py) are dropped: a revoked token is refused in every web process as
soon as PostgreSQL delivers the notification, at the commit of the revocation.

Only the columns that change what a token may do: an UPDATE of `last_used` (written once
a minute per token in use) or of a user's `last_login` must not empty every process's
caches. The rules' groups (modules_policyrule_groups) change the policy like the rules
themselves. Uses athens_cache_notify() of migration 0005; PostgreSQL only, as there.
"""

from django.db import migrations

TRIGGERS = {
    "modules_apitoken": "INSERT OR DELETE OR TRUNCATE OR UPDATE OF user_id, kind, digest, name, expires, revoked",
    "auth_user": "DELETE OR TRUNCATE OR UPDATE OF username, is_active",
    "auth_user_groups": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "modules_policyrule_groups": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, events in TRIGGERS.items():
        schema_editor.execute(
            f"CREATE TRIGGER {table}_cache_notify AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION athens_cache_notify()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_cache_notify ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("modules", "0012_proxy_tokens_and_rule_groups"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
