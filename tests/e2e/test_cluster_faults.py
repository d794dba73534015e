"""The production shape, really run: several gunicorn web servers and Celery workers
(separate processes) over one PostgreSQL, one Redis and one S3 (moto's server on
127.0.0.1), and what happens when things go wrong underneath them."""

import concurrent.futures
import json
import signal
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.fetch import artifact_key
from modules.models import ModuleVersion
from tests.support.processes import CeleryWorker, WebServer, proxy_environment
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = "mods.example.test/hello"


@dataclass
class Cluster:
    env: dict
    tmp_path: object
    bucket: str
    webs: list = field(default_factory=list)
    workers: list = field(default_factory=list)

    def add_worker(self) -> CeleryWorker:
        worker = CeleryWorker(self.env, self.tmp_path / f"worker-{len(self.workers)}.log", concurrency=4)
        self.workers.append(worker)
        return worker

    def add_web(self) -> WebServer:
        web = WebServer(self.env, self.tmp_path / f"web-{len(self.webs)}.log", workers=2)
        self.webs.append(web)
        return web

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-3000:]}" for p in [*self.webs, *self.workers])


@pytest.fixture
def cluster(tmp_path, proxy, settings, redis_url, s3_server):
    """`cluster(webs=2, workers=2, **env)`: processes sharing the test database, the test
    Redis (broker and results) and a fresh S3 bucket, all fetching from `proxy`."""
    started = []

    def start(*, webs: int, workers: int, **extra: str) -> Cluster:
        bucket = s3_server.bucket()
        env = proxy_environment(
            upstream=proxy.url, storage_dir=tmp_path / "unused-storage", lock_dir=settings.ATHENS_LOCK_DIR,
            broker_url=redis_url, **s3_server.environment(bucket), **extra,
        )
        group = Cluster(env=env, tmp_path=tmp_path, bucket=bucket)
        started.append(group)
        for _ in range(workers):
            group.add_worker()
        for _ in range(webs):
            group.add_web()
        return group

    yield start
    for group in started:
        for process in [*group.webs, *group.workers]:
            process.stop()


def get(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=180) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_fifty_concurrent_requests_across_two_servers_and_two_workers_cause_one_fetch(cluster, proxy, s3_server):
    group = cluster(webs=2, workers=2)
    files = proxy.tree.files(HELLO, "v1.1.0")
    expected = {"info": json.loads(files.info_bytes), "mod": files.mod_bytes, "zip": files.zip_bytes}
    proxy.delay(".zip", 1.5)  # the first fetch is still in flight when the others arrive
    requests = [(group.webs[i % 2].url, ("zip", "info", "mod")[i % 3]) for i in range(50)]

    def ask(request):
        base, ext = request
        return ext, get(f"{base}/{HELLO}/@v/v1.1.0.{ext}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(ask, requests))

    assert [status for _, (status, _) in answers] == [200] * 50, group.logs()
    # .info is JSON (the proxy re-serialises it); go.mod and the zip are byte-identical.
    assert {ext for ext, (_, body) in answers if (json.loads(body) if ext == "info" else body) != expected[ext]} == set()
    for ext in ("info", "mod", "zip"):
        assert proxy.count(f"/{HELLO}/@v/v1.1.0.{ext}") == 1, ext
    # One fetch per artifact (issue 12): the .info and .mod, then the zip.
    fetches = FetchEvent.objects.filter(module=HELLO, version="v1.1.0")
    assert sorted(fetches.values_list("endpoint", flat=True)) == ["version", "zip"]
    assert set(fetches.values_list("worker", flat=True)) <= {f"{socket.gethostname()}:{w.pid}" for w in group.workers}
    assert DownloadEvent.objects.filter(module=HELLO, version="v1.1.0", status=200).count() == 50
    assert s3_server.keys(group.bucket) == sorted(artifact_key(HELLO, "v1.1.0", ext) for ext in expected)


def test_a_worker_killed_mid_download_leaves_nothing_partial_and_the_fetch_completes(cluster, proxy, s3_server):
    group = cluster(webs=1, workers=1, ATHENS_FETCH_TIMEOUT="120")
    expected = proxy.tree.files(HELLO, "v1.1.0").zip_bytes
    url = f"{group.webs[0].url}/{HELLO}/@v/v1.1.0.zip"
    proxy.trickle(".zip", 8.0)  # the zip arrives slowly, in pieces
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(get, url)
        eventually(lambda: proxy.count(f"/{HELLO}/@v/v1.1.0.zip") > 0, within=60, what=group.logs)
        time.sleep(1.5)  # part of the zip has been received by the worker
        group.workers[0].stop(sig=signal.SIGKILL)
        assert group.workers[0].popen.returncode == -signal.SIGKILL

        # Nothing of the interrupted zip is visible: the row has its .info and .mod only
        # (committed before the zip was asked for), no zip object, nothing served.
        assert not ModuleVersion.objects.filter(module__path=HELLO, zip_cached=True).exists()
        assert artifact_key(HELLO, "v1.1.0", "zip") not in s3_server.keys(group.bucket)
        assert not first.done()

        proxy.clear_delays()
        group.add_worker()
        second = get(url)
        assert second == (200, expected), group.logs()
        # The request that was waiting on the dead worker gets the completed fetch.
        assert first.result(timeout=60) == (200, expected), group.logs()

    assert proxy.count(f"/{HELLO}/@v/v1.1.0.zip") == 2
    row = ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0")
    assert row.zip_hash == proxy.tree.files(HELLO, "v1.1.0").zip_hash
    completed = FetchEvent.objects.get(module=HELLO, outcome="ok", endpoint="zip")
    assert completed.worker == f"{socket.gethostname()}:{group.workers[1].pid}"
    assert list(DownloadEvent.objects.filter(endpoint="zip").values_list("status", flat=True)) == [200, 200]
