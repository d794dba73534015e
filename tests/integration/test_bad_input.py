"""Hostile or malformed download API paths: a 4xx, never a 5xx, never a file outside
storage, and never an upstream round trip for something that cannot be a module."""

import pytest

from audit.models import DownloadEvent

pytestmark = pytest.mark.django_db

BAD_PATHS = [
    "mods.example.test/!!x/@v/list",
    "mods.example.test/x!/@v/list",
    "mods.example.test/!X/@v/list",
    "mods.example.test/hello/@v/v1.0.0-!!.info",
    "mods.example.test/hello/@v/v1.0.0!.info",
    "mods.example.test/hello/@v/.info",
    "mods.example.test/hello/@v/",
    "mods.example.test/hello/@v/v1.0.0.exe",
    "mods.example.test/hello/@v/v1.0.0.zip/extra",
    "mods.example.test/../../etc/@v/list",
    "mods.example.test/hello/@v/../../../../etc/passwd.info",
    "mods.example.test/hello/@v/..%2f..%2fsecret.zip",
    "mods.example.test/hello/@v/%2e%2e.info",
    "mods.example.test/%2e%2e/@v/list",
    "mods.example.test//hello/@v/list",
    "mods.example.test/hello//@v/list",
    "mods.example.test/hello/./@v/list",
    "mods.example.test/hello/@v/v1.0.0%00.info",
    "mods.example.test/hello/@v/v1.0.0\\..\\x.info",
    "mods.example.test/hello%0a/@v/list",
    "nodot/@v/list",
    "-leading.example/@v/list",
    "mods.example.test/con/@v/list",
    "mods.example.test/x/v1/@v/list",
    "mods.example.test/x/v01/@v/list",
    "mods.example.test/hello/@v/%ZZ.info",
    "mods.example.test/hello/@v/v1.0.0.info%20",
    "mods.example.test/" + "a" * 5000 + "/@v/list",
    "mods.example.test/hello/@v/v1." + "9" * 3000 + ".0.info",
    "mods.example.test/h\u00e9llo/@v/list",
    "mods.example.test/hello/@latest/extra/@latest",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_malformed_paths_are_4xx_and_never_reach_the_upstream(client, proxy, path):
    response = client.get("/" + path)
    assert 400 <= response.status_code < 500, response.content
    assert proxy.requests == []
    if DownloadEvent.objects.exists():
        assert DownloadEvent.objects.get().status == response.status_code


def test_traversal_cannot_read_a_file_outside_storage(client, proxy, isolated_storage):
    secret = isolated_storage.parent / "secret.zip"
    secret.write_bytes(b"top secret")
    for path in [
        "mods.example.test/hello/@v/..%2f..%2fsecret.zip",
        "mods.example.test/hello/@v/../../../secret.zip",
        "mods.example.test/../secret/@v/v1.0.0.zip",
    ]:
        response = client.get("/" + path)
        assert response.status_code == 404
        assert b"top secret" not in (response.content if not response.streaming else b"".join(response.streaming_content))
