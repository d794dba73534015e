"""The cache browser: server-rendered pages over modules/browse.py and modules/zipview.py.

`/` says what this proxy is and how to point the go command at it; `/modules/` searches
the cached modules; below it are a module's versions, one version (go.mod, go.sum lines,
README, files, downloads), and one file of its zip. Staff can fetch a version into the
cache and evict one from it.

The views are thin: what to show comes from modules/browse.py, file bytes from
modules/zipview.py, README HTML (already sanitized) from modules/readme.py. Everything
else reaching a template is plain text and is escaped there; the only strings marked
safe are that README HTML, Pygments' output (which escapes the source it highlights)
and the go.mod rendering below, built from escaped pieces.

URLs: module paths contain `/` and never `@`, so `modules/<path>/@v/<version>/...` is
split with `[^@]+` for the module (a file name inside the zip may contain `@v`). Nothing
here starts with a module path, so the download API's routes never see these URLs.

Access: with ATHENS_UI_PUBLIC false (the default) every page asks for a login (any
active user, at /accounts/login/); fetch and evict always need a staff account.
"""

import functools
import posixpath
import re
from datetime import UTC, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from athens_site import permissions
from audit import charts
from audit.recorder import record_fetch
from modules import cold_fetches, eviction
from modules.browse import zipview
from modules.browse import pages as browse
from modules.fetch import ready_version, satisfies
from modules.goproxy import semver
from modules.goproxy.errors import InvalidPathError, InvalidZipError
from modules.goproxy.paths import check_path, escape_path, escape_version, version_fits_path
from modules.tokens import client_setup
from modules.models import FetchFailure, Module
from modules.tasks import fetch_in_background

PER_PAGE = 50
MAX_DISPLAY_BYTES = 512 * 1024
SORT_LABELS = {"name": "Name", "recent": "Recently cached", "popular": "Most downloaded"}
KIND_LABELS = {"release": "release", "prerelease": "pre-release", "pseudo": "pseudo-version"}
# Badges for the notices a fetch records (goproxy.zipcheck codes): what the go command
# accepts from an upstream but would not have produced itself.
NOTICE_LABELS = {
    "legacy-go-mod": ("legacy go.mod", "The .mod file served for this version is not the go.mod in its zip "
                      "(proxy.golang.org keeps .mod files it synthesized for old modules); "
                      "the go command builds with the .mod file."),
    "vendored-package": ("vendored files", "The zip holds files of vendored packages, which the go command "
                         "leaves out of zips it creates."),
    "vcs-directory": ("VCS directory", "The zip holds a version control directory (.git, .hg, .svn, .bzr)."),
    "hg-archival": ("hg archive file", "The zip holds the .hg_archival.txt that 'hg archive' inserts."),
    "not-regular-file": ("symlinks", "The zip holds entries marked as symbolic links or other non-regular files; "
                         "the go command extracts them as regular files."),
}


def notice_badges(codes) -> list[dict]:
    """[{code, label, title}] for the badges of a version's notices."""
    badges = []
    for code in codes:
        label, title = NOTICE_LABELS.get(code, (code, code))
        badges.append({"code": code, "label": label, "title": title})
    return badges


# --- Access ----------------------------------------------------------------------------


