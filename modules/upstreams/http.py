"""Another GOPROXY over HTTP(S): proxy.golang.org, a corporate proxy, a static tree."""

import io
import threading
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import httpx

from modules import deadline
from modules.goproxy.request import escape_download_path
from modules.goproxy.versions import parse_list

from .base import Upstream, VersionInfo
from .errors import DeadlinePassed, InvalidContent, NotFound, Timeout, Unavailable, UpstreamError

USER_AGENT = "athens-django/1"

_client_lock = threading.Lock()
_clients: dict[float, httpx.Client] = {}


def shared_client(timeout: float) -> httpx.Client:
    """One connection pool per process (and timeout), reused by every request."""
    with _client_lock:
        client = _clients.get(timeout)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                max_redirects=10,
                headers={"User-Agent": USER_AGENT},
            )
            _clients[timeout] = client
        return client


def redact_url(url: str) -> str:
    """The URL without user:password, fit for logs, audit rows and error bodies."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class HttpUpstream(Upstream):
    """A GOPROXY server reached over HTTP(S)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.name = redact_url(self.base_url)
        self.timeout = timeout

    # -- the protocol's five requests ---------------------------------------------------

    def list(self, module: str) -> list[str]:
        return parse_list(self._get_small(module, "list", None, max_bytes=16 << 20))

    def latest(self, module: str) -> VersionInfo:
        body = self._get_small(module, "latest", None, max_bytes=1 << 20)
        return VersionInfo.parse(body, source=f"{self.name} {module}/@latest")

    def info(self, module: str, query: str) -> VersionInfo:
        body = self._get_small(module, "info", query, max_bytes=1 << 20)
        return VersionInfo.parse(body, source=f"{self.name} {module}@{query}.info")

    def mod(self, module: str, version: str, *, max_bytes: int) -> bytes:
        return self._get_small(module, "mod", version, max_bytes=max_bytes)

    def download_zip(self, module: str, version: str, dest: BinaryIO, *, max_bytes: int) -> int:
        return self._stream(module, "zip", version, dest, max_bytes=max_bytes)

    # -- plumbing -----------------------------------------------------------------------

    def _url(self, module: str, endpoint: str, version: str | None) -> str:
        return f"{self.base_url}/{escape_download_path(module, endpoint, version)}"

    def _get_small(self, module: str, endpoint: str, version: str | None, *, max_bytes: int) -> bytes:
        buffer = io.BytesIO()
        self._stream(module, endpoint, version, buffer, max_bytes=max_bytes)
        return buffer.getvalue()

    def _stream(self, module: str, endpoint: str, version: str | None, dest, *, max_bytes: int) -> int:
        url = self._url(module, endpoint, version)
        shown = redact_url(url)
        written = 0
        if deadline.passed():
            raise DeadlinePassed(f"{shown}: not asked: the fetch deadline (ATHENS_FETCH_TIMEOUT) has passed")
        try:
            request_timeout = httpx.Timeout(deadline.cap(self.timeout))
            with shared_client(self.timeout).stream("GET", url, timeout=request_timeout) as response:
                if response.status_code in (404, 410):
                    raise NotFound(f"{shown}: {_first_line(response)}")
                if response.status_code != 200:
                    raise Unavailable(f"{shown}: {response.status_code} {_first_line(response)}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise InvalidContent(f"{shown}: {declared} bytes is over the limit of {max_bytes}")
                # No chunk size: each piece as it arrives (a 64 KiB chunk size would hold a
                # small body back until it is complete, and the deadline with it).
                for chunk in response.iter_bytes():
                    written += len(chunk)
                    if written > max_bytes:
                        raise InvalidContent(f"{shown}: over the limit of {max_bytes} bytes")
                    dest.write(chunk)
                    if deadline.passed():
                        # A trickling upstream: every read is quick, the whole never ends.
                        raise DeadlinePassed(
                            f"{shown}: cut at the fetch deadline (ATHENS_FETCH_TIMEOUT) after {written} bytes"
                        )
        except UpstreamError:
            raise
        except httpx.TimeoutException as exc:
            raise Timeout(f"{shown}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise Unavailable(f"{shown}: {type(exc).__name__}: {_redacted_error(exc)}") from exc
        return written


def _first_line(response: httpx.Response) -> str:
    """The first line of an error body, trimmed, for messages (upstreams speak text/plain)."""
    try:
        text = response.read()[:512].decode("utf-8", errors="replace")
    except httpx.HTTPError:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else response.reason_phrase
    return line[:200]


def _redacted_error(exc: Exception) -> str:
    text = str(exc)
    request = getattr(exc, "_request", None)
    if request is not None:
        text = text.replace(str(request.url), redact_url(str(request.url)))
    return text[:200]
