"""What the browsing UI shows about the cache: totals, search, a module, a version.

Plain functions returning plain dataclasses, for the views in modules/views/ and for
tests. Strings are raw text (templates escape them); the one exception is
`VersionDetail.readme_html`, already sanitized by modules/readme.py. Only READY
versions exist for the UI, as for the download API.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import DownloadEvent
from modules.goproxy import semver
from modules.goproxy.errors import InvalidZipError
from modules.goproxy.gomod import GoMod, parse_go_mod
from modules.goproxy.pseudo import is_pseudo_version
from modules.goproxy.versions import latest_version

from . import readme, zipview
from .models import Module, ModuleVersion
from .policy import Policy
from .zipview import ZipEntryInfo


@dataclass(frozen=True)
class Totals:
    modules: int
    versions: int
    storage_bytes: int  # sum of the cached zips' sizes
    downloads_today: int  # download API requests since 00:00 UTC (served, status < 400)


@dataclass(frozen=True)
class VersionSummary:
    module: str
    version: str
    fetched_at: datetime
    zip_size: int


@dataclass(frozen=True)
class ModuleSummary:
    path: str
    latest_version: str | None
    version_count: int
    last_cached: datetime | None
    downloads: int  # served download API requests over the last 30 days


@dataclass(frozen=True)
class ModulePage:
    items: list[ModuleSummary]
    number: int
    num_pages: int
    count: int
    has_next: bool
    has_previous: bool


@dataclass(frozen=True)
class VersionRow:
    version: str
    kind: str  # "release" | "prerelease" | "pseudo"
    retracted: str | None  # None: not retracted; else the rationale ("" if none given)
    fetched_at: datetime
    time: datetime | None  # None: the upstream's .info has no Time
    zip_size: int
    downloads: int  # served download API requests for this version, last 30 days
    allowed: bool
    policy_reason: str
    notices: tuple[str, ...] = ()  # notice codes (goproxy.zipcheck), for badges


@dataclass(frozen=True)
class ModuleDetail:
    path: str
    latest: str | None
    deprecated: str | None
    versions: list[VersionRow] = field(default_factory=list)


@dataclass(frozen=True)
class Require:
    path: str
    version: str
    indirect: bool
    cached: bool  # that module@version is READY in this cache


@dataclass(frozen=True)
class VersionDetail:
    row: ModuleVersion
    kind: str
    retracted: str | None
    deprecated: str | None
    go_get: str
    go_mod: str
    requires: list[Require]
    go_sum: list[str]
    license_name: str | None
    readme_html: str | None
    files: list[ZipEntryInfo]
    downloads_by_day: list[tuple[date, int]]  # oldest first, today (UTC) last
    allowed: bool
    policy_reason: str
    # Extras beyond the contract, all optional for the templates:
    latest: str | None = None  # the module's @latest among cached versions
    license_path: str | None = None  # the root license file the name was taken from
    readme_path: str | None = None
    zip_error: str | None = None  # the zip could not be read: files/readme/license empty


SORTS = ("name", "recent", "popular")
DOWNLOAD_WINDOW_DAYS = 30
README_MAX_BYTES = 512 * 1024
LICENSE_MAX_BYTES = 64 * 1024

READY = ModuleVersion.State.READY


def _downloads():
    """What counts as a download: a .zip served by the download API (the go command
    asks for .info and .mod of far more versions than it builds)."""
    return DownloadEvent.objects.filter(endpoint=DownloadEvent.Endpoint.ZIP, status__lt=400)


def _window_start() -> datetime:
    return timezone.now() - timedelta(days=DOWNLOAD_WINDOW_DAYS)


def _ready_versions():
    return ModuleVersion.objects.filter(state=READY)


def site_totals() -> Totals:
    """Counts for the front page."""
    versions = _ready_versions().aggregate(count=Count("id"), bytes=Sum("zip_size"), modules=Count("module", distinct=True))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Totals(
        modules=versions["modules"],
        versions=versions["count"],
        storage_bytes=versions["bytes"] or 0,
        downloads_today=_downloads().filter(time__gte=today).count(),
    )


def recently_cached(limit: int = 10) -> list[VersionSummary]:
    """The last `limit` versions cached, newest first."""
    rows = _ready_versions().order_by("-fetched_at", "-id").values_list("module__path", "version", "fetched_at", "zip_size")
    return [VersionSummary(*row) for row in rows[:limit]]


def search_modules(q: str = "", sort: str = "name", page: int = 1, per_page: int = 50) -> ModulePage:
    """Modules whose path contains `q` (case-insensitive), one page of them.

    sort: "name" (path ascending), "recent" (last cached first), "popular" (downloads
    over the last 30 days, most first); anything else means "name". A page number out
    of range gives the nearest page. Counts are computed in SQL; per page, one query
    for the versions (to find each module's @latest), one for the latest go.mod files
    (retractions) and, unless sorting by popularity, one grouped query for downloads.
    """
    if sort not in SORTS:
        sort = "name"
    # A Module row exists only while it has a cached version (the fetch commits both,
    # evicting the last version deletes the module), so the plain table is the list; the
    # page is cut from it first and only its modules' versions are counted: grouping all
    # 100,000 versions, or checking each module for a version, on every view cost
    # 50-150 ms. "recent" groups the versions table to order by.
    modules = Module.objects.all()
    q = (q or "").strip()
    if q:
        modules = modules.filter(path__icontains=q)
    if sort == "popular":
        modules = _PopularityOrder(modules.order_by("path"), q)
    elif sort == "recent":
        modules = _RecentOrder(q)
    else:
        modules = modules.order_by("path")

    paginator = Paginator(modules, max(1, min(int(per_page), 500)))
    page_obj = paginator.get_page(page)
    found = list(page_obj.object_list)
    if sort == "popular":
        downloads = modules.downloads
    else:
        downloads = dict(
            _downloads().filter(module__in=[m.path for m in found], time__gte=_window_start())
            .order_by().values_list("module").annotate(n=Count("id"))
        )
    stats = {
        module_id: (count, last)
        for module_id, count, last in _ready_versions().filter(module_id__in=[m.id for m in found])
        .order_by().values_list("module_id").annotate(Count("id"), Max("fetched_at"))
    }
    latest = _latest_versions([m.id for m in found])
    items = [
        ModuleSummary(
            path=m.path, latest_version=latest.get(m.id), version_count=stats.get(m.id, (0, None))[0],
            last_cached=stats.get(m.id, (0, None))[1], downloads=downloads.get(m.path, 0),
        )
        for m in found
    ]
    return ModulePage(
        items=items, number=page_obj.number, num_pages=paginator.num_pages, count=paginator.count,
        has_next=page_obj.has_next(), has_previous=page_obj.has_previous(),
    )


class _RecentOrder:
    """Modules by their newest cached version (newest first), as a sequence Paginator
    can page through: grouped over the versions table alone, then the page's modules
    are loaded by id (joining modules first made the grouping twice as slow)."""

    def __init__(self, q: str):
        versions = _ready_versions()
        if q:
            versions = versions.filter(module__path__icontains=q)
        self._by_recency = (
            versions.order_by().values("module_id").annotate(last=Max("fetched_at")).order_by("-last", "module_id")
        )

    def count(self) -> int:
        return self._by_recency.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Module]:
        ids = [row["module_id"] for row in self._by_recency[window]]
        found = Module.objects.in_bulk(ids)
        return [found[module_id] for module_id in ids if module_id in found]


class _PopularityOrder:
    """The modules of `by_name` ordered by downloads over the window (most first), then
    by path, as a sequence Paginator can page through.

    One SQL statement a page: the window's zip downloads grouped per module, LEFT JOINed
    to the cached modules and cut to the page (~100 ms over 200,000 events and 10,000
    modules). A correlated count per module took seconds; counting in Python and then
    excluding the counted paths again took ~250 ms.
    """

    def __init__(self, by_name, q: str):
        self._by_name = by_name
        self._q = q
        self.downloads: dict[str, int] = {}

    def count(self) -> int:
        return self._by_name.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Module]:
        start = window.start or 0
        limit = -1 if window.stop is None else window.stop - start
        search = r"AND LOWER(m.path) LIKE %s ESCAPE '\'" if self._q else ""
        sql = f"""
            WITH d AS (
                SELECT module, COUNT(*) AS n FROM {DownloadEvent._meta.db_table}
                WHERE endpoint = %s AND status < 400 AND time >= %s GROUP BY module
            )
            SELECT m.id, m.path, COALESCE(d.n, 0) FROM {Module._meta.db_table} m
            LEFT JOIN d ON d.module = m.path
            WHERE 1 = 1 {search}
            ORDER BY COALESCE(d.n, 0) DESC, m.path LIMIT %s OFFSET %s
        """
        params = [DownloadEvent.Endpoint.ZIP, _window_start()]
        if self._q:
            params.append(f"%{_escape_like(self._q.lower())}%")
        params += [limit if limit >= 0 else 1 << 31, start]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        self.downloads.update({path: n for _, path, n in rows if n})
        found = Module.objects.in_bulk([module_id for module_id, _, _ in rows])
        return [found[module_id] for module_id, _, _ in rows if module_id in found]


def _escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (no wildcards of its own)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _latest_versions(module_ids: list[int]) -> dict[int, str | None]:
    """@latest of each module among its cached versions, in two queries."""
    by_module: dict[int, list[str]] = {}
    for module_id, version in _ready_versions().filter(module_id__in=module_ids).values_list("module_id", "version"):
        by_module.setdefault(module_id, []).append(version)
    candidates = {module_id: latest_version(versions) for module_id, versions in by_module.items()}
    go_mods: dict[int, GoMod] = {}
    # One query for the candidates' go.mod files: (module_id, version) pairs.
    wanted = {(module_id, v) for module_id, v in candidates.items() if v}
    if wanted:
        pairs = Q()
        for module_id, v in wanted:
            pairs |= Q(module_id=module_id, version=v)
        for module_id, go_mod in _ready_versions().filter(pairs).values_list("module_id", "go_mod"):
            go_mods[module_id] = parse_go_mod(bytes(go_mod))
    return {
        module_id: _latest_with_retractions(versions, go_mods.get(module_id))
        for module_id, versions in by_module.items()
    }


def _latest_with_retractions(versions: list[str], latest_go_mod: GoMod | None) -> str | None:
    """Go's @latest rule: retractions come from the go.mod of the version @latest would
    pick ignoring them; retracted versions are skipped unless nothing else is left."""
    ignoring = latest_version(versions)
    if ignoring is None or latest_go_mod is None or not latest_go_mod.retracts:
        return ignoring
    kept = [v for v in versions if _retraction(v, latest_go_mod) is None]
    return latest_version(kept) or ignoring


def _retraction(version: str, go_mod: GoMod | None) -> str | None:
    """The rationale of the first retract directive covering `version` ("" when it has
    none), or None if the version is not retracted."""
    if go_mod is None:
        return None
    for retract in go_mod.retracts:
        if semver.compare(retract.low, version) <= 0 <= semver.compare(retract.high, version):
            return retract.rationale
    return None


def version_kind(version: str) -> str:
    """"pseudo", "prerelease" or "release", as the badges show it."""
    if is_pseudo_version(version):
        return "pseudo"
    if semver.is_prerelease(version):
        return "prerelease"
    return "release"


@dataclass
class _ModuleState:
    module: Module
    rows: list[ModuleVersion]  # newest first, in Go semver order
    latest: str | None
    latest_go_mod: GoMod | None


def _module_state(path: str, *, defer_go_mod: bool = True) -> _ModuleState | None:
    module = Module.objects.filter(path=path).first()
    if module is None:
        return None
    rows = list(_ready_versions().filter(module=module).defer("go_mod", "info"))
    if not rows:
        return None
    rows.sort(key=lambda row: semver.sort_key(row.version), reverse=True)
    versions = [row.version for row in rows]
    ignoring = latest_version(versions)
    latest_go_mod = None
    if ignoring is not None:
        go_mod = _ready_versions().filter(module=module, version=ignoring).values_list("go_mod", flat=True).first()
        latest_go_mod = parse_go_mod(bytes(go_mod)) if go_mod is not None else None
    return _ModuleState(module, rows, _latest_with_retractions(versions, latest_go_mod), latest_go_mod)


def module_detail(path: str) -> "ModuleDetail | None":
    """A module's cached versions, newest first in Go semver order; None if not cached.

    `latest`, `deprecated` and each version's `retracted` come from the go.mod of the
    version @latest picks ignoring retractions, as the go command reads them.
    """
    state = _module_state(path)
    if state is None:
        return None
    downloads = dict(
        _downloads().filter(module=path, time__gte=_window_start())
        .order_by().values_list("version").annotate(n=Count("id"))
    )
    policy = Policy()
    times = {row.version: row.release_time for row in state.rows}
    rows = []
    for row in state.rows:
        decision = policy.decide(path, row.version, times.get)
        rows.append(VersionRow(
            version=row.version, kind=version_kind(row.version),
            retracted=_retraction(row.version, state.latest_go_mod),
            fetched_at=row.fetched_at, time=row.time, zip_size=row.zip_size,
            downloads=downloads.get(row.version, 0), allowed=decision.allowed, policy_reason=decision.why,
            notices=tuple(row.notice_codes),
        ))
    return ModuleDetail(
        path=path, latest=state.latest,
        deprecated=state.latest_go_mod.deprecated if state.latest_go_mod else None,
        versions=rows,
    )


def version_detail(path: str, version: str, *, readme_base_url: str | None = None) -> "VersionDetail | None":
    """Everything the version page shows; None if path@version is not cached.

    `readme_base_url`: where relative links and images of the README should point
    (the view's URL for this version's files, ending in "/"); without it they are dropped.
    """
    row = _ready_versions().select_related("module").filter(module__path=path, version=version).first()
    if row is None:
        return None
    state = _module_state(path)
    go_mod_bytes = bytes(row.go_mod)
    go_mod = parse_go_mod(go_mod_bytes)
    decision = Policy().decide(path, version, lambda v: row.release_time if v == version else None)

    files: list[ZipEntryInfo] = []
    license_path = license_name = readme_path = readme_html = zip_error = None
    try:
        files = zipview.list_files(row)
        license_path, license_name = _license(row, files)
        readme_path = readme.find_readme(files)
        if readme_path is not None:
            content = zipview.read_file(row, readme_path, max_bytes=README_MAX_BYTES)
            if content.data is not None:
                text = content.data.decode("utf-8")
                readme_html = (
                    readme.render_readme(text, base_url=readme_base_url) if readme.is_markdown(readme_path)
                    else readme.render_plain(text)
                )
    except (InvalidZipError, OSError) as exc:
        zip_error = str(exc) or type(exc).__name__

    return VersionDetail(
        row=row,
        kind=version_kind(version),
        retracted=_retraction(version, state.latest_go_mod if state else None),
        deprecated=state.latest_go_mod.deprecated if state and state.latest_go_mod else None,
        go_get=f"go get {path}@{version}",
        go_mod=go_mod_bytes.decode("utf-8", errors="replace"),
        requires=_requires(go_mod),
        go_sum=[f"{path} {version} {row.zip_hash}", f"{path} {version}/go.mod {row.mod_hash}"],
        license_name=license_name,
        readme_html=readme_html,
        files=files,
        downloads_by_day=_downloads_by_day(path, version),
        allowed=decision.allowed,
        policy_reason=decision.why,
        latest=state.latest if state else None,
        license_path=license_path,
        readme_path=readme_path,
        zip_error=zip_error,
    )


def _requires(go_mod: GoMod) -> list[Require]:
    """The go.mod's requirements, each marked whether it is cached here (one query)."""
    if not go_mod.requires:
        return []
    cached = set(
        _ready_versions()
        .filter(module__path__in={r.path for r in go_mod.requires}, version__in={r.version for r in go_mod.requires})
        .values_list("module__path", "version")
    )
    return [Require(r.path, r.version, r.indirect, (r.path, r.version) in cached) for r in go_mod.requires]


def _downloads_by_day(path: str, version: str) -> list[tuple[date, int]]:
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DOWNLOAD_WINDOW_DAYS - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    counts = dict(
        _downloads().filter(module=path, version=version, time__gte=start)
        .annotate(day=TruncDate("time", tzinfo=UTC)).order_by().values_list("day").annotate(n=Count("id"))
    )
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(DOWNLOAD_WINDOW_DAYS)]


