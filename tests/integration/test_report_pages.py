"""The audit report pages in the admin: staff only, the seeded numbers, CSV exports.

Events are written directly (no download API round trip): the pages only render what
audit/reports.py computes, and these tests prove the rendering, the forms and the CSV.
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import charts
from audit.models import DownloadEvent, FetchEvent

pytestmark = pytest.mark.django_db

NET = "golang.org/x/net"
EVIL_RULE = "#3 deny github.com/evil/* <v1.4.2"
REPORTS = "/admin/audit/reports/"
UPSTREAM = "https://proxy.example.test"


def _download(days_ago, module, version, *, addr, user="", auth="", status=200, cache="hit", endpoint="zip",
              bytes_sent=1000, rule="", user_agent="Go-http-client/1.1", minutes_ago=0):
    return DownloadEvent.objects.create(
        time=timezone.now() - timedelta(days=days_ago, minutes=minutes_ago), module=module, version=version,
        endpoint=endpoint, status=status, cache=cache, bytes_sent=bytes_sent, duration_ms=5.0,
        client_addr=addr, username=user, auth=auth, rule=rule, user_agent=user_agent,
    )


def _fetch(days_ago, upstream, outcome, duration_ms, error=""):
    return FetchEvent.objects.create(
        time=timezone.now() - timedelta(days=days_ago), module=NET, version="v0.23.0", endpoint="version",
        upstream=upstream, outcome=outcome, duration_ms=duration_ms, error=error, worker="test:1",
    )


@pytest.fixture
def events(db):
    """Eight requests in the last three days, one 40 days ago, one 100 days ago; five fetches.

    Last 30 days: 8 requests, 7 served (one 403), 5 of them from the cache.
    """
    for minutes in range(3):
        _download(2, NET, "v0.22.0", addr="10.0.0.1", user="alice", auth="token", minutes_ago=minutes)
    _download(1, NET, "v0.23.0", addr="10.0.0.2", user="bob", auth="session", cache="fetched")
    _download(1, NET, "v0.23.0", addr="10.0.0.2", user="bob", auth="session", cache="fetched", minutes_ago=1)
    _download(1, NET, "v0.21.0", addr="10.0.0.3", cache="hit", minutes_ago=2)
    _download(1, "github.com/evil/pkg", "v1.0.0", addr="10.0.0.3", status=403, cache="none", bytes_sent=0,
              rule=EVIL_RULE, minutes_ago=3)
    # Client-controlled text that a spreadsheet would run as a formula.
    _download(1, "example.com/formula", "v1.0.0", addr="10.0.0.5", user='=HYPERLINK("http://x")',
              user_agent="+SUM(1,2)", minutes_ago=4)
    _download(40, NET, "v0.19.0", addr="10.0.0.4", user="carol", auth="token")
    _download(100, NET, "v0.20.0", addr="10.0.0.9", user="dave", auth="token")
    for duration in (100, 200, 300):
        _fetch(1, UPSTREAM, "ok", duration)
    _fetch(1, UPSTREAM, "error", 400, error="=1+2 upstream said 502")
    _fetch(2, "https://other.example.test", "not_found", 50, error="not found")


@pytest.fixture
def staff_client(client, events):
    user = get_user_model().objects.create_user("auditor", password="x-long-password", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_downloadevent", "view_fetchevent"]))
    client.force_login(user)
    return client


# --- Reading pages and CSV -------------------------------------------------------------


class _PageReader(HTMLParser):
    """Rows of the table with id ``table_id`` (cell texts; header and footer included) and
    the headline numbers (``<dt>``/``<dd>`` pairs of ``dl#report-summary``)."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.in_table, self.in_summary = table_id, 0, False
        self.rows, self.summary, self.text, self.label = [], {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (self.in_table or attrs.get("id") == self.table_id):
            self.in_table += 1
        elif tag == "dl" and attrs.get("id") == "report-summary":
            self.in_summary = True
        elif self.in_table and tag == "tr":
            self.rows.append([])
        elif (self.in_table and tag in ("td", "th")) or (self.in_summary and tag in ("dt", "dd")):
            self.text = []

    def handle_endtag(self, tag):
        text = " ".join("".join(self.text or []).split())
        if tag == "table" and self.in_table:
            self.in_table -= 1
        elif tag == "dl":
            self.in_summary = False
        elif self.in_table and tag in ("td", "th") and self.text is not None:
            self.rows[-1].append(text)
            self.text = None
        elif self.in_summary and tag == "dt":
            self.label, self.text = text, None
        elif self.in_summary and tag == "dd":
            self.summary[self.label], self.text = text, None

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)


def _read(page, table_id="report-table"):
    reader = _PageReader(table_id)
    reader.feed(page)
    return reader


def _page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:2000]
    return response.content.decode()


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    return list(csv.reader(io.StringIO(body)))


