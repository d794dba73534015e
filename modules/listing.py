"""Answers for `@v/list`, `@latest` and `.info` queries.

Lists and @latest come from the upstreams, merged with the versions already cached (a
tag deleted upstream stays available), and are reused for ATHENS_LIST_TTL seconds. When
the upstreams fail, ATHENS_NETWORK_MODE decides: `fallback` serves the last upstream
answer plus the cache (a build that worked yesterday keeps working while the upstream is
down), `strict` answers the error, `offline` never asks and serves only the cache.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit.models import DownloadEvent, FetchEvent
from audit.recorder import record_fetch
from modules.goproxy import semver
from modules.goproxy.versions import filter_list, latest_version

from . import cold_fetches, deadline, negative_cache
from .fetch import recorded, upstream_chain
from .models import ModuleVersion, ResolvedQuery, UpstreamListing
from .policy.quarantine import FirstSeen
from .policy.rules import Denied, Policy
from .upstreams.base import VersionInfo
from .upstreams.errors import NotFound, UpstreamError

Cache = DownloadEvent.Cache


@dataclass(frozen=True)
class Answer:
    """A body to serve and where it came from (for the audit's cache column)."""

    body: bytes
    cache: str

    @property
    def version(self) -> str:
        """The version an .info answer names (read as the go command reads it: keys
        match case-insensitively, so `json.loads(body)["Version"]` is not enough)."""
        return VersionInfo.parse(self.body, source="answer").version


def cached_versions(module: str) -> dict[str, str]:
    """READY versions of the module and their .info bodies."""
    rows = ModuleVersion.objects.filter(module__path=module, state=ModuleVersion.State.READY)
    return dict(rows.values_list("version", "info"))


def _fresh(moment) -> bool:
    return moment is not None and moment > timezone.now() - timedelta(seconds=settings.ATHENS_LIST_TTL)


def _from_upstreams(module: str, version: str, target: str, endpoint: str, operation):
    """Ask the module's upstream chain, through the negative cache; remember failures."""
    chain = upstream_chain(module)
    negative_cache.check(module, target)
    with cold_fetches.slot(f"{module} {endpoint}"):
        try:
            with deadline.within(settings.ATHENS_FETCH_TIMEOUT):
                return chain.first(recorded(module, version, endpoint, operation))
        except UpstreamError as error:
            negative_cache.remember(module, target, error)
            raise


def _may_fall_back(error: UpstreamError) -> bool:
    return not isinstance(error, NotFound) and settings.ATHENS_NETWORK_MODE == "fallback"


def version_list(module: str, policy: Policy | None = None) -> Answer:
    """The `@v/list` body: upstream's releases merged with the cached ones, without the
    versions the policy denies."""
    cached = list(cached_versions(module))
    listing = UpstreamListing.objects.filter(module_path=module).first()
    if listing is not None and _fresh(listing.listed_at):
        upstream, cache = listing.version_list, Cache.HIT
    else:
        try:
            _, upstream = _from_upstreams(module, "", negative_cache.LIST, "list", lambda up: up.list(module))
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
    if policy is not None:
        versions = policy.allowed_versions(module, versions, FirstSeen(module).or_now)
    return Answer("".join(f"{v}\n" for v in versions).encode(), cache)


def latest(module: str, policy: Policy | None = None) -> Answer:
    """The `@latest` body: the newest version the policy allows."""
    answer = _latest(module)
    if policy is None or policy.allows_everything:
        return answer
    times = FirstSeen(module).or_now
    version = answer.version
    decision = policy.decide(module, version, times)
    if decision.allowed:
        return answer
    cached = cached_versions(module)
    candidates = [*version_list(module).body.decode().split(), *cached]
    best = latest_version(policy.allowed_versions(module, sorted(set(candidates), key=semver.sort_key), times))
    if best is None:
        raise Denied(decision, module, version)
    if best in cached:
        return Answer(cached[best].encode(), Cache.HIT)
    return resolve_query(module, best)


def _latest(module: str) -> Answer:
    """The better of upstream's @latest and the newest cached version."""
    cached = cached_versions(module)
    best_cached = latest_version(cached) if cached else None
    listing = UpstreamListing.objects.filter(module_path=module).exclude(latest_info="").first()
    if listing is not None and _fresh(listing.latest_at):
        return _better(VersionInfo.parse(listing.latest_info.encode(), source="cache"), cached, best_cached)
    try:
        source, info = _from_upstreams(module, "", negative_cache.LATEST, "latest", lambda up: up.latest(module))
    except NotFound:
        if best_cached is None:
            raise
        return Answer(cached[best_cached].encode(), Cache.HIT)
    except UpstreamError as error:
        if not _may_fall_back(error):
            raise
        if best_cached is not None:
            return Answer(cached[best_cached].encode(), Cache.FALLBACK)
        if listing is None:
            raise
        return Answer(listing.latest_info.encode(), Cache.FALLBACK)
    UpstreamListing.objects.update_or_create(
        module_path=module, defaults={"latest_info": info.raw.decode(), "latest_at": timezone.now()}
    )
    _note_conflict(module, source.name, info, cached)
    return _better(info, cached, best_cached)


def _better(info: VersionInfo, cached: dict[str, str], best_cached: str | None) -> Answer:
    """Upstream's @latest, unless a cached version is newer by the go command's rule."""
    if info.version in cached:
        return Answer(cached[info.version].encode(), Cache.HIT)
    if best_cached is not None and latest_version([info.version, best_cached]) == best_cached:
        return Answer(cached[best_cached].encode(), Cache.HIT)
    return Answer(info.raw, Cache.UPSTREAM)


def resolve_query(module: str, query: str) -> Answer:
    """A non-canonical `.info` query (branch, commit, `v1.2`) resolved by the upstreams.

    The answer names a canonical version. It is reused for ATHENS_QUERY_TTL seconds, and
    in fallback mode served stale while the upstreams fail.
    """
    known = ResolvedQuery.objects.filter(module_path=module, query=query).first()
    now = timezone.now()
    if known is not None and known.resolved_at > now - timedelta(seconds=settings.ATHENS_QUERY_TTL):
        return Answer(known.info.encode(), Cache.HIT)
    try:
        source, info = _from_upstreams(module, query, query, "query", lambda up: up.info(module, query))
    except UpstreamError as error:
        if known is None or not _may_fall_back(error):
            raise
        return Answer(known.info.encode(), Cache.FALLBACK)
    ResolvedQuery.objects.update_or_create(
        module_path=module, query=query, defaults={"info": info.raw.decode(), "resolved_at": now}
    )
    _note_conflict(module, source.name, info, cached_versions(module))
    return Answer(info.raw, Cache.UPSTREAM)


def _note_conflict(module: str, upstream: str, info: VersionInfo, cached: dict[str, str]) -> None:
    """A version we hold whose upstream time changed means its tag was moved upstream.

    The cached bytes stay what they are (versions are immutable); the conflict is
    recorded so that someone can look at it.
    """
    if info.version not in cached:
        return
    held = VersionInfo.parse(cached[info.version].encode(), source="cache")
    if held.time == info.time:
        return
    record_fetch(
        module=module, version=info.version, endpoint="verify", upstream=upstream,
        outcome=FetchEvent.Outcome.CONFLICT, duration_s=0.0,
        error=f"upstream now dates {info.version} {info.raw.decode()}, the cached copy {held.raw.decode()}; "
        "serving the cached copy",
    )
