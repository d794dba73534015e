"""How a cached zip leaves the proxy (ATHENS_ZIP_SERVING): three ways, one contract.

Every way answers only after the READY row was found (the row is the commit marker, so
nothing half-written is ever handed out), never reads a whole zip into Python memory,
and raises FileNotFoundError when storage lost the object, so that the caller can
restore it from the upstream (see fetch.restore_zip) instead of answering 500.

- `sendfile`: the web server sends the bytes. A local file goes out through
  wsgi.file_wrapper (gunicorn uses sendfile(2)); an object in S3 is streamed from the
  GetObject body in chunks.
- `accel`: the answer is empty and carries `X-Accel-Redirect`; nginx, in front of the
  web servers, sends the file from an `internal` location over the same directory
  (athens_site/deploy/nginx.conf.template).
- `redirect`: a 302 to a presigned URL on object storage, valid ATHENS_PRESIGN_SECONDS.
"""

from urllib.parse import quote

from botocore.exceptions import ClientError
from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from storages.backends.s3 import S3Storage

from .fetch import modules_storage
from .models import ModuleVersion
from .serving import IMMUTABLE

ZIP = "application/zip"
CHUNK = 256 * 1024


def zip_response(row: ModuleVersion) -> HttpResponse:
    """The answer to a GET of a cached zip, as ATHENS_ZIP_SERVING says."""
    mode = settings.ATHENS_ZIP_SERVING
    if mode == "accel":
        response = _accel(row)
    elif mode == "redirect":
        return _presigned_redirect(row)
    else:
        response = _send(row)
    response["Cache-Control"] = IMMUTABLE
    return response


def _send(row: ModuleVersion) -> HttpResponse:
    storage = modules_storage()
    s3_object = _s3_object(storage, row.zip_key)
    if s3_object is None:
        # A local file: the WSGI server's file_wrapper sends it with sendfile(2).
        handle = storage.open(row.zip_key, "rb")
    else:
        # S3's GetObject body, read in chunks as the client takes them. (S3Storage.open
        # would first copy the whole object into a temporary file.)
        handle = _s3_get(s3_object)["Body"]
    response = FileResponse(handle, content_type=ZIP)
    response.block_size = CHUNK
    # FileResponse adds an inline Content-Disposition naming the storage key.
    del response["Content-Disposition"]
    response["Content-Length"] = str(row.zip_size)
    return response


def _accel(row: ModuleVersion) -> HttpResponse:
    _require(modules_storage(), row.zip_key)
    response = HttpResponse(content_type=ZIP)
    response["X-Accel-Redirect"] = settings.ATHENS_ACCEL_PREFIX + quote(row.zip_key, safe="/!@+~")
    # The body is nginx's to send; the audit still counts the bytes the client gets.
    response.delegated_length = row.zip_size
    return response


def _presigned_redirect(row: ModuleVersion) -> HttpResponse:
    storage = modules_storage()
    _require(storage, row.zip_key)
    response = HttpResponseRedirect(storage.url(row.zip_key))
    # The URL expires: clients and caches must not keep the redirect itself.
    response["Cache-Control"] = "no-store"
    return response


def _require(storage, key: str) -> None:
    """Someone else will read the object (nginx, the client): make sure it is there, so
    that a lost one is restored instead of becoming their 404."""
    if not storage.exists(key):
        raise FileNotFoundError(key)


def _s3_object(storage, key: str):
    """The boto3 Object behind `key` when storage is S3 (django-storages), else None."""
    if not isinstance(storage, S3Storage):
        return None
    # The same name normalisation as S3Storage.open (location prefix, no `..`).
    return storage.bucket.Object(storage._normalize_name(key))


def _s3_get(s3_object) -> dict:
    try:
        return s3_object.get()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(s3_object.key) from error
        raise
