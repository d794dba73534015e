"""The two things that make a cached request cheap, with the database really shared:
rules and version rows kept in memory until PostgreSQL says they changed
(modules/hot_cache.py), and download events written in group commits
(audit/group_commit.py). Transactional tests: both depend on real commits."""

import concurrent.futures
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import group_commit
from audit.models import DownloadEvent
from modules import hot_cache
from modules.fetch import ready_version
from modules.models import ModuleVersion, PolicyRule
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = "mods.example.test/hello"
INFO = f"/{HELLO}/@v/v1.1.0.info"


@pytest.fixture
def hot(settings):
    settings.ATHENS_HOT_CACHE = True
    eventually(lambda: hot_cache._live_listener() is not None)  # noqa: SLF001 - wait for LISTEN
    return settings


def tables_read(client, url) -> set[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code in (200, 403)
    return {table for q in queries for table in ("modules_policyrule", "modules_moduleversion") if table in q["sql"]}


def test_a_cached_info_reads_neither_rules_nor_version_rows_from_the_database(client, proxy, hot):
    assert client.get(INFO).status_code == 200
    assert tables_read(client, INFO) == set()
    assert DownloadEvent.objects.filter(endpoint="info", status=200).count() == 2


def test_a_new_deny_rule_applies_as_soon_as_postgresql_delivers_its_notification(client, proxy, hot):
    assert client.get(INFO).status_code == 200
    rule = PolicyRule.objects.create(pattern=HELLO, action="deny", reason="incident 42")
    eventually(lambda: client.get(INFO).status_code == 403)
    assert b"incident 42" in client.get(INFO).content
    rule.enabled = False
    rule.save()
    eventually(lambda: client.get(INFO).status_code == 200)


def test_an_evicted_version_is_not_served_from_memory(client, proxy, hot):
    assert client.get(INFO).status_code == 200
    assert ready_version(HELLO, "v1.1.0") is not None
    ModuleVersion.objects.filter(module__path=HELLO, version="v1.1.0").delete()
    eventually(lambda: ready_version(HELLO, "v1.1.0") is None)


def test_without_its_listener_the_cache_is_bypassed_until_it_reconnects(client, proxy, hot):
    assert client.get(INFO).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'athens-cache-listener' "
            "AND datname = current_database()"
        )
        assert cursor.fetchall(), "no listener connection found"
    # Until it is back, every request reads the database again...
    eventually(lambda: tables_read(client, INFO) == {"modules_policyrule", "modules_moduleversion"})
    # ...and once it is back (a new LISTEN), memory serves again.
    eventually(lambda: tables_read(client, INFO) == set(), within=15)


def test_concurrent_requests_share_group_commits_and_every_row_is_written(proxy, settings):
    settings.ATHENS_AUDIT_GROUP_COMMIT = True
    assert Client().get(INFO).status_code == 200
    start = threading.Barrier(16)

    def request(n: int) -> int:
        client = Client()
        start.wait()
        try:
            return client.get(INFO, HTTP_X_REQUEST_ID=f"req-{n}").status_code
        finally:
            connection.close()  # this thread's own connection

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(request, range(160)))
    assert statuses == [200] * 160
    ids = set(DownloadEvent.objects.filter(client_request_id__startswith="req-").values_list("client_request_id", flat=True))
    assert ids == {f"req-{n}" for n in range(160)}
    with connection.cursor() as cursor:
        # Rows committed by one INSERT share their transaction id (xmin).
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM audit_downloadevent WHERE request_id LIKE 'req-%%'")
        transactions = cursor.fetchone()[0]
    assert transactions < 160


def test_a_row_that_cannot_be_written_does_not_take_its_batch_with_it(settings):
    def event(module: str) -> DownloadEvent:
        return DownloadEvent(time=timezone.now(), module=module, endpoint="info", method="GET", status=200, duration_ms=1)

    events = [event(f"mods.example.test/ok{n}") for n in range(20)] + [event("x" * 5000)]  # > varchar(1024)
    with concurrent.futures.ThreadPoolExecutor(max_workers=21) as pool:
        futures = [pool.submit(group_commit.save, e) for e in events]
        outcomes = [f.exception(timeout=60) for f in futures]
    assert outcomes[:20] == [None] * 20
    assert outcomes[20] is not None
    assert DownloadEvent.objects.filter(module__startswith="mods.example.test/ok").count() == 20
