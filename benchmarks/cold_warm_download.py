"""Cold and warm builds through the proxy, against the upstream directly (issue 12).

Builds module versions as a static GOPROXY tree, serves it on 127.0.0.1 (optionally
answering every request after --delay-ms, as an upstream across the internet does),
starts the proxy with gunicorn (as `make run` does, on a throw-away SQLite database and
storage directory unless DATABASE_URL is set) and times the real go command, each run
with an empty module cache:

- download: `go mod download -json` of --versions versions (25 modules x 4);
- graph:    `go list -m all` in a module whose requirements form a chain of --chain
            module versions (each go.mod requires the next): the go command needs their
            go.mod files only, so the upstream's zip requests are counted too;
- build:    `go build` of a program importing --build-modules modules.

For each: direct (GOPROXY=<upstream>), cold (GOPROXY=<proxy>, nothing of it cached) and
warm (the same again, the proxy's cache full).

Usage:  .venv/bin/python benchmarks/cold_warm_download.py [--versions 100] [--delay-ms 50]
        (CELERY_BROKER_URL=redis://... also starts a Celery worker, which then fetches)
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


def build_chain(tree: ProxyTree, length: int) -> str:
    """chainK v1.0.0 requires chain(K+1) v1.0.0, ...; returns the first module."""
    for i in reversed(range(length)):
        module = f"bench.example.test/chain{i}"
        requires = f"\nrequire bench.example.test/chain{i + 1} v1.0.0\n" if i + 1 < length else ""
        tree.add_version(module, "v1.0.0", {
            # go 1.16: no graph pruning, so the go command walks the whole chain.
            "go.mod": f"module {module}\n\ngo 1.16\n{requires}",
            "lib.go": f"package chain{i}\n\nconst V = {i}\n",
        })
    return "bench.example.test/chain0"


def build_program_modules(tree: ProxyTree, count: int) -> list[str]:
    modules = []
    for i in range(count):
        module = f"bench.example.test/pkg{i}"
        tree.add_version(module, "v1.0.0", {
            "go.mod": f"module {module}\n\ngo 1.21\n",
            "lib.go": f"package pkg{i}\n\nfunc V() int {{ return {i} }}\n",
        })
        modules.append(module)
    return modules


def write_main_module(directory: Path, requires: list[str], imports: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"\t{module} v1.0.0\n" for module in requires)
    (directory / "go.mod").write_text(f"module bench.example.test/main\n\ngo 1.21\n\nrequire (\n{lines})\n")
    body = "".join(f'\t_ "{module}"\n' for module in imports)
    (directory / "main.go").write_text(f"package main\n\nimport (\n{body})\n\nfunc main() {{}}\n")
    return directory


def timed(env: GoEnv, *args: str, cwd: Path) -> float:
    started = time.monotonic()
    env.run(*args, cwd=cwd)
    return time.monotonic() - started


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
    parser.add_argument("--chain", type=int, default=200, help="module versions in the graph walk's chain")
    parser.add_argument("--build-modules", type=int, default=30)
    parser.add_argument("--delay-ms", type=float, default=0, help="the upstream answers every request this late")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="athens-bench-"))
    queries = build_tree(work / "tree", args.versions, args.size_kb)
    tree = ProxyTree(work / "tree")
    chain_head = build_chain(tree, args.chain)
    program_modules = build_program_modules(tree, args.build_modules)
    upstream = StaticProxyServer(work / "tree").start()
    if args.delay_ms:
        upstream.delay(lambda path: True, args.delay_ms / 1000)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATHENS_", "CELERY_"))}
    env.update(
        ATHENS_UPSTREAM=upstream.url,
        ATHENS_STORAGE_DIR=str(work / "storage"),
        ATHENS_LOCK_DIR=str(work / "locks"),
        ATHENS_LOG_LEVEL="WARNING",  # no access log line per request on the terminal
    )
    if os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    env["DATABASE_URL"], drop_database = fresh_database(os.environ.get("DATABASE_URL"), work)
    bin_dir = Path(sys.executable).parent
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "athens_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.workers), "--worker-class", "gthread", "--threads", "8", "--log-level", "warning"],
        cwd=REPO, env=env,
    )
    worker = None
    if env.get("CELERY_BROKER_URL"):  # fetches handed to a Celery worker, as in production
        worker = subprocess.Popen(
            [str(bin_dir / "celery"), "-A", "athens_site", "worker", "--pool", "threads", "--concurrency", "16",
             "--without-gossip", "--without-mingle", "--purge", "--loglevel", "WARNING"],
            cwd=REPO, env=env,
        )
    graph_dir = write_main_module(work / "graph", [chain_head], [])
    build_dir = write_main_module(work / "build", program_modules, program_modules)
    scenarios = {
        "download": lambda go: timed_download(go, queries),
        "graph": lambda go: timed(go, "list", "-m", "all", cwd=graph_dir),
        "build": lambda go: timed(go, "build", "-o", os.devnull, ".", cwd=build_dir),
    }
    zips = lambda: upstream.count(lambda path: path.endswith(".zip"))  # noqa: E731
    try:
        time.sleep(3)
        proxy = f"http://127.0.0.1:{port}"
        print(f"upstream delay {args.delay_ms:g} ms per request; DATABASE_URL {env['DATABASE_URL'].split(':')[0]}; "
              f"fetches {'in a Celery worker' if worker else 'in the web processes'}")
        for scenario, run in scenarios.items():
            runs, zip_requests = {}, {}
            for name, goproxy in (("direct", upstream.url), ("cold", proxy), ("warm", proxy)):
                before = zips()
                go = GoEnv(goproxy, base_dir=work / f"go-{scenario}-{name}")
                runs[name] = run(go)
                zip_requests[name] = zips() - before
                go.cleanup()
            print(f"{scenario}:")
            for name, seconds in runs.items():
                print(f"  {name:6s} {seconds:7.2f} s   ({seconds / runs['direct']:.2f}x direct)   "
                      f"upstream zip requests: {zip_requests[name]}")
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait()
        upstream.stop()
        drop_database()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
