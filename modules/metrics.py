"""Prometheus metrics of the proxy, and the `/metrics` view that exposes them.

Multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by settings.py and
athens_site/gunicorn_conf.py before prometheus_client is imported): gunicorn workers
and Celery workers are separate processes, each writes its own sample files, and the
view adds all of them up. The audit recorder is the one caller of the observe_*
functions, so every request and fetch counted here also has an audit row.

Labels are small closed sets (endpoint, status code, cache result, upstream, outcome):
never module paths or user names, which would leak who uses what and give Prometheus
an unbounded number of series.

Access, secure by default: with ATHENS_METRICS_TOKEN set, `Authorization: Bearer
<token>`; without it, only clients on the loopback interface.
"""

import hmac
import ipaddress
import logging
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

logger = logging.getLogger(__name__)

# Downloads take from milliseconds (cache hits) to minutes (a first fetch of a big zip).
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

DOWNLOAD_REQUESTS = Counter(
    "athens_download_requests_total",
    "Download API requests by endpoint, HTTP status and cache result (hit, fetched, redirect, ...).",
    ["endpoint", "status", "cache"],
)
DOWNLOAD_DURATION = Histogram(
    "athens_download_request_duration_seconds",
    "Time to answer a download API request, by endpoint.",
    ["endpoint"],
    buckets=_SECONDS,
)
UPSTREAM_FETCH_DURATION = Histogram(
    "athens_upstream_fetch_duration_seconds",
    "Duration of one attempt to get something from one upstream, by upstream and outcome.",
    ["upstream", "outcome"],
    buckets=_SECONDS,
)


def observe_download(*, endpoint: str, status: int, cache: str, duration_s: float) -> None:
    try:
        DOWNLOAD_REQUESTS.labels(str(endpoint), str(status), str(cache)).inc()
        DOWNLOAD_DURATION.labels(str(endpoint)).observe(duration_s)
    except Exception:  # noqa: BLE001 - metrics must never break a download
        logger.exception("could not update the download metrics")


def observe_fetch(*, upstream: str, outcome: str, duration_s: float) -> None:
    try:
        UPSTREAM_FETCH_DURATION.labels(upstream_label(upstream), str(outcome)).observe(duration_s)
    except Exception:  # noqa: BLE001
        logger.exception("could not update the fetch metrics")


def upstream_label(name: str) -> str:
    """The upstream as configured (`direct`, `off`, `https://host[:port]/path`), never
    credentials; anything else, such as an eviction's `admin:<username>`, is `other`."""
    if name in ("direct", "off"):
        return name
    try:
        parts = urlsplit(name)
        if parts.scheme in ("http", "https") and parts.hostname:
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"[:200]
    except ValueError:
        pass
    return "other"


class FetchQueueCollector:
    """`athens_fetch_queue_depth`, read from the broker at scrape time.

    Fetches waiting in the Celery queue: LLEN of the default queue's Redis list. Without
    a broker (fetches run in the web processes) it is 0; with another broker, or when
    Redis does not answer, the metric is left out rather than failing the scrape.
    """

    def collect(self):
        depth = self._depth()
        if depth is not None:
            gauge = GaugeMetricFamily("athens_fetch_queue_depth", "Fetch tasks waiting in the Celery queue.")
            gauge.add_metric([], depth)
            yield gauge

    def _depth(self) -> int | None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return 0
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return None
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        try:
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            try:
                return int(client.llen(queue))
            finally:
                client.close()
        except (redis.RedisError, OSError) as exc:
            logger.warning("fetch queue depth unavailable: %s", type(exc).__name__)
            return None


def _allowed(request) -> tuple[bool, int, str]:
    from audit.recorder import client_address  # audit.recorder imports this module

    token = settings.ATHENS_METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True, 200, ""
        return False, 401, "unauthorized: /metrics needs Authorization: Bearer <ATHENS_METRICS_TOKEN>\n"
    # Behind trusted reverse proxies the proxy's own address is loopback; the client's
    # comes from X-Forwarded-For (only from ATHENS_TRUSTED_PROXIES), as in the audit.
    try:
        address = ipaddress.ip_address(client_address(request) or "")
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address is not None and address.is_loopback:
        return True, 200, ""
    return False, 403, (
        "forbidden: /metrics answers only requests from this machine; "
        "set ATHENS_METRICS_TOKEN to scrape it from elsewhere with Authorization: Bearer <token>\n"
    )


@require_GET
def metrics_view(request):
    """The samples of every process of this installation, in Prometheus text format."""
    allowed, status, message = _allowed(request)
    if not allowed:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(FetchQueueCollector())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
