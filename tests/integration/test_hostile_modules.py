"""Issue 20's table, the browsing side: a module built to be expensive to show costs its
work once, at fetch, and every page of it stays small.

Each input is the table's, scaled down where the full size would only make the test
slow (the scaled inputs still break the old code: it re-parsed and re-rendered them on
every view and printed every line). The timings at full size are in benchmarks/hostile.py.
"""

import pytest

from modules.browse import digest, pages, readme, zipview
from modules.browse.models import VersionDigest
from modules.goproxy import gomod, zipread
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

HOST = "hostile.example.test"
MAX_PAGE_BYTES = 300 * 1024  # "no page is larger than a few hundred KB"


@pytest.fixture
def browse(settings, proxy):
    settings.ATHENS_UI_PUBLIC = True
    return proxy


def cache(client, proxy, module, files, *, go_mod=None, version="v1.0.0"):
    proxy.tree.add_version(module, version, files, go_mod=go_mod)
    response = client.get(f"/{module}/@v/{version}.zip")
    assert response.status_code == 200, response.content
    b"".join(response.streaming_content)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert len(response.content) < MAX_PAGE_BYTES, (url, len(response.content))
    return response.content.decode()


def forbid(monkeypatch, target, name):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} called while showing a page")

    monkeypatch.setattr(target, name, refuse)


def test_a_huge_retract_list_is_parsed_once_and_every_page_stays_small(client, browse, monkeypatch):
    module = f"{HOST}/retracts"
    retracts = "".join(f"retract v0.{i}.0 // bad {i}\n" for i in range(60_000))  # 1.6 MB (the table: 15 MB)
    go_mod = f"// Deprecated: {'long message ' * 1_000}\nmodule {module}\n\ngo 1.21\n\n{retracts}"
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=go_mod, version="v1.0.0")
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=go_mod, version="v0.5.0")
    # No page parses a go.mod again: what they show was stored at fetch.
    forbid(monkeypatch, gomod, "parse_go_mod")
    forbid(monkeypatch, digest, "parse_go_mod")
    listing = page(client, "/modules/?q=retracts")
    assert "v1.0.0" in listing
    module_page = page(client, f"/modules/{module}/")
    assert 'id="v-v0.5.0"' in module_page and "bad 5" in module_page  # v0.5.0 is retracted, with its reason
    assert "badge-deprecated" in module_page and "…" in module_page  # the message is cut
    version_page = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="go-mod-cut"' in version_page and f"/{module}/@v/v1.0.0.mod" in version_page


def test_a_long_require_list_is_paginated(client, browse):
    module = f"{HOST}/requires"
    requires = "".join(f"require {HOST}/dep{i} v1.0.{i}\n" for i in range(5_000))
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=f"module {module}\n\n{requires}")
    first = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="requires-pages"' in first and f"{HOST}/dep0 " in first and f"{HOST}/dep4999 " not in first
    last = page(client, f"/modules/{module}/@v/v1.0.0/?requires=25")
    assert f"{HOST}/dep4999 " in last and "Page 25 of 25" in last


def test_a_zip_of_many_files_is_listed_a_page_at_a_time_and_read_from_its_index(client, browse, monkeypatch):
    module = f"{HOST}/files"
    cache(client, browse, module, {f"p{i // 100}/f{i}.go": f"package p{i // 100}\n" for i in range(6_000)})
    first = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="files-pages"' in first and "Page 1 of 12" in first
    # The file viewer finds the entry in the stored index: the central directory is
    # never parsed again (7.6 s a view for 300,000 files before).
    forbid(monkeypatch, zipread.zipfile, "ZipFile")
    body = page(client, f"/modules/{module}/@v/v1.0.0/files/p42/f4217.go")
    assert "package" in body and "p42" in body
    assert client.get(f"/modules/{module}/@v/v1.0.0/files/p42/f4217.go?download=1").getvalue() == b"package p42\n"
    assert client.get(f"/modules/{module}/@v/v1.0.0/files/p42/nothing.go").status_code == 404


def test_the_readme_is_rendered_at_fetch_and_never_again(client, browse, monkeypatch):
    module = f"{HOST}/brackets"
    cache(client, browse, module, {"README.md": "[" * 30_000, "a.go": "package a\n"})  # the table's 30 KB of "["
    assert VersionDigest.objects.get(version__module__path=module).readme_html
    forbid(monkeypatch, readme.cmarkgfm, "markdown_to_html_with_extensions")
    forbid(monkeypatch, readme.nh3, "clean")
    body = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="readme"' in body and "[[[[" in body


def test_a_readme_nested_too_deeply_is_shown_as_plain_text_saying_why(client, browse):
    module = f"{HOST}/deep"
    nested = "".join("  " * depth + "- level\n" for depth in range(200))
    cache(client, browse, module, {"README.md": nested, "a.go": "package a\n"})
    body = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="readme-note"' in body and "shown as plain text" in body and "levels deep" in body
    assert "<pre>" in body.split('id="readme"')[1] and "<ul>" not in body.split('id="readme"')[1]


