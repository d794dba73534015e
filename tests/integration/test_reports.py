"""Audit reports give the hand-computed answers, from raw events and from rollups alike;
rollups and retention keep them; the report API is staff-only and checks its parameters.

The seeded history spans four UTC days, 2026-03-01 to 2026-03-04; the period asked is
2026-03-01 12:00 to 2026-03-04 06:00, so the first and last days are partial (read from
raw events) and 03-02 and 03-03 are whole days (read from rollups once rolled up). An
event before and one after the period check the edges.
"""

import io
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from audit import reports
from audit.models import ROLLUP_SETTLE, DownloadDailyTotal, DownloadEvent, FetchEvent, RollupDay
from audit.tasks import CATCH_UP_DAYS, days_to_roll_up, delete_expired_events, rollup_day, rollup_downloads
from modules.tokens.models import create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

NET = "golang.org/x/net"
TESTIFY = "github.com/stretchr/testify"
EVIL = "evil.example/bad"
PROXY = "https://proxy.golang.org"
RULE3 = "#3 deny evil.example/*"
RULE5 = "#5 deny evil.example/bad <v2.0.0"

SINCE = datetime(2026, 3, 1, 12, tzinfo=UTC)
UNTIL = datetime(2026, 3, 4, 6, tzinfo=UTC)
DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def download(time, module, version, endpoint, *, status=200, cache="hit", size=0, client="10.0.0.1",
             username="", auth="", rule=""):
    return DownloadEvent.objects.create(
        time=time, module=module, version=version, endpoint=endpoint, status=status, cache=cache,
        bytes_sent=size, duration_ms=1.0, client_addr=client, username=username, auth=auth, rule=rule,
    )


def fetch(time, upstream, outcome, duration_ms, *, module=NET, version="v0.22.0", error=""):
    return FetchEvent.objects.create(
        time=time, module=module, version=version, endpoint="version", upstream=upstream, outcome=outcome,
        duration_ms=duration_ms, error=error,
    )


@pytest.fixture
def history(db):
    alice = {"client": "10.0.0.1", "username": "alice", "auth": "token"}
    bob = {"client": "10.0.0.3", "username": "bob", "auth": "session"}
    # Outside the period.
    download(at(1, 8), NET, "v0.22.0", "zip", size=1000, **alice)
    download(at(4, 7), NET, "v0.22.0", "zip", size=1000, client="10.0.0.9")
    fetch(at(1, 6), PROXY, "error", 5000, error="before the period")
    fetch(at(4, 9), PROXY, "error", 5000, error="after the period")
    # 03-01 (partial): 2 requests, 1050 bytes.
    download(at(1, 13), NET, "v0.22.0", "zip", cache="fetched", size=1000, **alice)
    download(at(1, 14), NET, "v0.22.0", "mod", size=50, **alice)
    fetch(at(1, 13), PROXY, "ok", 100)
    # 03-02 (whole): 4 requests, 2030 bytes.
    download(at(2, 9), NET, "v0.23.0", "zip", size=1100, client="10.0.0.2")
    download(at(2, 10), NET, "v0.21.0", "zip", size=900, **bob)
    download(at(2, 11), NET, "", "list", cache="upstream", size=30, **bob)
    download(at(2, 12), EVIL, "v1.0.0", "zip", status=403, cache="none", client="10.0.0.2", rule=RULE3)
    fetch(at(2, 9), PROXY, "ok", 200)
    fetch(at(2, 9, 30), PROXY, "error", 300, error="connection reset")
    # 03-03 (whole): 4 requests, 520 bytes.
    download(at(3, 8), NET, "v0.22.0", "info", size=20, client="10.0.0.2")
    download(at(3, 9), TESTIFY, "v1.9.0", "zip", size=500, **alice)
    download(at(3, 10), EVIL, "v1.0.1", "mod", status=403, cache="none", rule=RULE3, **alice)
    download(at(3, 11), "missing.example/m", "v1.0.0", "info", status=404, cache="none", **bob)
    fetch(at(3, 11), PROXY, "not_found", 50, module="missing.example/m", version="v1.0.0", error="404 Not Found")
    fetch(at(3, 12), "direct", "error", 1000, error="git: exit status 128")
    # 03-04 (partial): 3 requests, 1000 bytes.
    download(at(4, 1), NET, "v0.22.0", "zip", cache="fallback", size=1000, client="10.0.0.2")
    download(at(4, 2), TESTIFY, "v1.9.0", "mod", status=302, cache="redirect", client="10.0.0.4")
    download(at(4, 3), EVIL, "v1.0.0", "zip", status=403, cache="none", client="10.0.0.4", rule=RULE5)
    fetch(at(4, 2), PROXY, "error", 400, error="timeout after 30s")


