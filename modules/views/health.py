"""Liveness and readiness probes for load balancers and orchestrators."""

import logging

from django.db import connection
from django.http import HttpResponse

from ..fetch import modules_storage

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(f"{body}\n", status=status, content_type="text/plain; charset=utf-8")


def healthz(request):
    """The process answers. Touches nothing else, so it never fails for a dependency."""
    return _text("ok")


def readyz(request):
    """The database and the module storage are reachable: safe to send traffic here."""
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readyz: database: %s", exc)
        problems.append("database unreachable")
    try:
        modules_storage().exists(".athens-readyz")
    except Exception as exc:  # noqa: BLE001
        logger.warning("readyz: storage: %s", exc)
        problems.append("storage unreachable")
    if problems:
        return _text("not ready: " + ", ".join(problems), status=503)
    return _text("ready")
