"""Turning answers and cached artifacts into the HTTP responses the go command expects.

Content types and error bodies follow the protocol doc: text/plain for lists, go.mod and
errors (short, first line useful: the go command prints it), application/json for .info,
application/zip for zips. A zip is handed to the web server as a file object
(sendfile through wsgi.file_wrapper), never read into Python memory.
"""

from django.http import FileResponse, HttpResponse

from .fetch import modules_storage
from .models import ModuleVersion

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
ZIP = "application/zip"

# Cached versions never change; lists and @latest do.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "no-cache"


def error_response(status: int, message: str) -> HttpResponse:
    line = message.strip().replace("\r", " ")
    return HttpResponse(f"{line}\n".encode(), status=status, content_type=TEXT)


def list_response(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type=TEXT)
    response["Cache-Control"] = SHORT
    return response


def info_response(body: bytes, *, immutable: bool) -> HttpResponse:
    response = HttpResponse(body, content_type=JSON)
    response["Cache-Control"] = IMMUTABLE if immutable else SHORT
    return response


def mod_response(row: ModuleVersion) -> HttpResponse:
    response = HttpResponse(bytes(row.go_mod), content_type=TEXT)
    response["Cache-Control"] = IMMUTABLE
    return response


def zip_response(row: ModuleVersion) -> FileResponse:
    """Stream the stored zip. Raises FileNotFoundError (or OSError) if the object is gone."""
    handle = modules_storage().open(row.zip_key, "rb")
    response = FileResponse(handle, content_type=ZIP)
    # FileResponse adds an inline Content-Disposition naming the storage key; not useful.
    del response["Content-Disposition"]
    response["Content-Length"] = str(row.zip_size)
    response["Cache-Control"] = IMMUTABLE
    return response


def body_length(response: HttpResponse) -> int:
    value = response.get("Content-Length")
    if value is not None and value.isdigit():
        return int(value)
    return 0 if response.streaming else len(response.content)


def without_body(response: HttpResponse) -> HttpResponse:
    """The answer to HEAD: every header of the GET answer, no body."""
    length = body_length(response)
    # Close the file directly: response.close() would also fire request_finished (and
    # with it Django's connection clean-up) in the middle of the request.
    file_to_stream = getattr(response, "file_to_stream", None)
    if file_to_stream is not None:
        file_to_stream.close()
    head = HttpResponse(status=response.status_code)
    for name, value in response.items():
        head[name] = value
    head["Content-Length"] = str(length)
    return head
