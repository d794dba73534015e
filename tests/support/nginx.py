"""nginx in front of the proxy's web servers, from the shipped template
(athens_site/deploy/nginx.conf.template), for tests.

The template is rendered the way the official nginx image renders it (envsubst with
only the given variables substituted, nginx's own `$variables` left alone) and included
in a minimal top-level nginx.conf that keeps every path (pid, logs, temporary files)
inside the test's directory, so nginx runs without touching /etc, /var or /run.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import string
import subprocess
import time
from pathlib import Path

from tests.support.processes import REPO, free_port, stop_process

TEMPLATE = REPO / "athens_site" / "deploy" / "nginx.conf.template"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), *NGINX_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def placeholders(text: str) -> set[str]:
    """The `${NAME}` placeholders of a template."""
    return set(_PLACEHOLDER.findall(text))


def render(text: str, values: dict[str, str]) -> str:
    """envsubst restricted to `values`, as the official image does it: `$NAME` and
    `${NAME}` of those names are replaced, every other `$...` is left for nginx."""
    rendered = string.Template(text).safe_substitute(values)
    leftover = placeholders(rendered)
    if leftover:
        raise AssertionError(f"the template still has unset placeholders: {sorted(leftover)}")
    return rendered


class NginxServer:
    """`nginx -p <dir> -c <dir>/nginx.conf` on 127.0.0.1:<free port>, in the foreground
    (`daemon off`), with the shipped template as its only server."""

    def __init__(self, nginx: str, directory: Path, *, upstream: str, storage_dir: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.values = {
            "NGINX_PORT": f"127.0.0.1:{self.port}",
            "ATHENS_WEB_UPSTREAM": upstream,
            # Never asked: nothing in the test is resolved at run time (no `resolve`).
            "NGINX_RESOLVER": "127.0.0.1",
            "ATHENS_STORAGE_DIR": str(storage_dir),
        }
        self.rendered = render(TEMPLATE.read_text(), self.values)
        (directory / "athens.conf").write_text(self.rendered)
        self.error_log = directory / "error.log"
        self.access_log = directory / "access.log"
        self.conf = directory / "nginx.conf"
        self.conf.write_text(self._main_conf())
        self._output = open(directory / "nginx.out", "wb")
        self.popen = subprocess.Popen(
            [nginx, "-p", f"{directory}/", "-c", str(self.conf), "-e", str(self.error_log)],
            stdout=self._output, stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    def _main_conf(self) -> str:
        d = self.directory
        # As root, workers would switch to `nobody`, who cannot enter pytest's 0700
        # directories; run them as the test's own user instead.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").is_file() else ""
        # What the official image's /etc/nginx/nginx.conf has around its conf.d include.
        return f"""
daemon off;
{user}
worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {self.access_log};
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_timeout 65;
    include {d}/athens.conf;
}}
"""

    def log(self) -> str:
        parts = []
        for path in (self.directory / "nginx.out", self.error_log):
            if path.exists():
                parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def _wait_until_listening(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"nginx exited (status {self.popen.returncode}):\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nginx not listening in {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 10) -> None:
        stop_process(self.popen, timeout=timeout)  # SIGTERM: nginx's fast shutdown
        self._output.close()
