"""What a person copies into their netrc and environment so that the go command sends
their proxy token to this proxy.

The go command (GOAUTH=netrc, its default) sends a netrc entry's login and password as
HTTP Basic auth, over HTTPS only, to the URLs under the entry's machine name: it looks
the request URL up by prefix, host and port as the URL has them
(cmd/go/internal/auth/auth.go, loadCredential). So the machine is the GOPROXY URL's
host with its port when it has one: `machine proxy.example.com:8443`. A line without
the port is never used for a proxy on another port (tests/e2e/test_client_auth_go_command.py).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class ClientSetup:
    netrc: str  # one netrc line: machine, login, password
    goproxy: str  # GOPROXY=<scheme>://<host[:port]>
    https: bool  # False: the go command will not send the token (http.go adds credentials for https only)


def client_setup(goproxy_url: str, username: str, secret: str) -> ClientSetup:
    """The lines for `username`'s token `secret` on the proxy at `goproxy_url`
    (ATHENS_PUBLIC_URL, or the URL the page was asked at)."""
    return ClientSetup(
        netrc=f"machine {urlsplit(goproxy_url).netloc} login {username} password {secret}",
        goproxy=f"GOPROXY={goproxy_url}",
        https=goproxy_url.startswith("https://"),
    )


def goproxy_url(request) -> str:
    """What people set GOPROXY to: ATHENS_PUBLIC_URL, else the URL this page was asked at
    (the home page and the tokens page show the same)."""
    return settings.ATHENS_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")
