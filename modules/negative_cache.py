"""Remembering upstream failures for a short time (the negative cache).

The go command probes every prefix of a package path (`example.com/@v/list`,
`example.com/a/@v/list`, ...). Without this, each probe of a path that is not a module
would cost an upstream round trip.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import FetchFailure
from .upstreams.errors import NotFound, UpstreamError, error_from_status

LIST = "@v/list"
LATEST = "@latest"


def check(module: str, target: str) -> None:
    """Raise the remembered error if `module` `target` failed recently."""
    failure = (
        FetchFailure.objects.filter(module_path=module, target=target, expires_at__gt=timezone.now())
        .only("http_status", "message", "public_message")
        .first()
    )
    if failure is not None:
        raise error_from_status(failure.http_status, failure.message, failure.public_message or None)


def remember(module: str, target: str, error: UpstreamError) -> None:
    """Record a failure; "not found" and invalid content live longer than transient errors."""
    if isinstance(error, NotFound) or error.outcome == "invalid":
        seconds = settings.ATHENS_NEGATIVE_CACHE_SECONDS
    else:
        seconds = settings.ATHENS_ERROR_CACHE_SECONDS
    if seconds <= 0:
        return
    FetchFailure.objects.update_or_create(
        module_path=module,
        target=target,
        defaults={
            "http_status": error.http_status,
            "message": error.message[:2000],
            "public_message": error.public_text[:2000],
            "expires_at": timezone.now() + timedelta(seconds=seconds),
        },
    )


def forget(module: str, target: str) -> None:
    FetchFailure.objects.filter(module_path=module, target=target).delete()
