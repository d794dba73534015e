"""`make test` on a machine where nothing is running: the suite's bring-up
(tests/support/services.py) starts a throwaway PostgreSQL and Redis when no server
answers, and removes them afterwards (issue 22)."""

import glob
import socket
import subprocess
import sys

import psycopg
import redis

from tests.support.services import _answers, free_port, suite_services


def closed_url(scheme: str) -> str:
    """A URL at a port of 127.0.0.1 where nothing listens (like a machine without servers)."""
    return f"{scheme}://postgres@127.0.0.1:{free_port()}/athens" if scheme == "postgres" else \
        f"redis://127.0.0.1:{free_port()}/15"


def throwaway_dirs() -> set[str]:
    return set(glob.glob("/tmp/athens-test-postgresql-*") + glob.glob("/tmp/athens-test-redis-*"))


def test_without_servers_throwaway_ones_answer_and_go_away_afterwards():
    before = throwaway_dirs()
    with suite_services(default_database_url=closed_url("postgres"), default_redis_url=closed_url("redis")) as services:
        assert services.started == ["postgresql", "redis"]
        server_url = services.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server_url, autocommit=True) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
            connection.execute("CREATE DATABASE bringup_check")  # the suite creates its test database
        assert redis.Redis.from_url(services.redis_url).ping()
        assert len(throwaway_dirs() - before) == 2
    assert not _answers(services.database_url)
    assert not _answers(services.redis_url)
    assert throwaway_dirs() - before == set()


def test_a_running_default_server_is_used_and_nothing_is_started():
    with socket.socket() as postgres_like, socket.socket() as redis_like:
        for listener in (postgres_like, redis_like):
            listener.bind(("127.0.0.1", 0))
            listener.listen()
        database = f"postgres://postgres@127.0.0.1:{postgres_like.getsockname()[1]}/athens"
        cache = f"redis://127.0.0.1:{redis_like.getsockname()[1]}/15"
        with suite_services(default_database_url=database, default_redis_url=cache) as services:
            assert (services.database_url, services.redis_url, services.started) == (database, cache, [])


def test_given_urls_are_used_as_they_are():
    database, cache = closed_url("postgres"), closed_url("redis")
    with suite_services(database, cache) as services:
        assert (services.database_url, services.redis_url, services.started) == (database, cache, [])


def test_the_command_line_runs_the_suite_command_with_the_urls_and_passes_its_exit_code(tmp_path):
    script = "import os, sys; print(os.environ['DATABASE_URL']); sys.exit(3)"
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.services", "--", sys.executable, "-c", script],
        capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://postgres@127.0.0.1:9/given",
             "ATHENS_TEST_REDIS_URL": "redis://127.0.0.1:9/15"},
    )
    assert result.returncode == 3
    assert result.stdout.strip() == "postgres://postgres@127.0.0.1:9/given"
