"""Digest builds racing each other and evictions, with real PostgreSQL transactions in
two threads (modules/browse/digest.py, modules/eviction.py). Each test holds one side in
the middle of its transaction, starts the other, waits until PostgreSQL says the other
is waiting on a lock, then lets the first finish."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections, transaction

from modules import eviction
from modules.browse import digest
from modules.browse.models import VersionDigest, VersionFile, VersionRequirement
from modules.fetch import modules_storage, ready_version
from modules.models import ModuleVersion
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = "mods.example.test/hello"
GREETER = "mods.example.test/greeter"


def cached_without_digest(client, module, version) -> ModuleVersion:
    """A READY version as one cached before digests existed."""
    response = client.get(f"/{module}/@v/{version}.zip")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    row = ready_version(module, version)
    for model in (VersionDigest, VersionFile, VersionRequirement):
        model.objects.filter(version_id=row.pk).delete()
    return row


class Side(threading.Thread):
    """Run `work` in a thread with its own connection; keep its result or exception."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self):
        try:
            self.result = self.work()
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            self.error = exc
        finally:
            connections.close_all()

    def finish(self):
        self.join(30)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


def someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def holding(row_pk: int, inside, release: threading.Event, entered: threading.Event):
    """A transaction that locks the version's row as a build or an eviction does, runs
    `inside`, and commits only when released."""
    def work():
        with transaction.atomic():
            ModuleVersion.objects.select_for_update().filter(pk=row_pk).exists()
            inside()
            entered.set()
            assert release.wait(30)
    return work


def race(first_work, entered: threading.Event, release: threading.Event, second_work):
    """Start `first_work`; once it has `entered` its transaction, start `second_work`;
    once PostgreSQL says the second waits on a lock, `release` the first. Returns both
    results (raising what either raised)."""
    first = Side(first_work)
    first.start()
    assert entered.wait(30)
    second = Side(second_work)
    second.start()
    eventually(someone_waits_on_a_lock)
    release.set()
    return first.finish(), second.finish()


def test_two_first_views_building_one_digest_store_one_and_both_answer(client, proxy):
    row = cached_without_digest(client, HELLO, "v1.1.0")
    release, entered = threading.Event(), threading.Event()
    _, kept = race(
        holding(row.pk, lambda: VersionDigest.objects.create(version_id=row.pk, file_count=7), release, entered),
        entered, release, lambda: digest.build(ready_version(HELLO, "v1.1.0")),
    )
    assert kept.file_count == 7  # the digest stored first, not a second insert
    assert VersionDigest.objects.filter(version_id=row.pk).count() == 1


def test_a_build_that_finds_its_version_evicted_stores_nothing(client, proxy):
    row = cached_without_digest(client, HELLO, "v1.1.0")
    release, entered = threading.Event(), threading.Event()
    race(
        holding(row.pk, lambda: ModuleVersion.objects.filter(pk=row.pk).delete(), release, entered),
        entered, release, lambda: digest.build(row),
    )
    assert not VersionDigest.objects.filter(version_id=row.pk).exists()
    assert not VersionFile.objects.filter(version_id=row.pk).exists()


def test_an_eviction_waits_for_a_build_and_removes_its_whole_file_index(client, proxy, monkeypatch):
    row = cached_without_digest(client, HELLO, "v1.1.0")
    release, inserted = threading.Event(), threading.Event()
    real_insert = digest._insert  # noqa: SLF001

    def insert_then_wait(model, rows):
        real_insert(model, rows)
        if model is VersionFile:
            inserted.set()
            assert release.wait(30)

    monkeypatch.setattr(digest, "_insert", insert_then_wait)
    _, evicted = race(lambda: digest.build(row), inserted, release, lambda: eviction.evict(row))
    assert evicted is True
    assert not ModuleVersion.objects.filter(pk=row.pk).exists()
    assert not VersionFile.objects.filter(version_id=row.pk).exists()
    assert not VersionDigest.objects.filter(version_id=row.pk).exists()


def test_a_zip_storage_cannot_read_now_is_retried_on_the_next_view_not_stored_as_broken(client, proxy, settings):
    settings.ATHENS_UI_PUBLIC = True
    row = cached_without_digest(client, GREETER, "v1.0.0")
    storage = modules_storage()
    with storage.open(row.zip_key, "rb") as stored:
        content = stored.read()
    storage.delete(row.zip_key)  # storage down, as far as this read can tell
    page = client.get(f"/modules/{GREETER}/@v/v1.0.0/")
    assert page.status_code == 200
    assert b"storage did not give it back" in page.content
    assert not VersionDigest.objects.filter(version_id=row.pk).exists()

    storage.save(row.zip_key, ContentFile(content))
    page = client.get(f"/modules/{GREETER}/@v/v1.0.0/")
    assert page.status_code == 200
    assert b"storage did not give it back" not in page.content
    stored = VersionDigest.objects.get(version_id=row.pk)
    assert stored.zip_error == "" and stored.file_count > 0