def _day(days_ago):
    return (timezone.now() - timedelta(days=days_ago)).astimezone(UTC).date().isoformat()


# --- Who may see them ------------------------------------------------------------------


@pytest.mark.parametrize("url", [REPORTS, f"{REPORTS}downloads/", f"{REPORTS}who-downloaded/", f"{REPORTS}events.csv"])
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_logged_in_non_staff_users_are_refused(client, events):
    user = get_user_model().objects.create_user("developer", password="x-long-password")
    client.force_login(user)
    for url in (REPORTS, f"{REPORTS}top-clients/", f"{REPORTS}events.csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_audit_view_permission_get_403(client, events):
    user = get_user_model().objects.create_user("operator", password="x-long-password", is_staff=True)
    client.force_login(user)
    assert client.get(REPORTS).status_code == 403
    assert client.get(f"{REPORTS}downloads/", {"format": "csv"}).status_code == 403
    assert client.get(f"{REPORTS}events.csv").status_code == 403


def test_unknown_report_is_404(staff_client):
    assert staff_client.get(f"{REPORTS}no-such-report/").status_code == 404


# --- Reached from the admin ------------------------------------------------------------


def test_admin_index_and_event_lists_link_to_the_reports(staff_client):
    index = _page(staff_client, "/admin/")
    assert f'href="{REPORTS}"' in index and f'href="{REPORTS}who-downloaded/"' in index
    for changelist in ("/admin/audit/downloadevent/", "/admin/audit/fetchevent/"):
        page = _page(staff_client, changelist)
        assert f'href="{REPORTS}"' in page and f'href="{REPORTS}who-downloaded/"' in page


def test_admin_index_has_no_reports_box_without_the_permission(client, events):
    user = get_user_model().objects.create_user("operator", password="x-long-password", is_staff=True)
    client.force_login(user)
    assert REPORTS not in _page(client, "/admin/")


# --- The pages show the numbers --------------------------------------------------------


def test_overview_shows_headline_numbers_chart_and_every_report(staff_client):
    page = _read(_page(staff_client, REPORTS), "report-list")
    assert page.summary == {
        "Requests": "8", "Cache hit ratio": "71.4%", "Denied requests": "1", "Failed fetches": "2",
        # All five attempts: 50, 100, 200, 300, 400 ms -> median 200, p95 380 (interpolated).
        "Fetch latency, median": "200.0 ms", "Fetch latency, 95th percentile": "380.0 ms",
    }
    titles = [row[0] for row in page.rows]
    assert titles[:9] == [
        "Downloads over time", "Top modules", "Top module versions", "Top clients", "Cache hit ratio",
        "Denied requests by rule", "Upstream fetch failures", "Fetch latency", "Who downloaded a module",
    ]
    assert "Raw download events (CSV)" in titles


def test_overview_chart_has_a_bar_for_each_of_the_last_30_days(staff_client):
    page = _page(staff_client, REPORTS)
    assert 'class="report-chart report-chart-bar"' in page
    assert page.count('class="chart-bar"') == 30  # the last 30 days by default, today included
    assert f'data-day="{_day(29)}"' in page and f'data-day="{_day(30)}"' not in page


def test_downloads_per_day_page_has_a_bar_per_day_and_a_table(staff_client):
    page = _page(staff_client, f"{REPORTS}downloads/", days=7)
    assert page.count('class="chart-bar"') == 7
    assert f'data-day="{_day(2)}" data-value="3"' in page
    assert f'data-day="{_day(1)}" data-value="5"' in page
    assert '<title id="chart-downloads-title">Download API requests per day (UTC)</title>' in page
    assert 'role="img"' in page and 'aria-labelledby="chart-downloads-title chart-downloads-desc"' in page
    rows = _read(page).rows
    assert rows[0] == ["Day (UTC)", "Requests", "Bytes sent"]
    assert [_day(1), "5", "3.9 KB"] in rows and [_day(2), "3", "2.9 KB"] in rows
    assert rows[-1] == ["Total", "8", "6.8 KB"]
    assert len(rows) == 1 + 7 + 1


def test_presets_and_explicit_dates_choose_the_period(staff_client):
    assert _page(staff_client, f"{REPORTS}downloads/", days=90).count('class="chart-bar"') == 90
    page = _page(staff_client, f"{REPORTS}downloads/", since=_day(45), until=_day(35))
    assert page.count('class="chart-bar"') == 11
    assert f'data-day="{_day(40)}" data-value="1"' in page
    assert 'aria-current="true">30 days' in _page(staff_client, f"{REPORTS}downloads/")
    assert 'aria-current="true">90 days' in _page(staff_client, f"{REPORTS}downloads/", days=90)


def test_top_modules_versions_and_clients(staff_client):
    modules = _read(_page(staff_client, f"{REPORTS}top-modules/")).rows
    assert modules[1:] == [
        [NET, "6", "5.9 KB", "who downloaded it?"], ["example.com/formula", "1", "1000 bytes", "who downloaded it?"],
    ]
    versions = _read(_page(staff_client, f"{REPORTS}top-versions/", module=NET)).rows
    assert versions[1:] == [
        [NET, "v0.22.0", "3", "2.9 KB"], [NET, "v0.23.0", "2", "2.0 KB"], [NET, "v0.21.0", "1", "1000 bytes"],
    ]
    clients = _read(_page(staff_client, f"{REPORTS}top-clients/")).rows
    assert clients[0] == ["Client address", "User", "Authentication", "Requests", "Bytes sent", "Denied"]
    assert ["10.0.0.1", "alice", "token", "3", "2.9 KB", "0"] in clients
    assert ["10.0.0.3", "—", "anonymous", "2", "1000 bytes", "1"] in clients
    _download(1, NET, "v0.22.0", addr="10.0.0.8", user="alice", auth="token")  # alice on another machine
    by_user = _read(_page(staff_client, f"{REPORTS}top-clients/", by="user")).rows
    assert ["every address", "alice", "—", "4", "3.9 KB", "0"] in by_user
    by_address = _read(_page(staff_client, f"{REPORTS}top-clients/", by="address")).rows
    assert ["10.0.0.2", "everyone", "—", "2", "2.0 KB", "0"] in by_address


def test_top_modules_link_to_their_versions_and_to_who_downloaded_them(staff_client):
    page = _page(staff_client, f"{REPORTS}top-modules/", days=7)
    since, until = _day(6), _day(0)
    assert f'href="{REPORTS}top-versions/?module=golang.org%2Fx%2Fnet&amp;since={since}&amp;until={until}"' in page
    assert f'href="{REPORTS}who-downloaded/?module=golang.org%2Fx%2Fnet&amp;since={since}&amp;until={until}"' in page


def test_cache_hit_ratio_page_has_a_line_chart_and_total(staff_client):
    page = _page(staff_client, f"{REPORTS}cache-hit-ratio/", days=7)
    assert 'class="report-chart report-chart-line"' in page
    assert page.count('class="chart-point"') == 2  # only days that served something have a ratio
    reader = _read(page)
    assert reader.summary["Hit ratio"] == "71.4%"
    assert [_day(2), "3", "3", "100.0%"] in reader.rows and [_day(1), "4", "2", "50.0%"] in reader.rows
    assert reader.rows[-1] == ["Total", "7", "5", "71.4%"]


def test_denials_failures_and_latency(staff_client):
    denied = _read(_page(staff_client, f"{REPORTS}denied-by-rule/")).rows
    assert denied[1:] == [[EVIL_RULE, "1"], ["Total", "1"]]
    failures = _read(_page(staff_client, f"{REPORTS}fetch-failures/")).rows
    assert [row[:3] + row[4:] for row in failures[1:3]] == [
        ["https://other.example.test", "Not found", "1", "not found"],
        [UPSTREAM, "Upstream error", "1", "=1+2 upstream said 502"],
    ]
    latency = _read(_page(staff_client, f"{REPORTS}fetch-latency/"))
    assert latency.summary == {"Median": "200.0 ms", "95th percentile": "380.0 ms", "Fetches": "5"}
    assert latency.rows[1:] == [
        ["https://other.example.test", "1", "50.0", "50.0"], [UPSTREAM, "4", "250.0", "385.0"],
        ["All upstreams", "5", "200.0", "380.0"],
    ]
    ok_only = _read(_page(staff_client, f"{REPORTS}fetch-latency/", outcome="ok"))
    assert ok_only.summary["Median"] == "200.0 ms" and ok_only.summary["95th percentile"] == "290.0 ms"


def test_empty_period_says_so(staff_client):
    page = _page(staff_client, f"{REPORTS}denied-by-rule/", since="2020-01-01", until="2020-01-31")
    assert "No request was denied in this period." in page and 'id="report-table"' not in page


# --- Incident response -----------------------------------------------------------------


def test_who_downloaded_shows_the_form_without_errors_on_first_visit(staff_client):
    page = _page(staff_client, f"{REPORTS}who-downloaded/")
    assert 'name="module"' in page and 'name="constraint"' in page
    assert 'class="errorlist' not in page and 'id="report-table"' not in page


def test_who_downloaded_below_a_version_in_the_last_90_days(staff_client):
    page = _read(_page(staff_client, f"{REPORTS}who-downloaded/", module=NET, constraint="<v0.23.0", days=90))
    assert page.summary == {"Machines (addresses)": "3", "Clients (address, user)": "3", "Versions": "3"}
    assert [(row[0], row[1], row[2], row[3], row[6]) for row in page.rows[1:]] == [
        ("10.0.0.3", "—", "anonymous", "v0.21.0", "1"),  # newest first
        ("10.0.0.1", "alice", "token", "v0.22.0", "3"),
        ("10.0.0.4", "carol", "token", "v0.19.0", "1"),
    ]
    # v0.23.0 is not below v0.23.0; dave downloaded 100 days ago.
    assert not any(row[0] in ("10.0.0.2", "10.0.0.9") for row in page.rows)


def test_who_downloaded_exports_the_same_rows_as_csv(staff_client):
    params = {"module": NET, "constraint": "<v0.23.0", "days": 90}
    page = _page(staff_client, f"{REPORTS}who-downloaded/", **params)
    assert 'href="?module=golang.org%2Fx%2Fnet&amp;constraint=%3Cv0.23.0&amp;days=90&amp;format=csv"' in page
    assert f'href="{REPORTS}events.csv?module=golang.org%2Fx%2Fnet&amp;since={_day(89)}&amp;until={_day(0)}"' in page
    rows = _csv(staff_client.get(f"{REPORTS}who-downloaded/", {**params, "format": "csv"}))
    assert rows[0] == ["client_addr", "username", "auth", "version", "first_time", "last_time", "count"]
    assert sorted((row[0], row[3], row[6]) for row in rows[1:]) == [
        ("10.0.0.1", "v0.22.0", "3"), ("10.0.0.3", "v0.21.0", "1"), ("10.0.0.4", "v0.19.0", "1"),
    ]


def test_version_links_ask_who_downloaded_that_version(staff_client):
    page = _page(staff_client, f"{REPORTS}top-versions/", days=7)
    link = f"{REPORTS}who-downloaded/?module=golang.org%2Fx%2Fnet&amp;constraint=v0.22.0&amp;since={_day(6)}"
    assert link in page
    rows = _read(_page(staff_client, f"{REPORTS}who-downloaded/", module=NET, constraint="v0.22.0", days=7)).rows
    assert [row[0] for row in rows[1:]] == ["10.0.0.1"]


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"module": "not a module"}, "module", "malformed module path"),
        ({"module": "Golang.org/x/net"}, "module", "malformed module path"),
        ({"module": NET, "constraint": "~v1.2"}, "constraint", "write the range out"),
        ({"module": NET, "constraint": "<v1.2.3 ||"}, "constraint", "missing comparison"),
        ({"module": NET, "since": "2024-13-45"}, "since", "Enter a valid date"),
        ({"module": NET, "since": "yesterday"}, "since", "Enter a valid date"),
        ({"module": NET, "since": "2024-03-01", "until": "2024-02-01"}, None, "must be before"),
        ({"module": NET, "days": "forever"}, None, "whole number of days"),
        ({"module": ""}, "module", "This field is required"),
    ],
)
def test_bad_incident_form_input_gives_form_errors_not_500(staff_client, params, field, message):
    response = staff_client.get(f"{REPORTS}who-downloaded/", params)
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__")
    assert errors and any(message in error for error in errors), form.errors
    page = response.content.decode()
    assert "Please correct the errors below." in page and 'id="report-table"' not in page
    # The same request as CSV is refused with the messages, not a 500 either.
    csv_response = staff_client.get(f"{REPORTS}who-downloaded/", {**params, "format": "csv"})
    assert csv_response.status_code == 400 and message in csv_response.content.decode()


