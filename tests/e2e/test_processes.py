"""Behaviour that needs real separate processes: gunicorn web servers, a Celery worker
with Redis, and one PostgreSQL shared by all of them."""

import concurrent.futures
import socket
import time
import urllib.error
import urllib.request

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.models import ModuleVersion
from tests.support.processes import CeleryWorker, WebServer, proxy_environment
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = "mods.example.test/hello"


@pytest.fixture
def deployment(tmp_path, proxy, isolated_storage, settings, redis_url):
    """Start the proxy's processes: `deployment(with_worker=True|False)` -> web server."""
    started = []

    def start(*, with_worker: bool):
        env = proxy_environment(
            upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR,
            broker_url=redis_url if with_worker else "",
        )
        worker = None
        if with_worker:
            worker = CeleryWorker(env, tmp_path / "worker.log")
            started.append(worker)
        web = WebServer(env, tmp_path / "web.log", workers=2)
        started.append(web)
        return web, worker

    yield start
    for process in reversed(started):
        process.stop()


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.status, response.read()


def test_the_fetch_runs_in_the_celery_worker(deployment, go_env):
    web, worker = deployment(with_worker=True)
    result = go_env(web.url).download_json(f"{HELLO}@v1.0.0")
    assert result[0].get("Error") is None, (result, worker.log(), web.log())
    workers = set(FetchEvent.objects.filter(endpoint="version").values_list("worker", flat=True))
    assert workers == {f"{socket.gethostname()}:{worker.pid}"}
    assert ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()


@pytest.mark.parametrize("with_worker", [False, True], ids=["fetch-in-web-processes", "fetch-in-celery-worker"])
def test_concurrent_requests_for_one_uncached_zip_cause_one_upstream_fetch(deployment, proxy, with_worker):
    web, _ = deployment(with_worker=with_worker)
    proxy.delay(".zip", 1.0)  # keep the first fetch in flight while the others arrive
    url = f"{web.url}/{HELLO}/@v/v1.1.0.zip"
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(fetch, [url] * 20))
    expected = proxy.tree.files(HELLO, "v1.1.0").zip_bytes
    assert [status for status, _ in answers] == [200] * 20
    assert all(body == expected for _, body in answers)
    assert proxy.count(f"/{HELLO}/@v/v1.1.0.zip") == 1
    fetches = FetchEvent.objects.filter(module=HELLO, version="v1.1.0")
    assert sorted(fetches.values_list("endpoint", flat=True)) == ["version", "zip"]  # one per artifact
    assert DownloadEvent.objects.filter(module=HELLO, version="v1.1.0", endpoint="zip", status=200).count() == 20


@pytest.mark.parametrize("with_worker", [False, True], ids=["fetch-in-web-processes", "fetch-in-celery-worker"])
def test_concurrent_cold_mod_requests_cause_one_upstream_mod_request_and_no_zip(deployment, proxy, with_worker):
    """The module graph needs go.mod files only: 20 at once, over two processes, ask the
    upstream for one .mod and no zip (single flight per artifact, issue 12)."""
    web, _ = deployment(with_worker=with_worker)
    proxy.delay(".mod", 1.0)
    url = f"{web.url}/{HELLO}/@v/v1.1.0.mod"
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(fetch, [url] * 20))
    assert answers == [(200, proxy.tree.files(HELLO, "v1.1.0").mod_bytes)] * 20
    assert proxy.count(f"/{HELLO}/@v/v1.1.0.mod") == 1
    assert proxy.count(lambda path: path.endswith(".zip")) == 0


def test_a_server_killed_between_the_mod_and_the_zip_leaves_the_mod_served_and_the_zip_fetched_next_time(
    tmp_path, proxy, isolated_storage, settings,
):
    env = proxy_environment(upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR)
    files = proxy.tree.files(HELLO, "v1.1.0")
    web = WebServer(env, tmp_path / "web.log", workers=1)
    try:
        assert fetch(f"{web.url}/{HELLO}/@v/v1.1.0.mod") == (200, files.mod_bytes)
        proxy.trickle(".zip", 30)  # the zip is on its way when the server dies
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(status_or_lost, f"{web.url}/{HELLO}/@v/v1.1.0.zip")
            eventually(lambda: proxy.count(f"/{HELLO}/@v/v1.1.0.zip") == 1, within=10)
            time.sleep(1)  # part of it has arrived
            web.kill()
            assert pending.result(timeout=30) != 200
    finally:
        web.stop()
    proxy.clear_delays()
    assert not ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0").zip_cached
    again = WebServer(env, tmp_path / "web2.log", workers=1)
    try:
        assert fetch(f"{again.url}/{HELLO}/@v/v1.1.0.mod") == (200, files.mod_bytes)
        assert fetch(f"{again.url}/{HELLO}/@v/v1.1.0.zip") == (200, files.zip_bytes)
    finally:
        again.stop()
    row = ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0")
    assert (row.zip_cached, row.zip_hash) == (True, files.zip_hash)


