"""The one place that writes audit rows.

Views call `record_download` once per download API request (in a `finally`, so errors
are recorded too); the fetch code calls `record_fetch` once per upstream attempt. Both
also update the Prometheus metrics (modules/metrics.py), so the numbers there and in
the audit agree, and stamp the row with the current request id
(athens_site/request_id.py), which ties a download to the fetch it caused and to the
log lines of both.
"""

import logging
import os
import socket
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from athens_site import request_id as request_ids
from athens_site import trusted_proxies
from modules import metrics
from modules.tokens.client_auth import ANONYMOUS, Client

from . import group_commit
from .models import DownloadEvent, FetchEvent

logger = logging.getLogger(__name__)

_WORKER = f"{socket.gethostname()}:{os.getpid()}"


def current_worker() -> str:
    """`hostname:pid` of this process (recomputed after a fork, when the pid changed)."""
    global _WORKER
    pid = os.getpid()
    if not _WORKER.endswith(f":{pid}"):
        _WORKER = f"{socket.gethostname()}:{pid}"
    return _WORKER


@dataclass
class DownloadRecord:
    """What a download API request asked for and what it was answered; filled as it goes."""

    module: str = ""
    version: str = ""
    endpoint: str = DownloadEvent.Endpoint.INVALID
    cache: str = DownloadEvent.Cache.NONE
    message: str = ""
    rule: str = ""
    # Who asked (modules/tokens/client_auth.py); its groups choose the policy rules.
    client: Client = ANONYMOUS


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}


def clean(text: str, limit: int) -> str:
    """Fit client-supplied text for an audit column: control characters (NUL included,
    which PostgreSQL text refuses) written as `\\xNN`, and the length capped."""
    return text.translate(_CONTROL)[:limit]


def client_address(request) -> str | None:
    """The client's address: the TCP peer, or behind ATHENS_TRUSTED_PROXIES what they
    forwarded (athens_site/trusted_proxies.py)."""
    return trusted_proxies.client(request).address


def record_download(request, record: DownloadRecord, *, status: int, bytes_sent: int, duration_s: float) -> None:
    metrics.observe_download(endpoint=record.endpoint, status=status, cache=record.cache, duration_s=duration_s)
    try:
        client = record.client
        event = DownloadEvent(
            time=timezone.now(),
            module=clean(record.module, 1024),
            version=clean(record.version, 255),
            endpoint=record.endpoint,
            method=request.method[:8],
            status=status,
            cache=record.cache,
            bytes_sent=bytes_sent,
            duration_ms=round(duration_s * 1000, 3),
            client_addr=client_address(request),
            # What the request claimed, as text: the audit shows it without believing it.
            forwarded_for=clean(request.META.get("HTTP_X_FORWARDED_FOR", ""), 512),
            client_request_id=clean(getattr(request, "client_request_id", ""), 128),
            username=client.username[:150],
            auth=client.auth,
            token_name=client.token_name[:100],
            user_agent=clean(request.META.get("HTTP_USER_AGENT", ""), 512),
            message=clean(record.message, 512),
            rule=clean(record.rule, 512),
            request_id=request_ids.current(),
        )
        if settings.ATHENS_AUDIT_GROUP_COMMIT:
            group_commit.save(event)  # committed with other requests' rows, before we answer
        else:
            event.save()
    except Exception:  # noqa: BLE001 - the answer was computed; do not turn it into a 500
        logger.exception("could not record the download of %s@%s", record.module, record.version)


def record_fetch(
    *,
    module: str,
    version: str,
    endpoint: str,
    upstream: str,
    outcome: str,
    duration_s: float,
    bytes: int = 0,
    zip_hash: str = "",
    mod_hash: str = "",
    error: str = "",
    notices: str = "",
) -> None:
    if endpoint != "evict":  # an eviction is audited as a FetchEvent but fetches nothing
        metrics.observe_fetch(upstream=upstream, outcome=outcome, duration_s=duration_s)
    FetchEvent.objects.create(
        time=timezone.now(),
        module=module[:1024],
        version=version[:255],
        endpoint=endpoint,
        upstream=upstream[:500],
        outcome=outcome,
        bytes=bytes,
        duration_ms=round(duration_s * 1000, 3),
        zip_hash=zip_hash,
        mod_hash=mod_hash,
        error=error[:4000],
        notices=notices[:4000],
        worker=current_worker(),
        request_id=request_ids.current(),
    )
