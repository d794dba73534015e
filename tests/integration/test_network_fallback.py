"""Upstream down: a build that worked yesterday keeps working (fallback), or fails
loudly (strict). ATHENS_UPSTREAM follows the go command's GOPROXY fallback rules."""

import json

import pytest

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


@pytest.fixture(autouse=True)
def no_list_reuse(settings):
    """Ask the upstream every time, so that its failure is what these tests see."""
    settings.ATHENS_LIST_TTL = 0


def warm(client):
    assert client.get(f"/{HELLO}/@v/list").status_code == 200
    assert client.get(f"/{HELLO}/@latest").status_code == 200
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200


def test_cached_versions_lists_and_latest_are_served_while_the_upstream_is_down(client, proxy):
    warm(client)
    proxy.stop()
    listed = client.get(f"/{HELLO}/@v/list")
    assert listed.status_code == 200
    assert listed.content.decode().split() == ["v1.0.0", "v1.1.0", "v1.2.0-beta.1", "v1.2.0"]
    assert client.get(f"/{HELLO}/@v/v1.1.0.mod").status_code == 200
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    latest = client.get(f"/{HELLO}/@latest")
    assert latest.status_code == 200
    assert json.loads(latest.content)["Version"] == "v1.1.0"  # the newest version we hold


def test_uncached_version_while_the_upstream_is_down_is_a_502(client, proxy):
    warm(client)
    proxy.stop()
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 502
    assert response.content.startswith(b"bad gateway:")


def test_strict_mode_answers_an_error_when_the_upstream_is_down(client, proxy, settings):
    warm(client)
    settings.ATHENS_NETWORK_MODE = "strict"
    proxy.stop()
    assert client.get(f"/{HELLO}/@v/list").status_code == 502
    assert client.get(f"/{HELLO}/@latest").status_code == 502
    # Cached versions are still served: they are immutable, there is nothing to check.
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200


def test_comma_falls_back_to_the_next_upstream_only_on_not_found(client, settings, static_upstream_factory, tmp_path):
    from tests.support.gomodules import ProxyTree

    empty = static_upstream_factory(ProxyTree(tmp_path / "empty"))
    full = static_upstream_factory()
    settings.ATHENS_UPSTREAM = f"{empty.url},{full.url}"
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200
    assert empty.count("/@v/v1.0.0.info") == 1 and full.count("/@v/v1.0.0.info") == 1

    empty.fail("/@v/", 500)
    response = client.get(f"/{HELLO}/@v/v1.1.0.info")
    assert response.status_code == 502
    assert full.count("/@v/v1.1.0.info") == 0


def test_pipe_falls_back_to_the_next_upstream_on_any_error(client, settings, static_upstream_factory, tmp_path):
    broken = static_upstream_factory()
    full = static_upstream_factory()
    broken.fail("/@v/", 500)
    settings.ATHENS_UPSTREAM = f"{broken.url}|{full.url}"
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    assert full.count("/@v/v1.0.0.zip") == 1


def test_unreachable_first_upstream_with_pipe(client, settings, static_upstream_factory):
    full = static_upstream_factory()
    settings.ATHENS_UPSTREAM = f"http://127.0.0.1:9|{full.url}"
    assert client.get(f"/{HELLO}/@v/list").status_code == 200
