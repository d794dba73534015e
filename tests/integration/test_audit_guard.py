"""The database itself keeps audit events append-only (PostgreSQL trigger): raw SQL cannot
update or delete them; only the retention task can, and TRUNCATE (test flushes) still works."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import DownloadEvent, FetchEvent
from audit.tasks import allow_audit_deletion, delete_expired_events

pytestmark = pytest.mark.django_db


def download(days_ago=0):
    return DownloadEvent.objects.create(
        time=timezone.now() - timedelta(days=days_ago), module="example.com/m", version="v1.0.0", endpoint="zip",
        status=200, cache="hit", duration_ms=1.0, client_addr="10.0.0.1",
    )


def fetch(days_ago=0):
    return FetchEvent.objects.create(
        time=timezone.now() - timedelta(days=days_ago), module="example.com/m", version="v1.0.0", endpoint="version",
        upstream="https://proxy.golang.org", outcome="ok", duration_ms=10.0,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_downloadevent SET status = 200",
        "DELETE FROM audit_downloadevent",
        "UPDATE audit_fetchevent SET error = 'rewritten'",
        "DELETE FROM audit_fetchevent WHERE id > 0",
    ],
)
def test_raw_sql_cannot_update_or_delete_audit_events(sql):
    download()
    fetch()
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert DownloadEvent.objects.count() == FetchEvent.objects.count() == 1


def test_queryset_update_and_delete_are_refused_too():
    download()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        DownloadEvent.objects.update(status=500)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        DownloadEvent.objects.all().delete()
    assert DownloadEvent.objects.get().status == 200


def test_the_retention_flag_is_local_to_its_transaction():
    download()
    with transaction.atomic():
        allow_audit_deletion()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_downloadevent SET message = 'allowed'")
    # The test itself runs in a transaction, so the flag is still on here; a fresh
    # transaction would not have it: checked in the transactional test below.
    assert DownloadEvent.objects.get().message == "allowed"


@pytest.mark.django_db(transaction=True)
def test_retention_task_deletes_and_the_flag_does_not_outlive_it():
    old, kept = download(days_ago=10), download()
    fetch(days_ago=10)
    result = delete_expired_events(3)
    assert (result["downloads"], result["fetches"]) == (1, 1)
    assert list(DownloadEvent.objects.values_list("id", flat=True)) == [kept.id]
    assert not DownloadEvent.objects.filter(id=old.id).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_downloadevent")
    # Leaving rows behind on purpose: pytest-django flushes them with TRUNCATE after
    # this test, which the trigger must not refuse.


@pytest.mark.django_db(transaction=True)
def test_truncate_is_not_refused():
    download()
    fetch()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_downloadevent, audit_fetchevent")
    assert DownloadEvent.objects.count() == FetchEvent.objects.count() == 0
