"""`manage.py build_digests [--rebuild]`: build the browsing digests of cached versions.

A version cached before digests existed gets its digest on its first page view; this
builds them all ahead of time (after an upgrade, so that no visitor pays for a large
module), or with --rebuild replaces every one (after a change to how READMEs are
rendered). Each version is built in its own transaction and a failure is reported and
skipped, so the command can be stopped and run again.
"""

from django.core.management.base import BaseCommand

from modules.browse import digest
from modules.browse.models import VersionDigest
from modules.models import ModuleVersion


class Command(BaseCommand):
    help = "Build the browsing digests (README, file index, go.mod facts) of cached versions that have none."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="replace the digests that exist too")

    def handle(self, *args, rebuild, **options):
        # A version whose zip is not cached yet has nothing to index (issue 12).
        versions = ModuleVersion.objects.filter(state=ModuleVersion.State.READY, zip_cached=True).select_related("module")
        if not rebuild:
            versions = versions.exclude(pk__in=VersionDigest.objects.values("version_id"))
        built = failed = 0
        module_ids = set()
        for row in versions.defer("go_mod").order_by("pk").iterator(chunk_size=100):
            row = ModuleVersion.objects.select_related("module").filter(pk=row.pk).first()  # its go.mod, one at a time
            if row is None:
                continue  # evicted meanwhile
            try:
                stored = digest.build(row, replace=rebuild)
            except Exception as exc:  # noqa: BLE001 - one broken version must not stop the rest
                failed += 1
                self.stderr.write(f"{row.module.path}@{row.version}: {exc}")
                continue
            if stored.zip_error:
                self.stderr.write(f"{row.module.path}@{row.version}: {stored.zip_error}")
            built += 1
            module_ids.add(row.module_id)
        for module_id in module_ids:
            digest.refresh_module(module_id)
        self.stdout.write(f"built {built} digest(s) for {len(module_ids)} module(s); {failed} failed")
