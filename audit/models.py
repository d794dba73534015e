"""Append-only audit events and their daily rollups.

Rows copy the strings they describe (module path, version, username) instead of
pointing at other rows, so they outlive deletions; they are never updated or deleted
through the application. On PostgreSQL a trigger (migration 0004) refuses UPDATE and
DELETE of the event tables outright, except inside the retention task.

The rollup tables hold one UTC day of events each, aggregated for the reports in
audit/reports.py; audit/tasks.py recomputes them from the raw events (a day is deleted
and inserted again in one transaction, so a recomputation is idempotent). They are
narrow on purpose: one table per question, so that a 90-day report reads a few hundred
thousand small rows at most instead of millions of events.
"""

from datetime import UTC, datetime, time, timedelta

from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised on an attempt to change or delete an audit row."""


class AppendOnlyModel(models.Model):
    """A model whose rows can be inserted but never updated or deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class DownloadEvent(AppendOnlyModel):
    """One request to the download API, whatever its outcome."""

    class Endpoint(models.TextChoices):
        LIST = "list"
        INFO = "info"
        MOD = "mod"
        ZIP = "zip"
        LATEST = "latest"
        SUMDB = "sumdb"
        INVALID = "invalid", "Invalid request"

    class Cache(models.TextChoices):
        HIT = "hit", "Cache hit"
        FETCHED = "fetched", "Fetched from upstream"
        UPSTREAM = "upstream", "Answered from upstream (not cached)"
        FALLBACK = "fallback", "Served from cache, upstream failing"
        REDIRECT = "redirect", "Redirected to the upstream"
        NONE = "none", "Not served"

    # Indexed with the id (see Meta): reports and the CSV export read ranges of time in
    # (time, id) order, which that index gives without a sort.
    time = models.DateTimeField()
    module = models.CharField(max_length=1024)
    version = models.CharField(max_length=255, blank=True, default="")
    endpoint = models.CharField(max_length=16, choices=Endpoint.choices)
    method = models.CharField(max_length=8, default="GET")
    status = models.PositiveSmallIntegerField()
    cache = models.CharField(max_length=16, choices=Cache.choices, default=Cache.NONE)
    bytes_sent = models.BigIntegerField(default=0)
    duration_ms = models.FloatField()
    client_addr = models.GenericIPAddressField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, default="")
    auth = models.CharField(max_length=16, blank=True, default="")
    # The name its owner gave the proxy token the request came with ("laptop", "ci").
    token_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    message = models.CharField(max_length=512, blank=True, default="")
    # The policy rule that denied the request (`#12 deny github.com/evil/* <v1.4.2`), if any.
    rule = models.CharField(max_length=512, blank=True, default="")
    # The X-Request-ID of the request (athens_site/request_id.py), also in its log lines.
    # db_default too: rows inserted by code older than this column still get "".
    request_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # What the client said and we did not take as fact: its X-Forwarded-For header and
    # its X-Request-ID (when it is not from a trusted proxy, the request id is ours).
    forwarded_for = models.CharField(max_length=512, blank=True, default="", db_default="")
    client_request_id = models.CharField(max_length=128, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["time", "id"], name="download_time_id"),
            models.Index(fields=["module", "version", "time"], name="download_module_version_time"),
            # "Who downloaded module X in this period", whatever the version.
            models.Index(fields=["module", "time"], name="download_module_time"),
        ]
        ordering = ["-time", "-id"]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.module}@{self.version} {self.endpoint} {self.status}"


class FetchEvent(AppendOnlyModel):
    """One attempt to get something from one upstream."""

    class Outcome(models.TextChoices):
        OK = "ok", "Fetched"
        NOT_FOUND = "not_found", "Not found"
        INVALID = "invalid", "Invalid content"
        ERROR = "error", "Upstream error"
        CONFLICT = "conflict", "Conflicts with cached bytes"

    time = models.DateTimeField(db_index=True)
    module = models.CharField(max_length=1024)
    version = models.CharField(max_length=255, blank=True, default="")
    endpoint = models.CharField(max_length=16)
    upstream = models.CharField(max_length=500)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    bytes = models.BigIntegerField(default=0)
    duration_ms = models.FloatField()
    zip_hash = models.CharField(max_length=64, blank=True, default="")
    mod_hash = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    # What a successful fetch found that the go command tolerates (one `code: message`
    # a line): a legacy .mod, vendored files, VCS directories in the zip.
    notices = models.TextField(blank=True, default="", db_default="")
    # Which process did it (`hostname:pid`, or the Celery worker's name): shows whether
    # fetches run in the web servers or in the workers.
    worker = models.CharField(max_length=255, blank=True, default="")
    # The request id of the download that caused the fetch (passed to the Celery task).
    request_id = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["module", "version", "time"], name="fetch_module_version_time"),
        ]
        ordering = ["-time", "-id"]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.module}@{self.version} {self.endpoint} {self.outcome}"