@pytest.fixture(params=["raw", "rollups", "not-rolled-up"])
def source(request, history):
    """Each report is checked three ways: raw events only (rollups present but ignored),
    whole days from rollups, and no rollups at all (whole days fall back to raw events)."""
    if request.param != "not-rolled-up":
        for day in DAYS:
            rollup_day(day)
    return {"use_rollups": request.param != "raw"}


def test_period_splits_into_raw_edges_and_final_rollup_days(history):
    for day in DAYS:
        rollup_day(day)
    plan = reports.plan(SINCE, UNTIL)
    assert plan.rollup_days == ((date(2026, 3, 2), date(2026, 3, 4)),)
    assert plan.raw == ((SINCE, at(2, 0)), (at(4, 0), UNTIL))


def test_days_not_rolled_up_are_read_raw(history):
    rollup_day(date(2026, 3, 3))
    plan = reports.plan(SINCE, UNTIL)
    assert plan.rollup_days == ((date(2026, 3, 3), date(2026, 3, 4)),)
    assert plan.raw == ((SINCE, at(3, 0)), (at(4, 0), UNTIL))


def test_a_day_rolled_up_before_it_ended_is_read_from_rollups_up_to_then(history):
    with mock.patch("audit.tasks.timezone.now", return_value=at(2, 11, 30)):
        state = rollup_day(date(2026, 3, 2))
    assert state.covered_until == at(2, 11, 30) - ROLLUP_SETTLE
    assert state.download_events == 3  # 09:00, 10:00, 11:00; not 12:00
    plan = reports.plan(SINCE, UNTIL)
    assert plan.rollup_days == ((date(2026, 3, 2), date(2026, 3, 3)),)
    assert plan.raw == ((SINCE, at(2, 0)), (at(2, 11, 28), UNTIL))
    assert [row.count for row in reports.downloads_over_time(SINCE, UNTIL)] == [2, 4, 4, 3]
    # A period ending before the rollup's coverage ends cannot use it.
    assert reports.plan(at(2, 0), at(2, 11)).rollup_days == ()


def test_whole_final_days_are_read_from_rollups_not_raw_events(history):
    for day in DAYS:
        rollup_day(day)
    # A raw event on a rolled-up day is ignored; the same on an edge day is counted.
    download(at(2, 15), NET, "v0.22.0", "zip", size=7)
    download(at(4, 4), NET, "v0.22.0", "zip", size=7)
    counts = {row.day: row.count for row in reports.downloads_over_time(SINCE, UNTIL)}
    assert counts[date(2026, 3, 2)] == 4
    assert counts[date(2026, 3, 4)] == 4


def test_downloads_over_time_counts_requests_and_bytes_per_day(source):
    assert reports.downloads_over_time(SINCE, UNTIL, **source) == [
        reports.DownloadsOnDay(date(2026, 3, 1), 2, 1050),
        reports.DownloadsOnDay(date(2026, 3, 2), 4, 2030),
        reports.DownloadsOnDay(date(2026, 3, 3), 4, 520),
        reports.DownloadsOnDay(date(2026, 3, 4), 3, 1000),
    ]


def test_downloads_over_time_lists_days_without_requests_as_zero(source):
    rows = reports.downloads_over_time(at(4, 0), datetime(2026, 3, 7, tzinfo=UTC), **source)
    assert rows == [
        reports.DownloadsOnDay(date(2026, 3, 4), 4, 2000),
        reports.DownloadsOnDay(date(2026, 3, 5), 0, 0),
        reports.DownloadsOnDay(date(2026, 3, 6), 0, 0),
    ]


