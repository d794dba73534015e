"""Fixtures shared by the whole suite.

Every test gets its own module storage directory and lock directory, so no test sees
another's cache. The upstream fixtures (static GOPROXY trees served on 127.0.0.1, the
real go command) live in tests/support.
"""

import pytest

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """A fresh, empty module storage per test (the embedded filesystem backend)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "modules": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "storage"), "base_url": None},
        },
    }
    settings.ATHENS_LOCK_DIR = tmp_path / "locks"
    # In-process tests run inside a transaction that is rolled back: rows written by
    # another connection would outlive the test, and PostgreSQL never delivers the
    # notifications of a rolled-back change. tests/integration/test_hot_paths.py turns
    # both on in transactional tests; the process tests (tests/e2e) run with them on.
    settings.ATHENS_AUDIT_GROUP_COMMIT = False
    settings.ATHENS_HOT_CACHE = False
    settings.ATHENS_NETWORK_MODE = "fallback"
    return tmp_path / "storage"


@pytest.fixture
def proxy(settings, static_upstream):
    """Point the proxy at the standard static upstream; return that upstream."""
    settings.ATHENS_UPSTREAM = static_upstream.url
    return static_upstream


@pytest.fixture(scope="session", autouse=True)
def metrics_dir(tmp_path_factory):
    """This session's Prometheus sample files in a temporary directory, not var/metrics.

    prometheus_client opens its files lazily, at the first sample of each kind, so this
    is early enough; processes the tests start inherit it unless they are given another.
    """
    path = tmp_path_factory.mktemp("metrics")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
        yield path


@pytest.fixture(scope="session", autouse=True)
def stop_background_threads(django_db_setup):
    """The cache listener and the audit writer hold database connections of their own:
    close them before pytest-django drops the test database."""
    yield
    from audit import group_commit
    from modules import hot_cache

    hot_cache.stop()
    group_commit.stop()
