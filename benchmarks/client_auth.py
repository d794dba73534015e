"""What a proxy token costs a cached download: the same cached `.info` under wrk,
anonymous (ATHENS_CLIENT_AUTH=none) and with an HTTP Basic proxy token
(ATHENS_CLIENT_AUTH=required), side by side, on PostgreSQL, under gunicorn as `make run`
starts it.

    .venv/bin/python benchmarks/client_auth.py [--duration 10] [--workers 2] [--threads 8]

A fresh database (athens_bench_client_auth on the local PostgreSQL, or --database-url)
is migrated, the version is fetched once from a static upstream on 127.0.0.1, then each
mode runs a warm-up and a measured wrk run. Every request is audited as usual. The
verified token is kept per process (modules/hot_cache.py), so the difference is the
header parsing, one SHA-256 and the `private` Cache-Control, not a query.
"""

import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.gomodules import ProxyTree, standard_fixture  # noqa: E402
from tests.support.services import free_port  # noqa: E402
from tests.support.upstream import StaticProxyServer  # noqa: E402

VENV_BIN = Path(sys.executable).parent
INFO = "/mods.example.test/hello/@v/v1.0.0.info"


def run(args, env, **kwargs):
    return subprocess.run(args, cwd=REPO, env=env, check=True, capture_output=True, text=True, **kwargs)


def serve(env, port, workers, threads, log):
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "athens_site.wsgi", "-c", "python:athens_site.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
         "--threads", str(threads), "--access-logfile", "/dev/null"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def wrk(url, duration, header=None):
    args = ["wrk", "-t2", "-c16", f"-d{duration}s", "--latency"]
    if header:
        args += ["-H", header]
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return rate, int(non_2xx.group(1)) if non_2xx else 0, p99


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/athens_bench_client_auth")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="athens-bench-auth-"))
    tree = ProxyTree(work / "upstream")
    standard_fixture(tree)
    upstream = StaticProxyServer(tree).start()
    name = options.database_url.rsplit("/", 1)[1]
    admin_url = options.database_url.rsplit("/", 1)[0] + "/postgres"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("ATHENS_", "CELERY_"))},
           "DATABASE_URL": options.database_url, "ATHENS_UPSTREAM": upstream.url,
           "ATHENS_STORAGE_DIR": str(work / "storage"), "ATHENS_LOCK_DIR": str(work / "locks"),
           "CELERY_BROKER_URL": "", "DJANGO_SETTINGS_MODULE": "athens_site.settings"}
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    run([sys.executable, "manage.py", "migrate", "--noinput"], env)
    run([sys.executable, "manage.py", "shell", "-c",
         "from django.contrib.auth import get_user_model; get_user_model().objects.create_user('bench')"], env)
    secret = run([sys.executable, "manage.py", "proxy_token", "create", "bench", "--name", "wrk"], env
                 ).stdout.strip().splitlines()[-1]
    header = "Authorization: Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()

    results = {}
    with open(work / "web.log", "wb") as log:
        for mode, sent in (("none", None), ("required", header)):
            port = free_port()
            web = serve({**env, "ATHENS_CLIENT_AUTH": mode}, port, options.workers, options.threads, log)
            try:
                url = f"http://127.0.0.1:{port}{INFO}"
                request = urllib.request.Request(url, headers=dict([sent.split(": ", 1)]) if sent else {})
                urllib.request.urlopen(request, timeout=60).read()  # fetched once, then cached
                wrk(url, 3, sent)  # warm-up: every process has its rules, row and token in memory
                results[mode] = wrk(url, options.duration, sent)
            finally:
                web.terminate()
                web.wait(30)
    upstream.stop()
    per_call = time_identify(env, secret)
    anonymous, token = results["none"], results["required"]
    print(f"{'mode':<40} {'req/s':>8} {'non-2xx':>8} {'p99':>8}")
    print(f"{'none, anonymous':<40} {anonymous[0]:>8.0f} {anonymous[1]:>8} {anonymous[2]:>8}")
    print(f"{'required, HTTP Basic proxy token':<40} {token[0]:>8.0f} {token[1]:>8} {token[2]:>8}")
    print(f"ratio token/anonymous: {token[0] / anonymous[0]:.2f}")
    for mode, microseconds in per_call.items():
        print(f"identify() in-process, {mode}: {microseconds:.1f} us per request")


def time_identify(env, secret, calls=20000):
    """The token check alone, in this process, the token already verified and kept: the
    share of a request's CPU that wrk's noisy numbers cannot show."""
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.test import RequestFactory

    from modules import hot_cache
    from modules.tokens.client_auth import identify

    deadline = time.monotonic() + 10
    while hot_cache._live_listener() is None and time.monotonic() < deadline:  # noqa: SLF001
        time.sleep(0.05)
    factory = RequestFactory()
    header = "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()
    requests = {"none": factory.get(INFO), "required": factory.get(INFO, HTTP_AUTHORIZATION=header)}
    result = {}
    for mode, request in requests.items():
        settings.ATHENS_CLIENT_AUTH = mode
        identify(request)
        started = time.perf_counter()
        for _ in range(calls):
            identify(request)
        result[mode] = (time.perf_counter() - started) / calls * 1e6
    hot_cache.stop()
    return result


if __name__ == "__main__":
    main()
