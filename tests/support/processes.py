"""The proxy's own processes for tests that need them real: gunicorn web servers and
Celery workers started as subprocesses, sharing the test database and storage.

In-process tests use Django's test client or pytest-django's live server; these are for
behaviour that depends on separate processes (a fetch running in a worker, single flight
across processes).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(popen: subprocess.Popen, *, sig=signal.SIGTERM, timeout: float = 15) -> None:
    """Ask a process to stop with `sig`; SIGKILL it if it has not exited in `timeout`."""
    if popen.poll() is None:
        popen.send_signal(sig)
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def test_database_url() -> str:
    """DATABASE_URL of the database this test session uses (pytest-django's test_ copy)."""
    s = connection.settings_dict
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    at = f"{user}{password}@" if user else ""
    return f"postgres://{at}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def proxy_environment(*, upstream: str, storage_dir: Path, lock_dir: Path, broker_url: str = "", **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ATHENS_", "CELERY_"))}
    env.update(
        DATABASE_URL=test_database_url(),
        ATHENS_UPSTREAM=upstream,
        ATHENS_STORAGE_DIR=str(storage_dir),
        ATHENS_LOCK_DIR=str(lock_dir),
        CELERY_BROKER_URL=broker_url,
        DJANGO_SETTINGS_MODULE="athens_site.settings",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class _Process:
    """A subprocess whose output goes to a log file, stopped at teardown."""

    def __init__(self, args: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until(self, ready, what: str, timeout: float = 30) -> None:
        """Poll `ready()` until it is true; fail with the log if the process dies first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"{what} exited early:\n{self.log()}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} not ready in {timeout}s:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> None:
        stop_process(self.popen, sig=sig, timeout=timeout)
        self._log.close()


class WebServer(_Process):
    """gunicorn serving the proxy on 127.0.0.1, as `make run` does."""

    def __init__(self, env: dict, log_path: Path, *, workers: int = 2, threads: int = 8, tls=None):
        """`tls`: a tests.support.tls.TestTLS to serve HTTPS with (gunicorn's own TLS)."""
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.tls = tls
        self.ssl_context = tls.client_context() if tls else None
        certificate = ["--certfile", str(tls.cert_file), "--keyfile", str(tls.key_file)] if tls else []
        super().__init__(
            [str(VENV_BIN / "gunicorn"), "athens_site.wsgi", "-c", "python:athens_site.gunicorn_conf",
             "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
             "--timeout", "120", *certificate],
            env, log_path,
        )
        self.wait_until(self._answers, "gunicorn")

    def kill(self) -> None:
        """SIGKILL the workers and the master at once, as a crash or an OOM kill would:
        no request of theirs gets to finish or clean up."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.kill()
        self.popen.wait()

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=self.ssl_context) as response:
                return response.status == 200
        except OSError:
            return False


class CeleryWorker(_Process):
    """A Celery worker (threads pool, so every task runs in this pid). `--purge` drops
    tasks a previous, interrupted run may have left in the test broker."""

    def __init__(self, env: dict, log_path: Path, *, concurrency: int = 4):
        super().__init__(
            [str(VENV_BIN / "celery"), "-A", "athens_site", "worker", "--pool", "threads",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
             "--purge", "--loglevel", "INFO", "--hostname", f"test-worker-{os.getpid()}@%h"],
            env, log_path,
        )
        self.wait_until(lambda: " ready." in self.log(), "celery worker")
