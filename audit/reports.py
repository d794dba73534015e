"""Audit reports: plain query functions that the admin pages, the CSV export and the JSON
API only render.

Every report takes a period, ``since`` (inclusive) and ``until`` (exclusive), as aware
datetimes (naive ones are taken as UTC), plus its own keyword parameters, and returns a
list of frozen dataclass rows (``dataclasses.asdict`` turns one into a dict; ``REPORTS``
names each report's columns in order). Bad parameters raise ``ReportError``, whose
message is fit to show to the user as it is.

Where the numbers come from
---------------------------
Days are UTC days. The rollup tables (audit/models.py, kept by audit/tasks.py) hold one
row per day and group, and RollupDay says up to what time each day's rollups go
(``covered_until``): the whole day once they were computed after it ended (plus
``ROLLUP_SETTLE``, for requests still being recorded at midnight), else up to
``ROLLUP_SETTLE`` before they were computed (today, recomputed every few minutes). A
report splits its period per day:

- a day the period includes from its start to at least the rollups' ``covered_until``
  is read from the rollups, and whatever of the day the period includes after
  ``covered_until`` from the raw events (today: the last few minutes);
- every other day, that is a partial day at the start of the period, a day the period
  ends in the middle of, or a day not rolled up (the beat task not running, say), is
  read from the raw events.

The parts are added up. So a 90-day report reads at most one partial day plus a few
minutes of raw events, and otherwise small rollup rows, however many events the table
holds; and it is exact whether or not the rollups are up to date: they only make it
fast. ``use_rollups=False`` reads only raw events (the tests compare both paths).
Choosing whole days (a date for ``since``, as the pages do) avoids the partial first day.

Two reports read raw events only: ``fetch_latency`` (percentiles cannot be added up from
daily parts; fetch events are few, one per cache miss) and ``raw_events`` (the CSV
export of the events themselves). After the retention task deleted old raw events, these
two cover only the days still kept, and so does a partial day (a period starting at
noon) among the deleted days; the other reports over whole days keep their numbers.

What counts
-----------
- *requests*: every download API request, whatever its status.
- *served*: requests answered with a status below 400 (content, or a redirect to it).
- *cache hits*: served requests answered from the proxy's own cache (``hit``, and
  ``fallback``: from the cache because the upstream was failing).
- *downloaded a version*: a served request naming a version (``.info``, ``.mod``,
  ``.zip``), as the incident-response report counts it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from modules.goproxy import semver
from modules.goproxy.constraints import Constraint, InvalidConstraintError, parse_constraint

from .models import (
    ROLLUP_SETTLE,  # noqa: F401 - part of this module's vocabulary (see the docstring)
    DownloadDailyClient,
    DownloadDailyClientVersion,
    DownloadDailyTotal,
    DownloadDailyVersion,
    DownloadEvent,
    FetchDailyTotal,
    FetchEvent,
    RollupDay,
)

DEFAULT_DAYS = 30
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_DAYS = 3660

SERVED = Q(status__lt=400)
CACHE_HITS = (DownloadEvent.Cache.HIT, DownloadEvent.Cache.FALLBACK)
DENIED_STATUS = 403


# PostgreSQL settings for the duration of one report (SET LOCAL, in its own transaction).
# The default work_mem (4 MB) makes the grouping of a 90-day report spill to an external
# merge sort on disk; a few tens of MB let it hash in memory, two to four times faster,
# and staff run reports rarely. JIT compilation costs more than it saves on queries of
# a few hundred milliseconds.
POSTGRESQL_SETTINGS = {"work_mem": "64MB", "jit": "off"}


def _tuned(report: Callable) -> Callable:
    """Run a report in one transaction with POSTGRESQL_SETTINGS (a no-op elsewhere)."""

    @functools.wraps(report)
    def run(*args, **kwargs):
        if connection.vendor != "postgresql":
            return report(*args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                for name, value in POSTGRESQL_SETTINGS.items():
                    cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
            return report(*args, **kwargs)

    return run


class ReportError(ValueError):
    """A report parameter is wrong; the message says which and why."""


# --- Rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadsOnDay:
    day: date
    count: int  # requests
    bytes: int


@dataclass(frozen=True)
class ModuleDownloads:
    module: str
    count: int  # served requests
    bytes: int


@dataclass(frozen=True)
class VersionDownloads:
    module: str
    version: str  # "" for lists and @latest
    count: int  # served requests
    bytes: int


@dataclass(frozen=True)
class ClientDownloads:
    client_addr: str | None
    username: str
    auth: str  # "token", "session", "bad-token" or "" (anonymous)
    count: int  # requests
    bytes: int
    denied: int  # 403s among them


@dataclass(frozen=True)
class CacheHits:
    day: date | None  # None on the total row, which comes last
    served: int
    hits: int
    ratio: float | None  # hits / served; None when nothing was served


@dataclass(frozen=True)
class RuleDenials:
    rule: str  # "" for 403s that named no rule
    count: int


@dataclass(frozen=True)
class FetchFailures:
    upstream: str
    outcome: str
    count: int
    last_time: datetime
    last_error: str


@dataclass(frozen=True)
class FetchLatency:
    upstream: str | None  # None on the overall row, which comes first
    count: int
    median_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class ModuleDownloader:
    client_addr: str | None
    username: str
    auth: str
    version: str
    first_time: datetime
    last_time: datetime
    count: int


# --- Periods ---------------------------------------------------------------------------


def parse_period(since: str | None, until: str | None, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(since, until) from user input: ISO 8601 dates or datetimes, either may be empty.

    A date for ``since`` is the start of that day; a date for ``until`` includes that
    day (the period ends at the start of the next one). A datetime without an offset is
    UTC. Defaults: ``until`` now, ``since`` the start of the day ``DEFAULT_DAYS`` days
    before ``until``. Raises ReportError for unreadable input or an empty period.
    """
    now = now or timezone.now()
    end = _parse_moment(until, "until", end=True) if until else now
    start = _parse_moment(since, "since", end=False) if since else _midnight((end - timedelta(days=DEFAULT_DAYS)).date())
    check_period(start, end)
    return start, end


