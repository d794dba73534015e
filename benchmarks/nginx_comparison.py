"""The proxy under gunicorn against nginx serving the same storage directory (issue 7).

One command measures, in the same run, on this machine, with wrk on loopback:

1. cached `.info` requests per second, auditing on (target: >= 0.10 of nginx's rate);
2. cached ~1 MiB `.zip` bytes per second (target: >= 0.8 of nginx's), gunicorn serving
   the file itself (sendfile) and, once ATHENS_ZIP_SERVING exists in
   athens_site/settings.py, also nginx in front of gunicorn with X-Accel-Redirect;
3. a mixed load (`@v/list`, `.info`, `.mod`, `.zip`, `@latest` of cached modules, paths
   rotated by a wrk Lua script): errors (non-2xx/3xx, socket errors), and the
   DownloadEvents written against the requests wrk reports (exactly one row each);
4. a cold `go mod download` of N module versions through the proxy against the go
   command on the upstream directly (benchmarks/cold_warm_download.py's tree and timing).

Set-up: a fresh PostgreSQL database (dropped and created, then migrated), a static
upstream (tests/support: ProxyTree + StaticProxyServer) holding small modules, one
module whose zip is ~1 MiB of random bytes and the N versions of item 4; the proxy's
cache is filled through the proxy itself, so its storage directory is a static GOPROXY
tree and nginx (`root <storage dir>`) answers the same URL paths. gunicorn is started
with the very command `make run` runs (`make -n run` is read at run time), with
DATABASE_URL, ATHENS_STORAGE_DIR and ATHENS_UPSTREAM pointing at the bench set-up.
Besides the Makefile default (WEB_WORKERS x WEB_THREADS) other worker/thread counts are
measured (--variants), `/healthz` on each (the ceiling of the stack: no SQL, no audit),
and the `.info` with ATHENS_HOT_CACHE / ATHENS_AUDIT_GROUP_COMMIT switched off when those
settings exist (--no-features skips them). While wrk runs, the CPU time of the server processes, of the
database's backends and of wrk is read from /proc, so that the tables also say how many
CPU milliseconds a request costs and how busy the machine was with other work.

The query count of each cached endpoint and an in-process timing (no gunicorn, no
network) come from a child process that drives Django's WSGI handler directly, with
every psycopg execute logged (Django's connection health check included), with a
what-if of the cached `.info` (one cost switched off at a time) and a cProfile. With
--py-spy (py-spy installed in the venv; not a requirement) every gunicorn worker is
sampled (`py-spy record --gil`) during an extra `.info` run and the merged profile is
summarised.

The mixed load is counted exactly: wrk abandons the requests in flight when its -d runs
out (the server would audit requests wrk never counts), so the Lua script stops sending
after --mixed-duration seconds and each wrk thread stops itself once its last answer is
in, within --mixed-grace more seconds.

Usage:
    .venv/bin/python benchmarks/nginx_comparison.py [--duration 10] [--mixed-duration 60]
        [--variants 4x8,2x8,2x4,5x8] [--go-versions 100] [--zip-kib 1024] [--py-spy]

Results: a table on stdout and benchmarks/results/nginx_comparison-<UTC time>.json
(+ -info-cprofile.txt). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

HOST = "nginx.example.test"
BIG_MODULE = f"{HOST}/big"
RESULTS_DIR = HERE / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_DB_BASE = "postgres://postgres@127.0.0.1:5432"

# --------------------------------------------------------------------------- wrk scripts

# Only done(): wrk stays "static" (no per-request Lua) and prints exact numbers.
REPORT_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    extra_json and extra_json() or ""))
end
"""

# The mixed load: every thread rotates over the same list of paths (from a different
# starting point). After `deadline` seconds no connection sends another request (delay()
# answers "in an hour") and a thread stops itself as soon as all its requests have been
# answered, so that wrk never abandons a request in flight when its -d runs out: every
# request the server saw is one wrk counts, and the audit count can be compared exactly.
# delay() is called once per connection at start and once after every response, so
# answered = delay calls - connections of the thread.
MIXED_LUA = r"""
local paths = {}
local n = 0
local counter = 0
sent = 0    -- globals: done() reads them with thread:get()
delays = 0
local conns = 0
local deadline = 0
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1]))
  for line in f:lines() do
    if #line > 0 then
      n = n + 1
      paths[n] = wrk.format("GET", line)
    end
  end
  f:close()
  deadline = os.time() + tonumber(args[2])
  conns = tonumber(args[3])
  counter = (id * 7919) % n
end

function request()
  counter = counter % n + 1
  -- wrk calls request() once in thread 0 before any thread runs, to check the
  -- request; a running connection always calls delay() first: count only those.
  if delays > 0 then
    sent = sent + 1
  end
  return paths[counter]
end

function delay()
  delays = delays + 1
  if os.time() >= deadline then
    if sent - (delays - conns) <= 0 then
      wrk.thread:stop()
    end
    return 3600000
  end
  return 0
end

function extra_json()
  local total_sent, total_delays = 0, 0
  for _, t in ipairs(threads) do
    total_sent = total_sent + t:get("sent")
    total_delays = total_delays + t:get("delays")
  end
  return string.format(',"lua_sent":%d,"lua_delay_calls":%d', total_sent, total_delays)
end
""" + REPORT_LUA


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    from tests.support.processes import free_port as _free_port

    return _free_port()


def http_get(url: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(url: str, process: subprocess.Popen, what: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} not ready in {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return total - idle, total


def tool_version(args: list[str]) -> str:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    return (result.stdout + result.stderr).strip().splitlines()[0] if (result.stdout + result.stderr).strip() else "?"


# --------------------------------------------------------------------------- database


class BenchDatabase:
    """A dedicated database, dropped and created at the start of every run."""

    def __init__(self, base: str, name: str):
        self.base = base.rstrip("/")
        self.name = name
        self.url = f"{self.base}/{name}"

    def _admin(self):
        import psycopg

        return psycopg.connect(f"{self.base}/postgres", autocommit=True)

    def recreate(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def backend_pids(self) -> list[int]:
        with self._admin() as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)).fetchall()
        return [row[0] for row in rows]

    def count_download_events(self) -> int:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM audit_downloadevent").fetchone()[0]

    def server_version(self) -> str:
        with self._admin() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def settings(self) -> dict:
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync','synchronous_commit','shared_buffers','max_connections','commit_delay')"
            ).fetchall()
        return dict(rows)


