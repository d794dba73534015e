"""The one exception family for upstream failures, and its mapping to HTTP statuses.

The download API answers a client with `error.http_status` and `error.client_message`.
404 and 410 from us mean "not found, try your next proxy" to the go command; anything
else stops it, so only a real absence may be a 404.

What the client is told and what staff see differ (issue 21). `message` is the whole
story, for the FetchEvent, the log and the admin: an upstream's error body, the go
command's and git's stderr, with internal host names, paths and a resolver's address
in them. An error that came out of an upstream (UpstreamChain marks it with
`from_upstream()`) tells the client only its kind ("not found upstream", "upstream
unreachable", ...) and, for content that broke the protocol's rules, which rule, with
URLs left out. Errors the proxy raises about its own state (offline, a download mode,
the fetch deadline) say what they are.
"""

import re

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


class UpstreamError(Exception):
    """Something went wrong getting content from an upstream."""

    http_status = 502
    outcome = "error"
    prefix = "bad gateway"
    generic = "the upstream failed"

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.message = message
        self.public = public  # what the client may be told; None: the message itself

    def from_upstream(self) -> "UpstreamError":
        """Mark this error as the upstream's: the client gets its kind, not its text."""
        if self.public is None:
            self.public = self.public_detail()
        return self

    def public_detail(self) -> str:
        return self.generic

    @property
    def public_text(self) -> str:
        return self.message if self.public is None else self.public

    @property
    def client_message(self) -> str:
        """The first line of the text/plain body the go command shows its user."""
        return f"{self.prefix}: {self.public_text}"


class NotFound(UpstreamError):
    """The upstream does not have it (HTTP 404/410, or an unknown module/version)."""

    http_status = 404
    outcome = "not_found"
    prefix = "not found"
    generic = "not found upstream"


class Unavailable(UpstreamError):
    """The upstream could not be reached or failed (connection error, 5xx)."""

    generic = "upstream unreachable or failing"


class Timeout(Unavailable):
    """The upstream did not answer in time."""

    http_status = 504
    prefix = "gateway timeout"
    generic = "the upstream did not answer in time"


class DeadlinePassed(Timeout):
    """The fetch's own deadline (ATHENS_FETCH_TIMEOUT) cut it: the proxy's limit, said as such."""

    def __init__(self, message: str):
        super().__init__(message, public="cut at the fetch deadline (ATHENS_FETCH_TIMEOUT)")


class InvalidContent(UpstreamError):
    """The upstream answered, but with content that breaks the protocol's rules."""

    outcome = "invalid"
    prefix = "invalid upstream content"

    def public_detail(self) -> str:
        """Which of the protocol's rules the content broke (our own check's words), with
        the upstream's URLs left out."""
        return _URL.sub("(upstream)", self.message)


class StorageUnavailable(UpstreamError):
    """Our own module storage failed while a worker stored a fetch (not the upstream's
    fault: 503, so the client retries later)."""

    http_status = 503
    prefix = "service unavailable"
    generic = "the proxy's module storage is not reachable"


def error_from_status(status: int, message: str, public: str | None = None) -> UpstreamError:
    """Rebuild an error from a stored (http_status, message, public text), e.g. from the
    negative cache or a worker's answer."""
    for cls in (NotFound, Timeout, StorageUnavailable, UpstreamError):
        if cls.http_status == status:
            return cls(message, public)
    return UpstreamError(message, public)
