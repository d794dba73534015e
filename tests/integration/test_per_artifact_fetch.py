"""Each artifact on its own (issue 12): a cold `.info` or `.mod` costs the upstream no zip
download; the zip is fetched when it is asked for, once, checked against the go.mod the
proxy already serves. The upstream is a real static GOPROXY on 127.0.0.1 whose request
log counts what the proxy asked."""

import concurrent.futures

import pytest
from django.test import Client

from audit.models import FetchEvent
from modules.fetch import artifact_key, modules_storage
from modules.models import ModuleVersion

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


def asked(proxy, ext: str) -> int:
    return proxy.count(lambda path: path.endswith(ext))


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["info", "mod"])
def test_a_cold_info_or_mod_downloads_no_zip_and_the_zip_comes_when_asked(client, proxy, endpoint):
    files = proxy.tree.files(HELLO, "v1.1.0")
    response = client.get(f"/{HELLO}/@v/v1.1.0.{endpoint}")
    assert response.status_code == 200
    assert response.content == (files.info_bytes if endpoint == "info" else files.mod_bytes)
    assert (asked(proxy, ".info"), asked(proxy, ".mod"), asked(proxy, ".zip")) == (1, 1, 0)
    row = ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0")
    assert (row.zip_cached, row.zip_hash, row.mod_hash) == (False, "", files.mod_hash)
    assert not modules_storage().exists(artifact_key(HELLO, "v1.1.0", "zip"))
    assert client.get(f"/{HELLO}/@v/v1.1.0.mod").content == files.mod_bytes  # from the cache
    assert asked(proxy, ".mod") == 1

    zip_response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
    assert zip_response.status_code == 200
    assert body_of(zip_response) == files.zip_bytes
    assert body_of(client.get(f"/{HELLO}/@v/v1.1.0.zip")) == files.zip_bytes
    assert (asked(proxy, ".info"), asked(proxy, ".mod"), asked(proxy, ".zip")) == (1, 1, 1)
    row.refresh_from_db()
    assert (row.zip_cached, row.zip_size, row.zip_hash) == (True, len(files.zip_bytes), files.zip_hash)
    assert list(FetchEvent.objects.order_by("id").values_list("endpoint", "outcome")) == [("version", "ok"), ("zip", "ok")]


@pytest.mark.django_db
def test_a_cold_zip_fetches_everything_once(client, proxy):
    files = proxy.tree.files(HELLO, "v1.0.0")
    assert body_of(client.get(f"/{HELLO}/@v/v1.0.0.zip")) == files.zip_bytes
    assert (asked(proxy, ".info"), asked(proxy, ".mod"), asked(proxy, ".zip")) == (1, 1, 1)
    for endpoint in ("info", "mod", "zip"):
        assert client.get(f"/{HELLO}/@v/v1.0.0.{endpoint}").status_code == 200
    assert asked(proxy, ".zip") == 1


@pytest.mark.django_db
def test_a_zip_that_breaks_the_rules_is_refused_and_the_mod_stays_served(client, proxy):
    files = proxy.tree.files(HELLO, "v1.0.0")
    assert client.get(f"/{HELLO}/@v/v1.0.0.mod").status_code == 200
    proxy.tree.version_path(HELLO, "v1.0.0", "zip").write_bytes(b"not a zip at all")
    refused = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert refused.status_code == 502 and refused["Content-Type"].startswith("text/plain")
    assert client.get(f"/{HELLO}/@v/v1.0.0.mod").content == files.mod_bytes
    row = ModuleVersion.objects.get(module__path=HELLO, version="v1.0.0")
    assert not row.zip_cached
    assert FetchEvent.objects.filter(endpoint="zip", outcome="invalid").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ["mod", "zip"])
def test_concurrent_cold_requests_ask_the_upstream_once_per_artifact(proxy, endpoint):
    """Single flight per artifact (here in one process's threads; tests/e2e/test_processes.py
    does it across processes)."""
    if endpoint == "zip":
        assert Client().get(f"/{HELLO}/@v/v1.1.0.mod").status_code == 200  # the metadata is cached
    proxy.delay(f".{endpoint}", 0.5)  # the first fetch is still running when the others arrive

    def get(_):
        response = Client().get(f"/{HELLO}/@v/v1.1.0.{endpoint}")
        return response.status_code, body_of(response)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(get, range(20)))
    files = proxy.tree.files(HELLO, "v1.1.0")
    expected = files.zip_bytes if endpoint == "zip" else files.mod_bytes
    assert answers == [(200, expected)] * 20
    assert asked(proxy, f".{endpoint}") == 1
    assert asked(proxy, ".zip") == (1 if endpoint == "zip" else 0)


@pytest.mark.django_db(transaction=True)  # the staff fetch runs in a thread of its own
def test_the_version_page_says_the_zip_is_not_cached_and_a_staff_fetch_gets_it(client, proxy, settings):
    from tests.support.waiting import eventually

    settings.ATHENS_UI_PUBLIC = True
    assert client.get(f"/{HELLO}/@v/v1.1.0.mod").status_code == 200
    page = client.get(f"/modules/{HELLO}/@v/v1.1.0/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="zip-not-cached"' in text
    assert f"{HELLO} v1.1.0/go.mod h1:" in text and f"{HELLO} v1.1.0 h1:" not in text

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    releaser = get_user_model().objects.create_user("release", password="x-long-password")
    releaser.user_permissions.add(Permission.objects.get(codename="fetch_moduleversion"))  # groups: flushed here
    client.force_login(releaser)
    assert client.post("/modules/fetch/", {"module": HELLO, "version": "v1.1.0"}).status_code == 302
    eventually(lambda: ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0").zip_cached, within=30)
    text = client.get(f"/modules/{HELLO}/@v/v1.1.0/").content.decode()
    assert 'id="zip-not-cached"' not in text and f"{HELLO} v1.1.0 h1:" in text
    assert asked(proxy, ".zip") == 1