def check_period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The period as aware UTC datetimes; ReportError if it is empty or absurdly long."""
    since, until = _utc(since), _utc(until)
    if since >= until:
        raise ReportError(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    if until - since > timedelta(days=MAX_DAYS):
        raise ReportError(f"the period is longer than {MAX_DAYS} days")
    return since, until


def _parse_moment(text: str, name: str, *, end: bool) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _midnight(day + timedelta(days=1) if end else day)
        # A "+01:00" offset typed into a URL arrives as " 01:00".
        text = re.sub(r"(\d) (\d\d:?\d\d)$", r"\1+\2", text)
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T")))
    except ValueError:
        raise ReportError(
            f"{name}={text!r} is not an ISO 8601 date or datetime (e.g. 2026-03-01 or 2026-03-01T12:00:00Z)"
        ) from None


def _utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """Which parts of a period a report reads from the rollups and which from raw events.

    ``rollup_days``: [first, end) day ranges; ``raw``: [since, until) datetime ranges.
    """

    rollup_days: tuple[tuple[date, date], ...]
    raw: tuple[tuple[datetime, datetime], ...]

    def rollup_q(self) -> Q | None:
        return _any_of(Q(day__gte=first, day__lt=end) for first, end in self.rollup_days)

    def raw_q(self) -> Q | None:
        return _any_of(Q(time__gte=start, time__lt=end) for start, end in self.raw)


def plan(since: datetime, until: datetime, *, use_rollups: bool = True) -> Plan:
    """Split [since, until) into rollup days and raw-event ranges (module docstring).

    A day is read from its rollups when the period includes the day from its start up
    to at least what the rollups cover (RollupDay.covered_until); the rest of the day
    inside the period, if any, from raw events. Otherwise the day is read raw.
    """
    since, until = check_period(since, until)
    if not use_rollups:
        return Plan((), ((since, until),))
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    covered = {state.day: state.covered_until for state in RollupDay.objects.filter(day__gte=first, day__lte=last)}
    rollup_days: list[list[date]] = []
    raw: list[list[datetime]] = []

    def add_raw(start: datetime, stop: datetime) -> None:
        if raw and raw[-1][1] == start:
            raw[-1][1] = stop
        else:
            raw.append([start, stop])

    day = first
    while day <= last:
        following = day + timedelta(days=1)
        start, stop = max(since, _midnight(day)), min(until, _midnight(following))
        until_here = covered.get(day)
        if start == _midnight(day) and until_here is not None and start < until_here <= stop:
            if rollup_days and rollup_days[-1][1] == day:
                rollup_days[-1][1] = following
            else:
                rollup_days.append([day, following])
            if until_here < stop:
                add_raw(until_here, stop)
        else:
            add_raw(start, stop)
        day = following
    return Plan(tuple(map(tuple, rollup_days)), tuple(map(tuple, raw)))


def _any_of(parts) -> Q | None:
    combined = None
    for part in parts:
        combined = part if combined is None else combined | part
    return combined


def _days(since: datetime, until: datetime) -> list[date]:
    last = (until - timedelta(microseconds=1)).date()
    return [since.date() + timedelta(days=n) for n in range((last - since.date()).days + 1)]


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ReportError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


# --- Reports ---------------------------------------------------------------------------


@_tuned
def downloads_over_time(since: datetime, until: datetime, *, use_rollups: bool = True) -> list[DownloadsOnDay]:
    """Download API requests and bytes sent per UTC day, every day of the period listed
    (days without requests as zeros), oldest first. Edge days count only the part of the
    day inside the period."""
    since, until = check_period(since, until)
    parts = plan(since, until, use_rollups=use_rollups)
    totals: dict[date, list[int]] = {day: [0, 0] for day in _days(since, until)}
    if (q := parts.rollup_q()) is not None:
        for row in DownloadDailyTotal.objects.filter(q).values("day").annotate(n=Sum("count"), b=Sum("bytes")).order_by():
            totals[row["day"]][0] += row["n"]
            totals[row["day"]][1] += row["b"]
    if (q := parts.raw_q()) is not None:
        rows = (
            DownloadEvent.objects.filter(q)
            .annotate(day=TruncDate("time", tzinfo=UTC))
            .values("day")
            .annotate(n=Count("id"), b=Sum("bytes_sent"))
            .order_by()
        )
        for row in rows:
            totals[row["day"]][0] += row["n"]
            totals[row["day"]][1] += row["b"] or 0
    return [DownloadsOnDay(day, n, b) for day, (n, b) in sorted(totals.items())]


@_tuned
def top_modules(
    since: datetime, until: datetime, *, limit: int = DEFAULT_LIMIT, use_rollups: bool = True
) -> list[ModuleDownloads]:
    """The ``limit`` modules with the most served requests (any endpoint), most first;
    ties by module path."""
    limit = _check_limit(limit)
    counts = _merge(
        since,
        until,
        use_rollups,
        keys=1,
        rollup=lambda q: DownloadDailyVersion.objects.filter(q).values_list("module").annotate(n=Sum("count"), b=Sum("bytes")),
        raw=lambda q: DownloadEvent.objects.filter(q, SERVED)
        .values_list("module")
        .annotate(n=Count("id"), b=Sum("bytes_sent")),
    )
    counts.pop(("",), None)  # requests so malformed that no module path was read
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [ModuleDownloads(module, n, b) for (module,), (n, b) in ranked]


@_tuned
def top_versions(
    since: datetime, until: datetime, *, module: str | None = None, limit: int = DEFAULT_LIMIT, use_rollups: bool = True
) -> list[VersionDownloads]:
    """The ``limit`` module versions with the most served requests, most first, of one
    module if ``module`` is given. Requests that name no version (lists, @latest) are
    left out."""
    limit = _check_limit(limit)
    where = Q(module=module) if module else Q()
    counts = _merge(
        since,
        until,
        use_rollups,
        keys=2,
        rollup=lambda q: DownloadDailyVersion.objects.filter(q, where)
        .exclude(version="")
        .values_list("module", "version")
        .annotate(n=Sum("count"), b=Sum("bytes")),
        raw=lambda q: DownloadEvent.objects.filter(q, where, SERVED)
        .exclude(version="")
        .values_list("module", "version")
        .annotate(n=Count("id"), b=Sum("bytes_sent")),
    )
    counts = {key: value for key, value in counts.items() if key[0]}
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [VersionDownloads(m, v, n, b) for (m, v), (n, b) in ranked]


# How top_clients and who_downloaded count their rows: per client (an address with a
# username and how it authenticated), per user (a person's requests from every address:
# the address is left empty), or per address (everyone behind it: no username).
GROUPINGS = ("client", "user", "address")


def _check_grouping(by: str) -> str:
    if by not in GROUPINGS:
        raise ReportError(f"by={by!r}: group by {', '.join(GROUPINGS)}")
    return by


def _regrouped(key: tuple, by: str) -> tuple:
    """A (client_addr, username, auth, ...) key as `by` groups it: per user, a person's
    tokens and sessions together; anonymous and bad-token requests stay apart."""
    addr, user, auth, *rest = key
    if by == "user":
        return (None, user, "" if user else auth, *rest)
    if by == "address":
        return (addr, "", "", *rest)
    return key


@_tuned
def top_clients(
    since: datetime, until: datetime, *, by: str = "client", limit: int = DEFAULT_LIMIT, use_rollups: bool = True
) -> list[ClientDownloads]:
    """The ``limit`` clients with the most requests, most first. A client is an address
    with a username and how it authenticated ("token", "session", "bad-token", or ""
    for anonymous): one machine used by two people is two rows. ``by="user"`` counts
    each user's requests from every address together (``client_addr`` empty), and
    ``by="address"`` each address's whoever sent them (``username`` empty)."""
    limit = _check_limit(limit)
    by = _check_grouping(by)
    counts = _merge(
        since,
        until,
        use_rollups,
        keys=3,
        rollup=lambda q: DownloadDailyClient.objects.filter(q)
        .values_list("client_addr", "username", "auth")
        .annotate(n=Sum("count"), b=Sum("bytes"), d=Sum("denied")),
        raw=lambda q: DownloadEvent.objects.filter(q)
        .values_list("client_addr", "username", "auth")
        .annotate(n=Count("id"), b=Sum("bytes_sent"), d=Count("id", filter=Q(status=DENIED_STATUS))),
    )
    if by != "client":
        grouped: dict[tuple, list] = {}
        for key, sums in counts.items():
            entry = grouped.setdefault(_regrouped(key, by), [0] * len(sums))
            for i, value in enumerate(sums):
                entry[i] += value
        counts = grouped
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], tuple(str(part or "") for part in item[0])))[:limit]
    return [ClientDownloads(addr, user, auth, n, b, d) for (addr, user, auth), (n, b, d) in ranked]


