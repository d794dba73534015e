"""Cold and warm `go mod download` through the proxy, against the upstream directly.

Builds N module versions as a static GOPROXY tree, serves it on 127.0.0.1, starts the
proxy with gunicorn (as `make run` does, on a throw-away SQLite database and storage
directory unless DATABASE_URL is set) and times the real go command:

- direct: GOPROXY=<upstream>, empty module cache;
- cold:   GOPROXY=<proxy>, empty proxy cache and empty module cache (every version fetched);
- warm:   GOPROXY=<proxy>, proxy cache full, empty module cache.

Usage:  .venv/bin/python benchmarks/cold_warm_download.py [--versions 100] [--size-kb 64]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.gocmd import GoEnv  # noqa: E402
from tests.support.gomodules import ProxyTree  # noqa: E402
from tests.support.processes import free_port  # noqa: E402
from tests.support.upstream import StaticProxyServer  # noqa: E402


def build_tree(root: Path, versions: int, size_kb: int) -> list[str]:
    tree = ProxyTree(root)
    queries = []
    filler = ("// " + "x" * 77 + "\n") * (size_kb * 1024 // 81)
    for i in range(versions):
        module = f"bench.example.test/mod{i // 4}"
        version = f"v1.{i % 4}.0"
        tree.add_version(module, version, {
            "go.mod": f"module {module}\n\ngo 1.21\n",
            "lib.go": f"package mod{i // 4}\n\n{filler}const V = \"{version}\"\n",
        })
        queries.append(f"{module}@{version}")
    return queries


def timed_download(env: GoEnv, queries: list[str]) -> float:
    started = time.monotonic()
    results = env.download_json(*queries)
    elapsed = time.monotonic() - started
    errors = [r for r in results if r.get("Error")]
    if errors:
        raise SystemExit(f"download errors: {errors[:3]}")
    return elapsed


def fresh_database(url: str | None, work: Path) -> tuple[str, callable]:
    """A new, empty database for this run (the proxy's cache must start cold)."""
    if not url or not url.startswith("postgres"):
        return f"sqlite:///{work / 'bench.sqlite3'}", lambda: None
    import psycopg

    base, _, _ = url.rpartition("/")
    name = f"athens_bench_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")

    def drop():
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return f"{base}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--size-kb", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="athens-bench-"))
    queries = build_tree(work / "tree", args.versions, args.size_kb)
    upstream = StaticProxyServer(work / "tree").start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATHENS_", "CELERY_"))}
    env.update(
        ATHENS_UPSTREAM=upstream.url,
        ATHENS_STORAGE_DIR=str(work / "storage"),
        ATHENS_LOCK_DIR=str(work / "locks"),
    )
    env["DATABASE_URL"], drop_database = fresh_database(os.environ.get("DATABASE_URL"), work)
    bin_dir = Path(sys.executable).parent
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "athens_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.workers), "--worker-class", "gthread", "--threads", "8", "--log-level", "warning"],
        cwd=REPO, env=env,
    )
    try:
        time.sleep(3)
        proxy = f"http://127.0.0.1:{port}"
        runs = {}
        for name, goproxy in (("direct", upstream.url), ("cold", proxy), ("warm", proxy)):
            go = GoEnv(goproxy, base_dir=work / f"go-{name}")
            runs[name] = timed_download(go, queries)
            go.cleanup()
        print(f"{args.versions} module versions of ~{args.size_kb} KiB, go mod download -json:")
        for name, seconds in runs.items():
            print(f"  {name:6s} {seconds:7.2f} s   ({runs[name] / runs['direct']:.1f}x direct)")
    finally:
        server.terminate()
        server.wait()
        upstream.stop()
        drop_database()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
