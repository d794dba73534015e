"""/metrics adds up the samples of separate processes: two gunicorn workers and a Celery
worker, started as `make run` and `make worker` start them."""

import concurrent.futures
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from audit.models import FetchEvent
from tests.support.processes import CeleryWorker, WebServer, proxy_environment

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = "mods.example.test/hello"
BATCH = 20


@pytest.fixture
def redis_url():
    url = os.environ.get("ATHENS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def get(url: str, request_id: str = "") -> int:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id} if request_id else {})
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        return response.status


def web_pids(metrics_dir, celery_pid: int) -> set[int]:
    """Processes other than the Celery worker that wrote download samples."""
    return {int(path.stem.rpartition("_")[2]) for path in metrics_dir.glob("counter_*.db")} - {celery_pid}


def samples(text: str, name: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def test_metrics_add_up_every_web_and_celery_process(tmp_path, proxy, isolated_storage, settings, redis_url):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = proxy_environment(
        upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR, broker_url=redis_url,
        # Its own directory (not the test session's), and the gunicorn hooks of `make run`.
        ATHENS_METRICS_DIR=str(metrics_dir), GUNICORN_CMD_ARGS="--config python:athens_site.gunicorn_conf",
        # The test sends request ids as a reverse proxy of ours would.
        ATHENS_TRUSTED_PROXIES="127.0.0.1",
    )
    # What a previous run left behind: gunicorn's on_starting hook must drop it.
    stale = "from prometheus_client import Counter as C; C('athens_download_requests', '', ['endpoint']).labels('zip').inc(1000)"
    subprocess.run([sys.executable, "-c", stale], env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, check=True)
    worker = CeleryWorker(env, tmp_path / "worker.log")
    web = WebServer(env, tmp_path / "web.log", workers=2)
    try:
        url = f"{web.url}/{HELLO}/@v/v1.0.0.info"
        assert get(url, "e2e-first") == 200  # fetched by the Celery worker
        made = 1
        # Concurrent batches until both web workers have answered some (the kernel
        # decides which one accepts a connection), within reason.
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            while made < 400 and (made < BATCH or len(web_pids(metrics_dir, worker.pid)) < 2):
                assert list(pool.map(get, [url] * BATCH)) == [200] * BATCH
                made += BATCH
        with urllib.request.urlopen(f"{web.url}/metrics", timeout=30) as response:
            text = response.read().decode()
    finally:
        web.stop()
        worker.stop()

    assert len(web_pids(metrics_dir, worker.pid)) == 2, sorted(metrics_dir.iterdir())
    requests = samples(text, "athens_download_requests_total")
    assert sum(s.value for s in requests) == made, text
    by_cache = {s.labels["cache"]: s.value for s in requests}
    assert by_cache == {"fetched": 1, "hit": made - 1}
    # The upstream fetch happened in the Celery worker, a process of its own.
    fetches = FetchEvent.objects.filter(module=HELLO, version="v1.0.0")
    assert set(fetches.values_list("worker", flat=True)) == {f"{socket.gethostname()}:{worker.pid}"}
    assert set(fetches.values_list("request_id", flat=True)) == {"e2e-first"}
    counted = samples(text, "athens_upstream_fetch_duration_seconds_count")
    assert sum(s.value for s in counted if s.labels == {"upstream": proxy.url, "outcome": "ok"}) == fetches.count()