def test_top_modules_counts_served_requests(source):
    assert reports.top_modules(SINCE, UNTIL, **source) == [
        reports.ModuleDownloads(NET, 7, 4100),
        reports.ModuleDownloads(TESTIFY, 2, 500),
    ]
    assert reports.top_modules(SINCE, UNTIL, limit=1, **source) == [reports.ModuleDownloads(NET, 7, 4100)]


def test_top_versions_leave_out_lists_and_can_name_one_module(source):
    assert reports.top_versions(SINCE, UNTIL, **source) == [
        reports.VersionDownloads(NET, "v0.22.0", 4, 2070),
        reports.VersionDownloads(TESTIFY, "v1.9.0", 2, 500),
        reports.VersionDownloads(NET, "v0.21.0", 1, 900),
        reports.VersionDownloads(NET, "v0.23.0", 1, 1100),
    ]
    assert [(row.version, row.count) for row in reports.top_versions(SINCE, UNTIL, module=NET, **source)] == [
        ("v0.22.0", 4), ("v0.21.0", 1), ("v0.23.0", 1),
    ]


def test_top_clients_count_every_request_and_denials_per_user_and_address(source):
    assert reports.top_clients(SINCE, UNTIL, **source) == [
        reports.ClientDownloads("10.0.0.1", "alice", "token", 4, 1550, 1),
        reports.ClientDownloads("10.0.0.2", "", "", 4, 2120, 1),
        reports.ClientDownloads("10.0.0.3", "bob", "session", 3, 930, 0),
        reports.ClientDownloads("10.0.0.4", "", "", 2, 0, 1),
    ]


def test_cache_hit_ratio_per_day_and_total(source):
    assert reports.cache_hit_ratio(SINCE, UNTIL, **source) == [
        reports.CacheHits(date(2026, 3, 1), 2, 1, 0.5),
        reports.CacheHits(date(2026, 3, 2), 3, 2, 2 / 3),
        reports.CacheHits(date(2026, 3, 3), 2, 2, 1.0),
        reports.CacheHits(date(2026, 3, 4), 2, 1, 0.5),
        reports.CacheHits(None, 9, 6, 6 / 9),
    ]


def test_denied_by_rule_counts_403s_per_rule(source):
    assert reports.denied_by_rule(SINCE, UNTIL, **source) == [
        reports.RuleDenials(RULE3, 2),
        reports.RuleDenials(RULE5, 1),
    ]


def test_fetch_failures_per_upstream_and_outcome_with_the_latest_error(source):
    assert reports.fetch_failures(SINCE, UNTIL, **source) == [
        reports.FetchFailures(PROXY, "error", 2, at(4, 2), "timeout after 30s"),
        reports.FetchFailures("direct", "error", 1, at(3, 12), "git: exit status 128"),
        reports.FetchFailures(PROXY, "not_found", 1, at(3, 11), "404 Not Found"),
    ]


def test_fetch_latency_median_and_p95_overall_and_per_upstream(history):
    # Durations in the period: proxy 50 100 200 300 400, direct 1000.
    assert reports.fetch_latency(SINCE, UNTIL) == [
        reports.FetchLatency(None, 6, 250.0, 850.0),
        reports.FetchLatency("direct", 1, 1000.0, 1000.0),
        reports.FetchLatency(PROXY, 5, 200.0, 380.0),
    ]
    assert reports.fetch_latency(SINCE, UNTIL, outcome="ok") == [
        reports.FetchLatency(None, 2, 150.0, 195.0),
        reports.FetchLatency(PROXY, 2, 150.0, 195.0),
    ]


def test_fetch_latency_fallback_interpolates_like_percentile_cont():
    assert reports._percentile([50, 100, 200, 300, 400, 1000], 0.95) == 850
    assert reports._percentile([7], 0.5) == 7
    assert reports._percentile([], 0.5) is None


