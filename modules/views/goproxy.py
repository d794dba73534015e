"""The download API: `<module>/@v/list`, `@v/<version>.info|.mod|.zip`, `<module>/@latest`.

Each request is decoded and checked (modules.goproxy), answered from the cache or through
a fetch, and recorded in the audit in a `finally`, whatever happened. The decisions live
in fetch.py, listing.py and serving.py; this module only routes between them.
"""

import logging
import time

from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt

from athens_site import request_id
from audit.models import DownloadEvent
from audit.recorder import DownloadRecord, record_download
from modules.goproxy.errors import InvalidRequestError
from modules.goproxy.paths import version_fits_path
from modules.goproxy.request import DownloadRequest, escape_download_path, parse_download_path

from .. import cold_fetches, download_modes, listing, serving, zip_delivery
from ..fetch import STORAGE_ERRORS, ready_version, restore_zip, satisfies, upstream_chain
from ..models import DownloadModeRule, ModuleVersion
from ..policy.quarantine import FirstSeen
from ..policy.rules import Denied, Policy
from ..tasks import fetch_in_background, fetch_through_worker
from ..tokens.client_auth import Unauthorized, identify, unauthorized_headers
from ..upstreams.errors import NotFound, UpstreamError

logger = logging.getLogger(__name__)

Endpoint = DownloadEvent.Endpoint
Cache = DownloadEvent.Cache
Mode = DownloadModeRule.Mode


@csrf_exempt
def download(request, path: str):
    """Entry point for every download API URL (see athens_site/urls.py)."""
    started = time.monotonic()
    record = DownloadRecord(module=path)
    status, sent = 500, 0
    try:
        response = _answer(request, path, record)
        if "HTTP_AUTHORIZATION" in request.META or record.client.auth == "session":
            response = serving.private(response)
        if request.method == "HEAD":
            response = serving.without_body(response)
        status = response.status_code
        sent = 0 if request.method == "HEAD" else serving.body_length(response)
        return response
    finally:
        record_download(request, record, status=status, bytes_sent=sent, duration_s=time.monotonic() - started)


def _answer(request, path: str, record: DownloadRecord):
    req = _describe(path, record)
    if request.method not in ("GET", "HEAD"):
        response = serving.error_response(405, "method not allowed: the download API answers GET and HEAD")
        response["Allow"] = "GET, HEAD"
        return response
    try:
        record.client = identify(request)  # ATHENS_CLIENT_AUTH: first, so that nobody learns anything unidentified
    except Unauthorized as refusal:
        record.client = refusal.client
        record.message = refusal.client_message
        response = serving.error_response(refusal.http_status, refusal.client_message)
        for header, value in unauthorized_headers().items():
            response[header] = value
        return response
    except DatabaseError:
        return _database_unavailable(path, record)
    if record.endpoint == Endpoint.SUMDB:
        return serving.error_response(404, "not found: this proxy does not proxy checksum databases")
    if req is None:
        return serving.error_response(404, f"not found: {record.message}")
    try:
        return _HANDLERS[req.endpoint](req, record)
    except Denied as denial:
        record.rule = denial.decision.label
        record.message = denial.client_message
        return serving.error_response(denial.http_status, _citing_request(denial.client_message))
    except UpstreamError as error:
        record.message = error.message  # the whole text, for staff; the client gets its kind
        return serving.error_response(error.http_status, _citing_request(error.client_message))
    except cold_fetches.Busy as busy:
        record.message = busy.message
        response = serving.error_response(busy.http_status, busy.client_message)
        response["Retry-After"] = str(busy.retry_after)
        return response
    except DatabaseError:
        return _database_unavailable(path, record)
    except STORAGE_ERRORS:
        logger.exception("storage error answering %s", path)
        record.message = "storage unavailable"
        return serving.error_response(503, "service unavailable: the proxy's module storage is not reachable")


def _database_unavailable(path: str, record: DownloadRecord):
    logger.exception("database error answering %s", path)
    record.message = "database unavailable"
    return serving.error_response(503, "service unavailable: the proxy's database is not reachable")


def _citing_request(message: str) -> str:
    """The client's text with this request's id, which staff can look up in the audit
    (DownloadEvent.request_id) and the logs for the whole story."""
    current = request_id.current()
    return f"{message} (request id {current})" if current else message