@_tuned
def cache_hit_ratio(since: datetime, until: datetime, *, use_rollups: bool = True) -> list[CacheHits]:
    """Served requests and cache hits per UTC day (every day of the period, oldest first),
    then one total row with ``day=None``."""
    since, until = check_period(since, until)
    parts = plan(since, until, use_rollups=use_rollups)
    totals: dict[date, list[int]] = {day: [0, 0] for day in _days(since, until)}
    hits = Q(cache__in=CACHE_HITS)
    if (q := parts.rollup_q()) is not None:
        rows = (
            DownloadDailyTotal.objects.filter(q, SERVED)
            .values("day")
            .annotate(served=Sum("count"), hits=Sum("count", filter=hits))
            .order_by()
        )
        for row in rows:
            totals[row["day"]][0] += row["served"]
            totals[row["day"]][1] += row["hits"] or 0
    if (q := parts.raw_q()) is not None:
        rows = (
            DownloadEvent.objects.filter(q, SERVED)
            .annotate(day=TruncDate("time", tzinfo=UTC))
            .values("day")
            .annotate(served=Count("id"), hits=Count("id", filter=hits))
            .order_by()
        )
        for row in rows:
            totals[row["day"]][0] += row["served"]
            totals[row["day"]][1] += row["hits"]
    result = [CacheHits(day, served, hit, _ratio(hit, served)) for day, (served, hit) in sorted(totals.items())]
    served = sum(row.served for row in result)
    hit = sum(row.hits for row in result)
    return [*result, CacheHits(None, served, hit, _ratio(hit, served))]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@_tuned