def browsing(view):
    """Public with ATHENS_UI_PUBLIC, else only for logged-in users (to LOGIN_URL, a plain
    login page: the admin's login only accepts staff)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.ATHENS_UI_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def needs(action: str):
    """Fetch and evict change the cache: they need their permission in the map
    (athens_site/permissions.py), whatever ATHENS_UI_PUBLIC says."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not permissions.allowed(request.user, action):
                raise PermissionDenied("Your account may not do this; ask for the permission in the admin.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- Parsing the URL -----------------------------------------------------------------


def _module_path(module: str) -> str:
    try:
        check_path(module)
    except InvalidPathError:
        raise Http404("Not a valid module path.") from None
    return module


def _module_version(module: str, version: str) -> tuple[str, str]:
    module = _module_path(module)
    if not semver.is_canonical(version) or not version_fits_path(module, version):
        raise Http404("Not a canonical version of this module.")
    return module, version


# --- Pages -----------------------------------------------------------------------------


@require_GET
@browsing
def home(request):
    goproxy_url = client_setup.goproxy_url(request)
    return render(request, "browse/home.html", {
        "goproxy_url": goproxy_url,
        "client_auth": settings.ATHENS_CLIENT_AUTH,
        "totals": browse.site_totals(),
        "recent": browse.recently_cached(limit=10),
    })


@require_GET
@browsing
def module_list(request):
    q = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort", "name")
    if sort not in SORT_LABELS:
        sort = "name"
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    page = browse.search_modules(q=q, sort=sort, page=number, per_page=PER_PAGE)

    def page_url(n):
        return "?" + urlencode({key: value for key, value in (("q", q), ("sort", sort), ("page", n)) if value})

    return render(request, "browse/module_list.html", {
        "q": q,
        "sort": sort,
        "sorts": SORT_LABELS.items(),
        "page": page,
        "previous_url": page_url(page.number - 1) if page.has_previous else None,
        "next_url": page_url(page.number + 1) if page.has_next else None,
    })


@require_GET
@browsing
def module_without_slash(request, module):
    return HttpResponseRedirect(reverse("browse:module", kwargs={"module": _module_path(module)}))


@require_GET
@browsing
def module_page(request, module):
    detail = browse.module_detail(_module_path(module), page=request.GET.get("page", 1))
    if detail is None:
        raise Http404("This module is not in the cache.")
    versions_url = reverse("browse:module", kwargs={"module": detail.path}) + "@v/"
    return render(request, "browse/module.html", {
        "module": detail,
        # One reverse() for the module instead of one per version (1,000 versions: ~70 ms);
        # versions are `[0-9A-Za-z.+-]`, nothing to quote.
        "versions": [_version_cells(row, versions_url) for row in detail.versions],
        "pager": _pager(request, "page", detail.page),
    })


@require_GET
@browsing
def version_page(request, module, version):
    module, version = _module_version(module, version)
    detail = browse.version_detail(
        module, version, files_page=request.GET.get("files", 1), requires_page=request.GET.get("requires", 1),
    )
    if detail is None:
        raise Http404("This version is not in the cache.")
    chart = None
    if detail.downloads_by_day:
        chart = charts.bar_chart(
            detail.downloads_by_day, title=f"Downloads of {module}@{version} per day",
            value_label="Downloads", chart_id="downloads-chart",
        )
    return render(request, "browse/version.html", {
        "module": module,
        "version": version,
        "detail": detail,
        "kind_label": KIND_LABELS.get(detail.kind, detail.kind),
        "notices": notice_badges(detail.row.notice_codes),
        "notice_messages": [notice.get("message", "") for notice in detail.row.notices or []],
        "go_mod_lines": _go_mod_lines(detail.go_mod, detail.go_mod_requires or []),
        "go_mod_cut": detail.go_mod_cut,
        "mod_url": f"/{escape_path(module)}/@v/{escape_version(version)}.mod",
        "tree": _file_tree(detail.files),
        "files_pager": _pager(request, "files", detail.files_page, "files-pages"),
        "requires_pager": _pager(request, "requires", detail.requires_page, "requires-pages"),
        "readme_html": mark_safe(detail.readme_html) if detail.readme_html else None,  # sanitized at fetch (browse.readme)
        "chart": chart,
        "license_path": detail.license_path or detail.license_name,
        "zip_error": detail.zip_error,
        "downloads_total": sum(count for _, count in detail.downloads_by_day),
    })


def _pager(request, parameter: str, page, anchor: str = "") -> dict | None:
    """Links to the previous and next page of one list on a page (None: one page only);
    the page's other query parameters are kept, and `anchor` (the pager's id) brings
    the reader back to the list rather than to the top of a long page."""
    if page is None or page.num_pages <= 1:
        return None

    def url(number):
        query = request.GET.copy()
        query[parameter] = number
        return "?" + query.urlencode() + (f"#{anchor}" if anchor else "")

    return {
        "page": page,
        "previous_url": url(page.number - 1) if page.has_previous else None,
        "next_url": url(page.number + 1) if page.has_next else None,
    }


@require_GET
@browsing
def file_page(request, module, version, file):
    module, version = _module_version(module, version)
    row = ready_version(module, version)
    if row is None:
        raise Http404("This version is not in the cache.")
    if request.GET.get("download"):
        return _download(row, file)
    try:
        content = zipview.read_file(row, file, max_bytes=MAX_DISPLAY_BYTES)
    except KeyError:
        raise Http404("No such file in this version.") from None
    except (InvalidZipError, OSError):
        raise Http404("The cached zip of this version cannot be read.") from None
    lines = None
    if content.data is not None:
        lines = _highlighted_lines(file, content.data.decode("utf-8", errors="replace"))
    crumbs = []
    parts = file.split("/")
    for depth, part in enumerate(parts[:-1]):
        crumbs.append((part, "/".join(parts[: depth + 1])))
    return render(request, "browse/file.html", {
        "module": module,
        "version": version,
        "file": content,
        "name": parts[-1],
        "crumbs": crumbs,
        "lines": lines,
        "download_url": "?download=1",
    })


def _download(row, file):
    try:
        handle = zipview.open_zip_file(row, file)
    except KeyError:
        raise Http404("No such file in this version.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=posixpath.basename(file) or "file",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _version_cells(row, versions_url: str) -> dict:
    """A module page row's values, formatted here: the template filters (date,
    filesizeformat) cost ~0.1 ms a cell, which a module with 1,000 versions feels."""
    fetched = row.fetched_at.astimezone(UTC)
    time = row.time.astimezone(UTC) if row.time is not None else None
    return {
        "version": row.version, "url": f"{versions_url}{row.version}/", "kind": row.kind,
        "kind_label": KIND_LABELS.get(row.kind, row.kind), "retracted": row.retracted,
        "time_iso": time.isoformat() if time else "", "time": time.strftime("%Y-%m-%d") if time else "unknown",
        "notices": notice_badges(row.notices),
        "fetched_iso": fetched.isoformat(), "fetched": fetched.strftime("%Y-%m-%d %H:%M"),
        "size": filesizeformat(row.zip_size), "downloads": row.downloads,
        "allowed": row.allowed, "policy_reason": row.policy_reason,
    }


# --- Fetch and evict (staff) ---------------------------------------------------------


def _fetch_target(data) -> tuple[str, str, str | None]:
    """(module, version, error) from a form or a query string."""
    module = data.get("module", "").strip()
    version = data.get("version", "").strip()
    if not module or not version:
        return module, version, "Enter a module path and a version."
    try:
        check_path(module)
    except InvalidPathError as exc:
        return module, version, str(exc)
    if not semver.is_canonical(version):
        return module, version, f"{version!r} is not a canonical version such as v1.2.3."
    if not version_fits_path(module, version):
        return module, version, f"{version} does not fit the major version of {module}."
    return module, version, None


@require_http_methods(["GET", "POST"])
@needs(permissions.CACHE_FETCH)
def fetch(request):
    source = request.POST if request.method == "POST" else request.GET
    # A GET without a target is the empty form; a POST without one is a form error (it
    # used to start a background fetch of "@").
    asked = request.method == "POST" or source.get("module") or source.get("version")
    module, version, error = _fetch_target(source) if asked else ("", "", None)
    started = False
    if request.method == "POST" and error is None:
        if not satisfies(ready_version(module, version), zip=True):  # all of it, the zip too
            # A failure remembered from earlier would be reported at once as this
            # fetch's outcome; a person asking again wants a new attempt.
            FetchFailure.objects.filter(module_path=module, target=version).delete()
            try:
                fetch_in_background(module, version)
            except cold_fetches.Busy as busy:
                return render(request, "browse/fetch.html", {
                    "module": module, "version": version, "error": busy.message, "started": False,
                    "status_url": "",
                }, status=503)
        return HttpResponseRedirect(reverse("browse:fetch") + "?" + urlencode({"module": module, "version": version, "started": 1}))
    if request.method == "GET" and module and version and error is None:
        started = True
    return render(request, "browse/fetch.html", {
        "module": module,
        "version": version,
        "error": error,
        "started": started,
        "status_url": reverse("browse:fetch-status") + "?" + urlencode({"module": module, "version": version}),
    }, status=400 if error and request.method == "POST" else 200)


@require_GET
@needs(permissions.CACHE_FETCH)
def fetch_status(request):
    """`cached`, `failed` (with the upstream's message) or `pending`, for the progress poll."""
    module, version, error = _fetch_target(request.GET)
    if error:
        return JsonResponse({"status": "invalid", "message": error}, status=400)
    if satisfies(ready_version(module, version), zip=True):
        url = reverse("browse:version", kwargs={"module": module, "version": version})
        return JsonResponse({"status": "cached", "url": url})
    failure = FetchFailure.objects.filter(
        module_path=module, target=version, expires_at__gt=timezone.now() - timedelta(minutes=10)
    ).first()
    if failure is not None:
        return JsonResponse({"status": "failed", "http_status": failure.http_status, "message": failure.message})
    return JsonResponse({"status": "pending"})


@require_http_methods(["GET", "POST"])
@needs(permissions.CACHE_EVICT)
def evict(request, module, version):
    module, version = _module_version(module, version)
    row = ready_version(module, version)
    if row is None:
        raise Http404("This version is not in the cache.")
    if request.method == "GET":
        return render(request, "browse/evict.html", {"module": module, "version": version, "row": row})
    started = timezone.now()
    if not eviction.evict(row):
        raise Http404("This version is not in the cache.")
    # The audit has no "eviction" table and this change adds none: an eviction is
    # recorded as a FetchEvent with endpoint "evict", outcome "ok" and the staff
    # member's username in `upstream`, so the audit's fetch history of a version shows
    # when it left the cache and who removed it, next to when it was fetched.
    record_fetch(
        module=module, version=version, endpoint="evict", upstream=f"admin:{request.user.get_username()}",
        outcome="ok", duration_s=(timezone.now() - started).total_seconds(), bytes=row.zip_size,
        zip_hash=row.zip_hash, mod_hash=row.mod_hash,
    )
    remaining = Module.objects.filter(path=module).exists()
    target = reverse("browse:module", kwargs={"module": module}) if remaining else reverse("browse:modules")
    return HttpResponseRedirect(target + "?" + urlencode({"evicted": f"{module}@{version}"}))


# --- Rendering helpers -----------------------------------------------------------------


def _highlighted_lines(filename: str, text: str) -> list[str]:
    """One HTML string per source line. Pygments closes its spans at every line end, so
    each line stands alone and can sit in its own row with its own anchor."""
    try:
        lexer = get_lexer_for_filename(posixpath.basename(filename), stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    html = highlight(text, lexer, HtmlFormatter(nowrap=True))
    lines = html.split("\n")
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()
    return [mark_safe(line) for line in lines]


_GO_MOD_DIRECTIVE = re.compile(r"^(\s*)(module|go|toolchain|godebug|require|replace|exclude|retract|tool|ignore)\b")


def _go_mod_lines(go_mod: str, requires) -> list[str]:
    """go.mod as escaped HTML lines: directives and comments coloured with Pygments'
    classes (Pygments has no go.mod lexer), cached requirements linked to their page."""
    links = {}
    for require in requires:
        if require.cached:
            url = reverse("browse:version", kwargs={"module": require.path, "version": require.version})
            links[(require.path, require.version)] = url
    lines = []
    for raw in go_mod.splitlines():
        code, sep, comment = raw.partition("//")
        html = escape(code)
        match = _GO_MOD_DIRECTIVE.match(code)
        if match:
            start, word = match.group(1), match.group(2)
            html = escape(start) + f'<span class="k">{word}</span>' + escape(code[match.end():])
        words = code.split()
        for index in range(len(words) - 1):
            url = links.get((words[index], words[index + 1]))
            if url:
                path_html = escape(words[index])
                html = html.replace(path_html, f'<a href="{escape(url)}">{path_html}</a>', 1)
                break
        if sep:
            html += f'<span class="c1">{escape(sep + comment)}</span>'
        lines.append(mark_safe(html))
    return lines


def _file_tree(files) -> list[dict]:
    """The zip's files as rows of a tree: a directory row before its contents, depth for
    indentation. `files` is sorted by path."""
    rows = []
    seen_dirs = set()
    for entry in sorted(files, key=lambda e: e.path.split("/")):
        parts = entry.path.split("/")
        for depth in range(len(parts) - 1):
            directory = "/".join(parts[: depth + 1])
            if directory not in seen_dirs:
                seen_dirs.add(directory)
                rows.append({"is_dir": True, "depth": depth, "name": parts[depth] + "/", "path": directory})
        rows.append({"is_dir": False, "depth": len(parts) - 1, "name": parts[-1], "path": entry.path, "size": entry.size})
    return rows


MODULE = r"(?P<module>[^@]+?)"
VERSION = r"(?P<version>[^/@]+)"

urlpatterns = [
    path("", home, name="home"),
    path("modules/", module_list, name="modules"),
    path("modules/fetch/", fetch, name="fetch"),
    path("modules/fetch/status", fetch_status, name="fetch-status"),
    re_path(rf"^modules/{MODULE}/@v/{VERSION}/files/(?P<file>.+)$", file_page, name="file"),
    re_path(rf"^modules/{MODULE}/@v/{VERSION}/evict$", evict, name="evict"),
    re_path(rf"^modules/{MODULE}/@v/{VERSION}/$", version_page, name="version"),
    re_path(r"^modules/(?P<module>[^@]+)/$", module_page, name="module"),
    re_path(r"^modules/(?P<module>[^@]*[^@/])$", module_without_slash, name="module-no-slash"),
]