@pytest.mark.parametrize(
    "url, params",
    [
        (f"{REPORTS}top-modules/", {"limit": "0"}),
        (f"{REPORTS}top-modules/", {"limit": "lots"}),
        (f"{REPORTS}top-versions/", {"module": "../etc/passwd"}),
        (f"{REPORTS}fetch-latency/", {"outcome": "exploded"}),
        (f"{REPORTS}downloads/", {"since": "2000-01-01", "until": "2030-01-01"}),
        (REPORTS, {"until": "not-a-date"}),
    ],
)
def test_bad_parameters_on_other_reports_are_form_errors(staff_client, url, params):
    response = staff_client.get(url, params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "Please correct the errors below." in response.content.decode()


# --- CSV -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, header, expected_rows",
    [
        ("top-modules", ["module", "count", "bytes"], 2),
        ("top-clients", ["client_addr", "username", "auth", "count", "bytes", "denied"], 4),
        ("denied-by-rule", ["rule", "count"], 1),
        ("fetch-failures", ["upstream", "outcome", "count", "last_time", "last_error"], 2),
        ("fetch-latency", ["upstream", "count", "median_ms", "p95_ms"], 3),
        ("downloads", ["day", "count", "bytes"], 30),
        ("cache-hit-ratio", ["day", "served", "hits", "ratio"], 31),
    ],
)
def test_each_report_exports_its_rows_as_csv(staff_client, name, header, expected_rows):
    response = staff_client.get(f"{REPORTS}{name}/", {"format": "csv"})
    assert f'filename="athens-{name}-' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == header
    assert len(rows) - 1 == expected_rows


