"""The PostgreSQL and Redis the test suite needs, brought up when nothing is running.

`make test` runs the suite through this module::

    python -m tests.support.services -- python -m pytest ...

For each service it uses, in this order: the URL given in the environment
(``DATABASE_URL``, ``ATHENS_TEST_REDIS_URL``); else the default local server
(postgres://postgres@127.0.0.1:5432, redis://127.0.0.1:6379) if it answers; else a
throwaway server of its own: a PostgreSQL cluster made with ``initdb`` in a temporary
directory (trust authentication, no fsync: nothing in it needs to survive) and a
``redis-server`` without persistence, each on a free port of 127.0.0.1, started once for
the run and stopped and deleted when it ends, whatever the suite's result. Debian's
``postgresql`` and ``redis-server`` packages are installed first where they are missing
(as root; otherwise the message says what to install).

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
user the Debian package creates, and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/athens"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
START_TIMEOUT = 60.0


class BringUpError(RuntimeError):
    """A service could not be found or started; the message says what to do."""


@dataclass
class Services:
    """The URLs the suite is to use, and what was started to serve them."""

    database_url: str
    redis_url: str
    started: list[str] = field(default_factory=list)  # "postgresql", "redis" when throwaway

    def environ(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "ATHENS_TEST_REDIS_URL": self.redis_url}


@contextlib.contextmanager
def suite_services(
    database_url: str | None = None,
    redis_url: str | None = None,
    *,
    default_database_url: str = DEFAULT_DATABASE_URL,
    default_redis_url: str = DEFAULT_REDIS_URL,
) -> Iterator[Services]:
    """Yield the services to test against, starting throwaway ones where needed.

    A given URL is used as it is (a server that does not answer then fails the tests,
    which is what someone who named it wants to know); the defaults are probed first.
    """
    with contextlib.ExitStack() as stack:
        started: list[str] = []

        def choose(given: str | None, default: str, name: str, throwaway) -> str:
            if given is not None:
                return given
            if _answers(default):
                return default
            started.append(name)
            return stack.enter_context(throwaway())

        database_url = choose(database_url, default_database_url, "postgresql", _throwaway_postgresql)
        redis_url = choose(redis_url, default_redis_url, "redis", _throwaway_redis)
        yield Services(database_url=database_url, redis_url=redis_url, started=started)


def _answers(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    default_port = 5432 if parts.scheme.startswith("postgres") else 6379
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- PostgreSQL ---------------------------------------------------------------------------


@contextlib.contextmanager
def _throwaway_postgresql() -> Iterator[str]:
    bin_dir = _postgresql_bin_dir()
    owner = _postgresql_owner()
    base = Path(tempfile.mkdtemp(prefix="athens-test-postgresql-"))
    data, port = base / "data", free_port()
    try:
        if owner is not None:
            shutil.chown(base, user=owner)
        _run_as(owner, [f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-sync"])
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        stop = [f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"]
        try:
            _run_as(owner, [f"{bin_dir}/pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "log"),
                            "-w", "-t", str(int(START_TIMEOUT)), "start"])
            yield f"postgres://postgres@127.0.0.1:{port}/athens"
        finally:
            # Also after a start that timed out: the postmaster may be up all the same.
            if (data / "postmaster.pid").exists():
                _run_as(owner, stop, check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _postgresql_bin_dir() -> str:
    def found() -> list[str]:
        return sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)

    if not found() and shutil.which("initdb") is None:
        _install_debian_package("postgresql")
    candidates = found()
    if candidates:
        return str(Path(candidates[-1]).parent)
    if shutil.which("initdb"):
        return str(Path(shutil.which("initdb")).parent)
    raise BringUpError("no PostgreSQL server binaries (initdb): install Debian's postgresql package")


def _version_key(path: str) -> tuple:
    version = Path(path).parent.parent.name
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _postgresql_owner() -> str | None:
    """Who runs the cluster: None (the current user), or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise BringUpError("running as root, PostgreSQL needs a 'postgres' user (Debian's postgresql package "
                           "creates it)") from None
    return "postgres"


def _run_as(owner: str | None, command: list[str], *, check: bool = True) -> None:
    if owner is not None:
        command = ["runuser", "-u", owner, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if check and result.returncode != 0:
        raise BringUpError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


# -- Redis --------------------------------------------------------------------------------


@contextlib.contextmanager
def _throwaway_redis() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        _install_debian_package("redis-server")
        server = shutil.which("redis-server")
    if server is None:
        raise BringUpError("no redis-server: install Debian's redis-server package")
    base = Path(tempfile.mkdtemp(prefix="athens-test-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(base), "--logfile", str(base / "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=base,
        start_new_session=True,  # a Ctrl-C for the suite must not stop it before the suite is done
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"redis://127.0.0.1:{port}", timeout=0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
                raise BringUpError(f"redis-server did not start on port {port}:\n{log}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/15"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


# -- packages -----------------------------------------------------------------------------


def _install_debian_package(name: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BringUpError(f"{name} is needed for the tests and is not installed: apt-get install {name} "
                           "(or point DATABASE_URL / ATHENS_TEST_REDIS_URL at servers of your own)")
    print(f"tests: installing Debian's {name}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # The package may start its own service on the default port; the tests then use the
    # throwaway server started next all the same (the default was probed before).
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", name], check=True, env=env)


# -- command line -------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """`python -m tests.support.services -- COMMAND...`: run COMMAND with the services' URLs."""
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print("usage: python -m tests.support.services -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    # A SIGTERM (a CI time limit, a killed make) unwinds like Ctrl-C: the servers stop and
    # their directories go.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with suite_services(os.environ.get("DATABASE_URL") or None, os.environ.get("ATHENS_TEST_REDIS_URL") or None) as services:
            for name in services.started:
                print(f"tests: started a throwaway {name} for this run", file=sys.stderr, flush=True)
            print(f"tests: DATABASE_URL={services.database_url} ATHENS_TEST_REDIS_URL={services.redis_url}",
                  file=sys.stderr, flush=True)
            process = subprocess.Popen(argv, env={**os.environ, **services.environ()})
            try:
                return process.wait()
            except (KeyboardInterrupt, SystemExit):
                process.send_signal(signal.SIGINT)
                process.wait()
                raise
    except BringUpError as exc:
        print(f"tests: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
