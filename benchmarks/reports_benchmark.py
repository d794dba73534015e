"""Every audit report over a 90-day period of a 10-million-event history, cold and warm.

Creates a dedicated PostgreSQL database (default ``athens_bench_reports``) if it is
missing, migrates it, and fills it with ``manage.py generate_audit_history`` unless it
already holds a history of the asked size (``--regenerate`` forces a new one). Then
times each report in audit/reports.py, as the pages and the API call it:

- cold: the first call, in a fresh database connection;
- warm: the median of the next ``--repeat`` calls.

Before timing, it runs the beat task's rollup (today and yesterday) as beat would have
within the last five minutes, and times that too. The PostgreSQL server and the
operating system's page cache are not restarted or dropped for "cold" (other
databases share the server): cold means a new connection and the first run of each
query, not a disk read of every page.

``--explain`` prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of every query a report runs.

Usage:  .venv/bin/python benchmarks/reports_benchmark.py [--events 10000000] [--days 120]
        [--range-days 90] [--database-url postgres://postgres@127.0.0.1:5432/athens_bench_reports]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/athens_bench_reports"


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("ATHENS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--modules", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--range-days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--module", default="golang.org/x/net", help="for who-downloaded and top-versions")
    parser.add_argument("--constraint", default="<v0.23.0", help="for who-downloaded")
    parser.add_argument("--regenerate", action="store_true", help="delete the history and generate a new one")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every report query")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "athens_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from audit import reports
    from audit.models import DownloadEvent, FetchEvent

    call_command("migrate", verbosity=0)
    existing = DownloadEvent.objects.count()
    if args.regenerate or existing != args.events:
        if existing:
            print(f"the database holds {existing:,} download events; starting over")
            with connection.cursor() as cursor:
                # TRUNCATE: the append-only trigger refuses DELETE, by design.
                cursor.execute(
                    "TRUNCATE audit_downloadevent, audit_fetchevent, audit_rollupday, audit_downloaddailytotal, "
                    "audit_downloaddailyversion, audit_downloaddailyclient, audit_downloaddailyclientversion, "
                    "audit_fetchdailytotal RESTART IDENTITY"
                )
        started = time.monotonic()
        call_command(
            "generate_audit_history", events=args.events, days=args.days, modules=args.modules,
            clients=args.clients, seed=1,
        )
        print(f"generated in {time.monotonic() - started:.0f}s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done by now on a live table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('audit_downloadevent'))")
        size = cursor.fetchone()[0]
    fetches = FetchEvent.objects.count()
    print(f"{DownloadEvent.objects.count():,} download events ({size} with indexes), {fetches:,} fetch events")

    from audit.tasks import rollup_downloads

    started = time.monotonic()
    done = rollup_downloads()  # what beat does every 5 minutes: today, yesterday (and any backlog)
    print(f"beat rollup of {', '.join(done)}: {time.monotonic() - started:.1f}s")

    until = timezone.now()
    since = until - timedelta(days=args.range_days)
    calls = {
        "downloads": lambda: reports.downloads_over_time(since, until),
        "top-modules": lambda: reports.top_modules(since, until),
        "top-versions": lambda: reports.top_versions(since, until),
        "top-versions (one module)": lambda: reports.top_versions(since, until, module=args.module),
        "top-clients": lambda: reports.top_clients(since, until),
        "cache-hit-ratio": lambda: reports.cache_hit_ratio(since, until),
        "denied-by-rule": lambda: reports.denied_by_rule(since, until),
        "fetch-failures": lambda: reports.fetch_failures(since, until),
        "fetch-latency": lambda: reports.fetch_latency(since, until),
        "who-downloaded": lambda: reports.who_downloaded(args.module, since, until),
        f"who-downloaded {args.constraint}": lambda: reports.who_downloaded(
            args.module, since, until, constraint=args.constraint
        ),
        "raw-events (one module, 1 day)": lambda: sum(
            1 for _ in reports.raw_events(until - timedelta(days=1), until, module=args.module)
        ),
    }
    plan = reports.plan(since, until)
    print(
        f"period {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC: {sum((e - s).days for s, e in plan.rollup_days)}"
        f" days from rollups, raw events for {', '.join(f'{s:%m-%d %H:%M}..{e:%m-%d %H:%M}' for s, e in plan.raw)}"
    )
    results = []
    for name, call in calls.items():
        connection.close()  # cold: a fresh connection, nothing cached in this process
        started = time.perf_counter()
        rows = call()
        cold = time.perf_counter() - started
        warm = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            call()
            warm.append(time.perf_counter() - started)
        results.append((name, rows if isinstance(rows, int) else len(rows), cold, statistics.median(warm)))
        if args.explain:
            with CaptureQueriesContext(connection) as queries:
                call()
            for query in queries.captured_queries:
                sql = query["sql"]
                if sql.lstrip().upper().startswith(("SELECT", "DECLARE")) and not any(
                    skip in sql for skip in ("audit_rollupday", "set_config")
                ):
                    sql = sql.split(" CURSOR WITH HOLD FOR ", 1)[-1]
                    with connection.cursor() as cursor:
                        for setting, value in reports.POSTGRESQL_SETTINGS.items():
                            cursor.execute("SELECT set_config(%s, %s, false)", [setting, value])
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        print(f"\n--- {name}\n{sql}\n" + "\n".join(row[0] for row in cursor.fetchall()))

    width = max(len(name) for name, *_ in results)
    print(f"\n| {'report'.ljust(width)} | rows | cold (s) | warm (s) |")
    print(f"| {'-' * width} | ---: | ---: | ---: |")
    for name, count, cold, warm in results:
        print(f"| {name.ljust(width)} | {count} | {cold:.3f} | {warm:.3f} |")
    slow = [name for name, _, cold, warm in results if max(cold, warm) >= 1.0]
    print("\nevery report under 1 s" if not slow else f"\nslower than 1 s: {', '.join(slow)}")


if __name__ == "__main__":
    main()
