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
    assert 'href="?requires=24#requires-pages"' in last  # back to the list, not the page top


def test_the_go_mod_links_the_cached_requirements_it_shows_whatever_requires_page_is_open(client, browse):
    module = f"{HOST}/linked"
    requires = "".join(f"require {HOST}/dep{i} v1.0.0\n" for i in range(500))
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=f"module {module}\n\n{requires}")
    cache(client, browse, f"{HOST}/dep3", {"d.go": "package d\n"})
    link = f'href="/modules/{HOST}/dep3/@v/v1.0.0/"'
    for query in ("", "?requires=2", "?requires=3"):
        shown = page(client, f"/modules/{module}/@v/v1.0.0/{query}")
        go_mod_part = shown[shown.index('id="go-mod"'):shown.index("Requirements")]
        assert link in go_mod_part, query


def test_a_go_mod_cut_is_said_to_be_cut_by_its_bytes_even_when_not_utf8(client, browse):
    module = f"{HOST}/latin1"
    # 1,000 lines, more than the page shows; each é is one byte here and three once
    # shown as U+FFFD, so the text shown is longer than the whole file in bytes.
    comments = ("// " + "\xe9" * 20 + "\n") * 1_000
    go_mod = f"module {module}\n\n{comments}".encode("latin-1")
    cache(client, browse, module, {"a.go": "package a\n"}, go_mod=go_mod)
    assert 'id="go-mod-cut"' in page(client, f"/modules/{module}/@v/v1.0.0/")
