"""End-to-end fixtures: the proxy served by pytest-django's live server, pointed at a
static upstream on 127.0.0.1, and the real go command pointed at the proxy."""

import pytest


@pytest.fixture
def proxy_url(live_server, proxy):
    """The proxy's base URL (its upstream is the `proxy` fixture's static server)."""
    return live_server.url


@pytest.fixture
def go_through_proxy(go_env, proxy_url):
    """A GoEnv whose GOPROXY is only the proxy."""
    return go_env(proxy_url)


@pytest.fixture
def go_direct(go_env, proxy):
    """A GoEnv whose GOPROXY is the upstream itself: the reference answers."""
    return go_env(proxy.url)
