"""Object storage (S3 through moto's server on 127.0.0.1) and the three ways a cached zip
leaves the proxy: sendfile/streamed, X-Accel-Redirect to nginx, presigned redirect."""

import tracemalloc
import urllib.parse
import urllib.request

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.fetch import artifact_key

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
ZIP_KEY = artifact_key(HELLO, "v1.1.0", "zip")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_s3_storage_holds_a_static_goproxy_tree_and_serves_identical_bytes(client, proxy, s3_server, s3_bucket):
    files = proxy.tree.files(HELLO, "v1.1.0")
    first = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert first.status_code == 200 and body_of(first) == files.zip_bytes
    assert s3_server.keys(s3_bucket) == sorted(artifact_key(HELLO, "v1.1.0", ext) for ext in ("info", "mod", "zip"))
    again = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert again.status_code == 200
    assert int(again["Content-Length"]) == len(files.zip_bytes)
    assert body_of(again) == files.zip_bytes
    assert client.get(f"/{HELLO}/@v/v1.1.0.mod").content == files.mod_bytes
    assert proxy.count(f"/{HELLO}/@v/v1.1.0.zip") == 1
    head = client.head(f"/{HELLO}/@v/v1.1.0.zip")
    assert head.status_code == 200 and head.content == b""
    assert int(head["Content-Length"]) == len(files.zip_bytes)


def test_a_zip_lost_from_s3_is_restored_with_the_same_bytes(client, proxy, s3_server, s3_bucket):
    expected = proxy.tree.files(HELLO, "v1.1.0").zip_bytes
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    s3_server.client().delete_object(Bucket=s3_bucket, Key=ZIP_KEY)
    response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert response.status_code == 200 and body_of(response) == expected
    assert ZIP_KEY in s3_server.keys(s3_bucket)
    assert FetchEvent.objects.get(endpoint="restore").outcome == "ok"


def test_unreachable_object_storage_is_a_plain_503_and_audited(client, proxy, settings, s3_server, s3_bucket):
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    # The same bucket settings, pointed at a port where nothing listens.
    modules = settings.STORAGES["modules"]
    dead = {**modules, "OPTIONS": {**modules["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}
    settings.STORAGES = {**settings.STORAGES, "modules": dead}
    for path in (f"/{HELLO}/@v/v1.1.0.zip", f"/{HELLO}/@v/v1.2.0.zip"):  # cached, then a fetch
        response = client.get(path)
        assert response.status_code == 503, path
        assert response["Content-Type"].startswith("text/plain")
        assert b"storage" in response.content and b"Traceback" not in response.content
    statuses = list(DownloadEvent.objects.filter(endpoint="zip").order_by("id").values_list("status", flat=True))
    assert statuses == [200, 503, 503]


def test_redirect_mode_sends_the_client_to_a_presigned_url_that_expires(client, proxy, settings, s3_bucket):
    settings.ATHENS_ZIP_SERVING = "redirect"
    expected = proxy.tree.files(HELLO, "v1.1.0").zip_bytes
    for _ in range(2):  # fetched, then cached
        response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
        assert response.status_code == 302
        assert response["Cache-Control"] == "no-store"
        location = response["Location"]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["X-Amz-Expires"] == ["300"]
        with urllib.request.urlopen(location, timeout=30) as followed:
            assert followed.read() == expected
    # Without the signature the object is not readable: the URL is the only key.
    unsigned = location.split("?", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=30)
    assert refused.value.code == 403
    assert list(DownloadEvent.objects.order_by("id").values_list("status", "cache")) == [(302, "fetched"), (302, "hit")]


def test_accel_mode_hands_the_file_to_nginx_and_audits_its_size(client, proxy, settings, isolated_storage):
    settings.ATHENS_ZIP_SERVING = "accel"
    settings.ATHENS_ACCEL_PREFIX = "/_athens_storage/"
    size = len(proxy.tree.files(HELLO, "v1.1.0").zip_bytes)
    for method in (client.get, client.head):
        response = method(f"/{HELLO}/@v/v1.1.0.zip")
        assert response.status_code == 200
        assert response.content == b""
        assert response["X-Accel-Redirect"] == f"/_athens_storage/{ZIP_KEY}"
        assert response["Content-Type"] == "application/zip"
        assert (isolated_storage / ZIP_KEY).stat().st_size == size
    assert list(DownloadEvent.objects.order_by("id").values_list("bytes_sent", flat=True)) == [size, 0]


def test_accel_mode_escapes_the_key_and_restores_a_lost_file(client, proxy, settings, isolated_storage):
    settings.ATHENS_ZIP_SERVING = "accel"
    key = artifact_key("mods.example.test/Upper/Case", "v0.1.1-RC.1", "zip")
    assert key == "mods.example.test/!upper/!case/@v/v0.1.1-!r!c.1.zip"
    assert client.get(f"/{key}").status_code == 200
    (isolated_storage / key).unlink()
    response = client.get(f"/{key}")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_athens_storage/{key}"
    assert (isolated_storage / key).exists()


@pytest.mark.parametrize("storage", ["filesystem", "s3"])
def test_a_large_zip_is_streamed_never_held_in_memory(request, client, proxy, storage):
    if storage == "s3":
        request.getfixturevalue("s3_bucket")
    module = "mods.example.test/big"
    proxy.tree.add_version(module, "v1.0.0", files={"data.bin": _incompressible(12 * 1024 * 1024)})
    fetched = client.get(f"/{module}/@v/v1.0.0.zip")  # fetched into the cache; then served from it
    assert fetched.status_code == 200 and sum(len(chunk) for chunk in fetched.streaming_content) > 0
    expected_size = len(proxy.tree.files(module, "v1.0.0").zip_bytes)
    tracemalloc.start()
    try:
        response = client.get(f"/{module}/@v/v1.0.0.zip")
        received = 0
        for chunk in response.streaming_content:
            received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == expected_size
    assert peak < expected_size / 4, f"peak {peak} bytes while sending {expected_size}"


def _incompressible(size: int) -> bytes:
    import random

    return random.Random(7).randbytes(size)
