"""X-Request-ID: taken from a trusted reverse proxy or made up, echoed, stored on the
audit rows of the request and of the fetch it caused, and on every log line the request
writes (JSON by default). A client's own id is a claim, kept apart.

Most tests here send their requests as a trusted proxy would (the test client's
127.0.0.1 is trusted by the `from_trusted_proxy` fixture); the last ones as a client."""

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from audit.models import DownloadEvent, FetchEvent
from athens_site.trusted_proxies import parse_networks
from modules.tasks import fetch_version_task
from modules.tokens.models import create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def from_trusted_proxy(settings, request):
    if "untrusted" not in request.node.name:
        settings.ATHENS_TRUSTED_PROXIES = parse_networks("127.0.0.1")


@pytest.fixture
def log_lines():
    """The JSON lines the configured console handler writes while the test runs."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def test_a_request_without_an_id_gets_one_and_its_audit_row_has_it(client, proxy):
    response = client.get(f"/{HELLO}/@v/list")
    assert response.status_code == 200
    assert GENERATED.fullmatch(response["X-Request-ID"])
    assert DownloadEvent.objects.get().request_id == response["X-Request-ID"]
    assert client.get(f"/{HELLO}/@v/list")["X-Request-ID"] != response["X-Request-ID"]


def test_a_sane_id_is_echoed_and_stored(client, proxy):
    response = client.get(f"/{HELLO}/@v/list", HTTP_X_REQUEST_ID="lb-7f3a.2024:11-26")
    assert response["X-Request-ID"] == "lb-7f3a.2024:11-26"
    assert DownloadEvent.objects.get().request_id == "lb-7f3a.2024:11-26"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="probe-1")["X-Request-ID"] == "probe-1"


@pytest.mark.parametrize(
    "hostile",
    ["x" * 65, "two words", 'quote"d', "line\nbreak", "nul\x00byte", "ünïcode", "<script>", "a;b", "%0d%0a"],
)
def test_a_hostile_id_is_replaced(client, proxy, hostile):
    response = client.get(f"/{HELLO}/@v/list", HTTP_X_REQUEST_ID=hostile)
    assert GENERATED.fullmatch(response["X-Request-ID"])
    assert DownloadEvent.objects.get().request_id == response["X-Request-ID"]


def test_the_fetch_a_request_causes_has_its_id(client, proxy):
    client.get(f"/{HELLO}/@v/v1.0.0.zip", HTTP_X_REQUEST_ID="fetch-me-1")
    fetches = FetchEvent.objects.filter(module=HELLO, version="v1.0.0")
    assert fetches.exists()
    assert set(fetches.values_list("request_id", flat=True)) == {"fetch-me-1"}
    client.get(f"/{HELLO}/@v/v1.0.0.zip", HTTP_X_REQUEST_ID="hit-2")  # a hit fetches nothing
    assert set(FetchEvent.objects.values_list("request_id", flat=True)) == {"fetch-me-1"}
    assert list(DownloadEvent.objects.order_by("id").values_list("request_id", "cache")) == [
        ("fetch-me-1", "fetched"), ("hit-2", "hit"),
    ]


def test_the_fetch_task_takes_the_id_as_an_argument_and_still_runs_without_it(proxy):
    # As a worker runs it: outside any request, the id comes only from the argument.
    assert fetch_version_task.apply(args=(HELLO, "v1.0.0"), kwargs={"request_id": "queued-9"}).get()["status"] == "ready"
    assert fetch_version_task.apply(args=(HELLO, "v1.1.0")).get()["status"] == "ready"  # old two-argument task
    ids = dict(FetchEvent.objects.filter(endpoint="version").values_list("version", "request_id"))
    assert ids == {"v1.0.0": "queued-9", "v1.1.0": ""}


def test_the_audit_api_shows_and_filters_by_request_id(client, proxy):
    staff = member_of("Auditors", "auditor")
    auth = {"HTTP_AUTHORIZATION": f"Token {create_token(staff)[1]}"}
    client.get(f"/{HELLO}/@v/v1.0.0.info", HTTP_X_REQUEST_ID="find-me")
    client.get(f"/{HELLO}/@v/list", HTTP_X_REQUEST_ID="not-me")
    downloads = client.get("/api/audit/downloads/?request_id=find-me", **auth).json()["results"]
    assert [(d["request_id"], d["endpoint"]) for d in downloads] == [("find-me", "info")]
    fetches = client.get("/api/audit/fetches/?request_id=find-me", **auth).json()["results"]
    assert fetches and {f["request_id"] for f in fetches} == {"find-me"}


def test_log_lines_are_json_with_the_request_id_and_no_secrets(client, proxy, log_lines):
    client.get(
        f"/{HELLO}/@v/v1.0.0.info?token=query-secret", HTTP_X_REQUEST_ID="logged-1",
        HTTP_AUTHORIZATION="Token header-secret", HTTP_COOKIE="sessionid=cookie-secret",
    )
    client.get("/mods.example.test/missing/@v/list", HTTP_X_REQUEST_ID="logged-2")
    lines = log_lines()
    assert all({"timestamp", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "athens.access"]
    assert [(a["request_id"], a["method"], a["path"], a["status"]) for a in access] == [
        ("logged-1", "GET", f"/{HELLO}/@v/v1.0.0.info", 200),
        ("logged-2", "GET", "/mods.example.test/missing/@v/list", 404),
    ]
    assert access[0]["client"] == "127.0.0.1" and access[0]["bytes"] > 0 and access[0]["duration_ms"] > 0
    # Lines other loggers write during the request carry its id too (the fetch task's,
    # django.request's warning about the 404).
    assert any(line["request_id"] == "logged-1" and line["logger"] != "athens.access" for line in lines)
    assert any(line["request_id"] == "logged-2" and line["logger"] == "django.request" for line in lines)
    text = json.dumps(lines)
    assert not any(secret in text for secret in ("query-secret", "header-secret", "cookie-secret"))


def _log_in_subprocess(log_format: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup()\n"
        "from athens_site import request_id\n"
        "with request_id.bound('text-7'):\n"
        "    logging.getLogger('athens.test').warning('hello')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "athens_site.settings", "ATHENS_LOG_FORMAT": log_format}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_text_log_format_is_one_readable_line_with_the_request_id():
    result = _log_in_subprocess("text")
    assert result.returncode == 0, result.stderr
    assert re.search(r"WARNING athens\.test \[text-7\] hello$", result.stderr, re.M), result.stderr
    refused = _log_in_subprocess("xml")
    assert refused.returncode != 0 and "ATHENS_LOG_FORMAT='xml'" in refused.stderr


def test_an_untrusted_clients_id_is_kept_apart_and_the_request_id_is_ours(client, proxy, settings, log_lines):
    # Any client could otherwise pose as another build in the audit and the logs.
    response = client.get(f"/{HELLO}/@v/list", HTTP_X_REQUEST_ID="ci-build-4711")
    ours = response["X-Request-ID"]
    assert GENERATED.fullmatch(ours)
    event = DownloadEvent.objects.get()
    assert (event.request_id, event.client_request_id) == (ours, "ci-build-4711")
    access = [line for line in log_lines() if line.get("logger") == "athens.access"]
    assert (access[-1]["request_id"], access[-1]["client_request_id"]) == (ours, "ci-build-4711")
    # An untrusted peer's hostile id is kept as text, control characters escaped.
    client.get(f"/{HELLO}/@v/list", HTTP_X_REQUEST_ID="nul\x00" + "x" * 500)
    assert DownloadEvent.objects.latest("id").client_request_id == ("nul\\x00" + "x" * 500)[:128]
