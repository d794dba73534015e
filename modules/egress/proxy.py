"""The egress proxy: an HTTP proxy on 127.0.0.1 for the go command and git of `direct`.

The go command resolves a module path's host, follows `go-import` meta tags and hands
repository URLs to git, all by itself; the proxy cannot check those connections from
the outside unless they pass through something it controls. So every go command run
gets HTTPS_PROXY/HTTP_PROXY pointing here (upstreams/gocommand.py), and this proxy:

- answers `CONNECT host:port` (HTTPS, which is all the go command uses without
  GOINSECURE) and absolute-form requests (`GET http://host/...`);
- resolves the host once, checks every address (hosts.allowed_addresses), and connects
  to an address it checked, never to the name (no second lookup to rebind);
- refuses with `403 <reason>`: Go reports the reason phrase as the error, so the
  FetchEvent says why (for example "127.0.0.1 ... not a public address").

One per process, started on first use (a gunicorn worker or Celery worker forked
after another started it starts its own). Connections are relayed by a thread each,
cut after IDLE_SECONDS without traffic; the go command's own deadline ends the rest.
"""

import logging
import os
import selectors
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from .hosts import EgressRefused, allowed_addresses

logger = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024  # request line and headers
HEAD_SECONDS = 10
CONNECT_SECONDS = 10
IDLE_SECONDS = 120
_CHUNK = 64 * 1024

_lock = threading.Lock()
_server: "socketserver.ThreadingTCPServer | None" = None
_server_pid: int | None = None


def url() -> str:
    """The proxy's URL for HTTPS_PROXY, starting it in this process if needed."""
    global _server, _server_pid
    with _lock:
        if _server is None or _server_pid != os.getpid():
            _server = _Server(("127.0.0.1", 0), _Handler)
            _server_pid = os.getpid()
            threading.Thread(target=_server.serve_forever, name="egress-proxy", daemon=True).start()
        host, port = _server.server_address[:2]
    return f"http://{host}:{port}"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client = self.request
        client.settimeout(HEAD_SECONDS)
        try:
            head, rest = _read_head(client)
        except (OSError, ValueError):
            return
        try:
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            _answer(client, 400, "bad request")
            return
        try:
            if method == "CONNECT":
                host, port = _host_port(target, default=443)
                upstream = _connect(host, port)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                first = rest
            elif target.startswith("http://"):
                parts = urlsplit(target)
                host, port = parts.hostname or "", parts.port or 80
                upstream = _connect(host, port)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [line for line in header_lines if line and not line.lower().startswith(("proxy-", "connection:"))]
                first = ("\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])).encode(
                    "latin-1"
                ) + rest
            else:
                _answer(client, 400, "only CONNECT and http:// requests")
                return
        except EgressRefused as refused:
            logger.warning("egress: refused %s %s: %s", method, target[:200], refused)
            _answer(client, 403, str(refused))
            return
        except (OSError, ValueError) as exc:
            _answer(client, 502, f"cannot connect: {exc}")
            return
        with upstream:
            if first:
                upstream.sendall(first)
            _relay(client, upstream)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            raise ValueError("request head too large")
        chunk = sock.recv(4096)
        if not chunk:
            raise ValueError("closed before the request head ended")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _host_port(target: str, *, default: int) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return target.strip("[]"), default
    return host.strip("[]"), int(port)


def _connect(host: str, port: int) -> socket.socket:
    """A connection to one of the checked addresses of host:port."""
    last: OSError | None = None
    for address in allowed_addresses(host, port):
        try:
            return socket.create_connection((str(address), port), timeout=CONNECT_SECONDS)
        except OSError as exc:
            last = exc
    raise last or OSError(f"{host} has no address")


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes or IDLE_SECONDS pass quietly."""
    client.setblocking(False)
    upstream.setblocking(False)
    peers = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)
        while True:
            ready = selector.select(IDLE_SECONDS)
            if not ready:
                return
            for key, _ in ready:
                try:
                    data = key.fileobj.recv(_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                try:
                    peers[key.fileobj].settimeout(IDLE_SECONDS)
                    peers[key.fileobj].sendall(data)
                    peers[key.fileobj].setblocking(False)
                except OSError:
                    return


def _answer(sock: socket.socket, status: int, reason: str) -> None:
    # The reason phrase is what Go shows as the error: one printable ASCII line.
    phrase = "".join(char if 32 <= ord(char) < 127 else "?" for char in reason)[:300]
    try:
        sock.sendall(f"HTTP/1.1 {status} {phrase}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode("ascii"))
    except OSError:
        pass