def test_who_downloaded_lists_clients_versions_and_times_newest_first(source):
    assert reports.who_downloaded(NET, SINCE, UNTIL, **source) == [
        reports.ModuleDownloader("10.0.0.2", "", "", "v0.22.0", at(3, 8), at(4, 1), 2),
        reports.ModuleDownloader("10.0.0.3", "bob", "session", "v0.21.0", at(2, 10), at(2, 10), 1),
        reports.ModuleDownloader("10.0.0.2", "", "", "v0.23.0", at(2, 9), at(2, 9), 1),
        reports.ModuleDownloader("10.0.0.1", "alice", "token", "v0.22.0", at(1, 13), at(1, 14), 2),
    ]


def test_who_downloaded_below_a_version(source):
    rows = reports.who_downloaded(NET, SINCE, UNTIL, constraint="<v0.23.0", **source)
    assert [(row.client_addr, row.version, row.count) for row in rows] == [
        ("10.0.0.2", "v0.22.0", 2), ("10.0.0.3", "v0.21.0", 1), ("10.0.0.1", "v0.22.0", 2),
    ]
    assert reports.who_downloaded(NET, SINCE, UNTIL, constraint=">=v0.23.0 <v0.24.0", **source) == [
        reports.ModuleDownloader("10.0.0.2", "", "", "v0.23.0", at(2, 9), at(2, 9), 1),
    ]
    assert reports.who_downloaded(NET, SINCE, UNTIL, constraint="<v0.1.0", **source) == []
    assert reports.who_downloaded(EVIL, SINCE, UNTIL, **source) == []  # denied: not downloaded


def test_who_downloaded_refuses_a_bad_constraint_or_no_module(history):
    with pytest.raises(reports.ReportError, match="use <="):
        reports.who_downloaded(NET, SINCE, UNTIL, constraint="=<v0.23.0")
    with pytest.raises(reports.ReportError, match="module is required"):
        reports.who_downloaded(" ", SINCE, UNTIL)


def test_raw_events_stream_the_period_in_time_order(history):
    events = reports.raw_events(SINCE, UNTIL, chunk_size=2)
    assert not isinstance(events, list)
    rows = list(events)
    assert len(rows) == 13
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)
    assert set(rows[0]) == set(reports.RAW_EVENT_FIELDS)
    assert [row["version"] for row in reports.raw_events(SINCE, UNTIL, module=TESTIFY)] == ["v1.9.0", "v1.9.0"]
    with pytest.raises(reports.ReportError):
        reports.raw_events(UNTIL, SINCE)  # at once, not when the first row is read


def test_period_parsing_dates_datetimes_defaults_and_errors():
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert reports.parse_period("2026-03-01", "2026-03-04", now=now) == (at(1, 0), at(5, 0))
    assert reports.parse_period("2026-03-01T12:00:00Z", "2026-03-04T06:00:00+00:00", now=now) == (SINCE, UNTIL)
    assert reports.parse_period("2026-03-01 13:00:00 01:00", "2026-03-04T06:00", now=now) == (SINCE, UNTIL)
    assert reports.parse_period(None, None, now=now) == (datetime(2026, 2, 8, tzinfo=UTC), now)
    with pytest.raises(reports.ReportError, match="since='yesterday' is not an ISO 8601"):
        reports.parse_period("yesterday", None, now=now)
    with pytest.raises(reports.ReportError, match="must be before until"):
        reports.parse_period("2026-03-05", "2026-03-01", now=now)


def test_rollup_is_idempotent(history):
    first = rollup_day(date(2026, 3, 2))
    rows = list(DownloadDailyTotal.objects.filter(day=date(2026, 3, 2)).values_list("endpoint", "status", "count"))
    second = rollup_day(date(2026, 3, 2))
    assert sorted(rows) == sorted(
        DownloadDailyTotal.objects.filter(day=date(2026, 3, 2)).values_list("endpoint", "status", "count")
    )
    assert first.download_events == second.download_events == 4
    assert second.fetch_events == 2