# -- licenses -------------------------------------------------------------------------

_LICENSE_FILE = re.compile(r"^(?:un)?licen[cs]e(?:[.-].*)?$|^copying(?:[.-].*)?$", re.IGNORECASE)

# Distinctive phrases of the common licenses, most specific first. A heuristic for a
# label, not a legal determination (pkg.go.dev uses google/licensecheck for that).
_LICENSE_PHRASES = [
    ("AGPL-3.0", ("gnu affero general public license",)),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license",)),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("0BSD", ("permission to use, copy, modify, and/or distribute this software",)),
]


def _license(row: ModuleVersion, files: list[ZipEntryInfo]) -> tuple[str | None, str | None]:
    """(path, name) of the root license file: an SPDX id when recognized, else the file's
    name; (None, None) when there is none."""
    candidates = sorted((f.path for f in files if "/" not in f.path and _LICENSE_FILE.match(f.path)), key=len)
    if not candidates:
        return None, None
    path = candidates[0]
    content = zipview.read_file(row, path, max_bytes=LICENSE_MAX_BYTES)
    if content.data is None:
        return path, path
    text = " ".join(content.data.decode("utf-8").lower().split())
    for name, phrases in _LICENSE_PHRASES:
        if all(phrase in text for phrase in phrases):
            return path, name
    return path, path
