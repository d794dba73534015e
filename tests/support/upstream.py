"""A static GOPROXY upstream served over HTTP on 127.0.0.1.

Why this exists: the proxy under test fetches from upstream proxies over HTTP.  Tests
need an upstream that (1) speaks the protocol exactly (it serves a
:class:`tests.support.gomodules.ProxyTree`), (2) shows what the proxy asked for
(request log: caching, negative caching and single-flight tests count requests),
(3) misbehaves on demand (failure injection, delays, going down and coming back *on
the same port* so the proxy's configured upstream URL stays valid), and (4) never
touches the internet.

The server speaks HTTP/1.0 (one request per connection): after :meth:`stop` no
keep-alive connection survives to answer requests, so "the upstream is down" is real.
"""

from __future__ import annotations

import fnmatch
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Pattern
from urllib.parse import unquote, urlsplit

__all__ = ["StaticProxyServer", "RequestRecord"]

Matcher = str | Pattern[str] | Callable[[str], bool]


def _matches(pattern: Matcher, path: str) -> bool:
    """``pattern`` semantics shared by fail/delay/count:

    * callable: ``pattern(path)``;
    * compiled regex: ``pattern.search(path)``;
    * string containing ``*``, ``?`` or ``[``: fnmatch glob against the whole path;
    * other string: substring of the path (e.g. ``"/@v/list"`` or
      ``"mods.example.test/hello/@v/v1.0.0.zip"``).

    ``path`` is the percent-decoded request path without query string (``!`` escapes
    are kept: ``/mods.example.test/!upper/!case/@v/list``).
    """
    if callable(pattern) and not isinstance(pattern, str):
        return bool(pattern(path))
    if isinstance(pattern, re.Pattern):
        return pattern.search(path) is not None
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return pattern in path


@dataclass(frozen=True)
class RequestRecord:
    """One request as the upstream saw it (``path`` decoded, ``raw_path`` as sent)."""

    method: str
    path: str
    raw_path: str
    headers: dict[str, str]
    status: int
    time: float


@dataclass
class _Failure:
    pattern: Matcher
    status: int
    body: bytes
    remaining: int | None
    content_type: str


@dataclass
class _Delay:
    pattern: Matcher
    seconds: float


_CONTENT_TYPES = {
    ".info": "application/json",
    ".mod": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}


