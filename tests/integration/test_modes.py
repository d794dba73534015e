"""ATHENS_NETWORK_MODE (strict/fallback/offline), list and query caching with a TTL, and
ATHENS_DOWNLOAD_MODE (sync/async/redirect/async_redirect/none), globally and per module."""

import json

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.models import DownloadModeRule, ModuleVersion
from tests.support.waiting import eventually

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def wait_until_cached(module, version, timeout=30):
    eventually(lambda: ModuleVersion.objects.filter(module__path=module, version=version).exists(),
               within=timeout, what=f"{module}@{version} cached", pause=0.05)


# --- network modes ---------------------------------------------------------------------


@pytest.mark.django_db
def test_offline_mode_serves_only_the_cache_and_never_contacts_the_upstream(client, proxy, settings):
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    settings.ATHENS_NETWORK_MODE = "offline"
    proxy.reset_log()

    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    assert client.get(f"/{HELLO}/@v/list").content == b"v1.1.0\n"
    assert json.loads(client.get(f"/{HELLO}/@latest").content)["Version"] == "v1.1.0"
    missing = client.get(f"/{HELLO}/@v/v1.2.0.info")
    assert missing.status_code == 404
    assert b"offline" in missing.content
    assert client.get(f"/{HOST}/pseudo/@v/list").status_code == 404
    assert proxy.requests == []


@pytest.mark.django_db
def test_fallback_mode_serves_a_stale_query_answer_while_the_upstream_is_down(client, proxy, settings):
    proxy.tree.version_path(HELLO, "v1.1", "info").write_bytes(proxy.tree.files(HELLO, "v1.1.0").info_bytes)
    settings.ATHENS_QUERY_TTL = 0
    assert client.get(f"/{HELLO}/@v/v1.1.info").status_code == 200
    proxy.stop()
    response = client.get(f"/{HELLO}/@v/v1.1.info")
    assert response.status_code == 200
    assert json.loads(response.content)["Version"] == "v1.1.0"
    settings.ATHENS_NETWORK_MODE = "strict"
    assert client.get(f"/{HELLO}/@v/v1.1.info").status_code == 502


# --- TTLs ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_are_reused_for_the_list_ttl_then_refreshed(client, proxy, settings):
    settings.ATHENS_LIST_TTL = 3600
    assert client.get(f"/{HELLO}/@v/list").status_code == 200
    proxy.tree.add_version(HELLO, "v1.3.0", {"go.mod": f"module {HELLO}\n", "hello.go": "package hello\n"})
    assert "v1.3.0" not in client.get(f"/{HELLO}/@v/list").content.decode()
    assert proxy.count(f"/{HELLO}/@v/list") == 1

    settings.ATHENS_LIST_TTL = 0
    assert "v1.3.0" in client.get(f"/{HELLO}/@v/list").content.decode()
    assert json.loads(client.get(f"/{HELLO}/@latest").content)["Version"] == "v1.3.0"
    assert proxy.count(f"/{HELLO}/@v/list") == 2


@pytest.mark.django_db
def test_latest_is_reused_for_the_list_ttl(client, proxy, settings):
    settings.ATHENS_LIST_TTL = 3600
    for _ in range(3):
        assert json.loads(client.get(f"/{HELLO}/@latest").content)["Version"] == "v1.2.0"
    assert proxy.count(f"/{HELLO}/@latest") == 1


@pytest.mark.django_db
def test_query_answers_are_reused_for_the_query_ttl(client, proxy, settings):
    proxy.tree.version_path(HELLO, "main", "info").write_bytes(proxy.tree.files(HELLO, "v1.1.0").info_bytes)
    settings.ATHENS_QUERY_TTL = 3600
    for _ in range(3):
        assert json.loads(client.get(f"/{HELLO}/@v/main.info").content)["Version"] == "v1.1.0"
    assert proxy.count(f"/{HELLO}/@v/main.info") == 1
    assert client.get(f"/{HELLO}/@v/main.mod").status_code == 404


@pytest.mark.django_db
def test_a_moved_tag_keeps_the_cached_bytes_and_records_the_conflict(client, proxy, settings):
    settings.ATHENS_LIST_TTL = 0
    original = body_of(client.get(f"/{HELLO}/@v/v1.2.0.zip"))
    # The tag is moved: the upstream now dates v1.2.0 differently and serves other bytes.
    proxy.tree.add_version(
        HELLO, "v1.2.0", {"go.mod": f"module {HELLO}\n", "hello.go": "package hello // moved\n"},
        time="2025-06-01T00:00:00Z",
    )
    assert json.loads(client.get(f"/{HELLO}/@latest").content)["Version"] == "v1.2.0"
    assert body_of(client.get(f"/{HELLO}/@v/v1.2.0.zip")) == original
    conflict = FetchEvent.objects.get(outcome="conflict")
    assert (conflict.module, conflict.version) == (HELLO, "v1.2.0")
    assert "2025-06-01" in conflict.error


# --- download modes --------------------------------------------------------------------


