"""ATHENS_UPSTREAM: upstreams tried in order with the go command's GOPROXY semantics.

`a,b` falls back from a to b only when a answers "not found" (404/410); `a|b` falls back
on any error. When every upstream fails, the error reported is chosen as
cmd/go/internal/modfetch/proxy.go does: an error from `direct` first, then any error that
is not "not found", then the last "not found".
"""

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from modules.goproxy.errors import InvalidProxyListError
from modules.goproxy.proxylist import parse_goproxy

from .base import Upstream
from .direct import DirectUpstream, OffUpstream
from .errors import NotFound, UpstreamError
from .http import HttpUpstream

T = TypeVar("T")

#: Called after every attempt: (upstream, outcome error or None, seconds taken).
AttemptObserver = Callable[[Upstream, UpstreamError | None, float], None]


@dataclass(frozen=True)
class ChainEntry:
    upstream: Upstream
    fallback_on_any_error: bool


class UpstreamChain:
    def __init__(self, entries: list[ChainEntry]):
        self.entries = entries

    @staticmethod
    def check_setting(value: str) -> None:
        """Raise InvalidProxyListError if ATHENS_UPSTREAM cannot be used."""
        for entry in parse_goproxy(value):
            if entry.url.startswith("file:"):
                raise InvalidProxyListError(f"{entry.url}: file:// upstreams are not supported; serve the tree over HTTP")

    @classmethod
    def from_setting(cls, value: str, *, direct: Upstream, timeout: float = 30.0) -> "UpstreamChain":
        """The chain for ATHENS_UPSTREAM; `direct` is the one DirectUpstream of the process."""
        cls.check_setting(value)
        entries = []
        for entry in parse_goproxy(value):
            if entry.url == "direct":
                upstream = direct
            elif entry.url == "off":
                upstream = OffUpstream()
            else:
                upstream = HttpUpstream(entry.url, timeout=timeout)
            entries.append(ChainEntry(upstream, entry.fallback_on_any_error))
        return cls(entries)

    @classmethod
    def direct_only(cls, direct: Upstream) -> "UpstreamChain":
        """The chain for a private module: version control, nothing else."""
        return cls([ChainEntry(direct, False)])

    def redirect_base(self) -> str | None:
        """The first HTTP upstream's base URL (without credentials), for redirect mode."""
        for entry in self.entries:
            if isinstance(entry.upstream, HttpUpstream):
                return entry.upstream.name
        return None

    def first(self, operation: Callable[[Upstream], T], observe: AttemptObserver | None = None) -> tuple[Upstream, T]:
        """Run `operation` against each upstream in turn; return the first success."""
        best: UpstreamError | None = None
        best_rank = -1
        for entry in self.entries:
            started = time.monotonic()
            try:
                result = operation(entry.upstream)
            except UpstreamError as error:
                error.from_upstream()  # the client is told its kind; staff see its text
                if observe:
                    observe(entry.upstream, error, time.monotonic() - started)
                rank = _error_rank(entry.upstream, error)
                if rank >= best_rank:
                    best, best_rank = error, rank
                if not (isinstance(error, NotFound) or entry.fallback_on_any_error):
                    break
            else:
                if observe:
                    observe(entry.upstream, None, time.monotonic() - started)
                return entry.upstream, result
        raise best if best is not None else NotFound("no upstream configured")


def _error_rank(upstream: Upstream, error: UpstreamError) -> int:
    if isinstance(upstream, DirectUpstream):
        return 2
    if not isinstance(error, NotFound):
        return 1
    return 0
