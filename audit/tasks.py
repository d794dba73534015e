"""Audit rollups and retention, and the Celery beat tasks that run them.

Rollups: ``rollup_day(day)`` recomputes one UTC day of every rollup table from the raw
events, in one transaction: it deletes the day's rollup rows and inserts them again with
``INSERT ... SELECT ... GROUP BY`` (the SELECT is built with the ORM, so one code path
serves PostgreSQL and SQLite). Running it twice gives the same rows; a row lock on the
day's RollupDay keeps two workers from interleaving. The beat task ``rollup_downloads``
recomputes today and yesterday every few minutes (so reports read today from rollups
too, up to a few minutes ago) and catches up on older days that were never rolled up
after they ended (a worker down over a weekend, a restored dump).

Retention: with ``ATHENS_AUDIT_RETENTION_DAYS`` > 0, ``apply_retention`` deletes raw
DownloadEvent and FetchEvent rows of the days before the last N, in batches of
``RETENTION_BATCH`` rows per statement and transaction. First it makes sure every such
day has final rollups and *seals* them (they are never recomputed from the now missing
raw events), so reports over old periods keep their numbers. It is the only code allowed
to delete audit events: it sets the transaction-local ``athens.audit_retention`` flag
that the PostgreSQL append-only trigger (migration 0005) looks for.
"""

import logging
from datetime import UTC, date, datetime, time, timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import (
    DownloadDailyClient,
    DownloadDailyClientVersion,
    DownloadDailyTotal,
    DownloadDailyVersion,
    DownloadEvent,
    FetchDailyTotal,
    FetchEvent,
    RollupDay,
)

logger = logging.getLogger(__name__)

RETENTION_BATCH = 10_000
# Older days rolled up per beat run at most, newest first, so a long backlog (a restored
# dump with years of events) is worked off over several runs within the time limit.
CATCH_UP_DAYS = 31
ROLLUP_MODELS = (DownloadDailyTotal, DownloadDailyVersion, DownloadDailyClient, DownloadDailyClientVersion, FetchDailyTotal)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


# --- Rollups ---------------------------------------------------------------------------


def _insert_select(model, columns: list[tuple[str, str]], queryset, day: date) -> int:
    """INSERT INTO model's table (day, columns...) SELECT the day and the queryset's columns.

    ``columns`` pairs each rollup column with the name it has in the queryset (annotation
    names must differ from the event's field names, hence the pairs).
    """
    sql, params = queryset.query.sql_with_params()
    quote = connection.ops.quote_name
    targets = ", ".join(quote(target) for target in ["day", *(target for target, _ in columns)])
    sources = ", ".join(f"grouped.{quote(source)}" for _, source in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({targets}) SELECT %s, {sources} FROM ({sql}) grouped",
            [connection.ops.adapt_datefield_value(day), *params],
        )
        return cursor.rowcount


def rollup_day(day: date) -> RollupDay:
    """Recompute every rollup table for one UTC day from the raw events (idempotent).

    Counts the day's events before its RollupDay.covered_until: all of them once the day
    ended ROLLUP_SETTLE ago, else those before ROLLUP_SETTLE ago. A sealed day (its raw
    events deleted by retention) is left as it is.
    """
    start = _midnight(day)
    with transaction.atomic():
        RollupDay.objects.get_or_create(day=day, defaults={"computed_at": timezone.now()})
        state = RollupDay.objects.select_for_update().get(day=day)
        if state.sealed:
            return state
        # The rollup holds the day's events before `covered_until` (the day's end, or a
        # little before now for today), which is what reports rely on.
        state.computed_at = timezone.now()
        end = state.covered_until
        downloads = DownloadEvent.objects.filter(time__gte=start, time__lt=end).order_by()
        served = downloads.filter(status__lt=400)
        fetches = FetchEvent.objects.filter(time__gte=start, time__lt=end).order_by()
        for model in ROLLUP_MODELS:
            model.objects.filter(day=day).delete()
        _insert_select(
            DownloadDailyTotal,
            [("endpoint", "endpoint"), ("status", "status"), ("cache", "cache"), ("rule", "rule"),
             ("count", "n"), ("bytes", "b")],
            downloads.values("endpoint", "status", "cache", "rule").annotate(n=Count("id"), b=Sum("bytes_sent")),
            day,
        )
        _insert_select(
            DownloadDailyVersion,
            [("module", "module"), ("version", "version"), ("count", "n"), ("bytes", "b")],
            served.values("module", "version").annotate(n=Count("id"), b=Sum("bytes_sent")),
            day,
        )
        _insert_select(
            DownloadDailyClient,
            [("client_addr", "client_addr"), ("username", "username"), ("auth", "auth"),
             ("count", "n"), ("bytes", "b"), ("denied", "d")],
            downloads.values("client_addr", "username", "auth").annotate(
                n=Count("id"), b=Sum("bytes_sent"), d=Count("id", filter=Q(status=403))
            ),
            day,
        )
        _insert_select(
            DownloadDailyClientVersion,
            [("module", "module"), ("version", "version"), ("client_addr", "client_addr"), ("username", "username"),
             ("auth", "auth"), ("count", "n"), ("first_time", "first"), ("last_time", "last")],
            served.exclude(version="")
            .values("module", "version", "client_addr", "username", "auth")
            .annotate(n=Count("id"), first=Min("time"), last=Max("time")),
            day,
        )
        _insert_select(
            FetchDailyTotal,
            [("upstream", "upstream"), ("outcome", "outcome"), ("count", "n"), ("bytes", "b"),
             ("duration_ms", "ms"), ("last_time", "last"), ("last_error", "no_error")],
            fetches.values("upstream", "outcome").annotate(
                n=Count("id"), b=Sum("bytes"), ms=Sum("duration_ms"), last=Max("time"), no_error=Value("")
            ),
            day,
        )
        # The error of each group's latest attempt: found by its time through the time
        # index, once per group (a subquery in the grouped SELECT would run per event).
        latest = FetchEvent.objects.filter(
            time=OuterRef("last_time"), upstream=OuterRef("upstream"), outcome=OuterRef("outcome")
        ).order_by("-id")
        FetchDailyTotal.objects.filter(day=day).exclude(outcome=FetchEvent.Outcome.OK).update(
            last_error=Coalesce(Subquery(latest.values("error")[:1]), Value(""))
        )
        state.download_events = DownloadDailyTotal.objects.filter(day=day).aggregate(n=Sum("count"))["n"] or 0
        state.fetch_events = FetchDailyTotal.objects.filter(day=day).aggregate(n=Sum("count"))["n"] or 0
        state.save(update_fields=["computed_at", "download_events", "fetch_events"])
    return state


