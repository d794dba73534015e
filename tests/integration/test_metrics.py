"""/metrics: what the counters say after real downloads and fetches, who may read it, and
the fetch queue depth read from a real Redis."""

import os
import subprocess
import sys

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from athens_site.metrics_dir import configure, remove_files_of_dead_processes
from athens_site.trusted_proxies import parse_networks
from audit.models import FetchEvent
from modules.metrics import upstream_label

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


def scrape(client) -> str:
    response = client.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(text: str, name: str, **labels) -> float:
    """The sample `name` whose labels include `labels` (summed over the others), 0 if none."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_a_fetch_and_a_hit_move_the_request_counters_by_one_each(client, proxy):
    before = scrape(client)
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    assert client.get("/mods.example.test/missing/@v/v1.0.0.info").status_code == 404
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "athens_download_requests_total"
    assert delta(requests, endpoint="zip", status="200", cache="fetched") == 1
    assert delta(requests, endpoint="zip", status="200", cache="hit") == 2
    assert delta(requests, endpoint="info", status="404") == 1
    assert delta(requests) == 4
    assert delta("athens_download_request_duration_seconds_count", endpoint="zip") == 3
    assert delta("athens_download_request_duration_seconds_sum", endpoint="zip") > 0


def test_the_fetch_duration_histogram_counts_every_upstream_attempt(client, proxy):
    name = "athens_upstream_fetch_duration_seconds_count"
    before = scrape(client)
    assert client.get(f"/{HELLO}/@v/v1.0.0.mod").status_code == 200
    after = scrape(client)
    fetched = FetchEvent.objects.filter(upstream=proxy.url, outcome="ok").count()
    assert fetched >= 1
    assert value(after, name, upstream=proxy.url, outcome="ok") - value(before, name, upstream=proxy.url, outcome="ok") == fetched
    # A hit fetches nothing.
    assert client.get(f"/{HELLO}/@v/v1.0.0.mod").status_code == 200
    assert value(scrape(client), name) == value(after, name)


def test_labels_name_no_module_and_no_user(client, proxy):
    client.get(f"/{HELLO}/@v/v1.0.0.info")
    client.get("/mods.example.test/missing/@v/list")
    text = scrape(client)
    assert "mods.example.test" not in text
    assert upstream_label("admin:alice") == "other"  # evictions name the staff member
    assert upstream_label("https://bot:hunter2@goproxy.example.com/athens/") == "https://goproxy.example.com/athens"
    assert upstream_label("direct") == "direct"


def test_without_a_token_only_loopback_may_read_metrics(client, settings):
    settings.ATHENS_METRICS_TOKEN = ""
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/plain")
    assert "ATHENS_METRICS_TOKEN" in refused.content.decode()
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    # Behind a trusted reverse proxy on this machine, the client is the forwarded one.
    settings.ATHENS_TRUSTED_PROXIES = parse_networks("127.0.0.1")
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    # A client that is not a trusted proxy cannot claim to be this machine.
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_with_a_token_metrics_need_the_bearer_token(client, settings):
    settings.ATHENS_METRICS_TOKEN = "s3cret-metrics-token"
    far = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", **far).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **far).status_code == 401
    assert client.get("/metrics").status_code == 401  # loopback too, once a token is set
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", **far)
    assert allowed.status_code == 200
    assert "# TYPE athens_download_requests_total counter" in allowed.content.decode()


@pytest.fixture
def redis_broker(settings):
    url = os.environ.get("ATHENS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    connection = redis.Redis.from_url(url)
    connection.delete("celery")
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield connection
    connection.delete("celery")


def test_fetch_queue_depth_is_the_length_of_the_celery_queue(client, settings, redis_broker):
    redis_broker.rpush("celery", "task-1", "task-2", "task-3")
    assert value(scrape(client), "athens_fetch_queue_depth") == 3
    # The broker down: the scrape still works, without the gauge.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    assert "athens_fetch_queue_depth" not in scrape(client)


def test_without_a_broker_the_queue_is_empty(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert "athens_fetch_queue_depth 0.0" in scrape(client)


def test_server_start_removes_only_the_files_of_dead_processes(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in (f"counter_{dead.pid}.db", f"histogram_{dead.pid}.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    removed = remove_files_of_dead_processes(tmp_path)
    assert sorted(path.name for path in removed) == sorted([f"counter_{dead.pid}.db", f"histogram_{dead.pid}.db"])
    assert [path.name for path in tmp_path.iterdir()] == [f"counter_{os.getpid()}.db"]


def test_athens_metrics_dir_chooses_the_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "inherited"))
    monkeypatch.setenv("ATHENS_METRICS_DIR", str(tmp_path / "chosen"))
    assert configure(tmp_path / "default") == tmp_path / "chosen"
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "chosen")
    assert (tmp_path / "chosen").is_dir()
    monkeypatch.delenv("ATHENS_METRICS_DIR")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert configure(tmp_path / "default") == tmp_path / "default"