def denied_by_rule(since: datetime, until: datetime, *, use_rollups: bool = True) -> list[RuleDenials]:
    """Requests refused with 403 per policy rule (its label, e.g. ``#12 deny
    github.com/evil/* <v1.4.2``), most first."""
    counts = _merge(
        since,
        until,
        use_rollups,
        keys=1,
        rollup=lambda q: DownloadDailyTotal.objects.filter(q, status=DENIED_STATUS).values_list("rule").annotate(n=Sum("count")),
        raw=lambda q: DownloadEvent.objects.filter(q, status=DENIED_STATUS).values_list("rule").annotate(n=Count("id")),
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    return [RuleDenials(rule, n) for (rule,), (n,) in ranked]


@_tuned
def fetch_failures(since: datetime, until: datetime, *, use_rollups: bool = True) -> list[FetchFailures]:
    """Upstream fetch attempts that did not succeed (outcome other than ``ok``) per
    upstream and outcome, most first, with the time and error text of the latest one."""
    since, until = check_period(since, until)
    parts = plan(since, until, use_rollups=use_rollups)
    found: dict[tuple[str, str], list] = {}

    def add(upstream, outcome, count, last_time, last_error):
        entry = found.setdefault((upstream, outcome), [0, last_time, last_error])
        entry[0] += count
        if last_time > entry[1]:
            entry[1], entry[2] = last_time, last_error

    if (q := parts.rollup_q()) is not None:
        rows = FetchDailyTotal.objects.filter(q).exclude(outcome=FetchEvent.Outcome.OK)
        for row in rows.values_list("upstream", "outcome", "count", "last_time", "last_error"):
            add(*row)
    if (q := parts.raw_q()) is not None:
        failed = FetchEvent.objects.filter(q).exclude(outcome=FetchEvent.Outcome.OK)
        groups = failed.values_list("upstream", "outcome").annotate(n=Count("id"), last=Max("time")).order_by()
        for upstream, outcome, count, last_time in groups:
            add(upstream, outcome, count, last_time, _latest_error(upstream, outcome, last_time))
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))
    return [FetchFailures(upstream, outcome, n, last, error) for (upstream, outcome), (n, last, error) in ranked]