def test_rule_changes_reach_every_web_process_within_moments(deployment):
    """Each process keeps the rules in memory (modules/hot_cache.py); PostgreSQL's
    notification of the change must reach both gunicorn processes."""
    from modules.models import PolicyRule

    web, _ = deployment(with_worker=False)
    url = f"{web.url}/{HELLO}/@v/v1.0.0.info"
    assert all(status(url) == 200 for _ in range(8))  # both processes have cached the rules
    rule = PolicyRule.objects.create(pattern=HELLO, action="deny", reason="stop")
    # Notifications arrive asynchronously: milliseconds after the commit, not at once.
    eventually(lambda: status(url) == 403)
    assert [status(url) for _ in range(8)] == [403] * 8
    rule.delete()
    eventually(lambda: status(url) == 200)
    assert [status(url) for _ in range(8)] == [200] * 8


def status(url: str) -> int:
    try:
        return fetch(url)[0]
    except urllib.error.HTTPError as error:
        return error.code


def status_or_lost(url: str) -> int:
    """The status, or 0 when the connection died without an answer."""
    try:
        return status(url)
    except OSError:
        return 0


def test_database_down_readyz_fails_and_the_download_api_answers_503(tmp_path, proxy, isolated_storage, settings):
    env = proxy_environment(upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR)
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:9/nowhere"  # nothing listens there
    web = WebServer(env, tmp_path / "web.log", workers=1)
    try:
        assert fetch(f"{web.url}/healthz")[0] == 200
        for path in ("/readyz", f"/{HELLO}/@v/list", f"/{HELLO}/@v/v1.0.0.zip", f"/{HELLO}/@latest"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                fetch(web.url + path)
            assert refused.value.code == 503, path
            body = refused.value.read().decode()
            assert refused.value.headers["Content-Type"].startswith("text/plain")
            assert "database" in body and "Traceback" not in body
        assert proxy.requests == []
    finally:
        web.stop()


def test_database_down_a_token_check_answers_503_not_500(tmp_path, proxy, isolated_storage, settings):
    """Checking a proxy token reads the database too (modules/tokens/client_auth.py)."""
    env = proxy_environment(upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR,
                            ATHENS_CLIENT_AUTH="optional")
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:9/nowhere"
    web = WebServer(env, tmp_path / "web.log", workers=1)
    try:
        request = urllib.request.Request(f"{web.url}/{HELLO}/@v/list", headers={"Authorization": "Basic YTpi"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 503
        assert "database" in refused.value.read().decode()
    finally:
        web.stop()


def test_each_web_server_has_its_own_control_socket(tmp_path, proxy, isolated_storage, settings):
    """Two instances on one machine no longer share ~/.gunicorn/gunicorn.ctl: each one's
    socket, in var/, answers for that instance (gunicornc sees its own workers)."""
    import json
    import subprocess

    from tests.support.processes import REPO, VENV_BIN

    env = proxy_environment(upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR)
    first = WebServer(env, tmp_path / "first.log", workers=1)
    second = WebServer(env, tmp_path / "second.log", workers=2)
    try:
        counts = {}
        for web in (first, second):
            path = REPO / "var" / f"gunicorn-127.0.0.1-{web.port}.ctl"
            assert path.is_socket() and (path.stat().st_mode & 0o077) == 0
            shown = subprocess.run(
                [str(VENV_BIN / "gunicornc"), "-s", str(path), "-c", "show workers", "-j"],
                capture_output=True, text=True, timeout=30, check=True,
            )
            counts[web.port] = len(json.loads(shown.stdout)["workers"])
        assert counts == {first.port: 1, second.port: 2}
    finally:
        first.stop()
        second.stop()
