"""Every download API request is exactly one DownloadEvent; the audit API is staff-only."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AppendOnlyError, DownloadEvent, FetchEvent
from modules.tokens.models import ApiToken, create_token
from tests.support.users import basic_auth, member_of

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"

REQUESTS = [
    ("get", f"/{HELLO}/@v/list", 200),
    ("get", f"/{HELLO}/@v/v1.0.0.info", 200),
    ("get", f"/{HELLO}/@v/v1.0.0.mod", 200),
    ("get", f"/{HELLO}/@v/v1.0.0.zip", 200),
    ("head", f"/{HELLO}/@v/v1.0.0.zip", 200),
    ("get", f"/{HELLO}/@latest", 200),
    ("get", "/mods.example.test/missing/@v/v1.0.0.info", 404),
    ("get", "/mods.example.test/Bad/@v/list", 404),
    ("get", f"/{HELLO}/@v/latest.info", 404),
    ("post", f"/{HELLO}/@v/list", 405),
    ("get", "/sumdb/sum.golang.org/supported", 404),
]


@pytest.fixture
def staff(db):
    return member_of("Auditors", "auditor")


def test_n_requests_give_exactly_n_download_events(client, proxy):
    for method, path, status in REQUESTS:
        assert getattr(client, method)(path, HTTP_USER_AGENT="GoCommand/1 test").status_code == status, path
    events = list(DownloadEvent.objects.order_by("id"))
    assert len(events) == len(REQUESTS)
    assert [e.status for e in events] == [status for _, _, status in REQUESTS]
    assert all(e.user_agent == "GoCommand/1 test" and e.client_addr == "127.0.0.1" for e in events)


def test_download_event_records_what_was_served(client, proxy):
    client.get(f"/{HELLO}/@v/v1.0.0.zip")
    client.get(f"/{HELLO}/@v/v1.0.0.zip")
    fetched, hit = DownloadEvent.objects.filter(endpoint="zip").order_by("id")
    size = len(proxy.tree.files(HELLO, "v1.0.0").zip_bytes)
    assert (fetched.module, fetched.version, fetched.status, fetched.cache) == (HELLO, "v1.0.0", 200, "fetched")
    assert fetched.bytes_sent == size and hit.bytes_sent == size
    assert hit.cache == "hit"
    assert fetched.duration_ms > 0


def test_fetch_event_records_the_upstream_attempt_and_hashes(client, proxy):
    client.get(f"/{HELLO}/@v/v1.0.0.mod")
    files = proxy.tree.files(HELLO, "v1.0.0")
    event = FetchEvent.objects.get(endpoint="version")  # the .info and .mod (issue 12)
    assert (event.module, event.version, event.outcome, event.upstream) == (HELLO, "v1.0.0", "ok", proxy.url)
    assert (event.zip_hash, event.mod_hash) == ("", files.mod_hash)
    assert event.bytes == len(files.mod_bytes) + len(files.info_bytes)
    assert event.worker
    client.get(f"/{HELLO}/@v/v1.0.0.zip")
    event = FetchEvent.objects.get(endpoint="zip")
    assert (event.outcome, event.zip_hash, event.bytes) == ("ok", files.zip_hash, len(files.zip_bytes))


def test_a_logged_in_user_is_recorded_and_anonymous_requests_are_anonymous(client, proxy, staff):
    client.get(f"/{HELLO}/@v/list")
    client.force_login(staff)
    client.get(f"/{HELLO}/@v/list")
    assert list(DownloadEvent.objects.order_by("id").values_list("username", "auth")) == [
        ("", ""), ("auditor", "session"),
    ]


def test_token_user_is_recorded_but_not_the_token(client, proxy, staff):
    _, secret = ApiToken.create_token(staff, "laptop", kind=ApiToken.Kind.PROXY)
    client.get(f"/{HELLO}/@v/list", HTTP_AUTHORIZATION=basic_auth("auditor", secret))
    event = DownloadEvent.objects.get()
    assert (event.username, event.auth, event.token_name) == ("auditor", "token", "laptop")
    assert secret not in str(DownloadEvent.objects.values().get())


def test_audit_rows_cannot_be_changed_or_deleted(client, proxy):
    client.get(f"/{HELLO}/@v/list")
    event = DownloadEvent.objects.get()
    event.status = 200
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.parametrize("url", ["/api/audit/downloads/", "/api/audit/fetches/"])
def test_audit_api_refuses_anonymous_users(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("url", ["/api/audit/downloads/", "/api/audit/fetches/"])
def test_audit_api_refuses_non_staff(client, url):
    user = get_user_model().objects.create_user("dev", password="x-long-password")
    _, secret = create_token(user)
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 403
    client.force_login(user)
    assert client.get(url).status_code == 403


def test_audit_api_lists_and_filters_downloads_for_staff(client, proxy, staff):
    for _, path, _ in REQUESTS[:4]:
        client.get(path)
    client.get(f"/{HELLO}/@v/v1.1.0.info")
    _, secret = create_token(staff)
    auth = {"HTTP_AUTHORIZATION": f"Token {secret}"}

    page = client.get("/api/audit/downloads/", **auth).json()
    assert page["count"] == 5
    assert {"module", "version", "endpoint", "status", "cache", "bytes_sent", "client_addr"} <= set(page["results"][0])

    by_version = client.get("/api/audit/downloads/", {"module": HELLO, "version": "v1.0.0"}, **auth).json()
    assert by_version["count"] == 3
    assert {row["version"] for row in by_version["results"]} == {"v1.0.0"}

    newest = DownloadEvent.objects.order_by("-time").first().time
    assert client.get("/api/audit/downloads/", {"since": newest.isoformat()}, **auth).json()["count"] == 1
    assert client.get("/api/audit/downloads/", {"until": newest.isoformat()}, **auth).json()["count"] == 4

    fetches = client.get("/api/audit/fetches/", {"module": HELLO}, **auth).json()
    assert fetches["count"] == FetchEvent.objects.filter(module=HELLO).count() > 0


def test_audit_api_with_session_login_and_bad_filter(client, staff):
    client.force_login(staff)
    assert client.get("/api/audit/downloads/").status_code == 200
    response = client.get("/api/audit/downloads/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_audit_api_is_read_only(client, staff, method):
    client.force_login(staff)
    assert getattr(client, method)("/api/audit/downloads/").status_code == 405
