"""The browsing UI's data: modules/browse/ (pages, digest, zipview, readme),
against versions cached through the real fetch path from a static upstream (or, for
zips the fetch path would refuse, rows and storage objects written directly)."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from audit.models import DownloadEvent
from modules.browse import pages as browse
from modules.browse import zipview
from modules.fetch import artifact_key, fetch_version, modules_storage
from modules.browse.models import VersionDigest
from modules.goproxy.errors import InvalidZipError
from modules.models import Module, ModuleVersion, PolicyRule
from modules.browse.readme import find_readme, render_readme
from tests.support.gomodules import build_zip
from tests.support.html import assert_harmless

pytestmark = pytest.mark.django_db

HOST = "browse.example.test"


def cache(proxy, module, version, files=None, **kwargs) -> tuple[ModuleVersion, object]:
    """Publish module@version on the static upstream, then fetch it into the cache."""
    fixture = proxy.tree.add_version(module, version, files or {"a.go": "package a\n"}, **kwargs)
    return fetch_version(module, version), fixture


def store_directly(module, version, zip_bytes, go_mod=None) -> ModuleVersion:
    """A READY row and zip object without the fetch path's validation."""
    key = artifact_key(module, version, "zip")
    modules_storage().save(key, ContentFile(zip_bytes))
    module_row, _ = Module.objects.get_or_create(path=module)
    return ModuleVersion.objects.create(
        module=module_row, version=version, info="{}", time=timezone.now(),
        go_mod=go_mod or f"module {module}\n".encode(), zip_key=key, zip_size=len(zip_bytes),
        zip_hash="h1:zip", mod_hash="h1:mod", upstream="test",
    )


def download(module, version, *, when=None, endpoint="zip", status=200):
    DownloadEvent.objects.create(
        time=when or timezone.now(), module=module, version=version, endpoint=endpoint,
        status=status, duration_ms=1.0,
    )


# -- a module's versions ----------------------------------------------------------------

LATEST_GO_MOD = """// Deprecated: use browse.example.test/newlib instead.
module {module}

go 1.21

retract v1.2.0 // broken build

retract [v1.3.0, v1.4.0]
"""


@pytest.fixture
def lib(proxy):
    module = f"{HOST}/lib"
    for version in ("v1.0.0", "v1.2.0", "v1.3.0", "v1.10.0-rc.1", "v1.9.1-0.20240101000000-abcdefabcdef"):
        cache(proxy, module, version)
    cache(proxy, module, "v1.9.0", go_mod=LATEST_GO_MOD.format(module=module))
    return module


def test_versions_are_newest_first_in_go_semver_order_with_kind_badges(lib):
    detail = browse.module_detail(lib)
    assert [(row.version, row.kind) for row in detail.versions] == [
        ("v1.10.0-rc.1", "prerelease"),
        ("v1.9.1-0.20240101000000-abcdefabcdef", "pseudo"),
        ("v1.9.0", "release"),
        ("v1.3.0", "release"),
        ("v1.2.0", "release"),
        ("v1.0.0", "release"),
    ]


def test_latest_prefers_the_highest_release_over_newer_prereleases_and_pseudo_versions(lib):
    assert browse.module_detail(lib).latest == "v1.9.0"


def test_retractions_and_deprecation_come_from_the_latest_go_mod(lib):
    detail = browse.module_detail(lib)
    retracted = {row.version: row.retracted for row in detail.versions}
    assert retracted["v1.2.0"] == "broken build"
    assert retracted["v1.3.0"] == ""  # in the range, no rationale
    assert retracted["v1.0.0"] is None and retracted["v1.9.0"] is None
    assert detail.deprecated == "use browse.example.test/newlib instead."
    version = browse.version_detail(lib, "v1.2.0")
    assert (version.retracted, version.deprecated, version.kind) == ("broken build", detail.deprecated, "release")


def test_latest_skips_a_self_retracted_version(proxy):
    module = f"{HOST}/selfretract"
    cache(proxy, module, "v1.0.0")
    cache(proxy, module, "v1.1.0", go_mod=f"module {module}\n\nretract v1.1.0 // oops\n")
    assert browse.module_detail(module).latest == "v1.0.0"
    assert browse.search_modules(q="selfretract").items[0].latest_version == "v1.0.0"


