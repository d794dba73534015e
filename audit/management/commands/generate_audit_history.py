"""`manage.py generate_audit_history --events N --days D`: a realistic synthetic audit history.

For trying the reports and measuring them (benchmarks/reports_benchmark.py) on a table of
the size a busy proxy reaches. The history ends now and spreads N download events over
the last D days, fewer on weekends and at night:

- module popularity is Zipf-like (a few modules take most requests), with well-known
  modules (golang.org/x/net, testify, ...) at the top and several versions each, newer
  versions more requested;
- the go command's endpoint mix (.info, .mod, .zip, lists, @latest, a little sumdb);
- mostly cache hits; misses are "fetched" and each has a FetchEvent (some after a
  failed attempt on another upstream); some redirects and fallbacks;
- 403s from a few deny rules (golang.org/x/crypto below v0.17.0 among them), 404s for
  missing modules and the go command's path-prefix probes (with not-found FetchEvents);
- client addresses with Zipf-like activity (CI runners are busy), a few of them with a
  username (token or session).

Rows go in with PostgreSQL's COPY (a day at a time, in time order, as the real table
fills), or bulk_create elsewhere; then every day is rolled up (audit/tasks.py).
"""

import base64
import hashlib
import math
import random
import time as clock
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from audit.models import DownloadEvent, FetchEvent
from audit.tasks import rollup_day

KNOWN_MODULES = [
    ("golang.org/x/net", "v0.17.0 v0.19.0 v0.20.0 v0.21.0 v0.22.0 v0.23.0 v0.24.0 v0.25.0 v0.26.0"),
    ("golang.org/x/sys", "v0.13.0 v0.15.0 v0.17.0 v0.18.0 v0.19.0 v0.20.0 v0.21.0"),
    ("github.com/stretchr/testify", "v1.8.1 v1.8.4 v1.9.0 v1.10.0"),
    ("golang.org/x/text", "v0.13.0 v0.14.0 v0.15.0 v0.16.0"),
    ("google.golang.org/protobuf", "v1.31.0 v1.32.0 v1.33.0 v1.34.2"),
    ("github.com/davecgh/go-spew", "v1.1.1"),
    ("gopkg.in/yaml.v3", "v3.0.1"),
    ("golang.org/x/crypto", "v0.14.0 v0.17.0 v0.21.0 v0.22.0 v0.23.0 v0.24.0"),
    ("github.com/google/uuid", "v1.3.0 v1.4.0 v1.5.0 v1.6.0"),
    ("google.golang.org/grpc", "v1.59.0 v1.60.1 v1.62.1 v1.64.0"),
    ("github.com/pmezard/go-difflib", "v1.0.0"),
    ("github.com/spf13/cobra", "v1.7.0 v1.8.0 v1.8.1"),
    ("github.com/golang/protobuf", "v1.5.3 v1.5.4"),
    ("go.uber.org/zap", "v1.24.0 v1.26.0 v1.27.0"),
    ("github.com/sirupsen/logrus", "v1.9.0 v1.9.3"),
    ("github.com/prometheus/client_golang", "v1.17.0 v1.18.0 v1.19.1"),
    ("github.com/gin-gonic/gin", "v1.9.0 v1.9.1 v1.10.0"),
    ("k8s.io/apimachinery", "v0.28.4 v0.29.3 v0.30.1"),
]
# (rule label, denied module, versions it denies: a version prefix test or None for all)
DENY_RULES = [
    ("#1 deny golang.org/x/crypto <v0.17.0", "golang.org/x/crypto", {"v0.14.0"}),
    ("#2 deny github.com/typosquat/*", "github.com/typosquat/logrus", None),
    ("#3 deny github.com/abandoned/lib", "github.com/abandoned/lib", None),
]
ORGS = "acme globex initech umbrella hooli vandelay wayne stark cyberdyne tyrell soylent wonka".split()
REPOS = "kit lib sdk client server util proto api log cfg auth cache queue store http grpc cli db".split()
PEOPLE = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy".split()
UPSTREAMS = ["https://proxy.golang.org", "direct"]
# (upstream that failed, the error; the attempt then goes to the other upstream)
FETCH_ERRORS = [
    (UPSTREAMS[0], "Get: context deadline exceeded (timeout after 30s)"),
    (UPSTREAMS[0], "502 Bad Gateway"),
    (UPSTREAMS[1], "git ls-remote: exit status 128: fatal: could not read Username"),
]
ENDPOINTS = ["info", "mod", "zip", "list", "latest", "sumdb"]
ENDPOINT_WEIGHTS = [26, 30, 28, 10, 5, 1]
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 20, 16, 18, 20, 20, 18, 14, 10, 7, 5, 4, 3, 2]
COLUMNS = (
    "time", "module", "version", "endpoint", "method", "status", "cache", "bytes_sent", "duration_ms",
    "client_addr", "username", "auth", "user_agent", "message", "rule",
)
FETCH_COLUMNS = (
    "time", "module", "version", "endpoint", "upstream", "outcome", "bytes", "duration_ms", "error", "worker",
    "zip_hash", "mod_hash",
)
NULL = "\\N"


