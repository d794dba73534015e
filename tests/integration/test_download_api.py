"""The download API answered to a client the way the protocol doc says, against a real
static upstream on 127.0.0.1 (tests/support)."""

import json

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"
TEXT = "text/plain; charset=utf-8"


def body_of(response) -> bytes:
    # The test client closes a streamed response once its content has been read.
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_info_of_a_canonical_version_names_exactly_that_version(client, proxy):
    response = client.get(f"/{HELLO}/@v/v1.1.0.info")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    info = json.loads(response.content)
    assert info["Version"] == "v1.1.0"
    assert info["Time"] == json.loads(proxy.tree.files(HELLO, "v1.1.0").info_bytes)["Time"]
    assert info["Time"].endswith("Z")


def test_mod_is_served_byte_identical_with_retract_and_deprecated_lines(client, proxy):
    module = f"{HOST}/retracted"
    expected = proxy.tree.files(module, "v1.2.0").mod_bytes
    assert b"retract v1.1.0" in expected and b"Deprecated:" in expected
    response = client.get(f"/{module}/@v/v1.2.0.mod")
    assert response.status_code == 200
    assert response["Content-Type"] == TEXT
    assert response.content == expected


def test_zip_is_served_identical_and_fetched_from_upstream_only_once(client, proxy):
    expected = proxy.tree.files(HELLO, "v1.0.0").zip_bytes
    for _ in range(3):
        response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert int(response["Content-Length"]) == len(expected)
        assert body_of(response) == expected
    assert proxy.count(f"/{HELLO}/@v/v1.0.0.zip") == 1
    caches = list(DownloadEvent.objects.filter(endpoint="zip").order_by("id").values_list("cache", flat=True))
    assert caches == ["fetched", "hit", "hit"]


def test_cached_version_has_both_go_sum_hashes(client, proxy):
    files = proxy.tree.files(HELLO, "v1.2.0")
    assert client.get(f"/{HELLO}/@v/v1.2.0.info").status_code == 200
    row = ModuleVersion.objects.get(module__path=HELLO, version="v1.2.0")
    assert (row.zip_hash, row.mod_hash) == ("", files.mod_hash)  # the zip is not asked for yet
    assert client.get(f"/{HELLO}/@v/v1.2.0.zip").status_code == 200
    row.refresh_from_db()
    assert (row.zip_hash, row.mod_hash) == (files.zip_hash, files.mod_hash)


def test_list_holds_only_canonical_versions_that_fit_the_path(client, proxy):
    junk = ["v1.3", "v1.4.0+build.5", "v2.0.0", "v0.0.0-20240102030405-abcdef123456", "master", "v1.0.0"]
    list_path = proxy.tree.list_path(HELLO)
    list_path.write_text(list_path.read_text() + "\n".join(junk) + "\n")
    response = client.get(f"/{HELLO}/@v/list")
    assert response.status_code == 200
    assert response["Content-Type"] == TEXT
    assert response.content.decode().splitlines() == ["v1.0.0", "v1.1.0", "v1.2.0-beta.1", "v1.2.0"]


def test_list_keeps_versions_cached_after_the_upstream_deleted_them(client, proxy):
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    proxy.tree.remove_version(HELLO, "v1.0.0")
    response = client.get(f"/{HELLO}/@v/list")
    assert "v1.0.0" in response.content.decode().split()


@pytest.mark.parametrize("escaped", ["!upper/!case", "%21upper/%21case"])
def test_uppercase_module_path_is_reached_through_bang_escaping(client, proxy, escaped):
    response = client.get(f"/{HOST}/{escaped}/@v/v0.1.0.info")
    assert response.status_code == 200
    assert json.loads(response.content)["Version"] == "v0.1.0"


def test_escaped_uppercase_version_is_decoded(client, proxy):
    response = client.get(f"/{HOST}/!upper/!case/@v/v0.1.1-!r!c.1.info")
    assert response.status_code == 200
    assert json.loads(response.content)["Version"] == "v0.1.1-RC.1"


def test_raw_uppercase_path_is_404(client, proxy):
    response = client.get(f"/{HOST}/Upper/Case/@v/v0.1.0.info")
    assert response.status_code == 404
    assert response["Content-Type"] == TEXT
    assert proxy.requests == []


def test_pseudo_version_only_module_has_empty_list_and_latest(client, proxy):
    module = f"{HOST}/pseudo"
    listed = client.get(f"/{module}/@v/list")
    assert (listed.status_code, listed.content) == (200, b"")
    latest = client.get(f"/{module}/@latest")
    assert latest.status_code == 200
    assert json.loads(latest.content)["Version"] == "v0.0.0-20240102030405-abcdef123456"


def test_latest_prefers_the_highest_release(client, proxy):
    response = client.get(f"/{HELLO}/@latest")
    assert json.loads(response.content)["Version"] == "v1.2.0"


def test_incompatible_version_is_listed_and_served(client, proxy):
    module = f"{HOST}/incompat"
    assert client.get(f"/{module}/@v/list").content == b"v2.0.0+incompatible\n"
    response = client.get(f"/{module}/@v/v2.0.0+incompatible.zip")
    assert response.status_code == 200
    assert body_of(response) == proxy.tree.files(module, "v2.0.0+incompatible").zip_bytes
    assert client.get(f"/{module}/@v/v2.0.0+incompatible.mod").content == f"module {module}\n".encode()