def test_csv_export_keeps_the_page_parameters(staff_client):
    page = _page(staff_client, f"{REPORTS}top-versions/", module=NET, limit=2, days=7)
    assert 'href="?module=golang.org%2Fx%2Fnet&amp;limit=2&amp;days=7&amp;format=csv"' in page
    rows = _csv(staff_client.get(f"{REPORTS}top-versions/", {"module": NET, "limit": 2, "days": 7, "format": "csv"}))
    assert rows == [
        ["module", "version", "count", "bytes"], [NET, "v0.22.0", "3", "3000"], [NET, "v0.23.0", "2", "2000"],
    ]


def test_raw_events_are_streamed_as_csv(staff_client):
    response = staff_client.get(f"{REPORTS}events.csv", {"days": 30})
    assert isinstance(response, StreamingHttpResponse)
    rows = _csv(response)
    assert rows[0][:4] == ["id", "time", "module", "version"]
    assert len(rows) - 1 == 8  # the two events older than 30 days are left out
    times = [datetime.fromisoformat(row[1]) for row in rows[1:]]
    assert times == sorted(times)
    only_net = _csv(staff_client.get(f"{REPORTS}events.csv", {"days": 90, "module": NET}))
    assert len(only_net) - 1 == 7 and {row[2] for row in only_net[1:]} == {NET}


