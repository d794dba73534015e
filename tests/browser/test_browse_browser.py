"""A Go developer browses the cache in a real browser (headless Chromium): home → search
→ module → version → file, with screenshots in test-artifacts/ for a person to look at."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"
PASSWORD = "a-long-developer-password"


@pytest.fixture
def cached(client, proxy, settings):
    settings.ATHENS_UI_PUBLIC = False
    for module, version in [(HELLO, "v1.0.0"), (HELLO, "v1.1.0"), (HELLO, "v1.2.0-beta.1"), (HELLO, "v1.2.0"),
                            (f"{HOST}/retracted", "v1.1.0"), (f"{HOST}/retracted", "v1.2.0"),
                            (f"{HOST}/greeter", "v1.0.0")]:
        response = client.get(f"/{module}/@v/{version}.zip")
        assert response.status_code == 200
        b"".join(response.streaming_content)
    get_user_model().objects.create_superuser("gopher", "gopher@example.test", PASSWORD)
    return proxy


def test_home_search_module_version_file(cached, live_server, page, screenshot):
    page.goto(f"{live_server.url}/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", "gopher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("#goproxy-command").inner_text() == f"go env -w GOPROXY={live_server.url}"
    assert "MODULES\n3" in page.locator("#totals").inner_text().upper()
    screenshot("browse-home")

    page.fill("#header-q", "hello")
    page.press("#header-q", "Enter")
    page.wait_for_selector("#module-table")
    assert page.locator("#module-table tbody tr").count() == 1
    screenshot("browse-search")

    page.get_by_role("link", name=HELLO).click()
    page.wait_for_selector("#version-table")
    assert page.locator("#version-table tbody tr").first.locator("a.version").inner_text() == "v1.2.0"
    assert page.locator(".badge-prerelease").count() == 1
    screenshot("browse-module")

    page.get_by_role("link", name="v1.1.0", exact=True).click()
    page.wait_for_selector("#go-get")
    assert page.locator("#go-get").inner_text() == f"go get {HELLO}@v1.1.0"
    assert page.locator("svg.report-chart").count() == 1
    screenshot("browse-version")

    page.locator("#file-tree").get_by_role("link", name="hello.go").click()
    page.wait_for_selector("#source")
    assert "package hello" in page.locator("#source").inner_text()
    page.locator("#source a[href='#L3']").click()
    assert page.url.endswith("#L3")
    screenshot("browse-file")

    page.goto(f"{live_server.url}/modules/{HOST}/retracted/")
    assert page.locator("#deprecated").is_visible()
    screenshot("browse-retracted")


def test_staff_fetches_a_version_and_watches_it_arrive(cached, live_server, page, screenshot):
    page.goto(f"{live_server.url}/admin/login/?next=/modules/fetch/")
    page.fill("#id_username", "gopher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/modules/fetch/")
    page.fill("#fetch-module", f"{HOST}/pseudo")
    page.fill("#fetch-version", "v0.0.0-20240102030405-abcdef123456")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#fetched-link", timeout=30_000)
    screenshot("browse-fetch")
    page.click("#fetched-link")
    page.wait_for_selector(".badge-pseudo")
