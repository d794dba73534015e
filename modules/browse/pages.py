"""What the browsing UI shows about the cache: totals, search, a module, a version.

Plain functions returning plain dataclasses, for the views in modules/views/ and for
tests. Strings are raw text (templates escape them); the one exception is
`VersionDetail.readme_html`, sanitized by modules/browse/readme.py when the
version was cached (modules/browse/digest.py). Only READY
versions exist for the UI, as for the download API.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.functions import Length, Substr, TruncDate
from django.utils import timezone

from audit.models import DownloadEvent
from modules.goproxy import semver
from modules.goproxy.pseudo import is_pseudo_version
from modules.models import Module, ModuleVersion
from modules.policy.rules import Policy

from . import digest, readme
from .models import ModuleDigest, VersionFile, VersionRequirement
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
    versions: list[VersionRow] = field(default_factory=list)  # one page of them
    page: "PageInfo | None" = None


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
    readme_note: str | None = None  # why the README is plain text or not shown
    go_mod_size: int = 0  # bytes in the whole go.mod
    go_mod_cut: bool = False  # `go_mod` is only the start of it (counted in bytes, not text)
    go_mod_requires: list[Require] | None = None  # the requirements `go_mod` can show, to link
    files_page: "PageInfo | None" = None  # `files` is this page of the zip's files
    requires_page: "PageInfo | None" = None  # `requires` is this page of the go.mod's


SORTS = ("name", "recent", "popular")
DOWNLOAD_WINDOW_DAYS = 30
VERSIONS_PER_PAGE = 200
FILES_PER_PAGE = 500
REQUIRES_PER_PAGE = 200
GO_MOD_SHOWN_BYTES = 32 * 1024  # and at most GO_MOD_SHOWN_LINES: each line is a table row
GO_MOD_SHOWN_LINES = 800

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
    for the versions, one for the modules' digests (@latest, computed when a version is
    cached) and, unless sorting by popularity, one grouped query for downloads.
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
    digests = _module_digests([m.id for m in found])
    items = [
        ModuleSummary(
            path=m.path, latest_version=(digests[m.id].latest or None) if m.id in digests else None, version_count=stats.get(m.id, (0, None))[0],
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


def version_kind(version: str) -> str:
    """"pseudo", "prerelease" or "release", as the badges show it."""
    if is_pseudo_version(version):
        return "pseudo"
    if semver.is_prerelease(version):
        return "prerelease"
    return "release"


@dataclass(frozen=True)
class PageInfo:
    """Where a paginated list is: page `number` of `num_pages`, `count` items in all."""

    number: int
    num_pages: int
    count: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _page(count: int, number, per_page: int) -> tuple[PageInfo, slice]:
    """The page `number` (clamped; junk means 1) of `count` items, and its slice."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    num_pages = max(1, -(-count // per_page))
    number = min(max(1, number), num_pages)
    start = (number - 1) * per_page
    return PageInfo(number, num_pages, count), slice(start, start + per_page)


def _module_digests(module_ids: list[int]) -> dict[int, ModuleDigest]:
    """The modules' digests, building those missing (versions cached before digests)."""
    found = ModuleDigest.objects.in_bulk(module_ids)
    for module_id in module_ids:
        if module_id not in found:
            built = digest.refresh_module(module_id)
            if built is not None:
                found[module_id] = built
    return found


def module_detail(path: str, *, page=1, per_page: int = VERSIONS_PER_PAGE) -> "ModuleDetail | None":
    """A module's cached versions, newest first in Go semver order, one page of them;
    None if not cached.

    `latest`, `deprecated` and each version's `retracted` come from the module's digest
    (the go.mod of the version @latest picks ignoring retractions, as the go command
    reads them), computed when its versions were cached.
    """
    module = Module.objects.filter(path=path).first()
    if module is None:
        return None
    versions = sorted(
        _ready_versions().filter(module=module).values_list("version", flat=True), key=semver.sort_key, reverse=True,
    )
    if not versions:
        return None
    module_digest = digest.for_module(module)
    if module_digest is None:
        return None
    info, window = _page(len(versions), page, per_page)
    shown = versions[window]
    by_version = {
        row.version: row for row in _ready_versions().filter(module=module, version__in=shown).defer("go_mod", "info")
    }
    downloads = dict(
        _downloads().filter(module=path, version__in=shown, time__gte=_window_start())
        .order_by().values_list("version").annotate(n=Count("id"))
    )
    policy = Policy()
    times = {version: row.fetched_at for version, row in by_version.items()}
    rows = []
    for version in shown:
        row = by_version.get(version)
        if row is None:
            continue  # evicted since the list was read
        decision = policy.decide(path, version, times.get)
        rows.append(VersionRow(
            version=version, kind=version_kind(version),
            retracted=module_digest.retracted.get(version),
            fetched_at=row.fetched_at, time=row.time, zip_size=row.zip_size,
            downloads=downloads.get(version, 0), allowed=decision.allowed, policy_reason=decision.why,
            notices=tuple(row.notice_codes),
        ))
    return ModuleDetail(
        path=path, latest=module_digest.latest or None, deprecated=module_digest.deprecated,
        versions=rows, page=info,
    )


