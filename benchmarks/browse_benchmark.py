"""Every cache browser page over a cache of 10,000 modules and 100,000 versions.

Creates a dedicated PostgreSQL database (default ``athens_bench_browse``) if it is
missing, migrates it, and fills it with rows only (``--regenerate`` forces new ones):
``--modules`` modules holding ``--versions`` versions in all, one of them
(``bench.example.com/big``) with ``--big-versions`` of its own, and ``--downloads``
zip download events spread over the last 30 days. Only the version timed on the version
and file pages has a real zip in storage (under var/bench_browse_storage/). Then each
page is requested through Django's test client (the whole stack: URL routing,
middleware, views, templates; no network) and timed: the first request (cold, a new
database connection) and the median of the next ``--repeat``.

Usage:  .venv/bin/python benchmarks/browse_benchmark.py [--modules 10000] [--versions 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/athens_bench_browse] [--regenerate]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/athens_bench_browse"
BIG = "bench.example.com/big"
TARGET_MS = 200


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def module_path(i: int) -> str:
    return f"github.com/org{i % 97}/project-{i:05d}"


def generate(args) -> None:
    from django.db import connection
    from django.utils import timezone

    from audit.models import DownloadEvent
    from modules.fetch import artifact_key
    from modules.models import Module, ModuleVersion

    with connection.cursor() as cursor:
        # TRUNCATE: the audit tables' append-only trigger refuses DELETE, by design.
        cursor.execute("TRUNCATE modules_moduleversion, modules_module, audit_downloadevent RESTART IDENTITY CASCADE")
    rng = random.Random(42)
    now = timezone.now()
    started = time.monotonic()
    paths = [BIG] + [module_path(i) for i in range(args.modules - 1)]
    Module.objects.bulk_create([Module(path=p) for p in paths], batch_size=5000)
    ids = dict(Module.objects.values_list("path", "id"))
    rest = args.versions - args.big_versions
    per_module = [rest // (args.modules - 1)] * (args.modules - 1)
    for i in range(rest - sum(per_module)):
        per_module[i] += 1
    counts = [args.big_versions] + per_module

    def versions_of(count: int) -> list[str]:
        out = []
        for n in range(count):
            if n % 10 == 9:
                out.append(f"v0.0.0-2024{n % 12 + 1:02d}01000000-{n:012x}")
            elif n % 7 == 6:
                out.append(f"v1.{n // 20}.{n % 20}-rc.1")
            else:
                out.append(f"v1.{n // 20}.{n % 20}")
        return out

    batch = []
    for path, count in zip(paths, counts):
        go_mod = f"module {path}\n\ngo 1.21\n\nrequire golang.org/x/text v0.14.0\n".encode()
        for version in versions_of(count):
            batch.append(ModuleVersion(
                module_id=ids[path], version=version, info=f'{{"Version":"{version}","Time":"2024-01-01T00:00:00Z"}}',
                time=datetime(2024, 1, 1, tzinfo=UTC), go_mod=go_mod, zip_key=artifact_key(path, version, "zip"),
                zip_size=rng.randint(2_000, 5_000_000), zip_hash="h1:" + "A" * 43 + "=", mod_hash="h1:" + "B" * 43 + "=",
                upstream="https://proxy.golang.org",
            ))
            if len(batch) >= 10_000:
                ModuleVersion.objects.bulk_create(batch)
                batch = []
    ModuleVersion.objects.bulk_create(batch)
    # fetched_at is auto_now_add: spread it so "recently cached" has an order.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE modules_moduleversion SET fetched_at = now() - (id % 100000) * interval '1 minute'")
    events = []
    for _ in range(args.downloads):
        events.append(DownloadEvent(
            time=now - timedelta(seconds=rng.randint(0, 30 * 86400)), module=rng.choice(paths[:2000]),
            version="v1.0.0", endpoint="zip", status=200, cache="hit", bytes_sent=10_000, duration_ms=2.0,
        ))
        if len(events) >= 10_000:
            DownloadEvent.objects.bulk_create(events)
            events = []
    DownloadEvent.objects.bulk_create(events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated {args.modules:,} modules, {args.versions:,} versions, {args.downloads:,} downloads "
          f"in {time.monotonic() - started:.0f}s")


def store_real_zip(module: str, version: str) -> None:
    """A real zip (and go.mod) for the version whose pages are timed."""
    from django.core.files.base import ContentFile

    from modules.fetch import artifact_key, modules_storage
    from modules.models import ModuleVersion
    from tests.support.gomodules import build_zip

    go_mod = f"module {module}\n\ngo 1.21\n\nrequire golang.org/x/text v0.14.0\n"
    source = "package big\n\n" + "".join(f"// Func{i} is number {i}.\nfunc Func{i}() int {{ return {i} }}\n\n" for i in range(400))
    files = {"go.mod": go_mod, "README.md": "# big\n\nA module with **many** versions.\n", "LICENSE": "MIT License\n",
             "big.go": source, **{f"pkg/sub{i}/sub.go": f"package sub{i}\n" for i in range(50)}}
    data = build_zip(module, version, {name: text.encode() for name, text in files.items()})
    storage = modules_storage()
    key = artifact_key(module, version, "zip")
    if storage.exists(key):
        storage.delete(key)
    storage.save(key, ContentFile(data))
    ModuleVersion.objects.filter(module__path=module, version=version).update(
        zip_key=key, zip_size=len(data), go_mod=go_mod.encode()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("ATHENS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--modules", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--big-versions", type=int, default=1_000, help="versions of the one big module")
    parser.add_argument("--downloads", type=int, default=200_000, help="zip download events in the last 30 days")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["ATHENS_UI_PUBLIC"] = "true"
    os.environ["ATHENS_STORAGE"] = "filesystem"
    os.environ["ATHENS_STORAGE_DIR"] = str(REPO / "var" / "bench_browse_storage")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "athens_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from modules.models import Module, ModuleVersion

    call_command("migrate", verbosity=0)
    if args.regenerate or Module.objects.count() != args.modules or ModuleVersion.objects.count() != args.versions:
        generate(args)
    version = ModuleVersion.objects.filter(module__path=BIG, version="v1.0.0").values_list("version", flat=True).get()
    store_real_zip(BIG, version)

    client = Client()
    pages = [
        ("home", "/"),
        ("list, by name", "/modules/"),
        ("list, recent", "/modules/?sort=recent"),
        ("list, popular", "/modules/?sort=popular"),
        ("list, name, page 100", "/modules/?page=100"),
        ("search 'project-01'", "/modules/?q=project-01"),
        ("search 'project-01', popular", "/modules/?q=project-01&sort=popular"),
        (f"module ({args.big_versions:,} versions)", f"/modules/{BIG}/"),
        ("module (10 versions)", f"/modules/{module_path(1)}/"),
        ("version", f"/modules/{BIG}/@v/{version}/"),
        ("file (big.go, 1,200 lines)", f"/modules/{BIG}/@v/{version}/files/big.go"),
    ]
    print(f"\n{'page':40} {'status':>6} {'cold ms':>9} {'warm ms':>9}  (median of {args.repeat})")
    worst = 0.0
    for name, url in pages:
        connection.close()
        started = time.perf_counter()
        response = client.get(url)
        cold = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        warm = statistics.median(times)
        worst = max(worst, warm)
        print(f"{name:40} {response.status_code:>6} {cold:9.1f} {warm:9.1f}{'  SLOW' if warm > TARGET_MS else ''}")
    print(f"\nslowest warm page: {worst:.1f} ms (target < {TARGET_MS} ms)")


if __name__ == "__main__":
    main()