def test_policy_decisions_and_downloads_are_shown_per_version(lib):
    PolicyRule.objects.create(pattern=lib, versions="<v1.2.0", action="deny", reason="CVE-2024-0001")
    download(lib, "v1.0.0")
    download(lib, "v1.0.0")
    download(lib, "v1.0.0", endpoint="mod")  # not a download of the module's code
    download(lib, "v1.0.0", status=404)
    download(lib, "v1.0.0", when=timezone.now() - timedelta(days=40))
    rows = {row.version: row for row in browse.module_detail(lib).versions}
    assert not rows["v1.0.0"].allowed and "CVE-2024-0001" in rows["v1.0.0"].policy_reason
    assert rows["v1.9.0"].allowed
    assert rows["v1.0.0"].downloads == 2 and rows["v1.9.0"].downloads == 0


def test_unknown_module_and_version_give_none(lib):
    assert browse.module_detail(f"{HOST}/nothing") is None
    assert browse.version_detail(lib, "v9.9.9") is None


# -- search, sort, pagination -------------------------------------------------------------


def make_modules(count):
    """Rows only: search reads no storage."""
    modules = Module.objects.bulk_create(Module(path=f"{HOST}/m{i:03d}") for i in range(count))
    now = timezone.now()
    ModuleVersion.objects.bulk_create(
        ModuleVersion(
            module=m, version=v, info="{}", time=now, go_mod=f"module {m.path}\n".encode(),
            zip_key=f"{m.path}/{v}.zip", zip_size=10, zip_hash="h1:x", mod_hash="h1:y", upstream="t",
        )
        for m in modules for v in ("v1.0.0", "v1.1.0")
    )
    return modules


def test_search_is_a_case_insensitive_substring_and_paginates():
    make_modules(120)
    page = browse.search_modules(q="M01", per_page=5)
    assert page.count == 10 and page.num_pages == 2  # m010..m019
    assert [m.path for m in page.items] == [f"{HOST}/m01{i}" for i in range(5)]
    assert page.has_next and not page.has_previous
    second = browse.search_modules(q="m01", page=2, per_page=5)
    assert second.number == 2 and not second.has_next and second.has_previous
    assert browse.search_modules(q="m01", page=99, per_page=5).number == 2
    assert browse.search_modules(q="m01", page="junk", per_page=5).number == 1
    item = page.items[0]
    assert (item.latest_version, item.version_count) == ("v1.1.0", 2)
    assert browse.search_modules(q="no such thing").count == 0


def test_search_sorts_by_name_recent_and_popular_and_falls_back_to_name():
    modules = make_modules(5)
    ModuleVersion.objects.filter(module=modules[2]).update(fetched_at=timezone.now() + timedelta(hours=1))
    for _ in range(3):
        download(modules[4].path, "v1.0.0")
    download(modules[1].path, "v1.1.0")
    download(modules[0].path, "v1.0.0", when=timezone.now() - timedelta(days=31))
    paths = lambda sort: [m.path for m in browse.search_modules(sort=sort).items]  # noqa: E731
    assert paths("name") == paths("bogus") == [m.path for m in modules]
    assert paths("recent")[0] == modules[2].path
    assert paths("popular")[:2] == [modules[4].path, modules[1].path]
    pages = [[m.path for m in browse.search_modules(sort="popular", page=n, per_page=2).items] for n in (1, 2, 3)]
    assert pages == [[modules[4].path, modules[1].path], [modules[0].path, modules[2].path], [modules[3].path]]
    assert browse.search_modules(q="m004", sort="popular").items[0].downloads == 3
    counts = {m.path: m.downloads for m in browse.search_modules(sort="name").items}
    assert counts[modules[4].path] == 3 and counts[modules[0].path] == 0


@pytest.mark.parametrize("sort", browse.SORTS)
def test_search_runs_a_fixed_number_of_queries_whatever_the_page_size(sort, django_assert_max_num_queries):
    make_modules(60)
    browse.search_modules(sort=sort, per_page=50)  # rows made directly: the first view builds their digests
    with django_assert_max_num_queries(8):
        page = browse.search_modules(sort=sort, per_page=50)
    assert len(page.items) == 50


