"""Issue 20's table of hostile inputs, through the proxy as `make run` serves it.

Builds each input as a module on a static GOPROXY on 127.0.0.1, then:

- fetch: each module is fetched in a fresh child process (django.setup(), then
  modules.fetch.fetch_version), which reports the time and its peak RSS (VmHWM: Linux
  keeps ru_maxrss across exec, so the parent's would show) next to its RSS before the
  fetch, so each input's memory is measured alone;
- pages: gunicorn as `make run` starts it (4 workers x 8 threads, ATHENS_UI_PUBLIC) and
  each page a user would open is timed (median of 3) with its size;
- trickle: 20 concurrent cold requests to an upstream that sends each zip in pieces
  two seconds apart (40 s in all), with ATHENS_FETCH_TIMEOUT=10; meanwhile /healthz and a cached .info are
  asked every 50 ms and their slowest answer reported;
- patterns: the exponential glob of the table against a 200-character path element.

Usage:  .venv/bin/python benchmarks/hostile.py [--skip-million] [--json results.json]
        (SQLite as `make run`, or DATABASE_URL=postgres://... for a fresh PostgreSQL database)
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.cold_warm_download import fresh_database  # noqa: E402
from tests.support.gomodules import ProxyTree  # noqa: E402
from tests.support.processes import free_port  # noqa: E402
from tests.support.upstream import StaticProxyServer  # noqa: E402

HOST = "hostile.bench.test"
INFO = {"Version": "v1.0.0", "Time": "2024-01-02T03:04:05Z"}


def tiny_files_zip(module: str, count: int) -> bytes:
    """`count` files of a few bytes, stored: the table's "zip of N tiny files"."""
    buffer = io.BytesIO()
    prefix = f"{module}@v1.0.0/"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(prefix + "go.mod", f"module {module}\n")
        for i in range(count):
            archive.writestr(f"{prefix}d{i // 1000}/f{i}.go", f"package d{i // 1000}\n")
    return buffer.getvalue()


def build_inputs(tree: ProxyTree, *, million: bool, only_trickle: bool = False) -> dict[str, str]:
    """Publish the table's inputs; {label: module path}."""
    modules = {}
    if only_trickle:
        tree.add_version(f"{HOST}/cached", "v1.0.0", {"a.go": "package a\n"})
        for i in range(20):
            tree.add_version(f"{HOST}/slow{i}", "v1.0.0", {"a.go": "package a\n"})
        return modules

    def publish(label, module, files, go_mod=None):
        tree.add_version(module, "v1.0.0", files, go_mod=go_mod)
        modules[label] = module

    publish("README of 30 KB of '['", f"{HOST}/brackets", {"README.md": "[" * 30_000, "a.go": "package a\n"})
    retracts = "".join(f"retract v0.0.{i}\n" for i in range(633_589))
    publish("go.mod with 633,589 retract lines", f"{HOST}/retracts", {"a.go": "package a\n"},
            go_mod=f"module {HOST}/retracts\n\n{retracts}")
    nested = "".join("  " * depth + "- level\n" for depth in range(5_000))
    publish("deeply nested Markdown list (5,000 levels)", f"{HOST}/nested", {"README.md": nested, "a.go": "package a\n"})
    counts = [10_000, 100_000, 300_000] + ([1_000_000] if million else [])
    for count in counts:
        module = f"{HOST}/files{count}"
        zip_bytes = tiny_files_zip(module, count)
        tree.write_raw(module, "v1.0.0", info=INFO, mod=f"module {module}\n", zip=zip_bytes)
        modules[f"zip of {count:,} tiny files ({len(zip_bytes) / 2**20:.0f} MB)"] = module
        if count == 300_000:  # the same zip under another path, fetched with the limit raised
            raised = f"{HOST}/raised{count}"
            tree.write_raw(raised, "v1.0.0", info=INFO, mod=f"module {raised}\n", zip=tiny_files_zip(raised, count))
    tree.add_version(f"{HOST}/cached", "v1.0.0", {"a.go": "package a\n"})
    for i in range(20):
        tree.add_version(f"{HOST}/slow{i}", "v1.0.0", {"a.go": "package a\n"})  # ~300 bytes: 1 byte per 2 s
    return modules


