"""Waiting in tests for something another thread or process does: polled, with a
deadline that turns "never" into a clear failure rather than a hung test."""

from __future__ import annotations

import time
from typing import Callable


def eventually(condition: Callable[[], object], *, within: float = 2.0,
               what: str | Callable[[], str] = "the condition", pause: float = 0.01) -> None:
    """Poll `condition()` until it is true; fail naming `what` (a text, or a function
    giving one, e.g. the processes' logs) after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what() if callable(what) else what}: not within {within}s")
        time.sleep(pause)