# --------------------------------------------------------------------------- modules


def build_modules(tree_root: Path, *, small_modules: int, versions: int, zip_kib: int) -> dict:
    """Small modules plus one ~zip_kib KiB zip of random (incompressible) bytes."""
    from tests.support.gomodules import ProxyTree

    tree = ProxyTree(tree_root)
    small = []
    for m in range(small_modules):
        module = f"{HOST}/small{m:02d}"
        for v in range(versions):
            version = f"v1.{v}.0"
            tree.add_version(module, version, {
                "go.mod": f"module {module}\n\ngo 1.21\n",
                "lib.go": f"package small{m:02d}\n\n// V names the version.\nconst V = \"{version}\"\n",
                "LICENSE": "Benchmark fixture, public domain.\n",
            })
            small.append((module, version))
    # Random bytes (seeded: the same zip every run) in a valid module zip: entries under
    # module@version/, a go.mod equal to the .mod, no vendor/ or VCS directories.
    rng = random.Random(7)
    target = zip_kib * 1024
    payload = target - 600
    for _ in range(3):
        files = {
            "go.mod": f"module {BIG_MODULE}\n\ngo 1.21\n",
            "big.go": "package big\n\n// Data is in testdata/blob.bin.\nconst Name = \"blob.bin\"\n",
            "testdata/blob.bin": rng.randbytes(payload),
        }
        written = tree.add_version(BIG_MODULE, "v1.0.0", files)
        size = len(written.zip_bytes)
        if abs(size - target) < 64:
            break
        payload += target - size
        rng = random.Random(7)
    return {"small": small, "big": (BIG_MODULE, "v1.0.0"), "big_zip_bytes": size}


def download_paths(module: str, version: str) -> dict[str, str]:
    from tests.support.gomodules import escape_path, escape_version

    base = f"/{escape_path(module)}/@v/{escape_version(version)}"
    return {ext: f"{base}.{ext}" for ext in ("info", "mod", "zip")}


def module_paths(module: str) -> dict[str, str]:
    from tests.support.gomodules import escape_path

    return {"list": f"/{escape_path(module)}/@v/list", "latest": f"/{escape_path(module)}/@latest"}


# --------------------------------------------------------------------------- servers