def _content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name == "list":
        return "text/plain; charset=utf-8"
    if name == "@latest":
        return "application/json"
    for ext, ctype in _CONTENT_TYPES.items():
        if name.endswith(ext):
            return ctype
    return "application/octet-stream"


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True  # SO_REUSEADDR: restart on the same port after stop()
    daemon_threads = True
    request_queue_size = 128
    owner: "StaticProxyServer"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    server_version = "StaticProxyServer/1"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr
        pass

    def do_GET(self) -> None:
        self.server.owner._handle(self, head=False)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, head=True)

    def _not_allowed(self) -> None:
        self.server.owner._handle(self, head=False, allowed=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


class StaticProxyServer:
    """Serve a GOPROXY tree (a directory, or a ProxyTree) at ``http://127.0.0.1:PORT``.

    Usage::

        with StaticProxyServer(tree) as upstream:
            upstream.url                      # "http://127.0.0.1:43121"
            upstream.fail("/@v/list", 502)    # inject failures
            upstream.delay(".zip", 0.5)       # slow responses (single-flight tests)
            upstream.count("/@v/v1.0.0.zip")  # how many requests hit that suffix
            upstream.stop(); upstream.start() # down and back up, same port

    Missing files are ``404 text/plain``; a path that does not decode or leaves the
    root is 404 as well (never a file outside ``root``).  Methods other than GET/HEAD
    get 405.  All requests, including failed and 405 ones, are logged.
    """

    def __init__(self, root, *, host: str = "127.0.0.1", port: int = 0):
        tree = None
        if not isinstance(root, (str, os.PathLike)):
            tree, root = root, root.root  # a ProxyTree
        self.tree = tree
        self.root = Path(root).resolve()
        self.host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._trickles: list[_Delay] = []
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("server not started yet")
        return self._port

    @property
    def url(self) -> str:
        """Base URL without trailing slash, usable as a GOPROXY entry."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "StaticProxyServer":
        """Start serving (on an ephemeral port the first time, then on the same port)."""
        if self._server is not None:
            return self
        self._stopping.clear()
        last_error: OSError | None = None
        # The port was ours a moment ago; SO_REUSEADDR covers TIME_WAIT, the retry
        # covers a slow release of the old listening socket.
        for _ in range(50):
            try:
                server = _Server((self.host, self._port), _Handler)
                break
            except OSError as e:
                last_error = e
                if not self._port:
                    raise
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cannot bind {self.host}:{self._port}: {last_error}")
        server.owner = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"StaticProxyServer:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket: connections are refused until
        :meth:`start`.  Requests sleeping in :meth:`delay` are cut off (the connection
        is closed without a response)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> "StaticProxyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ request log
    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, decoded path)`` of every request so far (a copy)."""
        with self._lock:
            return [(r.method, r.path) for r in self._records]

    @property
    def records(self) -> list[RequestRecord]:
        """Full records: raw path, headers (e.g. User-Agent), status sent."""
        with self._lock:
            return list(self._records)

    def count(self, path_suffix_or_predicate: Matcher, *, method: str | None = None) -> int:
        """Number of logged requests whose decoded path ends with the given string (or
        satisfies the predicate / regex; globs with ``*`` match the whole path).
        ``method`` restricts to GET or HEAD etc."""
        m = path_suffix_or_predicate
        if isinstance(m, str) and not any(c in m for c in "*?["):
            suffix = m
            m = lambda p: p.endswith(suffix)  # noqa: E731
        return sum(
            1
            for method_, path in self.requests
            if (method is None or method_ == method) and _matches(m, path)
        )

    def reset_log(self) -> None:
        with self._lock:
            self._records.clear()

    # ------------------------------------------------------------------ misbehaviour
    def fail(
        self,
        pattern: Matcher,
        status: int = 500,
        body: bytes | str = b"boom",
        *,
        times: int | None = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        """Answer requests matching ``pattern`` (see :func:`_matches`: substring, glob,
        regex or predicate) with ``status`` and ``body``.  ``times`` limits how many
        requests fail (then the file is served again).  ``status=0`` closes the
        connection without any response (a network error for the client).  The most
        recently added matching rule wins."""
        if isinstance(body, str):
            body = body.encode()
        with self._lock:
            self._failures.append(_Failure(pattern, status, body, times, content_type))

    def clear_failures(self) -> None:
        """Remove all failure rules and delays."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def delay(self, pattern: Matcher, seconds: float) -> None:
        """Sleep ``seconds`` before answering matching requests (delays add up if
        several rules match).  Used to hold concurrent requests in flight."""
        with self._lock:
            self._delays.append(_Delay(pattern, seconds))

    def clear_delays(self) -> None:
        with self._lock:
            self._delays.clear()
            self._trickles.clear()

    def trickle(self, pattern: Matcher, seconds: float) -> None:
        """Send the headers of matching answers at once and spread their bodies over
        ``seconds`` (a slow download that is visibly in progress: a client that dies
        meanwhile has received part of the bytes)."""
        with self._lock:
            self._trickles.append(_Delay(pattern, seconds))

    # ------------------------------------------------------------------ serving
    def _log(self, handler: _Handler, path: str, status: int) -> None:
        rec = RequestRecord(
            method=handler.command,
            path=path,
            raw_path=handler.path,
            headers={k: v for k, v in handler.headers.items()},
            status=status,
            time=time.time(),
        )
        with self._lock:
            self._records.append(rec)

    def _resolve(self, path: str) -> Path | None:
        """Map a decoded URL path to a file under root, or None (-> 404)."""
        rel = path.lstrip("/")
        if (
            not path.startswith("/")
            or not rel
            or "\x00" in rel
            or "\\" in rel
            or any(part in ("", ".", "..") for part in rel.split("/"))
        ):
            return None
        try:
            candidate = (self.root / rel).resolve()
            candidate.relative_to(self.root)
            return candidate if candidate.is_file() else None
        except (ValueError, OSError):  # outside the root, or a name too long for the OS
            return None

    def _handle(self, handler: _Handler, *, head: bool, allowed: bool = True) -> None:
        raw = handler.path
        split = urlsplit(raw)
        try:
            path = unquote(split.path, errors="strict")
        except UnicodeDecodeError:
            path = split.path

        with self._lock:
            delays = [d.seconds for d in self._delays if _matches(d.pattern, path)]
        if delays:
            if self._stopping.wait(sum(delays)):
                # Stopped while sleeping: the upstream "went down" mid-request.
                self._log(handler, path, 0)
                handler.close_connection = True
                return

        if not allowed:
            self._log(handler, path, 405)
            self._send(handler, 405, b"method not allowed\n", "text/plain; charset=utf-8",
                       head=False, extra={"Allow": "GET, HEAD"})
            return

        failure = None
        with self._lock:
            for f in reversed(self._failures):
                if _matches(f.pattern, path) and (f.remaining is None or f.remaining > 0):
                    if f.remaining is not None:
                        f.remaining -= 1
                    failure = f
                    break
        if failure is not None:
            self._log(handler, path, failure.status)
            if failure.status == 0:
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self._send(handler, failure.status, failure.body, failure.content_type, head=head)
            return

        file = self._resolve(path)
        data = None
        if file is not None:
            try:
                data = file.read_bytes()
            except OSError:
                data = None
        if data is None:
            self._log(handler, path, 404)
            self._send(handler, 404, f"not found: {path.lstrip('/')}\n".encode(),
                       "text/plain; charset=utf-8", head=head)
            return
        self._log(handler, path, 200)
        with self._lock:
            spread = sum(t.seconds for t in self._trickles if _matches(t.pattern, path))
        self._send(handler, 200, data, _content_type(path), head=head, spread=spread)

    @staticmethod
    def _send(handler: _Handler, status: int, body: bytes, ctype: str, *, head: bool,
              extra: dict[str, str] | None = None, spread: float = 0.0) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            if head:
                return
            if spread <= 0:
                handler.wfile.write(body)
                return
            pieces = 20
            step = max(1, -(-len(body) // pieces))
            for start in range(0, len(body), step):
                handler.wfile.write(body[start:start + step])
                handler.wfile.flush()
                time.sleep(spread / pieces)
        except (BrokenPipeError, ConnectionResetError):
            pass
