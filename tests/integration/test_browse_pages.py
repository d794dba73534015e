"""The cache browser's pages, through Django's test client, over a cache filled through
the real download API from the static upstream (tests/support)."""

from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import storages

from audit.models import FetchEvent
from modules.fetch import artifact_key
from modules.models import Module, ModuleVersion
from modules.tasks import fetch_version_task
from modules.views import browse as browse_views
from tests.support.html import assert_harmless
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"
RETRACTED = f"{HOST}/retracted"
PSEUDO = f"{HOST}/pseudo"
PSEUDO_VERSION = "v0.0.0-20240102030405-abcdef123456"
UPPER = f"{HOST}/Upper/Case"
GREETER = f"{HOST}/greeter"
HOSTILE_README = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"


def cache(client, module, version):
    response = client.get(f"/{_escape(module)}/@v/{_escape(version)}.zip")
    assert response.status_code == 200, response.content
    b"".join(response.streaming_content)


def _escape(text):
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in text)


@pytest.fixture
def cached(client, proxy):
    for module, version in [
        (HELLO, "v1.0.0"), (HELLO, "v1.1.0"), (HELLO, "v1.2.0-beta.1"), (HELLO, "v1.2.0"),
        (RETRACTED, "v1.0.0"), (RETRACTED, "v1.1.0"), (RETRACTED, "v1.2.0"),
        (PSEUDO, PSEUDO_VERSION), (UPPER, "v0.1.0"), (GREETER, "v1.0.0"),
    ]:
        cache(client, module, version)
    return proxy


@pytest.fixture
def public(settings):
    settings.ATHENS_UI_PUBLIC = True


@pytest.fixture
def staff(client):
    user = member_of("Release managers", "operator", staff=False)
    client.force_login(user)
    return user


@pytest.fixture
def member(client):
    user = get_user_model().objects.create_user("dev", "dev@example.test", "pw")
    client.force_login(user)
    return user


def text(response) -> str:
    return response.content.decode()


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/modules/", f"/modules/{HELLO}/", f"/modules/{HELLO}/@v/v1.0.0/",
                                 f"/modules/{HELLO}/@v/v1.0.0/files/hello.go"])
