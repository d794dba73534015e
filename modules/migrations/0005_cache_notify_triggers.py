"""Tell every process when cached rules or versions change (modules/hot_cache.py).

On PostgreSQL, statement-level triggers send a notification on the `athens_cache`
channel whenever a statement changes the policy rules, or changes or deletes module
versions (an eviction). PostgreSQL delivers it to the listeners when the transaction
commits, and not at all if it rolls back. Inserting a version needs no notification:
the caches hold only versions already found. Other databases get no trigger, and the
caches are not used there.
"""

from django.db import migrations

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION athens_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('athens_cache', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
"""

TRIGGERS = {
    "modules_policyrule": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "modules_moduleversion": "UPDATE OR DELETE OR TRUNCATE",
    "modules_module": "UPDATE OR DELETE OR TRUNCATE",
}


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
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
    schema_editor.execute("DROP FUNCTION IF EXISTS athens_cache_notify()")


class Migration(migrations.Migration):
    dependencies = [("modules", "0004_resolvedquery_plural")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
