"""The one exception family for upstream failures, and its mapping to HTTP statuses.

The download API answers a client with `error.http_status` and `error.message`. 404 and
410 from us mean "not found, try your next proxy" to the go command; anything else stops
it, so only a real absence may be a 404.
"""


class UpstreamError(Exception):
    """Something went wrong getting content from an upstream."""

    http_status = 502
    outcome = "error"
    prefix = "bad gateway"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def client_message(self) -> str:
        """The first line of the text/plain body the go command shows its user."""
        return f"{self.prefix}: {self.message}"


class NotFound(UpstreamError):
    """The upstream does not have it (HTTP 404/410, or an unknown module/version)."""

    http_status = 404
    outcome = "not_found"
    prefix = "not found"


class Unavailable(UpstreamError):
    """The upstream could not be reached or failed (connection error, 5xx)."""


class Timeout(Unavailable):
    """The upstream did not answer in time."""

    http_status = 504
    prefix = "gateway timeout"


class InvalidContent(UpstreamError):
    """The upstream answered, but with content that breaks the protocol's rules."""

    outcome = "invalid"
    prefix = "invalid upstream content"


class StorageUnavailable(UpstreamError):
    """Our own module storage failed while a worker stored a fetch (not the upstream's
    fault: 503, so the client retries later)."""

    http_status = 503
    prefix = "service unavailable"


def error_from_status(status: int, message: str) -> UpstreamError:
    """Rebuild an error from a stored (http_status, message), e.g. from the negative cache."""
    for cls in (NotFound, Timeout, StorageUnavailable, UpstreamError):
        if cls.http_status == status:
            error = cls(message)
            break
    else:
        error = UpstreamError(message)
    return error
