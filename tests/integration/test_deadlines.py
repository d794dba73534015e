"""One deadline per cold fetch (issue 20): an upstream that trickles its answer, so that
no single read ever times out, is cut at ATHENS_FETCH_TIMEOUT instead of holding a web
thread for as long as it likes."""

import re

import pytest

from audit.models import FetchEvent
from modules import deadline
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


@pytest.fixture
def trickling(settings, proxy):
    """Every read answers within a second (the read timeout is 5 s), the zip takes 4 s."""
    settings.ATHENS_UPSTREAM_TIMEOUT = 5
    settings.ATHENS_FETCH_TIMEOUT = 0.5
    proxy.trickle(".zip", 4)
    return proxy


def test_a_trickling_zip_is_cut_at_the_fetch_deadline(client, trickling):
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 504
    assert b"fetch deadline" in response.content
    event = FetchEvent.objects.get(module=HELLO, version="v1.0.0", endpoint="zip")
    assert event.outcome == "error" and "cut at the fetch deadline" in event.error
    # Cut in the middle of the body, not after it had all arrived anyway.
    received = int(re.search(r"after (\d+) bytes", event.error).group(1))
    assert received < len(trickling.tree.files(HELLO, "v1.0.0").zip_bytes)
    assert not ModuleVersion.objects.filter(zip_cached=True).exists()


def test_a_trickling_mod_is_cut_at_the_fetch_deadline_though_asked_for_beside_the_info(client, settings, proxy):
    """The .mod is asked for in another thread, at the same time as the .info
    (modules/fetch.py): the fetch's deadline goes with it."""
    settings.ATHENS_UPSTREAM_TIMEOUT = 5
    settings.ATHENS_FETCH_TIMEOUT = 0.5
    proxy.trickle(".mod", 4)
    response = client.get(f"/{HELLO}/@v/v1.0.0.info")
    assert response.status_code == 504
    assert b"fetch deadline" in response.content
    assert not ModuleVersion.objects.exists()


def test_the_deadline_also_bounds_lists(client, settings, proxy):
    settings.ATHENS_UPSTREAM_TIMEOUT = 5
    settings.ATHENS_FETCH_TIMEOUT = 0.5
    settings.ATHENS_NETWORK_MODE = "strict"
    proxy.trickle("/@v/list", 4)
    response = client.get(f"/{HELLO}/@v/list")
    assert response.status_code == 504


def test_nested_deadlines_keep_the_earlier_one():
    assert deadline.remaining() is None
    with deadline.within(10):
        with deadline.within(100):
            assert deadline.remaining() <= 10
        with deadline.within(0):
            assert deadline.passed()
            assert deadline.cap(30) == 0.001
        assert not deadline.passed()
    assert deadline.remaining() is None