def _describe(path: str, record: DownloadRecord) -> DownloadRequest | None:
    """Parse the path into the audit record; None (and the reason) when it is invalid."""
    if path.startswith("sumdb/"):
        record.endpoint = Endpoint.SUMDB
        return None
    try:
        # Django hands us the decoded path; the parser wants it as sent (percent-encoded)
        # so that nothing is decoded twice (`%2521` must not become `!`).
        req = parse_download_path(escape_uri_path(path))
    except InvalidRequestError as exc:
        record.message = str(exc)
        return None
    record.module, record.endpoint, record.version = req.module, req.endpoint, req.version or ""
    return req


def _version_artifact(req: DownloadRequest, record: DownloadRecord, respond):
    """Serve .info/.mod/.zip of a canonical version: from the cache, or as the download
    mode for a cache miss says (fetch now, fetch in the background, redirect, refuse)."""
    if not version_fits_path(req.module, req.version):
        raise NotFound(f"{req.module}@{req.version}: version {req.version} does not fit module path {req.module}")
    first_seen = FirstSeen(req.module)  # not cached: None, and the fetch starts its clock
    _policy(record).check(req.module, req.version, first_seen)
    row = ready_version(req.module, req.version)
    wants_zip = req.endpoint == "zip"  # .info and .mod never cost a zip download (issue 12)
    if satisfies(row, zip=wants_zip):
        record.cache = Cache.HIT
        return respond(row)
    mode = download_modes.mode_for(req.module)
    if mode == Mode.NONE:
        raise NotFound(f"{req.module}@{req.version}: not cached, and this proxy does not download it (download mode none)")
    target = _redirect_target(req) if download_modes.redirects(mode) else None
    if mode == Mode.SYNC or (mode == Mode.REDIRECT and target is None):
        row = fetch_through_worker(req.module, req.version, zip=wants_zip)
        record.cache = Cache.FETCHED
        # Checked again with what the fetch learnt: the release time the check before
        # may not have had (an upstream that failed it, an .info without Time, whose age
        # counts from now, the fetch).
        _policy(record).check(req.module, req.version, lambda version: row.fetched_at)
        return respond(row)
    # Not fetched here, so nothing more is learnt before answering: a release time still
    # unknown counts as now, as it will once the version is cached (quarantine).
    _policy(record).check(req.module, req.version, first_seen.or_now)
    if download_modes.fetches_in_background(mode):
        fetch_in_background(req.module, req.version, zip=wants_zip)
    if target is not None:
        record.cache = Cache.REDIRECT
        return HttpResponseRedirect(target)
    raise NotFound(f"{req.module}@{req.version}: not cached yet; it is being fetched, try again shortly")


def _policy(record: DownloadRecord) -> Policy:
    """The rules for this requester: everyone's, and those of their groups. Read anew at
    each check, so that a rule changed during a fetch applies to its answer."""
    return Policy(groups=record.client.groups)


def _redirect_target(req: DownloadRequest) -> str | None:
    base = upstream_chain(req.module).redirect_base()
    if base is None:
        return None
    return f"{base}/{escape_download_path(req.module, req.endpoint, req.version)}"


def _list(req: DownloadRequest, record: DownloadRecord):
    answer = listing.version_list(req.module, _policy(record))
    record.cache = answer.cache
    return serving.list_response(answer.body)


def _latest(req: DownloadRequest, record: DownloadRecord):
    answer = listing.latest(req.module, _policy(record))
    record.cache = answer.cache
    return serving.info_response(answer.body, immutable=False)


def _info(req: DownloadRequest, record: DownloadRecord):
    if req.is_query:
        answer = listing.resolve_query(req.module, req.version)
        record.cache = answer.cache
        resolved = answer.version
        _policy(record).check(req.module, resolved, FirstSeen(req.module))
        return serving.info_response(answer.body, immutable=False)
    return _version_artifact(req, record, lambda row: serving.info_response(row.info.encode(), immutable=True))


def _mod(req: DownloadRequest, record: DownloadRecord):
    return _version_artifact(req, record, serving.mod_response)


def _zip(req: DownloadRequest, record: DownloadRecord):
    def respond(row: ModuleVersion):
        try:
            return zip_delivery.zip_response(row)
        except OSError:
            # The row says cached, storage lost the object: fetch the same bytes again.
            logger.error("cached zip %s is missing from storage; restoring it", row.zip_key)
            record.message = "cached zip was missing from storage; restored from upstream"
            with cold_fetches.slot(f"{row.module.path}@{row.version}"):
                restore_zip(row)
            return zip_delivery.zip_response(row)

    return _version_artifact(req, record, respond)


_HANDLERS = {"list": _list, "latest": _latest, "info": _info, "mod": _mod, "zip": _zip}