def version_detail(
    path: str, version: str, *, files_page=1, requires_page=1, external_images: bool | None = None,
) -> "VersionDetail | None":
    """Everything the version page shows, from the version's digest; None if
    path@version is not cached.

    The README's relative links point at `files/...`, relative to the version page's
    URL. External images in it become links unless `external_images` (default:
    ATHENS_README_EXTERNAL_IMAGES).
    """
    row = _ready_versions().select_related("module").defer("go_mod").filter(module__path=path, version=version).first()
    if row is None:
        return None
    version_digest = digest.for_version(row)
    module_digest = digest.for_module(row.module)
    if module_digest is None:
        return None  # evicted while this page was being made
    go_mod_size, go_mod_head = _go_mod_head(row.pk)
    decision = Policy().decide(path, version, lambda v: row.fetched_at if v == version else None)

    files_info, files_window = _page(version_digest.file_count, files_page, FILES_PER_PAGE)
    files = [
        ZipEntryInfo(path=bytes(name).decode("utf-8", "surrogateescape"), size=size)
        for name, size in VersionFile.objects.filter(
            version_id=row.pk, position__gte=files_window.start, position__lt=files_window.stop,
        ).order_by("position").values_list("path", "size")
    ]
    requires_info, requires_window = _page(version_digest.require_count, requires_page, REQUIRES_PER_PAGE)
    requires = _requires(row.pk, requires_window)
    # Each requirement takes a line at least, so those the go.mod's start shows are
    # among the first as many as it has lines, whatever page of the list is open.
    head_window = slice(0, min(version_digest.require_count, go_mod_head.count(b"\n") + 1))
    if requires_window.start == 0 and head_window.stop <= requires_window.stop:
        go_mod_requires = requires[: head_window.stop]
    else:
        go_mod_requires = _requires(row.pk, head_window)
    readme_html = version_digest.readme_html or None
    if external_images is None:
        external_images = settings.ATHENS_README_EXTERNAL_IMAGES
    if readme_html and not external_images:
        readme_html = readme.external_images_as_links(readme_html)

    return VersionDetail(
        row=row,
        kind=version_kind(version),
        retracted=module_digest.retracted.get(version),
        deprecated=module_digest.deprecated,
        go_get=f"go get {path}@{version}",
        go_mod=go_mod_head.decode("utf-8", errors="replace"),
        requires=requires,
        go_sum=[*([f"{path} {version} {row.zip_hash}"] if row.zip_cached else []),
                f"{path} {version}/go.mod {row.mod_hash}"],
        license_name=version_digest.license_name or None,
        readme_html=readme_html,
        files=files,
        downloads_by_day=_downloads_by_day(path, version),
        allowed=decision.allowed,
        policy_reason=decision.why,
        latest=module_digest.latest or None,
        license_path=version_digest.license_path or None,
        readme_path=version_digest.readme_path or None,
        zip_error=version_digest.zip_error or None,
        readme_note=version_digest.readme_note or None,
        go_mod_size=go_mod_size,
        go_mod_cut=len(go_mod_head) < go_mod_size,
        go_mod_requires=go_mod_requires,
        files_page=files_info,
        requires_page=requires_info,
    )


def _go_mod_head(version_id: int) -> tuple[int, bytes]:
    """(size, start) of a version's go.mod: its first GO_MOD_SHOWN_BYTES, cut in SQL, and
    of those the first GO_MOD_SHOWN_LINES whole lines. A go.mod may be 16 MiB; the page
    shows its start (the whole is one click away)."""
    size, head = (
        ModuleVersion.objects.filter(pk=version_id)
        .annotate(size=Length("go_mod"), head=Substr("go_mod", 1, GO_MOD_SHOWN_BYTES))
        .values_list("size", "head").get()
    )
    head = bytes(head) if head is not None else b""
    if size is not None and size > GO_MOD_SHOWN_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head  # whole lines only
    lines = head.split(b"\n")
    if len(lines) > GO_MOD_SHOWN_LINES + 1:
        head = b"\n".join(lines[:GO_MOD_SHOWN_LINES]) + b"\n"
    return (size or 0), head


def _requires(version_id: int, window: slice) -> list[Require]:
    """One page of the go.mod's requirements, each marked whether it is cached here."""
    requires = list(
        VersionRequirement.objects.filter(version_id=version_id, position__gte=window.start, position__lt=window.stop)
        .order_by("position").values_list("path", "required", "indirect")
    )
    if not requires:
        return []
    cached = set(
        _ready_versions()
        .filter(module__path__in={r[0] for r in requires}, version__in={r[1] for r in requires})
        .values_list("module__path", "version")
    )
    return [Require(p, v, indirect, (p, v) in cached) for p, v, indirect in requires]


def _downloads_by_day(path: str, version: str) -> list[tuple[date, int]]:
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DOWNLOAD_WINDOW_DAYS - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    counts = dict(
        _downloads().filter(module=path, version=version, time__gte=start)
        .annotate(day=TruncDate("time", tzinfo=UTC)).order_by().values_list("day").annotate(n=Count("id"))
    )
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(DOWNLOAD_WINDOW_DAYS)]