def days_to_roll_up(before: date) -> list[date]:
    """Days before ``before`` that have (or may have) raw events but no final rollup,
    newest first. Starts at the day of the oldest raw event (cheap: an index end)."""
    oldest = [
        moment
        for moment in (
            DownloadEvent.objects.order_by("time").values_list("time", flat=True).first(),
            FetchEvent.objects.order_by("time").values_list("time", flat=True).first(),
        )
        if moment is not None
    ]
    if not oldest:
        return []
    first = min(oldest).astimezone(UTC).date()
    final = {state.day for state in RollupDay.objects.filter(day__gte=first, day__lt=before) if state.is_final}
    missing = []
    day = before - timedelta(days=1)
    while day >= first:
        if day not in final:
            missing.append(day)
        day -= timedelta(days=1)
    return missing


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def rollup_downloads(days: list[str] | None = None) -> list[str]:
    """Recompute the rollups of ``days`` (ISO dates), or by default: today, yesterday, and
    up to CATCH_UP_DAYS older days that were never finalised. Returns the days done."""
    if days:
        chosen = [date.fromisoformat(day) for day in days]
    else:
        today = _today()
        yesterday = today - timedelta(days=1)
        chosen = [today, yesterday, *days_to_roll_up(yesterday)[:CATCH_UP_DAYS]]
    for day in chosen:
        rollup_day(day)
    return [day.isoformat() for day in chosen]


# --- Retention -------------------------------------------------------------------------


def allow_audit_deletion() -> None:
    """Let this transaction delete audit events (the PostgreSQL trigger looks for it)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('athens.audit_retention', 'on', true)")


def _delete_batch(model, cutoff: datetime, batch_size: int) -> int:
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic():
        allow_audit_deletion()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE time < %s ORDER BY time LIMIT %s)",
                [cutoff, batch_size],
            )
            return cursor.rowcount


def delete_expired_events(keep_days: int, *, batch_size: int = RETENTION_BATCH) -> dict:
    """Delete raw audit events of the UTC days that ended more than ``keep_days`` days ago
    (so nothing younger than ``keep_days`` days goes), after rolling those days up and
    sealing their rollups.

    Returns how many rows were deleted and the cutoff. ``keep_days`` 0 or less: nothing.
    """
    if keep_days <= 0:
        return {"cutoff": None, "downloads": 0, "fetches": 0, "batches": 0}
    cutoff_day = _today() - timedelta(days=keep_days)
    cutoff = _midnight(cutoff_day)
    for day in days_to_roll_up(cutoff_day):
        rollup_day(day)
    # Sealed before any deletion: a deletion interrupted half-way leaves days whose
    # rollups were computed from all of their events, and nothing recomputes them.
    RollupDay.objects.filter(day__lt=cutoff_day, sealed=False).update(sealed=True)
    deleted = {"cutoff": cutoff.isoformat(), "downloads": 0, "fetches": 0, "batches": 0}
    for model, key in ((DownloadEvent, "downloads"), (FetchEvent, "fetches")):
        while True:
            count = _delete_batch(model, cutoff, batch_size)
            deleted[key] += count
            deleted["batches"] += 1 if count else 0
            if count < batch_size:
                break
    logger.info("audit retention: deleted %(downloads)s download and %(fetches)s fetch events before %(cutoff)s", deleted)
    return deleted


@shared_task(acks_late=True, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def apply_retention() -> dict:
    """Delete raw audit events older than ATHENS_AUDIT_RETENTION_DAYS (0: keep forever)."""
    return delete_expired_events(settings.ATHENS_AUDIT_RETENTION_DAYS)