def test_beat_rollup_does_today_yesterday_then_catches_up_on_older_days(history):
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    backlog = days_to_roll_up(yesterday)
    assert backlog[0] == yesterday - timedelta(days=1) and backlog[-1] == date(2026, 3, 1)

    done = rollup_downloads()
    assert done == [today.isoformat(), yesterday.isoformat(), *(day.isoformat() for day in backlog[:CATCH_UP_DAYS])]
    for _ in range(len(backlog) // CATCH_UP_DAYS):
        rollup_downloads()
    assert days_to_roll_up(yesterday) == []
    assert RollupDay.objects.get(day=date(2026, 3, 2)).download_events == 4
    assert reports.plan(SINCE, UNTIL).rollup_days == ((date(2026, 3, 2), date(2026, 3, 4)),)


def test_retention_deletes_only_old_raw_events_in_batches_and_keeps_rollups():
    now = timezone.now()
    for days_ago in (10, 10, 5):
        download(now - timedelta(days=days_ago), NET, "v0.22.0", "zip", size=10)
        fetch(now - timedelta(days=days_ago), PROXY, "ok", 100)
    recent = download(now - timedelta(hours=1), NET, "v0.22.0", "zip", size=10)
    since = now - timedelta(days=20)

    result = delete_expired_events(3, batch_size=2)

    assert (result["downloads"], result["fetches"], result["batches"]) == (3, 3, 4)
    assert list(DownloadEvent.objects.values_list("id", flat=True)) == [recent.id]
    assert FetchEvent.objects.count() == 0
    old_day = (now - timedelta(days=10)).date()
    assert RollupDay.objects.get(day=old_day).sealed
    # The old days still count, from their rollups; a later recomputation keeps them.
    rollup_day(old_day)
    assert sum(row.count for row in reports.downloads_over_time(since, now + timedelta(seconds=1))) == 4
    assert reports.top_modules(since, now + timedelta(seconds=1)) == [reports.ModuleDownloads(NET, 4, 40)]


def test_retention_zero_keeps_everything(settings, history):
    settings.ATHENS_AUDIT_RETENTION_DAYS = 0
    from audit.tasks import apply_retention

    assert apply_retention()["downloads"] == 0
    assert DownloadEvent.objects.count() == 15


# --- JSON API ------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(member_of("Auditors", "auditor"))
    return client


@pytest.mark.parametrize("url", ["/api/audit/reports/", "/api/audit/reports/top-modules/", "/api/schema/"])
def test_report_api_refuses_anonymous_users(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("url", ["/api/audit/reports/top-modules/", "/api/schema/"])
def test_report_api_refuses_non_staff(client, url):
    user = get_user_model().objects.create_user("dev", password="x-long-password")
    _, secret = create_token(user)
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 403


def test_report_api_answers_who_downloaded_below_a_version(staff_client, history):
    response = staff_client.get(
        "/api/audit/reports/who-downloaded/",
        {"module": NET, "constraint": "<v0.23.0", "since": SINCE.isoformat(), "until": UNTIL.isoformat()},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"] == ["client_addr", "username", "auth", "version", "first_time", "last_time", "count"]
    assert body["rows"][0] == {
        "client_addr": "10.0.0.2", "username": "", "auth": "", "version": "v0.22.0",
        "first_time": "2026-03-03T08:00:00Z", "last_time": "2026-03-04T01:00:00Z", "count": 2,
    }
    assert len(body["rows"]) == 3


def test_report_api_every_report_answers_with_dates_as_whole_days(staff_client, history):
    index = staff_client.get("/api/audit/reports/").json()
    assert {entry["name"] for entry in index} == set(reports.REPORTS)
    for entry in index:
        params = {"since": "2026-03-02", "until": "2026-03-03"}
        if entry["name"] == "who-downloaded":
            params["module"] = NET
        response = staff_client.get(entry["url"], params)
        assert response.status_code == 200, (entry["name"], response.content)
        assert response.json()["since"] == "2026-03-02T00:00:00Z"
        assert response.json()["until"] == "2026-03-04T00:00:00Z"
    downloads = staff_client.get("/api/audit/reports/downloads/", {"since": "2026-03-02", "until": "2026-03-03"})
    assert downloads.json()["rows"] == [
        {"day": "2026-03-02", "count": 4, "bytes": 2030}, {"day": "2026-03-03", "count": 4, "bytes": 520},
    ]


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("top-modules", {"limit": "0"}, "limit"),
        ("top-modules", {"since": "last week"}, "since='last week' is not an ISO 8601 date"),
        ("top-modules", {"since": "2026-03-05", "until": "2026-03-01"}, "must be before until"),
        ("top-modules", {"limt": "5"}, "unknown parameter(s) limt"),
        ("who-downloaded", {}, "module"),
        ("who-downloaded", {"module": NET, "constraint": "~v0.23.0"}, "write the range out"),
        ("fetch-latency", {"outcome": "fine"}, "outcome"),
    ],
)
def test_report_api_refuses_bad_parameters_with_a_message(staff_client, url, params, message):
    response = staff_client.get(f"/api/audit/reports/{url}/", params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_schema_describes_each_report_and_its_parameters(staff_client):
    response = staff_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/audit/reports/who-downloaded/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"since", "until", "module", "constraint", "by"}
    assert all(f"/api/audit/reports/{name}/" in schema["paths"] for name in reports.REPORTS)


def test_generate_audit_history_inserts_the_events_and_rolls_the_days_up():
    call_command("generate_audit_history", events=3000, days=3, modules=50, clients=20, seed=7, stdout=io.StringIO())
    assert DownloadEvent.objects.count() == 3000
    assert FetchEvent.objects.filter(outcome="ok").exists()
    assert DownloadEvent.objects.filter(status=403).exclude(rule="").exists()
    assert DownloadEvent.objects.filter(status=404).exists()
    until = timezone.now()
    since = until - timedelta(days=3)
    assert reports.plan(since, until).rollup_days  # the whole days come from rollups
    assert reports.top_modules(since, until)[0].module == "golang.org/x/net"
    for name in ("downloads_over_time", "top_versions", "top_clients", "cache_hit_ratio", "denied_by_rule",
                 "fetch_failures"):
        function = getattr(reports, name)
        assert function(since, until) == function(since, until, use_rollups=False), name
    net = reports.who_downloaded("golang.org/x/net", since, until, constraint="<v0.23.0")
    assert net == reports.who_downloaded("golang.org/x/net", since, until, constraint="<v0.23.0", use_rollups=False)


def test_top_clients_and_who_downloaded_group_by_user_or_by_address(db):
    """A person on a laptop and in CI is one user from two addresses; a NAT address is
    many people. `by` answers "who" and "which machine" from the same events."""
    laptop = {"client": "10.0.0.1", "username": "alice", "auth": "token"}
    ci = {"client": "10.0.0.7", "username": "alice", "auth": "token"}
    download(at(2, 9), NET, "v0.22.0", "zip", size=100, **laptop)
    download(at(2, 10), NET, "v0.22.0", "zip", size=100, **ci)
    download(at(2, 11), NET, "v0.23.0", "mod", size=10, **ci)
    download(at(2, 12), NET, "v0.22.0", "info", size=1, client="10.0.0.7", username="bob", auth="token")
    download(at(2, 13), NET, "v0.22.0", "info", size=1, client="10.0.0.7", username="alice", auth="session")
    download(at(2, 14), NET, "", "list", size=5, client="10.0.0.7", auth="bad-token")
    raw = {"use_rollups": False}
    assert reports.top_clients(SINCE, UNTIL, by="user", **raw) == [
        reports.ClientDownloads(None, "alice", "", 4, 211, 0),  # token and session together
        reports.ClientDownloads(None, "", "bad-token", 1, 5, 0),
        reports.ClientDownloads(None, "bob", "", 1, 1, 0),
    ]
    assert reports.top_clients(SINCE, UNTIL, by="address", **raw) == [
        reports.ClientDownloads("10.0.0.7", "", "", 5, 117, 0),
        reports.ClientDownloads("10.0.0.1", "", "", 1, 100, 0),
    ]
    assert len(reports.top_clients(SINCE, UNTIL, **raw)) == 5
    by_user = reports.who_downloaded(NET, SINCE, UNTIL, by="user", constraint="v0.22.0", **raw)
    assert by_user == [
        reports.ModuleDownloader(None, "alice", "", "v0.22.0", at(2, 9), at(2, 13), 3),
        reports.ModuleDownloader(None, "bob", "", "v0.22.0", at(2, 12), at(2, 12), 1),
    ]
    with pytest.raises(reports.ReportError, match="group by client, user, address"):
        reports.top_clients(SINCE, UNTIL, by="team")
