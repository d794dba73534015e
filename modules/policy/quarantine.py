"""How long this proxy has known a version, for quarantine rules.

A quarantine (an allow rule with `min_age_days`) holds a version back until this proxy
has known it for that many days. Known since the proxy's first fetch of it: the fetch
whose FetchEvent recorded it and whose ModuleVersion row keeps the time
(`fetched_at`). Never the upstream's `.info` Time, nor a pseudo-version's timestamp:
both are the commit date, which the author sets, so a version made today could say
2015 and walk past a quarantine (issue 21).

A version not cached yet has no age. A download of it is fetched, which starts its
clock, and then refused until its quarantine is over (views/goproxy.py); lists and
@latest leave it out meanwhile (`or_now`), so the go command is never offered a version
it would then be refused.
"""

from datetime import datetime

from django.utils import timezone

from modules.models import ModuleVersion


class FirstSeen:
    """`first_seen(version)`: when this proxy first fetched module@version, None if it
    has not (one query for all of the module's versions, on first use)."""

    def __init__(self, module: str):
        self.module = module
        self._known: dict[str, datetime] | None = None

    def __call__(self, version: str) -> datetime | None:
        if self._known is None:
            rows = ModuleVersion.objects.filter(module__path=self.module, state=ModuleVersion.State.READY)
            self._known = dict(rows.values_list("version", "fetched_at"))
        return self._known.get(version)

    def or_now(self, version: str) -> datetime:
        """For lists and @latest: a version not fetched yet counts as seen just now."""
        return self(version) or timezone.now()
