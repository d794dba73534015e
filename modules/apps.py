"""Django app configuration for the module cache."""

import os

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _private_sqlite_files(sender, connection, **kwargs):
    """SQLite creates its files with the umask's mode (0644): the database holds API
    tokens and the audit, so its owner only may read it."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, f"{name}-wal", f"{name}-shm", f"{name}-journal"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            pass  # not there (yet), or not ours


def _group_deleted(sender, instance, **kwargs):
    """A deleted group leaves the policy rules that named it (modules/policy/changes.py)."""
    from modules.policy.changes import forget_group

    forget_group(instance)


class ModulesConfig(AppConfig):
    name = "modules"
    verbose_name = "Module cache"

    def ready(self):
        from django.contrib.auth.models import Group
        from django.db.models.signals import pre_delete

        connection_created.connect(_private_sqlite_files, dispatch_uid="athens-private-sqlite-files")
        pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="athens-policy-forget-group")
