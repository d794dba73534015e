"""`direct` contacts only hosts the guard allows (modules/egress; issues 14 and 21).

The attack: a module path, or the `go-import` meta tag of its page, names a host that
resolves to 127.0.0.1, a private network or the cloud's metadata address, and the proxy
connects there on an anonymous client's behalf. Each test below has a listener on
127.0.0.1 that must see no connection, or the real go command whose connections must
pass through the guard.
"""

import socket
import threading

import pytest

from audit.models import FetchEvent
from modules.egress import proxy as egress

pytestmark = pytest.mark.django_db


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and echoes one line."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.sendall(b"hello from inside\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def through_the_guard(request: bytes) -> bytes:
    host, port = egress.url().removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        conn.settimeout(10)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
            if b"hello from inside" in answer:
                break
        return answer


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "[::ffff:127.0.0.1]"])
def test_the_egress_proxy_refuses_internal_addresses_however_they_are_spelt(listener, host, settings):
    settings.ATHENS_DIRECT_HOSTS = ""
    for request in (f"CONNECT {host}:{listener.port} HTTP/1.1\r\nHost: x\r\n\r\n",
                    f"GET http://{host}:{listener.port}/?go-get=1 HTTP/1.1\r\nHost: x\r\n\r\n"):
        answer = through_the_guard(request.encode())
        assert answer.startswith(b"HTTP/1.1 403 ") and b"not a public address" in answer
    assert listener.accepted == 0


def test_a_host_listed_in_athens_direct_hosts_is_reached_at_the_address_checked(listener, settings):
    settings.ATHENS_DIRECT_HOSTS = "localhost"
    answer = through_the_guard(f"CONNECT localhost:{listener.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and b"hello from inside" in answer
    assert listener.accepted == 1
    # Listing some hosts means only those: 127.0.0.1 itself is not one of them.
    assert through_the_guard(f"CONNECT 127.0.0.1:{listener.port} HTTP/1.1\r\n\r\n".encode()).startswith(b"HTTP/1.1 403")


def test_a_module_path_naming_an_internal_address_is_refused_before_the_go_command_runs(client, settings):
    # Go's HTTP client never uses a proxy for a loopback host, so this one is checked
    # before the go command could try https://127.0.0.1/.
    settings.ATHENS_UPSTREAM = "direct"
    response = client.get("/127.0.0.1/evil/@v/list")
    assert response.status_code == 404
    assert b"direct may not contact it" in response.content and b"not a public address" in response.content
    assert "not a public address" in FetchEvent.objects.get(module="127.0.0.1/evil").error


def test_every_connection_of_the_go_command_passes_through_the_guard(client, settings):
    """A path whose page the go command must fetch (`?go-get=1`, where a go-import meta
    tag could point anywhere): the connection is the egress proxy's to make, so the
    refusal is the guard's ("does not resolve", from the proxy), not the go command's
    own DNS error."""
    settings.ATHENS_UPSTREAM = "direct"
    response = client.get("/meta.example.test/x/@v/list")
    assert response.status_code in (404, 502)
    error = FetchEvent.objects.get(module="meta.example.test/x").error
    assert "meta.example.test does not resolve" in error, error