def _latest_error(upstream: str, outcome: str, moment: datetime) -> str:
    """The error text of the (last recorded) fetch event at exactly ``moment``: one
    index look-up per group, where a correlated subquery would run once per event."""
    events = FetchEvent.objects.filter(time=moment, upstream=upstream, outcome=outcome).order_by("-id")
    return events.values_list("error", flat=True).first() or ""


@_tuned
def fetch_latency(since: datetime, until: datetime, *, outcome: str | None = None) -> list[FetchLatency]:
    """Median and 95th percentile of upstream fetch durations (ms): first over all
    upstreams (``upstream=None``), then per upstream by name. Continuous percentiles
    (interpolated, like PostgreSQL's ``percentile_cont``). Only attempts with the given
    ``outcome`` (``ok``, ``not_found``, ...) if one is given. Reads raw fetch events."""
    since, until = check_period(since, until)
    if outcome is not None and outcome not in FetchEvent.Outcome.values:
        raise ReportError(f"outcome={outcome!r}: use one of {', '.join(FetchEvent.Outcome.values)}")
    if connection.vendor == "postgresql":
        return _fetch_latency_postgresql(since, until, outcome)
    events = FetchEvent.objects.filter(time__gte=since, time__lt=until)
    if outcome:
        events = events.filter(outcome=outcome)
    durations: dict[str, list[float]] = {}
    for upstream, duration in events.values_list("upstream", "duration_ms").order_by().iterator(chunk_size=10000):
        durations.setdefault(upstream, []).append(duration)
    overall = sorted(d for values in durations.values() for d in values)
    rows = [FetchLatency(None, len(overall), _percentile(overall, 0.5), _percentile(overall, 0.95))]
    for upstream in sorted(durations):
        values = sorted(durations[upstream])
        rows.append(FetchLatency(upstream, len(values), _percentile(values, 0.5), _percentile(values, 0.95)))
    return rows


