"""Cold fetches cannot take every web thread (issue 20): beyond ATHENS_COLD_FETCHES per
process a cold request gets 503 with Retry-After at once, while cached versions and the
health check keep answering."""

import threading

import pytest

from modules import cold_fetches

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


@pytest.fixture
def all_slots_taken(settings):
    """Other threads hold every cold-fetch slot of this process (as slow upstream
    fetches would) until the test lets them go."""
    settings.ATHENS_COLD_FETCHES = 2
    release, held = threading.Event(), threading.Barrier(3)

    def hold(target):
        with cold_fetches.slot(target):
            held.wait()
            release.wait(timeout=60)

    holders = [threading.Thread(target=hold, args=(f"slow.example.test/m{i}@v1.0.0",)) for i in range(2)]
    for holder in holders:
        holder.start()
    held.wait()
    yield
    release.set()
    for holder in holders:
        holder.join()


def test_with_every_slot_taken_cold_requests_get_503_and_cached_ones_are_served(client, proxy, settings, request):
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200  # cached before the flood
    request.getfixturevalue("all_slots_taken")

    for path in (f"/{HELLO}/@v/v1.1.0.zip", f"/{HELLO}/@v/list", f"/{HELLO}/@latest", f"/{HELLO}/@v/main.info"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response["Retry-After"] == str(settings.ATHENS_COLD_RETRY_AFTER)
        assert response.content.startswith(b"service unavailable: ")
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert proxy.count("v1.1.0") == 0  # nothing was asked of the upstream meanwhile


def test_a_busy_answer_is_not_remembered_as_an_upstream_failure(client, proxy, settings):
    settings.ATHENS_COLD_FETCHES = 1
    release, held = threading.Event(), threading.Event()

    def hold():
        with cold_fetches.slot("a slow upstream"):
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 503
    finally:
        release.set()
        holder.join()
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200


def test_one_request_may_take_its_own_slot_again():
    with cold_fetches.slot("outer"), cold_fetches.slot("inner"):
        pass


def test_background_fetches_without_a_broker_take_slots_too(client, proxy, settings):
    """async mode in the embedded setup fetches in threads: bounded like the rest."""
    settings.ATHENS_DOWNLOAD_MODE = "async"
    settings.ATHENS_COLD_FETCHES = 1
    release = cold_fetches.take("a slow upstream")
    try:
        response = client.get(f"/{HELLO}/@v/v1.1.0.zip")
        assert response.status_code == 503
        assert response["Retry-After"]
    finally:
        release()


def test_requests_for_the_same_target_share_one_slot(settings):
    """Twenty CI jobs asking for one new version wait on one fetch: one slot, no 503."""
    settings.ATHENS_COLD_FETCHES = 1
    inside, leave = threading.Barrier(5), threading.Event()
    errors = []

    def same_version():
        try:
            with cold_fetches.slot("example.test/m@v1.0.0"):
                inside.wait(timeout=10)
                leave.wait(timeout=10)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=same_version) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait(timeout=10)  # all four are inside, on one slot
    with pytest.raises(cold_fetches.Busy):
        with cold_fetches.slot("example.test/other@v1.0.0"):
            pass
    leave.set()
    for thread in threads:
        thread.join()
    assert errors == []
    with cold_fetches.slot("example.test/other@v1.0.0"):  # given back when the last one left
        pass
