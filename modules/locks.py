"""Single flight: at most one fetch of a given key at a time, across every process.

On PostgreSQL a session-level advisory lock (released by the server if the process
dies, so a killed worker never leaves a stale lock). On other databases (the embedded
SQLite default) an exclusive `flock` on a file under the lock directory, which covers the
several gunicorn workers of one machine.
"""

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection


class LockTimeout(Exception):
    """Another process held the lock for longer than we were willing to wait."""


def _lock_id(key: str) -> int:
    """A signed 64-bit number for pg_advisory_lock, stable across processes."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _poll(try_acquire, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = 0.01
    while not try_acquire():
        if time.monotonic() >= deadline:
            raise LockTimeout(f"waited {timeout:.0f}s for another fetch to finish")
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


@contextlib.contextmanager
def single_flight(key: str, *, timeout: float):
    """Hold the cross-process lock named `key` for the duration of the block."""
    if connection.vendor == "postgresql":
        with _advisory_lock(_lock_id(key), timeout):
            yield
    else:
        with _file_lock(key, timeout):
            yield


@contextlib.contextmanager
def _advisory_lock(lock_id: int, timeout: float):
    def try_acquire() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
            return bool(cursor.fetchone()[0])

    _poll(try_acquire, timeout)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


@contextlib.contextmanager
def _file_lock(key: str, timeout: float):
    directory = Path(settings.ATHENS_LOCK_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hashlib.sha256(key.encode()).hexdigest()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_acquire() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        _poll(try_acquire, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
