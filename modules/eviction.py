"""Removing a version from the cache (the staff "evict" action).

The version's row goes first, then its objects: an object without a READY row is never
served, so a crash between the two leaves nothing visible. The row is locked before
anything is deleted, so a digest build of the same version (modules/browse/digest.py
locks the row too) either finishes before the eviction or finds the row gone; without
the lock the cascade could miss the file index the build was inserting, and the
eviction would fail on the foreign key.
"""

from django.db import transaction

from modules.browse import digest
from modules.fetch import artifact_key, modules_storage
from modules.models import Module, ModuleVersion


def evict(row: ModuleVersion) -> bool:
    """Evict a cached version; the module's row goes too when no version is left.
    False if the version was already gone (evicted by someone else meanwhile)."""
    module, version = row.module.path, row.version
    with transaction.atomic():
        if not ModuleVersion.objects.select_for_update().filter(pk=row.pk).exists():
            return False
        ModuleVersion.objects.filter(pk=row.pk).delete()
        if not ModuleVersion.objects.filter(module_id=row.module_id).exists():
            Module.objects.filter(pk=row.module_id).delete()
    digest.refresh_module(row.module_id)  # @latest and retractions without this version
    storage = modules_storage()
    for key in {artifact_key(module, version, "info"), artifact_key(module, version, "mod"), row.zip_key}:
        if storage.exists(key):
            storage.delete(key)
    return True
