"""One overall deadline for a cold fetch, whatever the upstream does.

Per-request timeouts bound each wait for the upstream (connect, each read), not the
whole: an upstream that sends a byte every two seconds never trips a five-second read
timeout, and took a worker for 534 s (issue 20). So the fetch path sets one deadline
(ATHENS_FETCH_TIMEOUT from when it starts) in a context variable, and everything below
it honours it: each HTTP request's timeout is capped by what is left and a download is
cut between chunks once it has passed; go command runs get at most what is left.
Nested deadlines keep the earlier one.
"""

import contextlib
import time
from contextvars import ContextVar

_current: ContextVar[float | None] = ContextVar("athens_fetch_deadline", default=None)


@contextlib.contextmanager
def within(seconds: float):
    """Everything inside must be done `seconds` from now (or by an earlier deadline)."""
    end = time.monotonic() + seconds
    outer = _current.get()
    token = _current.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _current.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (possibly negative), or None without one."""
    end = _current.get()
    return None if end is None else end - time.monotonic()


def cap(timeout: float) -> float:
    """`timeout`, or what is left of the deadline if that is less (never below 0.001)."""
    left = remaining()
    return timeout if left is None else max(0.001, min(timeout, left))


def passed() -> bool:
    left = remaining()
    return left is not None and left <= 0
