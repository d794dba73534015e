"""Answers for `@v/list`, `@latest` and `.info` queries.

Lists and @latest come from the upstreams, merged with the versions already cached (a
tag deleted upstream stays available). When the upstreams fail and ATHENS_NETWORK_MODE is
`fallback`, the last upstream answer plus the cache is served, so a build that worked
yesterday keeps working while the upstream is down; `strict` answers the error.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from audit.models import DownloadEvent
from modules.goproxy.versions import filter_list, latest_version

from . import negative_cache
from .fetch import recorded, upstream_chain
from .models import ModuleVersion, UpstreamListing
from .upstreams.base import VersionInfo
from .upstreams.errors import NotFound, UpstreamError

Cache = DownloadEvent.Cache


@dataclass(frozen=True)
class Answer:
    """A body to serve and where it came from (for the audit's cache column)."""

    body: bytes
    cache: str


def cached_versions(module: str) -> dict[str, str]:
    """READY versions of the module and their .info bodies."""
    rows = ModuleVersion.objects.filter(module__path=module, state=ModuleVersion.State.READY)
    return dict(rows.values_list("version", "info"))


def _from_upstreams(module: str, target: str, operation, details=None):
    """Ask the upstream chain, through the negative cache; remember failures."""
    negative_cache.check(module, target)
    endpoint = "list" if target == negative_cache.LIST else "latest"
    try:
        _, result = upstream_chain().first(recorded(module, "", endpoint, operation, details))
    except UpstreamError as error:
        negative_cache.remember(module, target, error)
        raise
    return result


def _may_fall_back(error: UpstreamError) -> bool:
    return not isinstance(error, NotFound) and settings.ATHENS_NETWORK_MODE == "fallback"


def version_list(module: str) -> Answer:
    """The `@v/list` body: upstream's releases merged with the cached ones."""
    cached = list(cached_versions(module))
    listing = UpstreamListing.objects.filter(module_path=module).first()
    try:
        upstream = _from_upstreams(module, negative_cache.LIST, lambda up: up.list(module))
    except NotFound:
        if not cached:
            raise
        upstream, cache = [], Cache.HIT
    except UpstreamError as error:
        if not _may_fall_back(error) or (listing is None and not cached):
            raise
        upstream, cache = (listing.version_list if listing else []), Cache.FALLBACK
    else:
        cache = Cache.UPSTREAM
        UpstreamListing.objects.update_or_create(
            module_path=module, defaults={"versions": "\n".join(upstream), "listed_at": timezone.now()}
        )
    versions = filter_list(module, [*upstream, *cached])
    return Answer("".join(f"{v}\n" for v in versions).encode(), cache)


def latest(module: str) -> Answer:
    """The `@latest` body: the better of upstream's answer and the newest cached version."""
    cached = cached_versions(module)
    best_cached = latest_version(cached) if cached else None
    try:
        info = _from_upstreams(module, negative_cache.LATEST, lambda up: up.latest(module))
    except NotFound:
        if best_cached is None:
            raise
        return Answer(cached[best_cached].encode(), Cache.HIT)
    except UpstreamError as error:
        if not _may_fall_back(error):
            raise
        if best_cached is not None:
            return Answer(cached[best_cached].encode(), Cache.FALLBACK)
        listing = UpstreamListing.objects.filter(module_path=module).exclude(latest_info="").first()
        if listing is None:
            raise
        return Answer(listing.latest_info.encode(), Cache.FALLBACK)
    UpstreamListing.objects.update_or_create(
        module_path=module, defaults={"latest_info": info.raw.decode(), "latest_at": timezone.now()}
    )
    if best_cached is not None and latest_version([info.version, best_cached]) == best_cached:
        return Answer(cached[best_cached].encode(), Cache.HIT)
    return Answer(info.raw, Cache.UPSTREAM)


def resolve_query(module: str, query: str) -> VersionInfo:
    """A non-canonical `.info` query (branch, commit, `v1.2`) resolved by the upstreams.

    The answer names a canonical version; it is not cached (the branch moves).
    """
    negative_cache.check(module, query)
    try:
        _, info = upstream_chain().first(recorded(module, query, "query", lambda up: up.info(module, query)))
    except UpstreamError as error:
        negative_cache.remember(module, query, error)
        raise
    return info