def test_every_page_needs_a_login_by_default(client, cached, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_logged_in_users_may_browse(client, cached, member):
    assert client.get("/").status_code == 200
    assert client.get(f"/modules/{HELLO}/").status_code == 200


def test_pages_are_public_with_the_setting(client, cached, public):
    for url in ["/", "/modules/", f"/modules/{HELLO}/", f"/modules/{HELLO}/@v/v1.0.0/"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("is_staff", [False, True], ids=["member", "staff-without-permissions"])
def test_fetch_and_evict_need_their_permissions_even_when_public(client, cached, public, is_staff):
    evict_url = f"/modules/{HELLO}/@v/v1.0.0/evict"
    assert client.get("/modules/fetch/").status_code == 302
    assert client.post(evict_url).status_code == 302
    get_user_model().objects.create_user("dev", "dev@example.test", "pw", is_staff=is_staff)
    client.force_login(get_user_model().objects.get(username="dev"))
    assert client.get("/modules/fetch/").status_code == 403
    assert client.post("/modules/fetch/", {"module": HELLO, "version": "v1.0.0"}).status_code == 403
    assert client.get(f"/modules/fetch/status?module={HELLO}&version=v1.0.0").status_code == 403
    assert client.post(evict_url).status_code == 403
    assert ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()
    page = client.get(f"/modules/{HELLO}/@v/v1.0.0/").content.decode()
    assert "/modules/fetch/" not in page and evict_url not in page  # not offered either


# --- Pages ----------------------------------------------------------------------------------


def test_home_says_how_to_use_the_proxy_with_totals_and_recent_versions(client, cached, public, settings):
    settings.ALLOWED_HOSTS = ["goproxy.corp.test"]
    response = client.get("/", HTTP_HOST="goproxy.corp.test")
    page = text(response)
    assert "go env -w GOPROXY=http://goproxy.corp.test<" in page
    totals = response.context["totals"]
    assert (totals.modules, totals.versions) == (5, 10)
    assert 'id="totals"' in page and "Downloads today" in page
    assert f"/modules/{GREETER}/@v/v1.0.0/" in page  # the last one cached


def test_module_list_searches_sorts_and_paginates(client, cached, public, monkeypatch):
    page = text(client.get("/modules/"))
    for module in (HELLO, RETRACTED, PSEUDO, UPPER, GREETER):
        assert f'href="/modules/{module}/"' in page
    found = client.get("/modules/", {"q": "retr"})
    assert [m.path for m in found.context["page"].items] == [RETRACTED]
    assert [m.path for m in client.get("/modules/", {"sort": "recent"}).context["page"].items][0] == GREETER
    popular = client.get("/modules/", {"sort": "popular"}).context["page"].items
    assert popular[0].path == HELLO  # four zips downloaded
    monkeypatch.setattr(browse_views, "PER_PAGE", 2)
    second = client.get("/modules/", {"q": "example", "sort": "name", "page": 2})
    assert second.context["page"].number == 2
    assert "?q=example&amp;sort=name&amp;page=3" in text(second)
    assert "?q=example&amp;sort=name&amp;page=1" in text(second)
    assert client.get("/modules/", {"page": "x"}).status_code == 200


def test_module_page_lists_versions_newest_first_with_kind_badges(client, cached, public):
    response = client.get(f"/modules/{HELLO}/")
    assert [row.version for row in response.context["module"].versions] == ["v1.2.0", "v1.2.0-beta.1", "v1.1.0", "v1.0.0"]
    page = text(response)
    assert page.count('class="badge badge-release"') == 3
    assert page.count('class="badge badge-prerelease"') == 1
    assert "badge-retracted" not in page and "badge-deprecated" not in page


def test_retracted_and_deprecated_badges_with_rationale(client, cached, public):
    page = text(client.get(f"/modules/{RETRACTED}/"))
    assert 'id="deprecated"' in page and "use x instead" in page
    assert page.count('class="badge badge-retracted"') == 1
    row = page.split('id="v-v1.1.0"')[1].split("</tr>")[0]
    assert "badge-retracted" in row and "broken" in row
    version_page = text(client.get(f"/modules/{RETRACTED}/@v/v1.1.0/"))
    assert 'id="retracted"' in version_page and "broken" in version_page
    assert 'id="deprecated"' in version_page


def test_pseudo_version_badge(client, cached, public):
    page = text(client.get(f"/modules/{PSEUDO}/"))
    assert 'class="badge badge-pseudo">pseudo-version' in page
    assert client.get(f"/modules/{PSEUDO}/@v/{PSEUDO_VERSION}/").status_code == 200


def test_denied_versions_are_marked_with_the_reason(client, cached, public):
    from modules.models import PolicyRule
    PolicyRule.objects.create(pattern=HELLO, versions="<v1.1.0", action="deny", reason="CVE-2024-0001")
    page = text(client.get(f"/modules/{HELLO}/"))
    row = page.split('id="v-v1.0.0"')[1].split("</tr>")[0]
    assert "badge-denied" in row and "CVE-2024-0001" in row
    assert "badge-denied" not in page.split('id="v-v1.1.0"')[1].split("</tr>")[0]
    assert 'id="denied"' in text(client.get(f"/modules/{HELLO}/@v/v1.0.0/"))


def test_version_page_has_go_get_go_mod_go_sum_license_files_and_chart(client, cached, public):
    response = client.get(f"/modules/{HELLO}/@v/v1.1.0/")
    page = text(response)
    files = cached.tree.files(HELLO, "v1.1.0")
    assert f"go get {HELLO}@v1.1.0" in page
    assert f'<span class="k">module</span> {HELLO}' in page
    for line in files.go_sum_lines():
        assert line in page
    assert f'href="/modules/{HELLO}/@v/v1.1.0/files/LICENSE"' in page
    assert f'href="/modules/{HELLO}/@v/v1.1.0/files/world/world.go"' in page
    assert '<span class="dir">world/</span>' in page
    assert 'class="report-chart' in page  # the zip download above is on the chart
    # When this proxy first fetched it (what a quarantine counts from), not the .info Time.
    fetched = ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0").fetched_at
    assert f'id="first-seen" datetime="{fetched.isoformat()}"' in page


def test_go_mod_links_cached_requirements(client, cached, public):
    page = text(client.get(f"/modules/{GREETER}/@v/v1.0.0/"))
    assert f'<a href="/modules/{HELLO}/@v/v1.1.0/">{HELLO}</a> v1.1.0' in page


def test_file_page_highlights_go_with_line_anchors(client, cached, public):
    page = text(client.get(f"/modules/{HELLO}/@v/v1.1.0/files/hello.go"))
    assert '<tr id="L1">' in page and 'href="#L1"' in page
    assert '<span class="kn">package</span>' in page
    assert "hello v1.1.0" in page


def test_file_download_is_an_attachment(client, cached, public):
    response = client.get(f"/modules/{HELLO}/@v/v1.1.0/files/hello.go", {"download": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"package hello" in b"".join(response.streaming_content)


def test_binary_and_large_files_are_offered_as_downloads(client, proxy, public):
    module = f"{HOST}/assets"
    proxy.tree.add_version(module, "v1.0.0", {
        "go.mod": f"module {module}\n", "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 10,
        "big.txt": "x" * (600 * 1024),
    })
    cache(client, module, "v1.0.0")
    binary = text(client.get(f"/modules/{module}/@v/v1.0.0/files/logo.png"))
    assert 'id="not-shown"' in binary and "binary" in binary and "?download=1" in binary
    large = text(client.get(f"/modules/{module}/@v/v1.0.0/files/big.txt"))
    assert "too large" in large and 'id="source"' not in large


def test_uppercase_module_paths_work(client, cached, public):
    page = text(client.get(f"/modules/{UPPER}/"))
    assert f'href="/modules/{UPPER}/@v/v0.1.0/"' in page
    assert client.get(f"/modules/{UPPER}/@v/v0.1.0/").status_code == 200
    assert client.get(f"/modules/{UPPER}/@v/v0.1.0/files/case.go").status_code == 200


def test_hostile_readme_and_file_names_are_escaped(client, proxy, public):
    module = f"{HOST}/hostile"
    # Go's file path rules forbid < > ' " (the fetch would refuse the zip); & % # and
    # spaces are allowed, and must be escaped in the HTML and the links.
    name = "x&lt&gt%2F #[1].go"
    proxy.tree.add_version(module, "v1.0.0", {
        "go.mod": f"module {module}\n", "README.md": HOSTILE_README, name: "package hostile\n",
    })
    cache(client, module, "v1.0.0")
    page = text(client.get(f"/modules/{module}/@v/v1.0.0/"))
    readme = page.split('id="readme"')[1].split("</article>")[0]
    assert_harmless(readme.split(">", 1)[1])
    assert ">x&amp;lt&amp;gt%2F #[1].go</a>" in page
    assert 'href="/modules/mods.example.test/hostile/@v/v1.0.0/files/x&amp;lt&amp;gt%252F%20%23%5B1%5D.go"' in page
    file_page = client.get(f"/modules/{module}/@v/v1.0.0/files/{quote(name)}")
    assert file_page.status_code == 200
    assert "x&amp;lt&amp;gt%2F #[1].go" in text(file_page)


@pytest.mark.parametrize("url", [
    f"/modules/{HOST}/nope/", f"/modules/{HELLO}/@v/v9.9.9/", f"/modules/{HELLO}/@v/v1.0/",
    f"/modules/{HELLO}/@v/master/", f"/modules/{HELLO}/@v/v1.0.0/files/nope.go", "/modules/not a path/",
    f"/modules/{HELLO}/@v/v2.0.0/", f"/modules/{HELLO}/@v/v1.0.0/files/nope.go?download=1",
])
def test_unknown_things_are_404(client, cached, public, url):
    assert client.get(url).status_code == 404


def test_module_url_without_slash_redirects(client, cached, public):
    response = client.get(f"/modules/{HELLO}")
    assert (response.status_code, response["Location"]) == (302, f"/modules/{HELLO}/")


def test_download_api_still_answers_beside_the_browser(client, cached, public):
    assert client.get(f"/{HELLO}/@v/list").content.decode().split() == ["v1.0.0", "v1.1.0", "v1.2.0-beta.1", "v1.2.0"]
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200
    assert client.get(f"/{HELLO}/@latest").status_code == 200


# --- Fetch and evict ------------------------------------------------------------------


def test_staff_fetch_runs_in_the_background_and_reports_progress(client, proxy, staff, monkeypatch):
    started = []

    def run_now(module, version):  # the daemon thread would not see the test's transaction
        started.append((module, version))
        fetch_version_task(module, version)

    monkeypatch.setattr(browse_views, "fetch_in_background", run_now)
    status_url = f"/modules/fetch/status?module={HELLO}&version=v1.1.0"
    assert client.get(status_url).json() == {"status": "pending"}
    assert client.get("/modules/fetch/").status_code == 200
    response = client.post("/modules/fetch/", {"module": HELLO, "version": "v1.1.0"})
    assert response.status_code == 302
    assert started == [(HELLO, "v1.1.0")]
    progress = client.get(response["Location"])
    assert 'id="fetch-progress"' in text(progress)
    assert client.get(status_url).json() == {"status": "cached", "url": f"/modules/{HELLO}/@v/v1.1.0/"}

    client.post("/modules/fetch/", {"module": HELLO, "version": "v1.9.0"})
    failed = client.get(f"/modules/fetch/status?module={HELLO}&version=v1.9.0").json()
    assert failed["status"] == "failed" and failed["http_status"] == 404


def test_fetch_form_refuses_bad_input(client, proxy, staff, monkeypatch):
    monkeypatch.setattr(browse_views, "fetch_in_background", lambda *a: pytest.fail("must not fetch"))
    response = client.post("/modules/fetch/", {"module": HELLO, "version": "latest"})
    assert response.status_code == 400 and 'id="fetch-error"' in text(response)
    assert client.post("/modules/fetch/", {"module": "<script>", "version": "v1.0.0"}).status_code == 400
    empty = client.post("/modules/fetch/", {})
    assert empty.status_code == 400 and "Enter a module path and a version." in text(empty)


def test_staff_fetch_while_every_cold_fetch_slot_is_taken_is_a_form_error(client, proxy, staff, settings):
    from modules import cold_fetches

    settings.ATHENS_COLD_FETCHES = 1
    release = cold_fetches.take("a slow upstream")
    try:
        response = client.post("/modules/fetch/", {"module": HELLO, "version": "v1.1.0"})
    finally:
        release()
    assert response.status_code == 503
    assert 'id="fetch-error"' in text(response) and "try again shortly" in text(response)


def test_fetch_needs_the_csrf_token(proxy, staff):
    from django.test import Client
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post("/modules/fetch/", {"module": HELLO, "version": "v1.0.0"}).status_code == 403


def test_staff_evict_removes_row_and_objects_is_audited_and_refetched(client, cached, staff):
    storage = storages["modules"]
    keys = [artifact_key(HELLO, "v1.0.0", ext) for ext in ("info", "mod", "zip")]
    assert all(storage.exists(key) for key in keys)
    url = f"/modules/{HELLO}/@v/v1.0.0/evict"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "csrfmiddlewaretoken" in text(confirm)
    assert ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()  # GET changes nothing

    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/modules/{HELLO}/?evicted=")
    assert not ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()
    assert not any(storage.exists(key) for key in keys)
    event = FetchEvent.objects.get(endpoint="evict")
    assert (event.module, event.version, event.outcome, event.upstream) == (HELLO, "v1.0.0", "ok", "admin:operator")
    assert client.get(f"/modules/{HELLO}/@v/v1.0.0/").status_code == 404

    before = cached.count(f"/{HELLO}/@v/v1.0.0.zip")
    cache(client, HELLO, "v1.0.0")
    assert cached.count(f"/{HELLO}/@v/v1.0.0.zip") == before + 1
    assert ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()


def test_evicting_the_last_version_removes_the_module(client, cached, staff):
    response = client.post(f"/modules/{PSEUDO}/@v/{PSEUDO_VERSION}/evict")
    assert response["Location"].startswith("/modules/?evicted=")
    assert not Module.objects.filter(path=PSEUDO).exists()
    assert client.get(f"/modules/{PSEUDO}/").status_code == 404


def test_an_ordinary_user_logs_in_and_browses(client, cached):
    get_user_model().objects.create_user("reader", "reader@example.test", "a-long-password-1")
    page = client.get("/accounts/login/?next=/modules/")
    assert page.status_code == 200 and b'name="password"' in page.content
    bad = client.post("/accounts/login/", {"username": "reader", "password": "wrong", "next": "/modules/"})
    assert bad.status_code == 200 and b"did not match" in bad.content
    ok = client.post("/accounts/login/", {"username": "reader", "password": "a-long-password-1", "next": "/modules/"})
    assert (ok.status_code, ok["Location"]) == (302, "/modules/")
    assert client.get("/modules/").status_code == 200


def test_a_deeply_nested_readme_list_gives_a_page_not_a_500(client, proxy, public):
    module = f"{HOST}/nested-readme"
    nested = "".join("  " * depth + "- level\n" for depth in range(600))  # under README_MAX_BYTES
    proxy.tree.add_version(module, "v1.0.0", {"go.mod": f"module {module}\n", "README.md": nested, "a.go": "package a\n"})
    cache(client, module, "v1.0.0")
    page = client.get(f"/modules/{module}/@v/v1.0.0/")
    assert page.status_code == 200
    assert b'id="readme"' in page.content
