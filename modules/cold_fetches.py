"""A bounded number of cold fetches per web process, so cached answers keep flowing.

A cold request (a version not cached yet, a list or @latest or query the upstream must
answer) holds its web thread until the upstream has answered, or until the fetch
deadline. A flood of them, against a slow upstream, used to take every thread of every
web process, and then nothing answered: not cached versions, not /healthz (issue 20).
So at most ATHENS_COLD_FETCHES of a process's threads wait on upstreams at once; a cold
request beyond that is answered at once with 503 and Retry-After (the go command reports
it; CI retries), and the remaining threads serve the cache.

A thread that already holds a slot may take it again (a quarantine lookup inside a
download, for instance), so one request never waits for itself.
"""

import contextlib
import threading

from django.conf import settings

_lock = threading.Lock()
_semaphores: dict[int, threading.BoundedSemaphore] = {}
_held = threading.local()
_active: dict[str, list] = {}  # what -> [release of its slot, threads sharing it]


class Busy(Exception):
    """Every cold-fetch slot of this process is taken: try again in a moment.

    Not an UpstreamError on purpose: the upstream was not asked, so nothing that handles
    upstream failures applies (the negative cache, network-mode fallback to the cache,
    "release time unknown" in quarantine lookups); it reaches the view, which answers
    503 with Retry-After.
    """

    http_status = 503

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def client_message(self) -> str:
        return f"service unavailable: {self.message}"

    @property
    def retry_after(self) -> int:
        return settings.ATHENS_COLD_RETRY_AFTER


def _semaphore(limit: int) -> threading.BoundedSemaphore:
    with _lock:
        semaphore = _semaphores.get(limit)
        if semaphore is None:
            semaphore = _semaphores[limit] = threading.BoundedSemaphore(limit)
        return semaphore


def take(what: str):
    """Take a slot now for work another thread will do; return the function that gives
    it back (that thread calls it when done). Raises Busy."""
    limit = settings.ATHENS_COLD_FETCHES
    semaphore = _semaphore(limit)
    if not semaphore.acquire(blocking=False):
        raise Busy(f"{what}: {limit} cold fetches are already under way in this server process; try again shortly")
    return semaphore.release


@contextlib.contextmanager
def slot(what: str):
    """Hold this process's cold-fetch slot for `what` for the block, or raise Busy.

    Requests for the same `what` (one module version, one module's list) share one slot:
    they wait for the same upstream work (the fetch's single flight), and twenty CI jobs
    asking for one new version at once must all get it, not sixteen 503s.
    """
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    with _lock:
        sharing = _active.get(what)
        if sharing is not None:
            sharing[1] += 1
    if sharing is None:
        release = take(what)
        with _lock:
            sharing = _active.get(what)
            if sharing is None:
                _active[what] = sharing = [release, 1]
            else:  # another thread got there meanwhile: share its slot, give ours back
                sharing[1] += 1
                release()
    _held.depth = 1
    try:
        yield
    finally:
        _held.depth = 0
        with _lock:
            sharing[1] -= 1
            done = sharing[1] == 0
            if done:
                del _active[what]
        if done:
            sharing[0]()