def test_major_version_suffix_makes_a_different_module(client, proxy):
    assert client.get(f"/{HELLO}/v2/@v/list").content == b"v2.0.0\n"
    assert client.get(f"/{HELLO}/v2/@v/v2.0.0.zip").status_code == 200
    response = client.get(f"/{HELLO}/@v/v2.0.0.info")
    assert response.status_code == 404
    assert response.content.startswith(b"not found:")


@pytest.mark.parametrize("query", ["latest", "upgrade", "patch"])
def test_reserved_queries_are_404(client, proxy, query):
    response = client.get(f"/{HELLO}/@v/{query}.info")
    assert response.status_code == 404
    assert response["Content-Type"] == TEXT


@pytest.mark.parametrize("ext", ["mod", "zip"])
def test_mod_and_zip_of_a_non_canonical_version_are_404(client, proxy, ext):
    response = client.get(f"/{HELLO}/@v/v1.1.{ext}")
    assert response.status_code == 404
    assert proxy.requests == []


def test_non_canonical_info_query_resolves_through_the_upstream(client, proxy):
    # A static tree answers `v1.1.info` if the file exists: that is how proxies resolve queries.
    proxy.tree.version_path(HELLO, "v1.1", "info").write_bytes(proxy.tree.files(HELLO, "v1.1.0").info_bytes)
    response = client.get(f"/{HELLO}/@v/v1.1.info")
    assert response.status_code == 200
    assert json.loads(response.content)["Version"] == "v1.1.0"
    assert not ModuleVersion.objects.exists()


def test_missing_module_is_a_plain_text_not_found(client, proxy):
    response = client.get(f"/{HOST}/does-not-exist/@v/v1.0.0.info")
    assert response.status_code == 404
    assert response["Content-Type"] == TEXT
    assert response.content.startswith(b"not found:")
    assert not response.content.startswith(b"\n")


def test_a_missing_module_is_asked_of_the_upstream_once_then_negatively_cached(client, proxy):
    for _ in range(3):
        assert client.get(f"/{HOST}/does-not-exist/@v/list").status_code == 404
        assert client.get(f"/{HOST}/does-not-exist/@v/v1.0.0.mod").status_code == 404
    assert proxy.count("/does-not-exist/@v/list") == 1
    assert proxy.count("/does-not-exist/@v/v1.0.0.info") == 1


@pytest.mark.parametrize("ext", ["info", "mod", "zip"])
def test_head_gives_the_same_headers_as_get(client, proxy, ext):
    got = client.get(f"/{HELLO}/@v/v1.1.0.{ext}")
    get_headers = dict(got.items())
    body_of(got)
    head = client.head(f"/{HELLO}/@v/v1.1.0.{ext}")
    assert head.status_code == 200
    head_headers = dict(head.items())
    # Each request has its own id; everything else is the same.
    assert head_headers.pop("X-Request-ID") != get_headers.pop("X-Request-ID")
    assert head_headers == get_headers
    assert body_of(head) == b""


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_other_methods_are_405(client, proxy, method):
    response = getattr(client, method)(f"/{HELLO}/@v/v1.1.0.info")
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}
    assert proxy.requests == []


def test_sumdb_is_not_proxied(client, proxy):
    response = client.get("/sumdb/sum.golang.org/supported")
    assert response.status_code == 404
    assert response["Content-Type"] == TEXT


def test_upstream_server_error_is_a_502_and_is_audited(client, proxy):
    proxy.fail(f"/{HELLO}/@v/v1.1.0.zip", 500, "internal trouble")
    response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert response.status_code == 502
    assert response["Content-Type"] == TEXT
    event = FetchEvent.objects.get(module=HELLO, version="v1.1.0", endpoint="zip")
    assert event.outcome == "error"
    assert "500" in event.error
    assert not ModuleVersion.objects.get().zip_cached  # its .info and .mod are cached


def test_version_fetched_after_a_transient_error_expires(client, proxy, settings):
    settings.ATHENS_ERROR_CACHE_SECONDS = 0
    proxy.fail(f"/{HELLO}/@v/v1.1.0.zip", 503, times=1)
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 502
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200


def lose_cached_zip(client, storage_dir, version="v1.0.0"):
    assert client.get(f"/{HELLO}/@v/{version}.zip").status_code == 200
    (zip_path,) = storage_dir.rglob(f"{version}.zip")
    zip_path.unlink()
    return zip_path


def test_a_zip_lost_from_storage_is_restored_with_the_same_bytes(client, proxy, isolated_storage):
    zip_path = lose_cached_zip(client, isolated_storage)
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 200
    assert body_of(response) == proxy.tree.files(HELLO, "v1.0.0").zip_bytes
    assert zip_path.exists()
    assert proxy.count(f"/{HELLO}/@v/v1.0.0.zip") == 2
    assert FetchEvent.objects.get(endpoint="restore").outcome == "ok"


def test_a_lost_zip_is_not_replaced_by_different_upstream_bytes(client, proxy, isolated_storage):
    zip_path = lose_cached_zip(client, isolated_storage)
    proxy.tree.add_version(HELLO, "v1.0.0", {"go.mod": f"module {HELLO}\n", "hello.go": "package hello // retagged\n"})
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 502
    assert b"different bytes" in response.content
    assert not zip_path.exists()
    assert FetchEvent.objects.filter(endpoint="restore", outcome="conflict").count() == 1


def test_a_lost_zip_while_the_upstream_is_down_is_a_clear_502(client, proxy, isolated_storage):
    lose_cached_zip(client, isolated_storage)
    proxy.stop()
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 502
    assert response["Content-Type"] == TEXT
    assert DownloadEvent.objects.filter(endpoint="zip", status=502).count() == 1