def test_site_totals_and_recently_cached(lib):
    download(lib, "v1.0.0")
    download(lib, "v1.0.0", when=timezone.now() - timedelta(days=2))
    totals = browse.site_totals()
    assert (totals.modules, totals.versions, totals.downloads_today) == (1, 6, 1)
    assert totals.storage_bytes == sum(ModuleVersion.objects.values_list("zip_size", flat=True))
    recent = browse.recently_cached(limit=2)
    assert [r.version for r in recent] == ["v1.9.0", "v1.9.1-0.20240101000000-abcdefabcdef"]


# -- one version --------------------------------------------------------------------------

MIT = """MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software...
"""


def test_version_detail_shows_requires_go_sum_files_license_and_readme(proxy):
    dep = f"{HOST}/dep"
    cache(proxy, dep, "v1.0.0")
    app = f"{HOST}/app"
    go_mod = f"module {app}\n\ngo 1.22\n\nrequire (\n\t{dep} v1.0.0\n\t{HOST}/other v2.0.0+incompatible // indirect\n)\n"
    readme = "# App\n\nSee [docs](docs/guide.md).\n"
    row, fixture = cache(proxy, app, "v1.0.0", {
        "go.mod": go_mod, "main.go": "package main\n", "LICENSE": MIT, "README.md": readme, "docs/guide.md": "guide\n",
    })
    download(app, "v1.0.0")
    detail = browse.version_detail(app, "v1.0.0")
    assert detail.row == row and detail.kind == "release" and detail.retracted is None
    assert detail.go_get == f"go get {app}@v1.0.0"
    assert detail.go_mod == go_mod
    assert [(r.path, r.version, r.indirect, r.cached) for r in detail.requires] == [
        (dep, "v1.0.0", False, True), (f"{HOST}/other", "v2.0.0+incompatible", True, False),
    ]
    assert detail.go_sum == fixture.go_sum_lines()
    assert detail.go_sum[0].endswith(fixture.zip_hash) and detail.go_sum[1].endswith(fixture.mod_hash)
    assert [(f.path, f.size) for f in detail.files] == [
        ("LICENSE", len(MIT)), ("README.md", len(readme)), ("docs/guide.md", 6), ("go.mod", len(go_mod)), ("main.go", 13),
    ]
    assert (detail.license_name, detail.license_path) == ("MIT", "LICENSE")
    assert "<h1>App</h1>" in detail.readme_html
    # Relative to the version page, where the README is shown: .../@v/v1.0.0/files/docs/guide.md
    assert 'href="files/docs/guide.md"' in detail.readme_html
    assert len(detail.downloads_by_day) == 30
    assert detail.downloads_by_day[-1] == (datetime.now(UTC).date(), 1)
    assert sum(n for _, n in detail.downloads_by_day) == 1
    assert detail.allowed and detail.policy_reason == "allowed"


def test_a_go_mod_that_is_not_utf8_is_decoded_with_replacement_characters(proxy):
    module = f"{HOST}/latin1"
    cache(proxy, module, "v1.0.0", go_mod=f"module {module}\n\n// caf\xe9\n".encode("latin-1"))
    assert "caf\ufffd" in browse.version_detail(module, "v1.0.0").go_mod


HOSTILE_README = """# Title

<script>alert("readme")</script>
<img src=x onerror=alert(1)>
<iframe src="https://evil.example/"></iframe>
<style>body { display: none }</style>
<form action="https://evil.example/"><input name=pw></form>
<a href="javascript:alert(2)">click</a> [md link](javascript:alert(3))
<div onclick="alert(4)" onmouseover="alert(5)">hover</div>
![pixel](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)
<object data="evil.swf"></object><embed src="evil.swf">

[ok](https://example.com/docs)
"""


def test_hostile_readme_is_rendered_harmless(proxy):
    module = f"{HOST}/hostile"
    cache(proxy, module, "v1.0.0", {"README.md": HOSTILE_README, "a.go": "package a\n"})
    html = browse.version_detail(module, "v1.0.0").readme_html
    assert_harmless(html)
    assert "<h1>Title</h1>" in html
    assert '<a href="https://example.com/docs" rel="nofollow noopener noreferrer">ok</a>' in html


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "```html\n<script>alert(1)</script>\n```",
])
def test_render_readme_neutralizes_hostile_markup(text):
    assert_harmless(render_readme(text, base_url="/files/"))


