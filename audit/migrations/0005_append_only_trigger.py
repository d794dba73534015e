"""Append-only for real: on PostgreSQL, refuse UPDATE and DELETE of audit events.

The application never changes audit rows (AppendOnlyModel), but raw SQL, a shell or a
bulk queryset method could. This trigger refuses them in the database itself, unless
the transaction set ``athens.audit_retention`` to ``on`` with
``set_config('athens.audit_retention', 'on', true)``, which only the retention task does
(audit/tasks.py). A statement-level trigger: one check per statement, not per row, so
the retention task's batch deletes cost nothing extra. TRUNCATE fires no UPDATE/DELETE
trigger, so test-database flushes (and a deliberate TRUNCATE by an administrator) still
work. Other databases (SQLite, the embedded default) get no trigger.

A later migration that must rewrite audit rows (a data migration, or AlterField adding
a default to existing rows) sets the flag first, in its own transaction:
``migrations.RunSQL("SELECT set_config('athens.audit_retention', 'on', true)")``.
"""

from django.db import migrations

TABLES = ("audit_downloadevent", "audit_fetchevent")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('athens.audit_retention', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only the retention task (audit.tasks.apply_retention) deletes audit events.';
END
$$;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # no placeholders: its % are plpgsql
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_rollups_and_report_indexes")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
