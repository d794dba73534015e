"""Celery tasks: thin wrappers over fetch.py, and the wait for their result.

Tasks take strings, never model instances, and are idempotent (a second run finds the
READY row and returns at once). Without CELERY_BROKER_URL they run eagerly in the
calling process. The request id of the download that asked for a fetch travels with the
task (a context variable does not cross into a worker or a thread), so the FetchEvent
and the worker's log lines carry it.
"""

import logging
import threading
import time

from celery import shared_task
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.db import connection

from athens_site import request_id as request_ids

from . import cold_fetches, negative_cache
from .fetch import STORAGE_ERRORS, fetch_version, ready_version, satisfies
from .models import ModuleVersion
from .upstreams.errors import Timeout, UpstreamError, error_from_status

logger = logging.getLogger(__name__)

# How often a request waiting for a worker's fetch also looks for the READY row.
_POLL_SECONDS = 2.0


@shared_task(name="modules.fetch_version", acks_late=True)
def fetch_version_task(module: str, version: str, request_id: str = "", zip: bool = True) -> dict:
    """Fetch module@version into the cache (its zip too, when `zip`); report the
    outcome as plain data.

    `request_id` (the download's) and `zip` are optional: tasks queued by older code
    still run (and fetch everything, as they did).
    """
    with request_ids.bound(request_id or request_ids.current()):
        return _fetch_version(module, version, zip)


def _fetch_version(module: str, version: str, zip: bool = True) -> dict:
    try:
        fetch_version(module, version, zip=zip)
    except UpstreamError as error:
        return {"status": "error", "http_status": error.http_status, "message": error.message, "public": error.public}
    except STORAGE_ERRORS as error:
        logger.error("module storage failed fetching %s@%s: %s", module, version, error)
        return {"status": "error", "http_status": 503, "message": "the proxy's module storage is not reachable"}
    return {"status": "ready"}


def fetch_through_worker(module: str, version: str, *, zip: bool = True) -> ModuleVersion:
    """Fetch module@version (its zip too, when `zip`) in a Celery worker (or eagerly)
    and wait for the READY row.

    The caller has already looked for a READY row; the negative cache is checked here,
    before a task is queued, so probes of missing versions never reach the queue.
    """
    negative_cache.check(module, version)
    with cold_fetches.slot(f"{module}@{version}"):
        return _fetch_and_wait(module, version, zip)


def _fetch_and_wait(module: str, version: str, zip: bool) -> ModuleVersion:
    result = fetch_version_task.delay(module, version, request_id=request_ids.current(), zip=zip)
    deadline = time.monotonic() + settings.ATHENS_FETCH_TIMEOUT
    while True:
        try:
            outcome = result.get(timeout=min(_POLL_SECONDS, max(deadline - time.monotonic(), 0.01)),
                                 disable_sync_subtasks=False)
            break
        except CeleryTimeout as exc:
            # Our task may be lost with a killed worker (it comes back only after the
            # broker's visibility timeout), while another request's fetch completes
            # the version: the READY row answers us as well as our own result would.
            row = ready_version(module, version)
            if satisfies(row, zip=zip):
                return row
            if time.monotonic() >= deadline:
                raise Timeout(f"{module}@{version}: the fetch did not finish in {settings.ATHENS_FETCH_TIMEOUT:.0f}s") from exc
    if outcome["status"] != "ready":
        raise error_from_status(outcome["http_status"], outcome["message"], outcome.get("public"))
    row = ready_version(module, version)
    if not satisfies(row, zip=zip):
        raise UpstreamError(f"{module}@{version}: fetched, but no cached row was found")
    return row


def fetch_in_background(module: str, version: str, *, zip: bool = True) -> None:
    """Start fetching module@version without waiting (download modes async*).

    With a broker the task goes to a worker. Without one (the embedded default) it runs
    in a daemon thread of this process, since "eager" would mean waiting for it.
    """
    request_id = request_ids.current()
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        fetch_version_task.delay(module, version, request_id=request_id, zip=zip)
        return
    # Each thread holds a database connection and an upstream download: bounded by the
    # same slots as the requests that wait for their fetch (Busy: 503, try again).
    release = cold_fetches.take(f"{module}@{version}")
    thread = threading.Thread(
        target=_fetch_in_thread, args=(module, version, request_id, zip, release), name=f"fetch {module}@{version}",
        daemon=True,
    )
    try:
        thread.start()
    except BaseException:
        release()
        raise


def _fetch_in_thread(module: str, version: str, request_id: str, zip: bool, release) -> None:
    try:
        fetch_version_task(module, version, request_id, zip)
    finally:
        connection.close()  # the thread's own connection; nobody else will close it
        release()