def test_render_readme_drops_relative_links_without_a_base_and_keeps_them_inside_the_module():
    html = render_readme("[a](docs/x.md) ![i](img.png) [up](../../../etc/passwd) [top](#usage)")
    assert "docs/x.md" not in html and "img.png" not in html and 'href="#usage"' in html
    html = render_readme("[up](../../../etc/passwd)", base_url="/files/")
    assert 'href="/files/"' in html


def test_find_readme_prefers_markdown_at_the_root():
    assert find_readme(["README", "sub/README.md", "readme.markdown"]) == "readme.markdown"
    assert find_readme(["README.md", "README"]) == "README.md"
    assert find_readme(["README.txt"]) == "README.txt"
    assert find_readme(["docs/README.md", "main.go"]) is None


# -- reading the zip -----------------------------------------------------------------------


@pytest.fixture
def files_row(proxy):
    row, _ = cache(proxy, f"{HOST}/files", "v1.0.0", {
        "main.go": "package main\n\nfunc main() {}\n",
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "latin1.txt": "caf\xe9\n".encode("latin-1"),
        "big.txt": "x" * 5000,
        "unicode.txt": "h\u00e9llo \u2603\n" * 2000,
    })
    return row


def test_read_text_file(files_row):
    content = zipview.read_file(files_row, "main.go")
    assert content.data == b"package main\n\nfunc main() {}\n"
    assert (content.size, content.is_binary, content.too_large) == (29, False, False)


@pytest.mark.parametrize("path", ["logo.png", "latin1.txt"])
def test_binary_files_have_no_data(files_row, path):
    content = zipview.read_file(files_row, path)
    assert content.is_binary and content.data is None and not content.too_large


def test_too_large_file_has_no_data_but_its_size(files_row):
    content = zipview.read_file(files_row, "big.txt", max_bytes=1000)
    assert (content.data, content.too_large, content.is_binary, content.size) == (None, True, False, 5000)
    # A multi-byte character cut at the limit does not make a text file binary.
    content = zipview.read_file(files_row, "unicode.txt", max_bytes=8193)
    assert content.too_large and not content.is_binary


@pytest.mark.parametrize("path", ["missing.go", "", "/main.go", "../main.go", "./main.go", "MAIN.GO",
                                  f"{HOST}/files@v1.0.0/main.go", "/etc/passwd"])
def test_a_path_not_in_the_zip_is_not_found(files_row, path):
    with pytest.raises(zipview.FileNotInZip):
        zipview.read_file(files_row, path)
    with pytest.raises(KeyError):
        zipview.open_zip_file(files_row, path)


def test_open_zip_file_streams_one_file(files_row):
    with zipview.open_zip_file(files_row, "big.txt") as stream:
        assert stream.raw.size == 5000
        assert stream.read(10) == b"x" * 10
        assert stream.read() == b"x" * 4990


def test_hostile_zip_names_are_returned_as_data_and_never_touch_the_filesystem(tmp_path):
    module, version = f"{HOST}/evil", "v1.0.0"
    prefix = f"{module}@{version}/"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("<script>alert(1)</script>.go", "../../outside.txt", "a/../../../etc/passwd", "ok.go"):
            zf.writestr(prefix + name, b"payload " + name.encode())
        zf.writestr("other@v1.0.0/stray.go", b"not this module")
        bad = zipfile.ZipInfo(prefix + "x")
        zf.writestr(bad, b"non-utf8 name")
    raw = buf.getvalue().replace(prefix.encode() + b"x", prefix.encode() + b"\xff")  # same length, not UTF-8
    row = store_directly(module, version, raw)
    paths = [f.path for f in browse.version_detail(module, version).files]
    assert sorted(paths) == sorted(["<script>alert(1)</script>.go", "../../outside.txt", "a/../../../etc/passwd", "ok.go", "\udcff"])
    assert zipview.read_file(row, "../../outside.txt").data == b"payload ../../outside.txt"
    assert zipview.read_file(row, "a/../../../etc/passwd").data == b"payload a/../../../etc/passwd"
    assert not (tmp_path / "outside.txt").exists()
    detail = browse.version_detail(module, version)
    assert "<script>alert(1)</script>.go" in [f.path for f in detail.files]  # raw text: templates escape it


