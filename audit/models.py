"""Append-only audit events.

Rows copy the strings they describe (module path, version, username) instead of
pointing at other rows, so they outlive deletions; they are never updated or deleted
through the application.
"""

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

    time = models.DateTimeField(db_index=True)
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
    user_agent = models.CharField(max_length=512, blank=True, default="")
    message = models.CharField(max_length=512, blank=True, default="")
    # The policy rule that denied the request (`#12 deny github.com/evil/* <v1.4.2`), if any.
    rule = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["module", "version", "time"], name="download_module_version_time"),
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
    # Which process did it (`hostname:pid`, or the Celery worker's name): shows whether
    # fetches run in the web servers or in the workers.
    worker = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["module", "version", "time"], name="fetch_module_version_time"),
        ]
        ordering = ["-time", "-id"]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.module}@{self.version} {self.endpoint} {self.outcome}"
