"""End-to-end fixtures: the proxy served by pytest-django's live server, pointed at a
static upstream on 127.0.0.1, and the real go command pointed at the proxy."""

import os

import pytest
import redis


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


@pytest.fixture
def redis_url():
    """The test Redis database (ATHENS_TEST_REDIS_URL), emptied before and after."""
    url = os.environ.get("ATHENS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.ping()
    client.flushdb()
    yield url
    client.flushdb()
