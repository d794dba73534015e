"""Group commit for download events: many requests' rows in one COPY (or INSERT).

Each download request hands its DownloadEvent to this process's writer thread and waits
until the row is committed, so a request is never answered before its audit row is in
the database: nothing is buffered that a killed process could lose. What the requests
share is the cost: while one INSERT is in flight, the rows of every request that arrives
meanwhile are gathered and go in the next one, with one commit (one WAL flush) for all.
Under load a batch holds about as many rows as the process has busy threads; alone, a
request waits for its own single-row INSERT, as without batching.

On PostgreSQL the batch goes in with COPY (on SQLite, one bulk INSERT). The batch is
bounded (MAX_BATCH rows). If it fails, each row of the batch is
tried on its own, so one bad row cannot take the others with it, and the requests whose
rows failed get the error (audit.recorder logs it, as it did before). Off (the setting
ATHENS_AUDIT_GROUP_COMMIT), or for a request that waited longer than WAIT_SECONDS, the
row is inserted by the request's own thread.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from django.db import connection, transaction

from .models import DownloadEvent

logger = logging.getLogger(__name__)

MAX_BATCH = 500
WAIT_SECONDS = 30.0


@dataclass
class _Ticket:
    event: DownloadEvent
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    taken: bool = False


class _Writer(threading.Thread):
    def __init__(self):
        super().__init__(name="athens-audit-writer", daemon=True)
        self._pending: list[_Ticket] = []
        self._ready = threading.Condition()

    def submit(self, ticket: _Ticket) -> None:
        with self._ready:
            self._pending.append(ticket)
            self._ready.notify()

    def withdraw(self, ticket: _Ticket) -> bool:
        """Take back a ticket the writer has not started on (True), or say it has."""
        with self._ready:
            if ticket.taken:
                return False
            self._pending.remove(ticket)
            return True

    def run(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                for ticket in batch:
                    ticket.taken = True
            if batch[0] is _STOP:
                connection.close()
                return
            _write(batch)


def _write(batch: list[_Ticket]) -> None:
    try:
        with transaction.atomic():
            _insert([ticket.event for ticket in batch])
    except Exception as error:  # noqa: BLE001 - reported to the request that owns the row
        # A broken connection is reopened on next use; a bad row is found by trying
        # each row on its own.
        connection.close()
        if len(batch) > 1:
            for ticket in batch:
                _write([ticket])
            return
        batch[0].error = error
    for ticket in batch:
        ticket.done.set()


def _insert(events: list[DownloadEvent]) -> None:
    """On PostgreSQL, COPY: the rows go as data, with no SQL to build per row (Django's
    bulk_create spent most of the writer's time building and quoting one big INSERT)."""
    if connection.vendor != "postgresql":
        DownloadEvent.objects.bulk_create(events)
        return
    columns = _columns()
    names = ", ".join(connection.ops.quote_name(column) for column, _ in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {DownloadEvent._meta.db_table} ({names}) FROM STDIN") as copy:
            for event in events:
                copy.write_row([getattr(event, attname) for _, attname in columns])


def _columns() -> list[tuple[str, str]]:
    """(column, attribute) of every DownloadEvent field but the generated id."""
    return [(f.column, f.attname) for f in DownloadEvent._meta.concrete_fields if not f.primary_key]


_STOP = _Ticket(event=None)


def stop() -> None:
    """Write what is pending, then stop this process's writer and close its connection
    (test teardown; in a server the writer ends with the process, having nothing left
    to write, since every request waits for its row)."""
    global _writer_pid
    if _writer is not None and _writer_pid == os.getpid():
        with _writer._ready:  # noqa: SLF001 - behind everything already submitted
            _writer._pending.append(_STOP)
            _writer._ready.notify()
        _writer.join(timeout=30)
        _writer_pid = 0


_writer: _Writer | None = None
_writer_pid = 0
_start_lock = threading.Lock()


def _live_writer() -> _Writer:
    """This process's writer, started on first use (after a fork, a new one)."""
    global _writer, _writer_pid
    if _writer_pid != os.getpid():
        with _start_lock:
            if _writer_pid != os.getpid():
                _writer = _Writer()
                _writer.start()
                _writer_pid = os.getpid()
    return _writer


def save(event: DownloadEvent) -> None:
    """Insert `event`, batched with other threads' events; return once it is committed.
    Raises what the INSERT raised if it could not be written."""
    writer = _live_writer()
    ticket = _Ticket(event)
    writer.submit(ticket)
    if not ticket.done.wait(WAIT_SECONDS) and writer.withdraw(ticket):
        logger.warning("audit writer busy for %.0fs; writing the event from the request", WAIT_SECONDS)
        event.save()
        return
    ticket.done.wait()
    if ticket.error is not None:
        raise ticket.error
