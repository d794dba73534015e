"""A request id that ties together a request's log lines, its audit rows and its fetch.

The middleware makes up an id for every request, except that it takes the
`X-Request-ID` of a trusted reverse proxy (ATHENS_TRUSTED_PROXIES) when it is harmless,
so nginx and the proxy log the same id. A client's own `X-Request-ID` is kept apart, in
the audit's `client_request_id`: it is a claim, not our id. It echoes the id in the response and keeps it in a context variable for the request's
duration, where the log filter (every record gets `request_id`), the audit recorder and
the Celery fetch task (which receives it as an argument) find it. It also writes the
one access-log line per request, so gunicorn's own access log is not needed.

No model imports at module level: settings' LOGGING loads the filter before the apps.
"""

import contextvars
import logging
import re
import time
import uuid
from contextlib import contextmanager

HEADER = "X-Request-ID"
# Anything else (too long, spaces, quotes, control characters, non-ASCII) is replaced:
# the id goes into log lines, audit rows and a response header.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("athens_request_id", default="")

access_logger = logging.getLogger("athens.access")


def current() -> str:
    """The id of the request being handled, or "" outside one."""
    return _current.get()


def accept(value: str | None) -> str:
    """`value` if it is a sane id, else a new one (32 hex digits)."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


@contextmanager
def bound(request_id: str):
    """Make `request_id` the current id inside the block (a Celery task, a thread)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (empty outside a request) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs 4xx/5xx after the middleware has returned; it passes
            # the request along, which carries the id.
            request = getattr(record, "request", None)
            record.request_id = _current.get() or getattr(request, "request_id", "")
        return True


class RequestIdMiddleware:
    """Outermost middleware: id in, id out, one access-log line per request."""

    def __init__(self, get_response):
        from audit.recorder import clean, client_address
        from modules.serving import declared_length

        self.get_response = get_response
        self._clean, self._client_address, self._declared_length = clean, client_address, declared_length

    def __call__(self, request):
        from athens_site import trusted_proxies

        claimed = request.META.get("HTTP_X_REQUEST_ID")
        if trusted_proxies.client(request).via_trusted_proxy:
            request_id = accept(claimed)  # a proxy of ours made it (or passed on a sane one)
            request.client_request_id = ""
        else:
            # Whether the request came over HTTPS is a reverse proxy's to say
            # (SECURE_PROXY_SSL_HEADER), not a client's.
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
            # A client's id is a claim: any build could pose as "ci-build-4711". It is
            # kept in its own audit field; the request id is ours.
            request_id = accept(None)
            request.client_request_id = claimed or ""
        request.request_id = request_id
        started = time.monotonic()
        response = None
        with bound(request_id):
            try:
                response = self.get_response(request)
                response[HEADER] = request_id
                return response
            finally:
                self._log(request, response, time.monotonic() - started)

    def _log(self, request, response, duration_s: float) -> None:
        """Method, path (never the query string or headers), status, time to the
        response (a streamed body is still being sent), bytes when known, client."""
        status = response.status_code if response is not None else 500
        size = self._declared_length(response) if response is not None else None
        if request.method == "HEAD":
            size = 0  # Content-Length describes the GET body; none was sent
        method, path = self._clean(request.method, 16), self._clean(request.path, 2048)
        client = self._client_address(request) or "-"
        claimed_id = self._clean(getattr(request, "client_request_id", ""), 128)
        duration_ms = round(duration_s * 1000, 3)
        access_logger.info(
            "%s %s %s %.1fms %sB %s",
            method, path, status, duration_ms, "-" if size is None else size, client,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms,
                   "bytes": size, "client": client, "client_request_id": claimed_id},
        )