def _cumulative(weights):
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class History:
    """The fixed cast of a history: modules with versions and sizes, clients, rules."""

    def __init__(self, rng: random.Random, modules: int, clients: int):
        self.rng = rng
        self.modules: list[str] = []
        self.versions: list[list[str]] = []
        self.version_cum: list[list[float]] = []
        self.zip_size: list[int] = []
        for path, versions in KNOWN_MODULES[:modules]:
            self._add(path, versions.split())
        for _, path, _ in DENY_RULES:
            if path not in self.modules and len(self.modules) < modules:
                self._add(path, ["v1.0.0", "v1.1.0"])
        n = 0
        while len(self.modules) < modules:
            org, repo = ORGS[n % len(ORGS)], REPOS[(n // len(ORGS)) % len(REPOS)]
            suffix = "" if n < len(ORGS) * len(REPOS) else str(n // (len(ORGS) * len(REPOS)))
            major = rng.choice([0, 1, 1, 1, 2])
            count = rng.randint(1, 10)
            versions = [f"v{major}.{minor}.{rng.randint(0, 3)}" for minor in range(count)]
            if rng.random() < 0.1:  # an untagged dependency
                versions.append(f"v0.0.0-2026{rng.randint(1, 9):02d}{rng.randint(10, 28)}120000-{rng.randbytes(6).hex()}")
            self._add(f"github.com/{org}{suffix}/{repo}", versions)
            n += 1
        # Zipf-like: the module of rank r is asked 1/r^1.1 as often as the first.
        self.module_cum = _cumulative([1 / (rank**1.1) for rank in range(1, len(self.modules) + 1)])
        self.denied = {path: (label, versions) for label, path, versions in DENY_RULES}

        self.clients: list[tuple[str, str, str]] = []
        for i in range(clients):
            addr = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" if i % 20 != 19 else f"fd00::{i:x}"
            roll = rng.random()
            if roll < 0.08:
                who = (f"ci-runner-{i}", "token")
            elif roll < 0.15:
                who = (PEOPLE[i % len(PEOPLE)] + ("" if i < len(PEOPLE) else str(i)), "session")
            else:
                who = ("", "")
            self.clients.append((addr, *who))
        self.client_cum = _cumulative([1 / (rank**0.9) for rank in range(1, clients + 1)])

    def _add(self, path, versions):
        self.modules.append(path)
        self.versions.append(versions)
        # Newer versions are asked more: weight doubles with each release.
        self.version_cum.append(_cumulative([2.0**i for i in range(len(versions))]))
        self.zip_size.append(int(self.rng.lognormvariate(11.5, 1.2)))


def day_events(history: History, rng: random.Random, start: datetime, seconds: float, count: int):
    """``count`` download events (COPY text lines) and their fetch events in
    [start, start + seconds), in time order."""
    hour_cum = _cumulative(HOUR_WEIGHTS[: max(1, math.ceil(seconds / 3600))])
    hours = rng.choices(range(len(hour_cum)), cum_weights=hour_cum, k=count)
    offsets = sorted(min(h * 3600 + rng.random() * 3600, seconds - 1e-6) for h in hours)
    modules = rng.choices(range(len(history.modules)), cum_weights=history.module_cum, k=count)
    clients = rng.choices(history.clients, cum_weights=history.client_cum, k=count)
    endpoints = rng.choices(ENDPOINTS, cum_weights=_cumulative(ENDPOINT_WEIGHTS), k=count)
    random_ = rng.random
    day = start.strftime("%Y-%m-%d")
    base = start.hour * 3600 + start.minute * 60 + start.second
    lines, fetches = [], []
    for offset, m, (addr, username, auth), endpoint in zip(offsets, modules, clients, endpoints, strict=True):
        moment = base + offset
        stamp = f"{day} {int(moment // 3600):02d}:{int(moment % 3600 // 60):02d}:{moment % 60:09.6f}+00"
        module = history.modules[m]
        version = ""
        if endpoint in ("info", "mod", "zip"):
            version = rng.choices(history.versions[m], cum_weights=history.version_cum[m])[0]
        elif endpoint == "sumdb":
            module = "sumdb/sum.golang.org"
        status, cache, size, rule = 200, "hit", 0, ""
        duration = rng.expovariate(1 / 4.0)
        roll = random_()
        denial = history.denied.get(module)
        if denial and (denial[1] is None or version in denial[1]) and endpoint != "sumdb":
            status, cache, rule = 403, "none", denial[0]
        elif roll < 0.025:
            # A missing module, or the go command probing a path prefix that is no module.
            module = f"{module}/internal/{REPOS[m % len(REPOS)]}" if roll < 0.015 else f"example.com/missing{m}"
            status, cache = (404 if roll < 0.02 else 410), "none"
            if random_() < 0.5:
                fetches.append((stamp, module, version, "version", UPSTREAMS[0], "not_found", 0,
                                rng.lognormvariate(4.5, 0.5), "404 Not Found", "worker-1"))
        elif endpoint in ("list", "latest"):
            cache = "upstream" if roll < 0.85 else ("fallback" if roll < 0.88 else "hit")
            size = 40 * len(history.versions[m]) if endpoint == "list" else 80
            duration = rng.lognormvariate(4.0, 0.6)
        elif endpoint == "sumdb":
            cache, size = "upstream", 200
        elif roll < 0.06:
            cache = "fetched"
            duration = rng.lognormvariate(5.8, 0.7)
            upstream = UPSTREAMS[0] if random_() < 0.9 else UPSTREAMS[1]
            if random_() < 0.05:
                failed, error = rng.choice(FETCH_ERRORS)
                fetches.append((stamp, module, version, "version", failed, "error", 0,
                                rng.lognormvariate(8.0, 1.0), error, "worker-2"))
                upstream = UPSTREAMS[1] if failed == UPSTREAMS[0] else UPSTREAMS[0]
            fetches.append((stamp, module, version, "version", upstream, "ok", history.zip_size[m] + 2000,
                            duration * 0.9, "", "worker-1"))
        elif roll < 0.065:
            status, cache = 302, "redirect"
        elif roll < 0.075:
            cache = "fallback"
        if status < 300 and endpoint in ("info", "mod", "zip"):
            size = {"info": 90, "mod": 600}.get(endpoint, history.zip_size[m])
        method = "HEAD" if random_() < 0.005 else "GET"
        lines.append("\t".join((
            stamp, module, version, endpoint, method, str(status), cache, str(size), f"{duration:.3f}",
            addr, username, auth, "Go-http-client/1.1", "", rule,
        )))
    return lines, [
        "\t".join(str(v) for v in row[:7]) + f"\t{row[7]:.3f}\t{row[8]}\t{row[9]}\t" + _hashes(row)
        for row in fetches
    ]


def _hashes(row) -> str:
    """zip and go.mod h1 hashes (made up, but stable per module@version) of a good fetch."""
    if row[5] != "ok":
        return "\t"
    digest = hashlib.sha256(f"{row[1]}@{row[2]}".encode()).digest()
    return f"h1:{base64.b64encode(digest).decode()}\th1:{base64.b64encode(digest[::-1]).decode()}"


class Command(BaseCommand):
    help = "Insert a synthetic audit history (download and fetch events) for trying and measuring the reports."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, required=True, help="how many download events")
        parser.add_argument("--days", type=int, required=True, help="over how many days, ending now")
        parser.add_argument("--modules", type=int, default=3000, help="distinct modules (default 3000)")
        parser.add_argument("--clients", type=int, default=1000, help="distinct client addresses (default 1000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1): same seed, same history")
        parser.add_argument("--no-rollup", action="store_true", help="do not roll the days up afterwards")

    def handle(self, *args, events, days, modules, clients, seed, no_rollup, **options):
        if events < 1 or days < 1 or modules < 1 or clients < 1:
            raise CommandError("--events, --days, --modules and --clients must be at least 1")
        rng = random.Random(seed)
        history = History(rng, modules, clients)
        now = timezone.now().astimezone(UTC).replace(microsecond=0)
        start = now - timedelta(days=days)
        windows = []
        cursor = start
        while cursor < now:
            end = min(datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC), now)
            weight = (end - cursor).total_seconds() * (0.35 if cursor.weekday() >= 5 else 1.0)
            windows.append((cursor, end, weight))
            cursor = end
        total_weight = sum(weight for _, _, weight in windows)
        started = clock.monotonic()
        written = fetched = 0
        for i, (begin, end, weight) in enumerate(windows):
            count = round(events * weight / total_weight) if i < len(windows) - 1 else events - written
            if count <= 0:
                continue
            lines, fetch_lines = day_events(history, rng, begin, (end - begin).total_seconds(), count)
            self._insert(DownloadEvent, COLUMNS, lines)
            self._insert(FetchEvent, FETCH_COLUMNS, fetch_lines)
            written += len(lines)
            fetched += len(fetch_lines)
            if options["verbosity"] >= 2 or (options["verbosity"] >= 1 and (i % 10 == 9 or i == len(windows) - 1)):
                self.stdout.write(
                    f"{begin:%Y-%m-%d}: {written:,} download and {fetched:,} fetch events "
                    f"({clock.monotonic() - started:.0f}s)"
                )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {DownloadEvent._meta.db_table}, {FetchEvent._meta.db_table}")
        inserted = clock.monotonic() - started
        if not no_rollup:
            for begin, _, _ in windows:
                rollup_day(begin.date())
        self.stdout.write(
            f"inserted {written:,} download and {fetched:,} fetch events over {days} days in {inserted:.0f}s"
            + ("" if no_rollup else f"; rolled up {len(windows)} days in {clock.monotonic() - started - inserted:.0f}s")
        )

    def _insert(self, model, columns, lines):
        if not lines:
            return
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for at in range(0, len(lines), 10000):
                        copy.write("\n".join(lines[at : at + 10000]) + "\n")
            return
        rows = []
        for line in lines:
            values = dict(zip(columns, line.split("\t"), strict=True))
            values = {key: (None if value == NULL else value) for key, value in values.items()}
            values["time"] = datetime.fromisoformat(values["time"] + ":00")
            rows.append(model(**values))
        model.objects.bulk_create(rows, batch_size=2000)