# Events are recorded (and committed) as a request ends, with the time they are written;
# a rollup computed at T counts the events before T - ROLLUP_SETTLE, so that none still
# being written is missed, and the rest of the day is left to the raw events.
ROLLUP_SETTLE = timedelta(minutes=2)


class RollupDay(models.Model):
    """Which UTC days the rollup tables hold, and up to what time.

    The rollups of a day hold its events before ``covered_until``: the whole day once
    they were computed ROLLUP_SETTLE after it ended (*final*), else up to a little
    before they were computed (today, recomputed every few minutes). ``sealed`` days
    had their raw events deleted by the retention task: their rollups are never
    recomputed again (there is nothing left to recompute them from).
    """

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField()
    download_events = models.BigIntegerField(default=0)
    fetch_events = models.BigIntegerField(default=0)
    sealed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-day"]

    def __str__(self):
        return f"rollup of {self.day:%Y-%m-%d}"

    @property
    def day_end(self) -> datetime:
        return datetime.combine(self.day + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def covered_until(self) -> datetime:
        """The rollups hold the day's events before this time."""
        if self.sealed:
            return self.day_end
        return min(self.day_end, self.computed_at - ROLLUP_SETTLE)

    @property
    def is_final(self) -> bool:
        """Whether the rollups hold the whole day."""
        return self.covered_until >= self.day_end


class DownloadDailyTotal(models.Model):
    """Download API requests of one day by endpoint, status, cache and policy rule.

    A few dozen rows a day: downloads over time, cache hit ratio, denials by rule.
    """

    day = models.DateField()
    endpoint = models.CharField(max_length=16)
    status = models.PositiveSmallIntegerField()
    cache = models.CharField(max_length=16)
    rule = models.CharField(max_length=512, blank=True, default="")
    count = models.BigIntegerField()
    bytes = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dl_total_day")]

    def __str__(self):
        return f"{self.day} {self.endpoint} {self.status} {self.cache}: {self.count}"


class DownloadDailyVersion(models.Model):
    """Served requests (status below 400) of one day per module version.

    Version is empty for lists and @latest. Top modules and top versions.
    """

    day = models.DateField()
    module = models.CharField(max_length=1024)
    version = models.CharField(max_length=255, blank=True, default="")
    count = models.BigIntegerField()
    bytes = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dl_version_day")]

    def __str__(self):
        return f"{self.day} {self.module}@{self.version}: {self.count}"


class DownloadDailyClient(models.Model):
    """Download API requests of one day per client (address, username, how authenticated).

    Every request counts, served or not; ``denied`` counts the 403s among them.
    """

    day = models.DateField()
    client_addr = models.GenericIPAddressField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, default="")
    auth = models.CharField(max_length=16, blank=True, default="")
    count = models.BigIntegerField()
    bytes = models.BigIntegerField()
    denied = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dl_client_day")]

    def __str__(self):
        return f"{self.day} {self.client_addr} {self.username}: {self.count}"


class DownloadDailyClientVersion(models.Model):
    """Served requests (status below 400) for a module version, per client and day.

    Only requests that name a version (.info, .mod, .zip): the incident-response
    question "which machines downloaded module X at versions below Y". The largest
    rollup (clients x versions a day), indexed by module first because every question
    it answers names one module.
    """

    day = models.DateField()
    module = models.CharField(max_length=1024)
    version = models.CharField(max_length=255)
    client_addr = models.GenericIPAddressField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, default="")
    auth = models.CharField(max_length=16, blank=True, default="")
    count = models.BigIntegerField()
    first_time = models.DateTimeField()
    last_time = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["module", "day"], name="dl_client_version_module_day"),
            models.Index(fields=["day"], name="dl_client_version_day"),
        ]

    def __str__(self):
        return f"{self.day} {self.module}@{self.version} {self.client_addr}: {self.count}"


class FetchDailyTotal(models.Model):
    """Upstream fetch attempts of one day per upstream and outcome, with the day's last error."""

    day = models.DateField()
    upstream = models.CharField(max_length=500)
    outcome = models.CharField(max_length=16)
    count = models.BigIntegerField()
    bytes = models.BigIntegerField()
    duration_ms = models.FloatField(help_text="Sum of the attempts' durations.")
    last_time = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["day"], name="fetch_total_day")]

    def __str__(self):
        return f"{self.day} {self.upstream} {self.outcome}: {self.count}"