class Server:
    """A subprocess (gunicorn master or nginx master) with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict | None, log_path: Path, url: str, ready_path: str):
        self.name, self.url, self.log_path = name, url, log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for(url + ready_path, self.popen, name, log_path)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.popen.pid

    def pids(self) -> list[int]:
        return [self.pid, *children_of(self.pid)]

    def stop(self) -> None:
        from tests.support.processes import stop_process

        stop_process(self.popen, timeout=30)
        self._log.close()


def makefile_defaults() -> tuple[int, int]:
    text = (REPO / "Makefile").read_text()
    workers = re.search(r"^WEB_WORKERS\s*\?=\s*(\d+)", text, re.M)
    threads = re.search(r"^WEB_THREADS\s*\?=\s*(\d+)", text, re.M)
    return int(workers.group(1)) if workers else 4, int(threads.group(1)) if threads else 8


def make_run_command(port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command of `make run`, as make itself expands it (dry run)."""
    result = subprocess.run(
        ["make", "-n", "-s", "run", "HOST=127.0.0.1", f"PORT={port}", f"WEB_WORKERS={workers}",
         f"WEB_THREADS={threads}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    for line in result.stdout.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        if words and Path(words[0]).name == "gunicorn":
            return words
    raise SystemExit(f"no gunicorn command in `make -n run`:\n{result.stdout}")


def zip_serving_available() -> bool:
    return "ATHENS_ZIP_SERVING" in (REPO / "athens_site" / "settings.py").read_text()


class Bench:
    def __init__(self, args, work: Path, db: BenchDatabase, upstream_url: str):
        self.args, self.work, self.db = args, work, db
        self.storage = work / "storage"
        self.upstream_url = upstream_url
        self.server_count = 0
        self.results: dict = {"runs": []}

    # -- gunicorn
    def proxy_env(self, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ATHENS_", "CELERY_", "DATABASE_URL", "PROMETHEUS_"))}
        env.update(
            DATABASE_URL=self.db.url,
            ATHENS_STORAGE_DIR=str(self.storage),
            ATHENS_LOCK_DIR=str(self.work / "locks"),
            ATHENS_UPSTREAM=self.upstream_url,
            ATHENS_STATIC_ROOT=str(self.work / "static"),
            ATHENS_METRICS_DIR=str(self.work / "metrics"),  # not the repository's var/metrics
            DJANGO_SETTINGS_MODULE="athens_site.settings",
        )
        env.update(extra)
        return env

    def start_gunicorn(self, workers: int, threads: int, **extra_env: str) -> Server:
        port = free_port()
        command = make_run_command(port, workers, threads)
        self.results.setdefault("gunicorn_command", " ".join(command))
        self.server_count += 1
        server = Server(
            f"gunicorn {workers}x{threads}", command, self.proxy_env(**extra_env),
            self.work / f"gunicorn-{self.server_count}.log", f"http://127.0.0.1:{port}", "/healthz",
        )
        # All workers up (the master answers /healthz as soon as the first one is).
        deadline = time.monotonic() + 30
        while len(children_of(server.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return server

    # -- nginx
    def nginx_conf(self, name: str, port: int, server_block: str) -> Path:
        root = self.work / f"nginx-{name}"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / "temp" / sub).mkdir(parents=True, exist_ok=True)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        access = "access_log off;" if self.args.nginx_access_log == "off" else (
            f"access_log {root}/access.log combined buffer=64k flush=1s;")
        conf = root / "nginx.conf"
        conf.write_text(f"""# written by benchmarks/nginx_comparison.py
{user}worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{ application/json info; application/zip zip; text/plain mod; }}
    default_type text/plain;
    {access}
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 75s;
    client_body_temp_path {root}/temp/client_body;
    proxy_temp_path {root}/temp/proxy;
    fastcgi_temp_path {root}/temp/fastcgi;
    uwsgi_temp_path {root}/temp/uwsgi;
    scgi_temp_path {root}/temp/scgi;
{server_block}
}}
""")
        return conf

    def start_nginx(self, name: str, server_block_for_port, ready_path: str = "/") -> Server:
        port = free_port()
        conf = self.nginx_conf(name, port, server_block_for_port(port))
        root = conf.parent
        args = ["nginx", "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"), "-g", "daemon off;"]
        return Server(f"nginx {name}", args, None, root / "stdout.log", f"http://127.0.0.1:{port}", ready_path)

    def start_static_nginx(self) -> Server:
        storage = self.storage
        return self.start_nginx("static", lambda port: f"""    server {{
        listen 127.0.0.1:{port};
        root {storage};
    }}""")

    def start_front_nginx(self, gunicorn: Server) -> Server:
        storage, upstream = self.storage, gunicorn.url.removeprefix("http://")
        prefix = self.args.accel_prefix
        return self.start_nginx("front", lambda port: f"""    upstream athens {{
        server {upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://athens;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location {prefix} {{
            internal;
            alias {storage}/;
        }}
    }}""", ready_path="/healthz")

    # -- wrk
    def wrk(self, url: str, *, duration: float, script: str = "report", script_args: tuple = (),
            servers: list[Server] = (), label: str = "", record: bool = True, timeout: str | None = None) -> dict:
        lua = self.work / f"{script}.lua"
        if not lua.exists():
            lua.write_text(MIXED_LUA if script == "mixed" else REPORT_LUA)
        cmd = ["wrk", f"-t{self.args.wrk_threads}", f"-c{self.args.wrk_connections}", f"-d{int(round(duration))}s", "--latency",
               "--timeout", timeout or self.args.wrk_timeout, "-s", str(lua), url]
        if script_args:
            cmd += ["--", *map(str, script_args)]
        pids = {s.name: s.pids() for s in servers}
        db_pids = self.db.backend_pids()
        before = {name: {p: cpu_ticks(p) for p in group} for name, group in pids.items()}
        db_before = {p: cpu_ticks(p) for p in db_pids}
        machine_before = machine_ticks()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        result = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - started
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine_after = machine_ticks()
        if result.returncode != 0:
            raise SystemExit(f"wrk failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
        match = re.search(r"^WRKJSON (\{.*\})$", result.stdout, re.M)
        if not match:
            raise SystemExit(f"no WRKJSON line in wrk output:\n{result.stdout}")
        data = json.loads(match.group(1))
        seconds = data["duration_us"] / 1e6
        run = {
            "label": label,
            "url_path": "/" + url.split("/", 3)[3],
            "wrk": " ".join(cmd[: cmd.index("-s")] + [url]),
            **data,
            "requests_per_s": data["requests"] / seconds,
            "bytes_per_s": data["bytes"] / seconds,
            "errors": data["connect"] + data["read"] + data["write"] + data["timeout"] + data["status"],
        }
        # CPU seconds spent while wrk ran: server processes, database backends, wrk, machine.
        cpu, by_process = {}, {}
        for name, group in pids.items():
            after = {p: cpu_ticks(p) for p in [*group, *children_of(group[0])]}
            deltas = {p: (a - (before[name].get(p) or 0)) / CLK_TCK for p, a in after.items() if a is not None}
            cpu[name] = sum(deltas.values())
            by_process[name] = {str(p): round(v, 2) for p, v in deltas.items()}
        db_after = {p: cpu_ticks(p) for p in set(db_pids) | set(self.db.backend_pids())}
        cpu["postgres backends"] = sum(
            (a - (db_before.get(p) or 0)) for p, a in db_after.items() if a is not None) / CLK_TCK
        cpu["wrk"] = (children_after.ru_utime - children_before.ru_utime) + (
            children_after.ru_stime - children_before.ru_stime)
        busy = (machine_after[0] - machine_before[0]) / CLK_TCK
        total = (machine_after[1] - machine_before[1]) / CLK_TCK
        ours = sum(cpu.values())
        run["cpu_s"] = {k: round(v, 2) for k, v in cpu.items()}
        run["cpu_s_by_process"] = by_process  # master first: how evenly the workers were loaded
        run["machine"] = {"wall_s": round(wall, 2), "cpu_capacity_s": round(total, 2), "busy_s": round(busy, 2),
                          "other_processes_s": round(max(busy - ours, 0.0), 2)}
        if data["requests"]:
            run["cpu_ms_per_request"] = {k: round(v * 1000 / data["requests"], 3) for k, v in cpu.items()}
        if record:
            self.results["runs"].append(run)
        other = f"  (other processes: {run['machine']['other_processes_s']:.1f} of {total:.1f} CPU-s)" if pids else ""
        log(f"  {label:42s} {run['requests_per_s']:10.1f} req/s {run['bytes_per_s'] / 2**20:9.1f} MiB/s "
            f"p50 {data['p50_us'] / 1000:7.2f} ms  p99 {data['p99_us'] / 1000:7.2f} ms  errors {run['errors']}{other}")
        return run

    def measure(self, server: Server, path: str, label: str, servers: list[Server] | None = None) -> dict:
        if self.args.warmup > 0:
            self.wrk(server.url + path, duration=self.args.warmup, record=False, label=f"(warm-up) {label}")
        return self.wrk(server.url + path, duration=self.args.duration, servers=servers or [server], label=label)


# --------------------------------------------------------------------------- in-process child


def inprocess_main(config_path: str) -> None:
    """Child process: drive Django's WSGI handler directly (no gunicorn, no network) and
    log every SQL statement psycopg executes, with its time."""
    import cProfile
    import io
    import pstats
    from wsgiref.util import setup_testing_defaults

    config = json.loads(Path(config_path).read_text())
    import django

    django.setup()
    import psycopg
    from django.core.handlers.wsgi import WSGIHandler

    import modules.views.goproxy as goproxy_views

    statements: list[tuple[str, float]] = []
    audit_time = [0.0]
    original_execute = psycopg.Cursor.execute

    def execute(self, query, params=None, **kwargs):
        started = time.perf_counter()
        try:
            return original_execute(self, query, params, **kwargs)
        finally:
            statements.append((query if isinstance(query, str) else repr(query), time.perf_counter() - started))

    psycopg.Cursor.execute = execute
    original_record = goproxy_views.record_download

    def record_download(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original_record(*args, **kwargs)
        finally:
            audit_time[0] += time.perf_counter() - started

    goproxy_views.record_download = record_download
    handler = WSGIHandler()

    def call(path: str) -> tuple[str, int]:
        environ: dict = {}
        setup_testing_defaults(environ)
        environ.update(PATH_INFO=path, REQUEST_METHOD="GET", REMOTE_ADDR="127.0.0.1", SERVER_NAME="127.0.0.1",
                       HTTP_HOST="127.0.0.1", HTTP_USER_AGENT="Go-http-client/1.1", QUERY_STRING="")
        status: list[str] = []
        body = handler(environ, lambda s, h, exc_info=None: status.append(s))
        size = sum(len(chunk) for chunk in body)
        if hasattr(body, "close"):
            body.close()  # request_finished: Django's connection clean-up, as under gunicorn
        return status[0], size

    def measure(path: str, n: int) -> tuple[float, float, str, int]:
        """(wall ms, this process's CPU ms) per request, last status and size."""
        for _ in range(20):
            call(path)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            status, size = call(path)
        return ((time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n, status, size)

    out = {}
    n = config["requests"]
    for endpoint, path in config["paths"].items():
        statements.clear()
        audit_time[0] = 0.0
        for _ in range(20):
            call(path)
        statements.clear()
        audit_time[0] = 0.0
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(n):
            status, size = call(path)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        per_request = statements[len(statements) - len(statements) // n:]  # the last request's
        out[endpoint] = {
            "path": path,
            "status": status,
            "bytes": size,
            "ms_per_request": round(elapsed * 1000 / n, 3),
            "cpu_ms_per_request": round(cpu * 1000 / n, 3),
            "sql_per_request": round(len(statements) / n, 2),
            "sql_ms_per_request": round(sum(t for _, t in statements) * 1000 / n, 3),
            "audit_ms_per_request": round(audit_time[0] * 1000 / n, 3),
            "statements": [re.sub(r"\s+", " ", sql)[:300] for sql, _ in per_request],
        }

    # What-if for the cached .info: the same request with one cost switched off at a time
    # (settings changed in this child only), then cumulative from "group commit off".
    # Not proposals as such: dropping the audit row is not an option, it is the floor.
    from django.conf import settings
    from django.db import connection

    path = config["paths"]["info"]
    steps = []
    has_hot_cache = hasattr(settings, "ATHENS_HOT_CACHE")
    has_group_commit = hasattr(settings, "ATHENS_AUDIT_GROUP_COMMIT")

    def step(name: str) -> None:
        wall, cpu, status, _ = measure(path, n)
        statements.clear()
        for _ in range(5):
            call(path)
        steps.append({"step": name, "status": status, "ms_per_request": round(wall, 3),
                      "cpu_ms_per_request": round(cpu, 3), "sql_per_request": round(len(statements) / 5, 2)})

    if has_hot_cache:
        from modules import hot_cache

        deadline = time.monotonic() + 10
        while hot_cache._live_listener() is None and time.monotonic() < deadline:  # noqa: SLF001
            time.sleep(0.05)
    step("as served" + (f" (hot cache {'on' if getattr(settings, 'ATHENS_HOT_CACHE', False) else 'off'}, "
                        f"group commit {'on' if getattr(settings, 'ATHENS_AUDIT_GROUP_COMMIT', False) else 'off'})"
                        if has_hot_cache or has_group_commit else ""))
    if has_hot_cache:
        previous, settings.ATHENS_HOT_CACHE = settings.ATHENS_HOT_CACHE, False
        step("ATHENS_HOT_CACHE off: rules and READY row read from the database each time")
        settings.ATHENS_HOT_CACHE = previous
    if has_group_commit:
        settings.ATHENS_AUDIT_GROUP_COMMIT = False
        step("ATHENS_AUDIT_GROUP_COMMIT off: the INSERT from the request's own thread")
    connection.settings_dict["CONN_HEALTH_CHECKS"] = False
    connection.health_check_enabled = False
    step("+ CONN_HEALTH_CHECKS off (no SELECT 1 per request)")
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    step("+ synchronous_commit off for the audit INSERT (no WAL flush wait)")
    goproxy_views.record_download = lambda *args, **kwargs: None
    step("+ no audit INSERT at all (not an option: the floor)")
    goproxy_views.record_download = record_download
    wall, cpu, status, _ = measure("/healthz", n)
    steps.append({"step": "/healthz: Django stack only (middleware, URL resolving; no SQL)", "status": status,
                  "ms_per_request": round(wall, 3), "cpu_ms_per_request": round(cpu, 3), "sql_per_request": 0})
    out["info_what_if"] = steps

    # Back to the path as served for the profile below.
    if has_group_commit:
        settings.ATHENS_AUDIT_GROUP_COMMIT = True
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    connection.close()
    # cProfile of the cached .info request: where the Python time goes.
    path = config["paths"]["info"]
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        call(path)
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
    Path(config["profile_out"]).write_text(text.getvalue())
    print("INPROCESS " + json.dumps(out))


def run_inprocess(bench: Bench, paths: dict[str, str], requests: int) -> dict:
    config = bench.work / "inprocess.json"
    profile_out = bench.work / "inprocess-info.pstats.txt"
    config.write_text(json.dumps({"paths": paths, "requests": requests, "profile_out": str(profile_out)}))
    result = subprocess.run([sys.executable, __file__, "--_inprocess", str(config)], cwd=REPO,
                            env=bench.proxy_env(), capture_output=True, text=True)
    match = re.search(r"^INPROCESS (\{.*\})$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise SystemExit(f"in-process measurement failed:\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    bench.results["inprocess_profile_text"] = profile_out.read_text()
    return data


# --------------------------------------------------------------------------- py-spy


def py_spy_profile(bench: Bench, server: Server, path: str) -> dict | None:
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        log("py-spy is not installed in the venv (pip install py-spy); skipping the worker profile")
        return None
    # Every worker, merged: a new wrk run spreads its connections over the workers
    # unevenly (a worker may get none), so no single worker can be picked in advance.
    workers = children_of(server.pid)
    duration = max(int(bench.args.duration), 5)
    spies = []
    for pid in workers:
        raw = bench.work / f"py-spy-info-{pid}.txt"
        spies.append((pid, raw, subprocess.Popen(
            [str(py_spy), "record", "--pid", str(pid), "--duration", str(duration), "--format", "raw",
             "--output", str(raw), "--rate", "100", "--gil"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
    time.sleep(1)
    run = bench.wrk(server.url + path, duration=duration, servers=[server], label="gunicorn .info (under py-spy)",
                    record=False)
    text, per_worker, messages = "", {}, []
    for pid, raw, spy in spies:
        output = spy.communicate(timeout=60)[0].decode(errors="replace")
        messages += [line for line in output.splitlines() if "Samples:" in line or "rror" in line][:2]
        part = raw.read_text() if raw.exists() else ""
        per_worker[pid] = sum(int(line.rpartition(" ")[2]) for line in part.splitlines() if line.strip())
        text += part + ("\n" if part and not part.endswith("\n") else "")
    summary = summarise_collapsed(text, bench.work)
    summary["samples_per_worker"] = per_worker
    summary["cpu_s_per_worker"] = run["cpu_s_by_process"].get(server.name, {})
    summary["py_spy_output"] = messages[:8]
    return summary


# Where a gunicorn worker's CPU samples are, inclusive: a sample counts for every marker
# found on its stack (so the shares overlap and do not add up to 100 %).
PROFILE_MARKERS = [
    ("Django handler (whole request, middleware included)", "get_response (django/core/handlers/base.py"),
    ("download view (modules/views/goproxy.py download)", "download (modules/views/goproxy.py"),
    ("audit insert (audit/recorder.py record_download)", "record_download (audit/recorder.py"),
    ("ready_version() (hot cache or query)", "ready_version (modules/fetch.py"),
    ("Policy() rules (active_rules: hot cache or query)", "active_rules (modules/policy/rules.py"),
    ("hot cache (modules/hot_cache.py)", "modules/hot_cache.py"),
    ("group commit hand-off (audit/group_commit.py save)", "save (audit/group_commit.py"),
    ("group commit writer thread (audit/group_commit.py run)", "_Writer.run (audit/group_commit.py"),
    ("connection health check (is_usable: SELECT 1)", "is_usable (django/db/backends"),
    ("request_started/finished: close_old_connections", "close_old_connections (django/db/__init__.py"),
    ("any SQL execute (psycopg)", "execute (psycopg/cursor.py"),
    ("Django ORM query compilation (as_sql)", "as_sql (django/db/models/sql/compiler.py"),
    ("logging (access log and others)", "logging/__init__.py"),
    ("Prometheus metrics (prometheus_client)", "prometheus_client/"),
    ("gunicorn: outside the Django handler", None),
]


def _outside_handler(stack: str) -> bool:
    """A request thread's sample outside Django (gunicorn's own work), not one of the
    application's background threads (audit writer, cache listener)."""
    return not any(marker in stack for marker in (
        "get_response (django/core/handlers/base.py", "audit/group_commit.py", "modules/hot_cache.py"))


def summarise_collapsed(text: str, work: Path) -> dict:
    """Summarise py-spy's collapsed stacks (`frame;frame;... count`) of one worker:
    inclusive shares of PROFILE_MARKERS and the hottest leaf frames (self time)."""
    total = 0
    marked: dict[str, int] = {}
    leaves: dict[str, int] = {}
    outside: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        total += count
        for name, marker in PROFILE_MARKERS:
            hit = (marker in stack) if marker else _outside_handler(stack)
            if hit:
                marked[name] = marked.get(name, 0) + count
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        leaves[frames[-1]] = leaves.get(frames[-1], 0) + count
        if _outside_handler(stack):
            where = " < ".join(reversed(frames[-2:]))
            outside[where] = outside.get(where, 0) + count
    (work / "py-spy-summary.json").write_text(json.dumps({"markers": marked, "leaves": leaves}, indent=1))
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "inclusive_pct": {name: round(100 * marked.get(name, 0) / total, 1) for name, _ in PROFILE_MARKERS},
        "top_self_pct": {k: round(100 * v / total, 1) for k, v in sorted(leaves.items(), key=lambda kv: -kv[1])[:15]},
        "outside_handler_top_pct": {k: round(100 * v / total, 1)
                                    for k, v in sorted(outside.items(), key=lambda kv: -kv[1])[:10]},
    }


# --------------------------------------------------------------------------- phases


def fill_cache(proxy: Server, modules: dict) -> None:
    """Ask the proxy for everything once: fetched from the upstream, stored, cached."""
    for module in sorted({m for m, _ in modules["small"]} | {modules["big"][0]}):
        for path in module_paths(module).values():
            status, _, body = http_get(proxy.url + path)
            if status != 200:
                raise SystemExit(f"{path}: {status} {body[:200]!r}")
    for module, version in [*modules["small"], modules["big"]]:
        for path in download_paths(module, version).values():
            status, _, body = http_get(proxy.url + path)
            if status != 200:
                raise SystemExit(f"{path}: {status} {body[:200]!r}")


def check_same_bytes(a: Server, b: Server, paths: list[str]) -> None:
    for path in paths:
        sa, _, body_a = http_get(a.url + path)
        sb, _, body_b = http_get(b.url + path)
        if (sa, body_a) != (sb, body_b):
            raise SystemExit(f"{path}: {a.name} answered {sa} ({len(body_a)} bytes), "
                             f"{b.name} {sb} ({len(body_b)} bytes): not the same URL tree")


def go_phase(bench: Bench, proxy: Server, queries: list[str]) -> dict:
    """Item 4: cold_warm_download's timing, through this run's proxy (make-run gunicorn)."""
    from cold_warm_download import timed_download

    from tests.support.gocmd import GoEnv

    runs = {}
    for name, goproxy in (("direct", bench.upstream_url), ("cold", proxy.url), ("warm", proxy.url)):
        go = GoEnv(goproxy, base_dir=bench.work / f"go-{name}")
        try:
            runs[name] = timed_download(go, queries)
        finally:
            go.cleanup()
        log(f"  go mod download ({len(queries)} versions) {name:6s} {runs[name]:6.2f} s")
    return {
        "versions": len(queries),
        "seconds": {k: round(v, 3) for k, v in runs.items()},
        "cold_over_direct": round(runs["cold"] / runs["direct"], 2),
        "warm_over_direct": round(runs["warm"] / runs["direct"], 2),
    }


def mixed_phase(bench: Bench, proxy: Server, modules: dict) -> dict:
    paths = []
    for module in sorted({m for m, _ in modules["small"]}):
        paths += module_paths(module).values()
    for module, version in [*modules["small"], modules["big"]]:
        paths += download_paths(module, version).values()
    paths += module_paths(modules["big"][0]).values()
    path_file = bench.work / "mixed-paths.txt"
    path_file.write_text("\n".join(paths) + "\n")
    conns_per_thread = bench.args.wrk_connections // bench.args.wrk_threads
    grace = bench.args.mixed_grace
    # Let the audit rows of the warm-up land before counting.
    before = bench.db.count_download_events()
    run = bench.wrk(proxy.url + "/", duration=bench.args.mixed_duration + grace, script="mixed",
                    script_args=(path_file, bench.args.mixed_duration, conns_per_thread), servers=[proxy],
                    label=f"mixed load ({len(paths)} paths) on {proxy.name}")
    # The last rows are written before the responses are sent; give stragglers a moment.
    after = bench.db.count_download_events()
    for _ in range(20):
        time.sleep(0.25)
        now = bench.db.count_download_events()
        if now == after:
            break
        after = now
    run["requests_per_s"] = run["requests"] / bench.args.mixed_duration
    run["bytes_per_s"] = run["bytes"] / bench.args.mixed_duration
    events = after - before
    socket_errors = run["connect"] + run["read"] + run["write"] + run["timeout"]
    return {
        "paths": len(paths),
        "duration_s": bench.args.mixed_duration,
        "wrk_requests": run["requests"],
        "lua_sent": run.get("lua_sent"),
        "requests_per_s": round(run["requests_per_s"], 1),
        "non_2xx_3xx": run["status"],
        "socket_errors": socket_errors,
        "download_events_before": before,
        "download_events_after": after,
        "download_events_written": events,
        "events_minus_requests": events - run["requests"],
        "ok": run["status"] == 0 and socket_errors == 0 and events == run["requests"],
        "run": run,
    }


# --------------------------------------------------------------------------- report


def print_report(results: dict) -> None:
    print()
    print("=" * 100)
    print(f"{'run':48s} {'req/s':>10s} {'MiB/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'err':>5s} "
          f"{'srv ms/req':>10s} {'db ms/req':>9s}")
    for run in results["runs"]:
        cpu = run.get("cpu_ms_per_request", {})
        server_ms = sum(v for k, v in cpu.items() if k not in ("wrk", "postgres backends"))
        print(f"{run['label'][:48]:48s} {run['requests_per_s']:10,.0f} {run['bytes_per_s'] / 2**20:9.1f} "
              f"{run['p50_us'] / 1000:8.2f} {run['p99_us'] / 1000:8.2f} {run['errors']:5d} "
              f"{server_ms:10.3f} {cpu.get('postgres backends', 0):9.3f}")
    print()
    print("Ratios against nginx measured right before (targets: .info >= 0.10, .zip >= 0.80):")
    for item in results["comparisons"]:
        mark = "meets" if item["meets_target"] else "MISSES"
        print(f"  {item['what']:60s} {item['ratio']:6.3f}  ({mark} {item['target']})")
    mixed = results.get("mixed")
    if mixed:
        print(f"\nMixed load {mixed['duration_s']} s: {mixed['wrk_requests']} requests "
              f"({mixed['requests_per_s']:.0f}/s), non-2xx/3xx {mixed['non_2xx_3xx']}, socket errors "
              f"{mixed['socket_errors']}, DownloadEvents written {mixed['download_events_written']} "
              f"-> {'OK' if mixed['ok'] else 'NOT OK'}")
    go = results.get("go")
    if go:
        s = go["seconds"]
        print(f"\ngo mod download of {go['versions']} versions: direct {s['direct']:.2f} s, cold via proxy "
              f"{s['cold']:.2f} s ({go['cold_over_direct']}x), warm {s['warm']:.2f} s ({go['warm_over_direct']}x)")
    inproc = results.get("inprocess")
    if inproc:
        print("\nIn-process (WSGI handler, one thread, no gunicorn/network), per cached request:")
        for endpoint, d in inproc.items():
            if endpoint == "info_what_if":
                continue
            print(f"  {endpoint:7s} {d['ms_per_request']:6.2f} ms ({d['cpu_ms_per_request']:.2f} ms CPU), "
                  f"{d['sql_per_request']:.0f} SQL statements ({d['sql_ms_per_request']:.2f} ms), "
                  f"audit {d['audit_ms_per_request']:.2f} ms")
        for sql in inproc.get("info", {}).get("statements", []):
            print(f"      .info SQL: {sql[:150]}")
        print("  cached .info, what-if (in-process, one thread; '+' steps are cumulative):")
        for item in inproc.get("info_what_if", []):
            print(f"    {item['ms_per_request']:6.2f} ms wall {item['cpu_ms_per_request']:6.2f} ms CPU "
                  f"{item['sql_per_request']:4.1f} SQL  {item['step']}")
    spy = results.get("py_spy")
    if spy:
        print(f"\npy-spy --gil, all gunicorn workers under the .info load ({spy['samples']} samples, "
              f"per worker {list(spy.get('samples_per_worker', {}).values())}; inclusive %):")
        for name, pct in spy.get("inclusive_pct", {}).items():
            print(f"  {pct:5.1f} %  {name}")
        print("  hottest frames (self):")
        for name, pct in list(spy.get("top_self_pct", {}).items())[:8]:
            print(f"  {pct:5.1f} %  {name}")
    print("=" * 100)


# --------------------------------------------------------------------------- main


def parse_variants(text: str, default: tuple[int, int]) -> list[tuple[int, int]]:
    variants = [default]
    for item in filter(None, (s.strip() for s in text.split(","))):
        workers, _, threads = item.partition("x")
        variant = (int(workers), int(threads or default[1]))
        if variant not in variants:
            variants.append(variant)
    return variants


def main() -> None:
    default = makefile_defaults()
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk measurement (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each measurement (2)")
    parser.add_argument("--mixed-duration", type=int, default=60, help="seconds of the mixed load (60; 0 skips it)")
    parser.add_argument("--mixed-grace", type=int, default=10,
                        help="extra wrk -d seconds for the mixed load's last requests to be answered (15)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--wrk-timeout", default="10s")
    parser.add_argument("--variants", default=f"{2 * cores}x{default[1]},{cores}x{default[1]},"
                        f"{cores}x{default[1] // 2},{2 * cores + 1}x{default[1]}",
                        help="gunicorn WORKERSxTHREADS to measure besides the Makefile default "
                             f"({default[0]}x{default[1]}); '' for the default only")
    parser.add_argument("--small-modules", type=int, default=20)
    parser.add_argument("--versions-per-module", type=int, default=5)
    parser.add_argument("--zip-kib", type=int, default=1024, help="size of the big zip (1024 KiB)")
    parser.add_argument("--go-versions", type=int, default=100, help="item 4 (0 skips it)")
    parser.add_argument("--go-size-kb", type=int, default=64, help="as cold_warm_download.py --size-kb")
    parser.add_argument("--inprocess-requests", type=int, default=300)
    parser.add_argument("--py-spy", action="store_true", help="profile the workers during an extra .info run")
    parser.add_argument("--no-front", action="store_true", help="skip nginx in front of gunicorn")
    parser.add_argument("--no-features", action="store_true",
                        help="skip the .info runs with ATHENS_HOT_CACHE / ATHENS_AUDIT_GROUP_COMMIT off")
    parser.add_argument("--accel-prefix", default="/_athens_storage/")
    parser.add_argument("--nginx-access-log", choices=("off", "file"), default="file")
    parser.add_argument("--database-base", default=DEFAULT_DB_BASE,
                        help="PostgreSQL server URL without the database name")
    parser.add_argument("--database-name", default="athens_bench_nginx")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the database")
    parser.add_argument("--output", type=Path, default=None, help="JSON results file")
    parser.add_argument("--_inprocess", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._inprocess:
        inprocess_main(args._inprocess)
        return
    for tool in ("wrk", "nginx", "make"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")

    variants = parse_variants(args.variants, default)
    accel = zip_serving_available()
    started_at = datetime.now(timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="athens-nginx-bench-"))
    work.chmod(0o755)  # nginx workers read the storage under it
    db = BenchDatabase(args.database_base, args.database_name)
    results: dict = {}
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, work, True)
        log(f"work directory {work}; database {db.url} (dropped and created)")
        db.recreate()
        if not args.keep:
            stack.callback(db.drop)

        log("building modules")
        modules = build_modules(work / "tree", small_modules=args.small_modules,
                                versions=args.versions_per_module, zip_kib=args.zip_kib)
        go_queries = []
        if args.go_versions:
            from cold_warm_download import build_tree

            go_queries = build_tree(work / "tree", args.go_versions, args.go_size_kb)
        from tests.support.upstream import StaticProxyServer

        upstream = StaticProxyServer(work / "tree").start()
        stack.callback(upstream.stop)
        bench = Bench(args, work, db, upstream.url)
        results = bench.results
        env = bench.proxy_env()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)

        results["setup"] = {
            "started_utc": started_at.isoformat(timespec="seconds"),
            "cores": cores,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "python": platform.python_version(),
            "nginx": tool_version(["nginx", "-v"]),
            "wrk": tool_version(["wrk", "-v"]),
            "gunicorn": tool_version([str(Path(sys.executable).parent / "gunicorn"), "--version"]),
            "postgres": db.server_version(),
            "postgres_settings": db.settings(),
            "makefile_default_workers_threads": list(default),
            "variants": [f"{w}x{t}" for w, t in variants],
            "wrk_threads": args.wrk_threads,
            "wrk_connections": args.wrk_connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "mixed_duration_s": args.mixed_duration,
            "small_versions": len(modules["small"]),
            "big_zip_bytes": modules["big_zip_bytes"],
            "nginx_access_log": args.nginx_access_log,
            "zip_serving_setting": accel,
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "git_head": tool_version(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"])[:120],
            "git_dirty_files": [line[3:] for line in subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True).stdout.splitlines()
                if not line[3:].startswith("benchmarks/")],
        }

        info_path = download_paths(*modules["small"][len(modules["small"]) // 2])["info"]
        zip_path = download_paths(*modules["big"])["zip"]
        results["paths"] = {"info": info_path, "zip": zip_path}
        zip_label = f"{modules['big_zip_bytes'] / 2**20:.3g} MiB .zip"
        comparisons = results["comparisons"] = []
        extra = {"ATHENS_ZIP_SERVING": "sendfile"} if accel else {}

        def compare(what: str, ours: dict, reference: dict, key: str, target: float) -> None:
            ratio = ours[key] / reference[key] if reference[key] else 0.0
            comparisons.append({"what": what, "ratio": round(ratio, 4), "target": target,
                                "meets_target": ratio >= target, "ours": round(ours[key], 1),
                                "nginx": round(reference[key], 1), "metric": key})

        # -- the Makefile default: item 4, cache filling, in-process counts, items 1 and 2.
        workers, threads = variants[0]
        log(f"gunicorn as `make run` ({workers} workers x {threads} threads)")
        proxy = bench.start_gunicorn(workers, threads, **extra)
        try:
            if go_queries:
                log("item 4: go mod download, direct / cold / warm")
                results["go"] = go_phase(bench, proxy, go_queries)
            log("filling the proxy's cache through the proxy")
            fill_cache(proxy, modules)
            nginx = bench.start_static_nginx()
            stack.callback(nginx.stop)
            check_same_bytes(proxy, nginx, [info_path, zip_path, download_paths(*modules["small"][0])["mod"]])
            log("in-process: SQL statements and time per cached request")
            small = modules["small"][0]
            results["inprocess"] = run_inprocess(bench, {
                "info": download_paths(*small)["info"], "mod": download_paths(*small)["mod"],
                "zip": download_paths(*small)["zip"], "list": module_paths(small[0])["list"],
                "latest": module_paths(small[0])["latest"],
            }, args.inprocess_requests)
        except BaseException:
            proxy.stop()
            raise

        best = None
        for index, (workers, threads) in enumerate(variants):
            if index:
                log(f"gunicorn {workers} workers x {threads} threads")
                proxy = bench.start_gunicorn(workers, threads, **extra)
            try:
                name = f"gunicorn {workers}x{threads}" + (" (make run default)" if index == 0 else "")
                ref = bench.measure(nginx, info_path, "nginx .info")
                ours = bench.measure(proxy, info_path, f"{name} .info")
                compare(f".info req/s, {name}", ours, ref, "requests_per_s", 0.10)
                # The ceiling of this stack: Django + middleware + gunicorn, no SQL, no audit.
                bench.measure(proxy, "/healthz", f"{name} /healthz (no SQL, no audit)")
                ref_zip = bench.measure(nginx, zip_path, f"nginx {zip_label}")
                ours_zip = bench.measure(proxy, zip_path, f"{name} {zip_label} (sendfile)")
                compare(f".zip bytes/s, {name}, sendfile", ours_zip, ref_zip, "bytes_per_s", 0.8)
                if best is None or ours["requests_per_s"] > best[1]:
                    best = ((workers, threads), ours["requests_per_s"])
                if index == 0 and args.py_spy:
                    log("py-spy: the workers under the .info load")
                    results["py_spy"] = py_spy_profile(bench, proxy, info_path)
            finally:
                proxy.stop()
        results["best_info_variant"] = f"{best[0][0]}x{best[0][1]}"

        # -- the hot-path settings, switched off one at a time (the Makefile default workers).
        settings_text = (REPO / "athens_site" / "settings.py").read_text()
        features = []
        if "ATHENS_HOT_CACHE" in settings_text:
            features.append(("ATHENS_HOT_CACHE=false", {"ATHENS_HOT_CACHE": "false"}))
        if "ATHENS_AUDIT_GROUP_COMMIT" in settings_text:
            features.append(("ATHENS_AUDIT_GROUP_COMMIT=false", {"ATHENS_AUDIT_GROUP_COMMIT": "false"}))
        if len(features) == 2:
            features.append(("both false", {**features[0][1], **features[1][1]}))
        workers, threads = variants[0]
        for label, feature_env in ([] if args.no_features else features):
            log(f"gunicorn {workers}x{threads} with {label}")
            proxy = bench.start_gunicorn(workers, threads, **extra, **feature_env)
            try:
                ref = bench.measure(nginx, info_path, "nginx .info")
                ours = bench.measure(proxy, info_path, f"gunicorn {workers}x{threads} .info, {label}")
                compare(f".info req/s, gunicorn {workers}x{threads}, {label}", ours, ref, "requests_per_s", 0.10)
            finally:
                proxy.stop()

        # -- nginx in front of gunicorn (X-Accel-Redirect for zips once the setting exists).
        if not args.no_front:
            workers, threads = variants[0]
            mode = "accel" if accel else "proxied"
            log(f"nginx in front of gunicorn {workers}x{threads} (zips {mode})")
            accel_env = {"ATHENS_ZIP_SERVING": "accel", "ATHENS_ACCEL_PREFIX": args.accel_prefix} if accel else {}
            proxy = bench.start_gunicorn(workers, threads, **accel_env)
            try:
                if accel:
                    status, headers, body = http_get(proxy.url + zip_path)
                    if status != 200 or body or not headers.get("X-Accel-Redirect", "").startswith(args.accel_prefix):
                        raise SystemExit(f"ATHENS_ZIP_SERVING=accel: gunicorn answered {status}, {len(body)} bytes, "
                                         f"{headers}")
                front = bench.start_front_nginx(proxy)
                try:
                    status, headers, body = http_get(front.url + zip_path)
                    if status != 200 or len(body) != modules["big_zip_bytes"] or "X-Accel-Redirect" in headers:
                        raise SystemExit(f"front nginx: {zip_path} answered {status}, {len(body)} bytes, {headers}")
                    both = [front, proxy]
                    ref = bench.measure(nginx, info_path, "nginx .info")
                    ours = bench.measure(front, info_path, f"nginx -> gunicorn {workers}x{threads} .info",
                                         servers=both)
                    compare(f".info req/s, nginx in front of gunicorn {workers}x{threads}", ours, ref,
                            "requests_per_s", 0.10)
                    ref_zip = bench.measure(nginx, zip_path, f"nginx {zip_label}")
                    ours_zip = bench.measure(front, zip_path,
                                             f"nginx -> gunicorn {workers}x{threads} {zip_label} ({mode})",
                                             servers=both)
                    compare(f".zip bytes/s, nginx in front of gunicorn {workers}x{threads}, {mode}", ours_zip,
                            ref_zip, "bytes_per_s", 0.8)
                finally:
                    front.stop()
            finally:
                proxy.stop()

        # -- item 3: the mixed load on the Makefile default (--mixed-duration 0 skips it).
        workers, threads = variants[0]
        if args.mixed_duration > 0:
            log(f"item 3: mixed load, {args.mixed_duration} s, gunicorn {workers}x{threads}")
            proxy = bench.start_gunicorn(workers, threads, **extra)
            try:
                bench.wrk(proxy.url + info_path, duration=args.warmup or 1, record=False, label="(warm-up) mixed")
                time.sleep(1)
                results["mixed"] = mixed_phase(bench, proxy, modules)
            finally:
                proxy.stop()
        results["setup"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        results["setup"]["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")

    print_report(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    output = args.output or RESULTS_DIR / f"nginx_comparison-{started_at:%Y%m%d-%H%M%S}.json"
    profile_text = results.pop("inprocess_profile_text", None)
    output.write_text(json.dumps(results, indent=1) + "\n")
    log(f"results written to {output}")
    if profile_text:
        profile_path = output.with_name(output.stem + "-info-cprofile.txt")
        profile_path.write_text(profile_text)
        log(f"cProfile of the in-process .info requests: {profile_path}")


if __name__ == "__main__":
    main()