def status_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def fetch_one(module: str) -> None:
    """Child process: fetch module@v1.0.0 and print what it cost as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "athens_site.settings")
    import django

    django.setup()
    from modules.fetch import fetch_version
    from modules.upstreams.errors import UpstreamError

    before = status_kb("VmRSS")
    started = time.monotonic()
    try:
        fetch_version(module, "v1.0.0")
        outcome = "cached"
    except UpstreamError as error:
        outcome = f"refused ({error.http_status}): {error.message[-110:]}"
    print(json.dumps({
        "seconds": round(time.monotonic() - started, 2), "outcome": outcome,
        "rss_before_mb": round(before / 1024), "peak_rss_mb": round(status_kb("VmHWM") / 1024),
    }))


def child_fetch(env: dict, module: str, **extra) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--fetch-one", module], cwd=REPO, env={**env, **extra},
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def timed_get(url: str, runs: int = 3) -> tuple[float, int, int]:
    """(median seconds, bytes, status) of GET url."""
    times, size, status = [], 0, 0
    for _ in range(runs):
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                size, status = len(response.read()), response.status
        except urllib.error.HTTPError as error:
            size, status = len(error.read()), error.code
        times.append(time.monotonic() - started)
    return statistics.median(times), size, status


def trickle_run(proxy: str, upstream: StaticProxyServer) -> dict:
    """20 concurrent cold requests against a trickling upstream; the slowest /healthz
    and cached .info answers meanwhile."""
    # 20 pieces over 40 s: one every 2 s, never a read timeout; cut by the fetch deadline.
    upstream.trickle(lambda path: "/slow" in path and path.endswith(".zip"), 40)
    answers: list[int] = []
    probes = {"/healthz": [], f"/{HOST}/cached/@v/v1.0.0.info": []}

    def cold(i):
        try:
            with urllib.request.urlopen(f"{proxy}/{HOST}/slow{i}/@v/v1.0.0.zip", timeout=60) as response:
                response.read()
                answers.append(response.status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)
        except OSError:
            answers.append(0)

    threads = [threading.Thread(target=cold, args=(i,)) for i in range(20)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    slow = []
    while any(thread.is_alive() for thread in threads):
        for path, seen in probes.items():
            seen.append(timed_get(proxy + path, runs=1)[0])
            if seen[-1] > 0.1:
                slow.append((path, round(time.monotonic() - started, 1), round(seen[-1] * 1000)))
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    return {
        "cold_requests_seconds": round(time.monotonic() - started, 1),
        "cold_statuses": {str(code): answers.count(code) for code in sorted(set(answers))},
        **{f"{path} max_ms": round(max(seen) * 1000, 1) for path, seen in probes.items() if seen},
        **{f"{path} median_ms": round(statistics.median(seen) * 1000, 1) for path, seen in probes.items() if seen},
        **{f"{path} over_100ms": sum(1 for t in seen if t > 0.1) for path, seen in probes.items() if seen},
        "probes": sum(len(seen) for seen in probes.values()),
        "slow probes (path, s after start, ms)": slow,
    }


def patterns_run() -> dict:
    from modules.goproxy.patterns import match_prefix_patterns

    element = "a" * 199 + "c"
    started = time.monotonic()
    matched = match_prefix_patterns("*a*a*a*a*a*b", f"example.test/{element}")
    return {"seconds": round(time.monotonic() - started, 4), "matched": matched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch-one", help=argparse.SUPPRESS)
    parser.add_argument("--skip-million", action="store_true", help="leave out the 140 MB zip of 1,000,000 files")
    parser.add_argument("--only-trickle", action="store_true", help="only the trickling-upstream run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.fetch_one:
        return fetch_one(args.fetch_one)

    work = Path(tempfile.mkdtemp(prefix="athens-hostile-"))
    tree = ProxyTree(work / "tree")
    print("building inputs...", flush=True)
    modules = build_inputs(tree, million=not args.skip_million, only_trickle=args.only_trickle)
    upstream = StaticProxyServer(work / "tree").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATHENS_", "CELERY_"))}
    env.update(
        ATHENS_UPSTREAM=upstream.url, ATHENS_STORAGE_DIR=str(work / "storage"),
        ATHENS_LOCK_DIR=str(work / "locks"), ATHENS_UI_PUBLIC="true", DJANGO_SETTINGS_MODULE="athens_site.settings",
    )
    env["DATABASE_URL"], drop_database = fresh_database(os.environ.get("DATABASE_URL"), work)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    results: dict = {"fetch": {}, "pages": {}}
    server = None
    try:
        for label, module in modules.items():
            results["fetch"][label] = child_fetch(env, module)
            print(f"fetch  {label}: {results['fetch'][label]}", flush=True)
        if not args.only_trickle:
            label = "zip of 300,000 tiny files, ATHENS_ZIP_MAX_FILES=1000000"
            results["fetch"][label] = child_fetch(env, f"{HOST}/raised300000", ATHENS_ZIP_MAX_FILES="1000000")
            print(f"fetch  {label}: {results['fetch'][label]}", flush=True)
        child_fetch(env, f"{HOST}/cached")

        port = free_port()
        proxy = f"http://127.0.0.1:{port}"
        server_log = open(work / "gunicorn.log", "wb")
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "athens_site.wsgi", "-c", "python:athens_site.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "--workers", "4", "--worker-class", "gthread", "--threads", "8",
             "--timeout", "120", "--log-level", "warning"],
            cwd=REPO, env={**env, "ATHENS_FETCH_TIMEOUT": "10"},
            stdout=server_log, stderr=subprocess.STDOUT,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(proxy + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        pages = {
            "/modules/ (every user's list)": "/modules/",
            "module page of the 633,589-retract module": f"/modules/{HOST}/retracts/",
            "version page of the 633,589-retract module": f"/modules/{HOST}/retracts/@v/v1.0.0/",
            "version page, README of '['": f"/modules/{HOST}/brackets/@v/v1.0.0/",
            "version page, nested list": f"/modules/{HOST}/nested/@v/v1.0.0/",
            "version page, 300,000 files": f"/modules/{HOST}/raised300000/@v/v1.0.0/",
            "version page, 300,000 files, last page": f"/modules/{HOST}/raised300000/@v/v1.0.0/?files=600",
            "file view, 300,000 files": f"/modules/{HOST}/raised300000/@v/v1.0.0/files/d150/f150000.go",
            "cached .info": f"/{HOST}/cached/@v/v1.0.0.info",
        }
        if args.only_trickle:
            pages = {"cached .info": pages["cached .info"]}
        for label, path in pages.items():
            seconds, size, status = timed_get(proxy + path)
            results["pages"][label] = {"seconds": round(seconds, 3), "kb": round(size / 1024), "status": status}
            print(f"page   {label}: {results['pages'][label]}", flush=True)
        results["trickle"] = trickle_run(proxy, upstream)
        print(f"trickle: {results['trickle']}", flush=True)
        results["patterns"] = patterns_run()
        print(f"patterns: {results['patterns']}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        upstream.stop()
        drop_database()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
