"""Per-process caches of what every download request reads: the policy rules and the
READY rows of cached versions. Invalidated by PostgreSQL, never by a timer.

A cached `.info` request used to cost three SQL statements (the rules, the version row,
the audit insert); the first two are the same answer thousands of times a second. Each
process keeps them in memory and a daemon thread LISTENs on the `athens_cache` channel,
to which triggers on the rule and version tables (modules/migrations/0005), and on the
proxy tokens, users and group memberships (0013), send a notification at every commit
that changes them. Any notification clears every cache of
the process: rule changes and evictions are rare, so precision is not worth the risk.

Correctness rules:
- Only used on PostgreSQL and while the listener is connected; otherwise (SQLite, the
  listener reconnecting, ATHENS_HOT_CACHE off) every call reads the database, as before.
- An entry remembers the generation current *before* its query; a notification that
  arrives during the query makes it stale at once.
- A change reaches the other processes when PostgreSQL delivers the notification,
  milliseconds after its commit (measured in tests/integration/test_hot_cache.py).
- Only hits are cached (a READY row); a version not cached yet is looked up every time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from typing import Callable, TypeVar

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

CHANNEL = "athens_cache"
MAX_ENTRIES = 20_000
# go.mod files are small; a rare huge one is not worth keeping in every process.
MAX_ROW_BYTES = 256 * 1024

T = TypeVar("T")


class _Listener(threading.Thread):
    """LISTEN athens_cache on a connection of its own; bump the generation on every
    notification, on connect and on disconnect (notifications may have been missed)."""

    def __init__(self, params: dict):
        super().__init__(name="athens-cache-listener", daemon=True)
        self._params = params
        self.generation = 0
        self.connected = False
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self.generation += 1

    def run(self) -> None:  # pragma: no cover - exercised through the caches' tests
        import psycopg

        pause = 0.5
        while not self.stopping.is_set():
            try:
                with psycopg.connect(**self._params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.bump()
                    self.connected = True
                    pause = 0.5
                    idle = 0
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=1, stop_after=1):
                            self.bump()
                        idle += 1
                        if idle >= 30:  # notice a dead connection while nothing happens
                            conn.execute("SELECT 1")
                            idle = 0
            except Exception as exc:  # noqa: BLE001 - any failure: stop trusting the caches
                if self.connected:
                    logger.warning("cache listener lost its connection (%s); caches off until it is back", exc)
                self.stopping.wait(pause)
                pause = min(pause * 2, 10)
            finally:
                self.connected = False
                self.bump()


_listener: _Listener | None = None
_listener_pid = 0
_start_lock = threading.Lock()


def _connection_params() -> dict:
    s = connection.settings_dict
    params = {"dbname": s["NAME"], "connect_timeout": 5, "application_name": "athens-cache-listener"}
    for key, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"), ("PORT", "port")):
        if s.get(key):
            params[name] = s[key]
    return params


def _live_listener() -> _Listener | None:
    """This process's listener, started on first use (after a fork, a new one)."""
    global _listener, _listener_pid
    if not settings.ATHENS_HOT_CACHE or connection.vendor != "postgresql":
        return None
    if _listener_pid != os.getpid():
        with _start_lock:
            if _listener_pid != os.getpid():
                _listener = _Listener(_connection_params())
                _listener.start()
                _listener_pid = os.getpid()
                _clear()
    return _listener if _listener.connected else None


def stop() -> None:
    """Stop this process's listener and close its connection (test teardown)."""
    global _listener_pid
    if _listener is not None and _listener_pid == os.getpid():
        _listener.stopping.set()
        _listener.join(timeout=5)
        _listener_pid = 0


# Everything this process keeps: ("rules",) and ("row", module, version) entries, valid
# for one generation of the listener. One lock, one generation check for all of them.
_entries: OrderedDict = OrderedDict()
_entries_lock = threading.Lock()
_entries_generation = -1


def _clear() -> None:
    with _entries_lock:
        _entries.clear()


def _cached(key: tuple, load: Callable[[], T], keep: Callable[[T], bool]) -> T:
    """`load()` once per generation: from memory while no notification came, else from
    the database (kept if `keep(value)` and no notification arrived during the load)."""
    global _entries_generation
    listener = _live_listener()
    if listener is None:
        return load()
    generation = listener.generation
    with _entries_lock:
        if _entries_generation != generation:
            _entries.clear()
            _entries_generation = generation
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    value = load()
    if keep(value):
        with _entries_lock:
            if _entries_generation == generation and listener.generation == generation:
                _entries[key] = value
                if len(_entries) > MAX_ENTRIES:
                    _entries.popitem(last=False)
    return value


def policy_rules(load: Callable[[], list[T]]) -> list[T]:
    """The enabled policy rules (as `load` returns them), from memory while no rule changed."""
    return _cached(("rules",), load, keep=lambda rules: True)


def ready_row(module: str, version: str, load: Callable[[], T | None]) -> T | None:
    """The READY row of module@version (or None), from memory once seen."""
    return _cached(("row", module, version), load, keep=lambda row: row is not None and len(row.go_mod) <= MAX_ROW_BYTES)


def verified_token(digest: str, load: Callable[[], T | None]) -> T | None:
    """A usable proxy token (as `load` describes it) by its digest, from memory once
    verified; an unknown secret is looked up every time (not cached, so guesses cannot
    fill the cache)."""
    return _cached(("token", digest), load, keep=lambda token: token is not None)