def test_a_readme_larger_than_the_limit_is_not_rendered_and_says_so(client, browse):
    module = f"{HOST}/bigreadme"
    cache(client, browse, module, {"README.md": "word " * 120_000, "a.go": "package a\n"})  # 600 KB
    body = page(client, f"/modules/{module}/@v/v1.0.0/")
    assert 'id="readme-note"' in body and "more than the 512 KiB" in body and 'id="readme"' not in body


README_WITH_IMAGES = (
    "# Pictures\n\n![tracker](https://tracker.example.test/pixel.png)\n\n"
    "[![build](https://ci.example.test/badge.svg)](https://ci.example.test/job)\n\n![local](docs/shot.png)\n"
)


def test_external_readme_images_are_links_unless_allowed(client, browse, settings):
    module = f"{HOST}/images"
    cache(client, browse, module, {"README.md": README_WITH_IMAGES, "docs/shot.png": b"\x89PNG", "a.go": "package a\n"})
    body = page(client, f"/modules/{module}/@v/v1.0.0/")
    shown = body.split('id="readme"')[1].split("</article>")[0]
    assert '<img src="https://' not in shown  # nothing is loaded from another site
    assert '<a class="readme-image" href="https://tracker.example.test/pixel.png"' in shown and "[tracker]" in shown
    assert '<a href="https://ci.example.test/job"' in shown and "[build]" in shown  # the badge's own link stays
    assert '<img src="files/docs/shot.png"' in shown  # the module's own files come from this proxy
    settings.ATHENS_README_EXTERNAL_IMAGES = True
    allowed = page(client, f"/modules/{module}/@v/v1.0.0/").split('id="readme"')[1]
    assert '<img src="https://tracker.example.test/pixel.png"' in allowed


def test_many_cached_versions_are_paginated(client, browse):
    module = f"{HOST}/versions"
    for minor in range(pages.VERSIONS_PER_PAGE + 5):
        browse.tree.add_version(module, f"v1.{minor}.0", {"a.go": "package a\n"})
        assert client.get(f"/{module}/@v/v1.{minor}.0.info").status_code == 200
    first = page(client, f"/modules/{module}/")
    assert 'id="versions-pages"' in first and 'id="v-v1.204.0"' in first and 'id="v-v1.0.0"' not in first
    second = page(client, f"/modules/{module}/?page=2")
    assert 'id="v-v1.0.0"' in second and 'id="v-v1.204.0"' not in second


def test_the_file_index_is_the_zip_as_the_fetch_read_it(client, browse):
    module = f"{HOST}/index"
    files = {"go.mod": f"module {module}\n", "b/z.go": "package b\n", "a.go": "package a\n", "b.go": "package b\n"}
    cache(client, browse, module, files)
    detail = pages.version_detail(module, "v1.0.0")
    assert [(f.path, f.size) for f in detail.files] == [
        ("a.go", 10), ("b/z.go", 10), ("b.go", 10), ("go.mod", len(files["go.mod"])),  # a directory's files first
    ]
    assert zipview.read_file(detail.row, "b/z.go").data == b"package b\n"


def test_admin_pages_of_a_huge_module_stay_small_and_versions_are_evicted_not_deleted(admin_client, client, browse):
    module = f"{HOST}/admin"
    retracts = "".join(f"retract v0.{i}.0 // bad {i}\n" for i in range(20_000))
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=f"module {module}\n\n{retracts}")
    row = ModuleVersion.objects.get(module__path=module)
    version_page = admin_client.get(f"/admin/modules/moduleversion/{row.pk}/change/")
    assert version_page.status_code == 200 and len(version_page.content) < MAX_PAGE_BYTES
    assert "bytes in all" in version_page.content.decode()
    module_page = admin_client.get(f"/admin/modules/module/{row.module_id}/change/")
    assert module_page.status_code == 200 and "1 cached" in module_page.content.decode()
    # The admin's delete would leave the storage objects and the audit without a word.
    assert admin_client.post(f"/admin/modules/moduleversion/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ModuleVersion.objects.filter(pk=row.pk).exists()


def test_an_image_url_with_a_tab_in_its_scheme_is_a_link_too(client, browse):
    module = f"{HOST}/tab"
    cache(client, browse, module, {"README.md": '<img src="ht&#9;tps://evil.example/p.png" alt="<b>x</b>">\n', "a.go": "package a\n"})
    shown = page(client, f"/modules/{module}/@v/v1.0.0/").split('id="readme"')[1].split("</article>")[0]
    assert "<img" not in shown and 'class="readme-image"' in shown and "<b>" not in shown