def test_files_are_listed_from_the_stored_index_a_page_at_a_time(proxy):
    row, _ = cache(proxy, f"{HOST}/many", "v1.0.0", {f"d{i % 3}/f{i:04d}.go": "package many\n" for i in range(1200)})
    first = browse.version_detail(f"{HOST}/many", "v1.0.0")
    assert (first.files_page.count, first.files_page.num_pages, len(first.files)) == (1200, 3, browse.FILES_PER_PAGE)
    pages = [browse.version_detail(f"{HOST}/many", "v1.0.0", files_page=n).files for n in (1, 2, 3)]
    listed = [f.path for page in pages for f in page]
    assert listed == sorted(f"d{i % 3}/f{i:04d}.go" for i in range(1200))
    # The zip's central directory is not read again: the index says where each file is.
    modules_storage().delete(row.zip_key)
    modules_storage().save(row.zip_key, ContentFile(b"not a zip any more"))
    assert [f.path for f in browse.version_detail(f"{HOST}/many", "v1.0.0", files_page=2).files] == [f.path for f in pages[1]]


def test_a_zip_with_more_entries_than_the_limit_has_its_error_on_the_page(proxy, settings):
    module = f"{HOST}/many"
    zip_bytes = build_zip(module, "v1.0.0", {f"f{i}.go": "package many\n" for i in range(20)})
    store_directly(module, "v1.0.0", zip_bytes)  # cached before the limit was lowered
    settings.ATHENS_ZIP_MAX_FILES = 10
    detail = browse.version_detail(module, "v1.0.0")
    assert detail.files == [] and "more than 10 entries" in detail.zip_error
    with pytest.raises(InvalidZipError):
        zipview.read_file(detail.row, "f1.go")


def test_a_zip_missing_from_storage_leaves_the_rest_of_the_page(proxy):
    row, _ = cache(proxy, f"{HOST}/gone", "v1.0.0", {"README.md": "# Gone\n", "a.go": "package a\n"})
    modules_storage().delete(row.zip_key)
    detail = browse.version_detail(f"{HOST}/gone", "v1.0.0")
    # Derived when it was cached: still shown.
    assert [f.path for f in detail.files] == ["README.md", "a.go"] and "<h1>Gone</h1>" in detail.readme_html
    with pytest.raises(FileNotFoundError):
        zipview.read_file(row, "a.go")


def test_a_version_cached_before_digests_gets_one_on_its_first_view(proxy):
    module = f"{HOST}/legacy"
    row = store_directly(module, "v1.0.0", build_zip(module, "v1.0.0", {"README.md": "# Old\n", "LICENSE": MIT}),
                         go_mod=f"module {module}\n\nrequire {HOST}/dep v1.0.0\n".encode())
    assert not VersionDigest.objects.filter(version=row).exists()
    detail = browse.version_detail(module, "v1.0.0")
    assert "<h1>Old</h1>" in detail.readme_html and detail.license_name == "MIT"
    assert [(r.path, r.version) for r in detail.requires] == [(f"{HOST}/dep", "v1.0.0")]
    assert VersionDigest.objects.filter(version=row).exists() and browse.module_detail(module).latest == "v1.0.0"


def test_build_zip_helper_is_the_fixture_format():
    # Guard for the tests above: entries carry the module@version/ prefix.
    names = zipfile.ZipFile(io.BytesIO(build_zip("x.test/m", "v1.0.0", {"a.go": "package a\n"}))).namelist()
    assert names == ["x.test/m@v1.0.0/a.go"]


@pytest.mark.parametrize("text", [
    "[" * 30_000,  # quadratic in Python-Markdown: 16.5 s for 8,000 (issue 20)
    "".join("  " * depth + "- x\n" for depth in range(3_000)),  # RecursionError before
    ">" * 20_000 + " deep quote\n",
    "*a **b " * 5_000,
])
def test_hostile_readme_shapes_render(text):
    html = render_readme(text, base_url="/files/")
    assert html
    assert_harmless(html)