def test_raw_events_are_read_only_as_the_response_is_sent(staff_client, monkeypatch):
    from audit import reports

    produced = []

    def fake_raw_events(since, until, module=None):
        for n in range(3):
            produced.append(n)
            yield {field: n if field == "id" else "" for field in reports.RAW_EVENT_FIELDS}

    monkeypatch.setattr(reports, "raw_events", fake_raw_events)
    response = staff_client.get(f"{REPORTS}events.csv")
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b"id,time,module") and produced == []  # the header goes out first
    assert next(chunks).startswith(b"0,") and produced == [0]  # then one event at a time
    assert len(list(chunks)) == 2 and produced == [0, 1, 2]


def test_raw_events_csv_refuses_bad_input(staff_client):
    response = staff_client.get(f"{REPORTS}events.csv", {"module": "nope", "since": "soon"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "module: malformed module path" in body and "since: Enter a valid date." in body


def test_csv_cells_that_would_be_formulas_are_neutralized(staff_client):
    raw = _csv(staff_client.get(f"{REPORTS}events.csv"))
    header = raw[0]
    formula_row = next(row for row in raw if row[header.index("module")] == "example.com/formula")
    assert formula_row[header.index("username")] == "'=HYPERLINK(\"http://x\")"
    assert formula_row[header.index("user_agent")] == "'+SUM(1,2)"
    clients = _csv(staff_client.get(f"{REPORTS}top-clients/", {"format": "csv"}))
    assert ["10.0.0.5", "'=HYPERLINK(\"http://x\")", "", "1", "1000", "0"] in clients
    failures = _csv(staff_client.get(f"{REPORTS}fetch-failures/", {"format": "csv"}))
    assert any(row[4] == "'=1+2 upstream said 502" for row in failures)
    for row in raw[1:] + clients[1:] + failures[1:]:
        assert not any(cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not _is_number(cell)) for cell in row)


def test_neutralize_covers_every_formula_start():
    from audit.report_views import neutralize

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralize(f"{start}cmd") == f"'{start}cmd"
    assert neutralize("golang.org/x/net") == "golang.org/x/net"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- Charts and escaping ---------------------------------------------------------------


def test_svg_chart_escapes_every_label():
    svg = charts.bar_chart(
        [("<script>alert(1)</script>", 3), ('a&b"', 5)], title="Downloads <b>per</b> day & more",
        value_label='Requests "quoted"', chart_id='x"><script>',
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "Downloads &lt;b&gt;per&lt;/b&gt; day &amp; more" in svg
    assert 'data-day="a&amp;b&quot;"' in svg
    assert 'id="x&quot;&gt;&lt;script&gt;"' in svg
    assert svg.count('class="chart-bar"') == 2


def test_line_chart_leaves_gaps_for_missing_values_and_empty_series_say_so():
    svg = charts.line_chart([("d1", 1.0), ("d2", None), ("d3", 2.5)], title="t", value_label="v")
    assert svg.count('class="chart-point"') == 2 and "<polyline" not in svg
    assert "No data in this period" in charts.bar_chart([], title="t", value_label="v")


def test_user_supplied_text_on_pages_is_escaped(staff_client):
    DownloadEvent.objects.create(
        time=timezone.now(), module="example.com/<img src=x onerror=alert(1)>", version="v1.0.0", endpoint="zip",
        status=200, cache="hit", duration_ms=1.0, client_addr="10.0.0.7", username="<b>mallory</b>",
    )
    modules = _page(staff_client, f"{REPORTS}top-modules/")
    assert "<img src=x" not in modules and "example.com/&lt;img src=x onerror=alert(1)&gt;" in modules
    clients = _page(staff_client, f"{REPORTS}top-clients/")
    assert "<b>mallory</b>" not in clients and "&lt;b&gt;mallory&lt;/b&gt;" in clients


def test_a_report_without_a_presenter_gets_a_plain_table(staff_client, monkeypatch):
    from audit import reports

    extra = reports.Report("denials-again", "Denials again", "Denied requests.", reports.denied_by_rule,
                           reports.RuleDenials)
    monkeypatch.setitem(reports.REPORTS, "denials-again", extra)
    rows = _read(_page(staff_client, f"{REPORTS}denials-again/")).rows
    assert rows == [["rule", "count"], [EVIL_RULE, "1"]]
    assert "Denials again" in _page(staff_client, REPORTS)


@pytest.mark.parametrize("url", [REPORTS, f"{REPORTS}top-clients/", f"{REPORTS}who-downloaded/?module={NET}"])
def test_pages_run_as_many_queries_however_many_rows(staff_client, url):
    # Aggregates only, never a query per row or per client: more events, same queries.
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(url).status_code == 200
    for n in range(20):
        _download(3, NET, f"v0.1.{n}", addr=f"10.1.0.{n}", user=f"user{n}", auth="token")
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(url).status_code == 200
    assert len(many) == len(few)
