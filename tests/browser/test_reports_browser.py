"""An auditor uses the report pages in a real browser (headless Chromium).

Logs in through the admin's login form, follows the links a person would, reads the
chart and the numbers, runs the incident-response form, downloads its CSV, and leaves
screenshots in test-artifacts/ for a person to look at.
"""

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import DownloadEvent, FetchEvent

pytestmark = pytest.mark.django_db(transaction=True)

NET = "golang.org/x/net"
PASSWORD = "a-long-auditor-password"


def _download(days_ago, version, addr, user="", auth="", *, module=NET, status=200, cache="hit", rule=""):
    DownloadEvent.objects.create(
        time=timezone.now() - timedelta(days=days_ago), module=module, version=version, endpoint="zip",
        status=status, cache=cache, bytes_sent=0 if status >= 400 else 250_000, duration_ms=4.0,
        client_addr=addr, username=user, auth=auth, rule=rule,
    )


@pytest.fixture
def seeded(transactional_db):
    """Last 30 days: 9 requests on 3 days (3, 2 and 4 of them); one more 60 days ago."""
    for _ in range(3):
        _download(2, "v0.22.0", "10.0.0.1", "alice", "token")
    for _ in range(2):
        _download(1, "v0.23.0", "10.0.0.2", "bob", "session", cache="fetched")
    for _ in range(3):
        _download(5, "v0.21.0", "10.0.0.3")
    _download(5, "v1.0.0", "10.0.0.3", module="github.com/evil/pkg", status=403, cache="none",
              rule="#3 deny github.com/evil/* <v1.4.2")
    _download(60, "v0.19.0", "10.0.0.4", "carol", "token")
    for duration, outcome in ((120.0, "ok"), (80.0, "ok"), (900.0, "error")):
        FetchEvent.objects.create(
            time=timezone.now() - timedelta(days=1), module=NET, version="v0.23.0", endpoint="version",
            upstream="https://proxy.example.test", outcome=outcome, duration_ms=duration,
            error="upstream said 502" if outcome == "error" else "",
        )
    get_user_model().objects.create_superuser("auditor", "auditor@example.test", PASSWORD)


def _log_in(page, live_server):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def _table(page):
    return [
        [" ".join(cell.split()) for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#report-table tbody tr").all()
    ]


def _day(days_ago):
    return (timezone.now() - timedelta(days=days_ago)).astimezone(UTC).date().isoformat()


def test_overview_and_downloads_chart(seeded, live_server, page, screenshot):
    _log_in(page, live_server)
    screenshot("admin-index")
    page.get_by_role("link", name="Audit reports").click()
    page.wait_for_selector("#report-summary")
    summary = page.locator("#report-summary").inner_text()
    assert "REQUESTS\n9" in summary.upper()
    assert page.locator("svg.report-chart rect.chart-bar").count() == 30
    assert page.locator("svg.report-chart").get_attribute("role") == "img"
    screenshot("reports-overview")

    page.locator(".report-tabs").get_by_role("link", name="Downloads", exact=True).click()
    page.get_by_role("link", name="7 days").click()
    page.wait_for_url("**days=7")
    bars = page.locator("svg.report-chart rect.chart-bar")
    assert bars.count() == 7
    assert page.locator(f'rect.chart-bar[data-day="{_day(5)}"]').get_attribute("data-value") == "4"
    assert page.locator(f'rect.chart-bar[data-day="{_day(5)}"] title').text_content() == f"{_day(5)}: 4 requests"
    assert [_day(2), "3", "732.4 KB"] in _table(page)
    assert page.locator("#report-table tfoot").inner_text().split() == ["Total", "9", "1.9", "MB"]
    screenshot("reports-downloads-7-days")

    page.locator(".report-tabs").get_by_role("link", name="Cache hits").click()
    assert page.locator("svg.report-chart circle.chart-point").count() == 3  # three days served something
    screenshot("reports-cache-hit-ratio")

    page.locator(".report-tabs").get_by_role("link", name="Fetch latency").click()
    assert "120.0 ms" in page.locator("#report-summary").inner_text()
    screenshot("reports-fetch-latency")

    page.locator(".report-tabs").get_by_role("link", name="Clients").click()
    assert ["10.0.0.3", "—", "anonymous", "4", "732.4 KB", "1"] in _table(page)
    screenshot("reports-top-clients")

    # The admin's dark theme: the chart takes its colours from the admin's CSS variables.
    page.emulate_media(color_scheme="dark")
    page.locator(".report-tabs").get_by_role("link", name="Downloads", exact=True).click()
    assert page.locator("svg.report-chart rect.chart-bar").count() == 7
    screenshot("reports-downloads-dark")


def test_auditor_finds_who_downloaded_a_version_below_the_fix(seeded, live_server, page, screenshot):
    _log_in(page, live_server)
    page.get_by_role("link", name="Who downloaded a module?").click()
    page.fill("#id_module", NET)
    page.fill("#id_constraint", "<v0.23.0")
    page.click("input[type=submit][value=Show]")
    page.wait_for_selector("#report-table")
    assert sorted(row[0] for row in _table(page)) == ["10.0.0.1", "10.0.0.3"]  # the last 30 days

    page.get_by_role("link", name="90 days").click()
    page.wait_for_url("**days=90")
    rows = _table(page)
    assert [(row[0], row[1], row[3], row[6]) for row in rows] == [
        ("10.0.0.1", "alice", "v0.22.0", "3"), ("10.0.0.3", "—", "v0.21.0", "3"), ("10.0.0.4", "carol", "v0.19.0", "1"),
    ]
    assert "10.0.0.2" not in page.locator("#report-table").inner_text()  # bob has v0.23.0, the fixed one
    assert page.locator("#report-summary").inner_text().upper().startswith("MACHINES (ADDRESSES)\n3")
    screenshot("reports-who-downloaded")

    with page.expect_download() as download:
        page.click("#export-csv")
    with open(download.value.path(), newline="") as exported:
        table = list(csv.reader(io.StringIO(exported.read())))
    assert table[0] == ["client_addr", "username", "auth", "version", "first_time", "last_time", "count"]
    assert sorted(row[0] for row in table[1:]) == ["10.0.0.1", "10.0.0.3", "10.0.0.4"]


def test_bad_incident_input_shows_form_errors(seeded, live_server, page, screenshot):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/audit/reports/who-downloaded/")
    page.fill("#id_module", "Golang.org/x/net")
    page.fill("#id_constraint", "~v0.23")
    page.click("input[type=submit][value=Show]")
    page.wait_for_selector(".errornote")
    assert "malformed module path" in page.locator("#id_module_error").inner_text()
    assert "write the range out" in page.locator("#id_constraint_error").inner_text()
    assert page.locator("#report-table").count() == 0
    screenshot("reports-who-downloaded-errors")