def _fetch_latency_postgresql(since: datetime, until: datetime, outcome: str | None) -> list[FetchLatency]:
    table = FetchEvent._meta.db_table
    sql = f"""
        SELECT upstream, GROUPING(upstream), count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
        FROM {table}
        WHERE time >= %s AND time < %s {"AND outcome = %s" if outcome else ""}
        GROUP BY GROUPING SETS ((), (upstream))
    """  # noqa: S608 - the table name is ours, the values are parameters
    params = [since, until, *([outcome] if outcome else [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    overall = FetchLatency(None, 0, None, None)
    rows = []
    for upstream, grouped, count, median, p95 in found:
        row = FetchLatency(None if grouped else upstream, count, median, p95)
        if grouped:
            overall = row
        else:
            rows.append(row)
    return [overall, *sorted(rows, key=lambda row: row.upstream)]


def _percentile(ordered: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@_tuned
def who_downloaded(
    module: str,
    since: datetime,
    until: datetime,
    *,
    constraint: str | Constraint | None = None,
    by: str = "client",
    use_rollups: bool = True,
) -> list[ModuleDownloader]:
    """Incident response: which clients downloaded a version of ``module`` (exact path)
    in the period, and which versions, when first and last, how many times; newest
    first. ``constraint`` limits the versions (``<v0.23.0``, ``>=v1.2.0 <v1.2.5``, the
    syntax of policy rules; see modules/goproxy/constraints.py).

    ``by`` groups the rows as in top_clients: per client (address, user), per user
    (from every address) or per address.

    Counts served requests that name a version (.info, .mod, .zip). The constraint is
    matched in Python over the module's distinct versions in the period (a module has
    few), and only the matching versions are then read.
    """
    by = _check_grouping(by)
    module = (module or "").strip()
    if not module:
        raise ReportError("module is required (an exact module path, e.g. golang.org/x/net)")
    if isinstance(constraint, str):
        try:
            constraint = parse_constraint(constraint)
        except InvalidConstraintError as exc:
            raise ReportError(str(exc)) from None
    since, until = check_period(since, until)
    parts = plan(since, until, use_rollups=use_rollups)
    rollup_q, raw_q = parts.rollup_q(), parts.raw_q()
    rollups = DownloadDailyClientVersion.objects.filter(module=module)
    events = DownloadEvent.objects.filter(SERVED, module=module).exclude(version="")

    versions: set[str] = set()
    if rollup_q is not None:
        versions.update(rollups.filter(rollup_q).values_list("version", flat=True).distinct().order_by())
    if raw_q is not None:
        versions.update(events.filter(raw_q).values_list("version", flat=True).distinct().order_by())
    if constraint is not None and not constraint.is_any:
        versions = {v for v in versions if semver.is_valid(v) and constraint.matches(v)}
    if not versions:
        return []

    found: dict[tuple, list] = {}

    def add(key, count, first, last):
        entry = found.get(key)
        if entry is None:
            found[key] = [count, first, last]
        else:
            entry[0] += count
            entry[1] = min(entry[1], first)
            entry[2] = max(entry[2], last)

    keys = ("client_addr", "username", "auth", "version")
    sources = []  # the same grouped rows from whole rolled-up days and from raw edges
    if rollup_q is not None:
        sources.append(rollups.filter(rollup_q, version__in=versions).values_list(*keys)
                       .annotate(n=Sum("count"), first=Min("first_time"), last=Max("last_time")))
    if raw_q is not None:
        sources.append(events.filter(raw_q, version__in=versions).values_list(*keys)
                       .annotate(n=Count("id"), first=Min("time"), last=Max("time")))
    for rows in sources:
        for *key, count, first, last in rows.order_by():
            add(_regrouped(tuple(key), by), count, first, last)
    result = [
        ModuleDownloader(addr, user, auth, version, first, last, count)
        for (addr, user, auth, version), (count, first, last) in found.items()
    ]
    result.sort(key=lambda row: (str(row.client_addr or ""), row.username, row.auth, semver.sort_key(row.version)))
    result.sort(key=lambda row: row.last_time, reverse=True)
    return result


RAW_EVENT_FIELDS = (
    "id", "time", "module", "version", "endpoint", "method", "status", "cache", "bytes_sent",
    "duration_ms", "client_addr", "username", "auth", "token_name", "user_agent", "message", "rule", "request_id",
)


def raw_events(
    since: datetime, until: datetime, module: str | None = None, *, chunk_size: int = 5000
) -> Iterator[dict]:
    """Every DownloadEvent of the period as a dict of ``RAW_EVENT_FIELDS``, oldest first
    (by time, then id), of one module if given. An iterator over a server-side cursor on
    PostgreSQL (``chunk_size`` rows at a time): for streamed CSV, never a whole table in
    memory. Consume it inside one request; do not hold it open across requests.

    The period is checked at once (ReportError before anything is streamed); the query
    runs when the iterator is first read."""
    since, until = check_period(since, until)
    events = DownloadEvent.objects.filter(time__gte=since, time__lt=until)
    if module:
        events = events.filter(module=module)
    return events.order_by("time", "id").values(*RAW_EVENT_FIELDS).iterator(chunk_size=chunk_size)


# --- Merging the rollup and raw parts --------------------------------------------------


def _merge(since, until, use_rollups, *, keys: int, rollup: Callable, raw: Callable) -> dict[tuple, list]:
    """Run a grouped query over each part of the period and add the results up.

    ``rollup(q)`` and ``raw(q)`` return ``values_list(*key_columns).annotate(*sums)``
    querysets whose first ``keys`` columns are the group; the result maps each group's
    key tuple to its list of sums.
    """
    since, until = check_period(since, until)
    parts = plan(since, until, use_rollups=use_rollups)
    totals: dict[tuple, list] = {}
    for make, q in ((rollup, parts.rollup_q()), (raw, parts.raw_q())):
        if q is None:
            continue
        for row in make(q).order_by():
            key, sums = tuple(row[:keys]), row[keys:]
            entry = totals.setdefault(key, [0] * len(sums))
            for i, value in enumerate(sums):
                entry[i] += value or 0
    return totals


# --- The registry the pages and the API render from ------------------------------------


@dataclass(frozen=True)
class Report:
    """One report as the pages, CSV and API see it."""

    name: str  # URL slug
    title: str
    description: str
    function: Callable
    row_type: type
    # Keyword parameters besides since/until, as (name, kind, help); kind is "str",
    # "int" or "constraint". `module` is required for who_downloaded.
    parameters: tuple[tuple[str, str, str], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(self.row_type))

    def run(self, since: datetime, until: datetime, **params) -> list:
        """Call the report function; ``who_downloaded`` takes the module first."""
        if self.name == "who-downloaded":
            return self.function(params.pop("module", None), since, until, **params)
        return self.function(since, until, **params)


_LIMIT = ("limit", "int", f"How many rows, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).")
_BY = ("by", "choice", "Group per client (address and user, the default), per user (every address) or per address.")

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report("downloads", "Downloads over time", downloads_over_time.__doc__, downloads_over_time, DownloadsOnDay),
        Report("top-modules", "Top modules", top_modules.__doc__, top_modules, ModuleDownloads, (_LIMIT,)),
        Report(
            "top-versions",
            "Top module versions",
            top_versions.__doc__,
            top_versions,
            VersionDownloads,
            (("module", "str", "Only this module (exact path)."), _LIMIT),
        ),
        Report("top-clients", "Top clients", top_clients.__doc__, top_clients, ClientDownloads, (_BY, _LIMIT)),
        Report("cache-hit-ratio", "Cache hit ratio", cache_hit_ratio.__doc__, cache_hit_ratio, CacheHits),
        Report("denied-by-rule", "Denied requests by rule", denied_by_rule.__doc__, denied_by_rule, RuleDenials),
        Report("fetch-failures", "Upstream fetch failures", fetch_failures.__doc__, fetch_failures, FetchFailures),
        Report(
            "fetch-latency",
            "Fetch latency",
            fetch_latency.__doc__,
            fetch_latency,
            FetchLatency,
            (("outcome", "str", "Only attempts with this outcome (ok, not_found, invalid, error, conflict)."),),
        ),
        Report(
            "who-downloaded",
            "Who downloaded a module",
            who_downloaded.__doc__,
            who_downloaded,
            ModuleDownloader,
            (
                ("module", "str", "The module path, exactly (required)."),
                ("constraint", "constraint", "Versions to look for, e.g. <v0.23.0 or >=v1.2.0 <v1.2.5."),
                _BY,
            ),
        ),
    )
}


def as_dicts(rows: list) -> list[dict]:
    """Report rows as plain dicts (JSON, CSV)."""
    return [dataclasses.asdict(row) for row in rows]