@pytest.mark.django_db
def test_download_mode_none_answers_404_and_never_fetches(client, proxy, settings):
    settings.ATHENS_DOWNLOAD_MODE = "none"
    response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert response.status_code == 404
    assert b"download mode none" in response.content
    assert proxy.count(".zip") == 0 and proxy.count(".info") == 0


@pytest.mark.django_db
def test_download_mode_redirect_sends_the_client_to_the_upstream(client, proxy, settings):
    settings.ATHENS_DOWNLOAD_MODE = "redirect"
    response = client.get(f"/{HOST}/!upper/!case/@v/v0.1.0.zip")
    assert response.status_code == 302
    assert response["Location"] == f"{proxy.url}/{HOST}/%21upper/%21case/@v/v0.1.0.zip"
    assert not ModuleVersion.objects.exists()
    assert DownloadEvent.objects.get().cache == "redirect"


@pytest.mark.django_db(transaction=True)
def test_download_mode_async_answers_404_now_and_fetches_in_the_background(client, proxy, settings):
    settings.ATHENS_DOWNLOAD_MODE = "async"
    first = client.get(f"/{HELLO}/@v/v1.1.0.info")
    assert first.status_code == 404
    assert b"try again" in first.content
    wait_until_cached(HELLO, "v1.1.0")
    assert client.get(f"/{HELLO}/@v/v1.1.0.info").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_download_mode_async_redirect_redirects_and_caches(client, proxy, settings):
    settings.ATHENS_DOWNLOAD_MODE = "async_redirect"
    response = client.get(f"/{HELLO}/@v/v1.0.0.mod")
    assert response.status_code == 302
    wait_until_cached(HELLO, "v1.0.0")
    second = client.get(f"/{HELLO}/@v/v1.0.0.mod")
    assert second.status_code == 200
    assert second.content == proxy.tree.files(HELLO, "v1.0.0").mod_bytes


@pytest.mark.django_db
def test_per_module_rules_override_the_global_mode_first_match_wins(client, proxy, settings):
    settings.ATHENS_DOWNLOAD_MODE = "sync"
    DownloadModeRule.objects.create(pattern=f"{HOST}/hello/v2", mode="sync", position=1)
    DownloadModeRule.objects.create(pattern=f"{HOST}/hello", mode="none", position=2)
    DownloadModeRule.objects.create(pattern=f"{HOST}/*", mode="redirect", position=3)
    assert client.get(f"/{HELLO}/v2/@v/v2.0.0.info").status_code == 200
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 404
    assert client.get(f"/{HOST}/greeter/@v/v1.0.0.info").status_code == 302
    assert client.get(f"/example.test/other/@v/v1.0.0.info").status_code == 404  # sync: upstream says not found


@pytest.mark.django_db
def test_cached_versions_are_served_whatever_the_download_mode(client, proxy, settings):
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    for mode in ("none", "redirect", "async"):
        settings.ATHENS_DOWNLOAD_MODE = mode
        assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200


@pytest.mark.django_db
def test_download_mode_rules_are_edited_in_the_admin_with_form_errors(admin_client):
    response = admin_client.post(
        "/admin/modules/downloadmoderule/add/", {"pattern": " , ", "mode": "none", "position": 1, "note": ""}
    )
    assert response.status_code == 200
    assert "Enter at least one module path pattern." in response.content.decode()
    response = admin_client.post(
        "/admin/modules/downloadmoderule/add/",
        {"pattern": "github.com/big/*, example.com/huge", "mode": "redirect", "position": 1, "note": "too large"},
    )
    assert response.status_code == 302
    assert DownloadModeRule.objects.get().pattern == "github.com/big/*,example.com/huge"


DOWN_EXPECTATIONS = {"sync": 502, "async": 404, "redirect": 302, "async_redirect": 302, "none": 404}


@pytest.mark.parametrize("mode", DOWN_EXPECTATIONS)
@pytest.mark.django_db(transaction=True)
def test_each_download_mode_with_the_upstream_down(client, proxy, settings, mode):
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    proxy.stop()
    settings.ATHENS_DOWNLOAD_MODE = mode
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200  # cached: always served
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == DOWN_EXPECTATIONS[mode]
    if mode.startswith("async"):
        eventually(lambda: FetchEvent.objects.filter(version="v1.1.0", outcome="error").exists(),
                   within=30, what="the background fetch attempted", pause=0.05)
    assert not ModuleVersion.objects.filter(version="v1.1.0").exists()


@pytest.mark.parametrize("mode, list_status", [("fallback", 200), ("strict", 502), ("offline", 200)])
@pytest.mark.django_db
def test_each_network_mode_with_the_upstream_down(client, proxy, settings, mode, list_status):
    settings.ATHENS_LIST_TTL = 0
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    assert client.get(f"/{HELLO}/@v/list").status_code == 200
    proxy.stop()
    settings.ATHENS_NETWORK_MODE = mode
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    listed = client.get(f"/{HELLO}/@v/list")
    assert listed.status_code == list_status
    if list_status == 200:
        assert "v1.0.0" in listed.content.decode().split()
    assert client.get(f"/{HELLO}/@v/v1.1.0.info").status_code == (404 if mode == "offline" else 502)
