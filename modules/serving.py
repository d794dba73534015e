"""Turning answers and cached artifacts into the HTTP responses the go command expects.

Content types and error bodies follow the protocol doc: text/plain for lists, go.mod and
errors (short, first line useful: the go command prints it), application/json for .info,
application/zip for zips (zip_delivery.py hands those out).
"""

from django.http import HttpResponse

from .models import ModuleVersion

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"

# Cached versions never change; lists and @latest do.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "no-cache"


def private(response: HttpResponse) -> HttpResponse:
    """For the answer to a request that sent credentials (a proxy token, a session): a
    shared cache (a CDN, a corporate proxy) must not keep it and serve it to others,
    since who asked decided it (ATHENS_CLIENT_AUTH, rules for groups; RFC 9111 3.5)."""
    control = response.get("Cache-Control")
    if control and "public" in control:
        response["Cache-Control"] = control.replace("public", "private")
    return response


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


def declared_length(response: HttpResponse) -> int | None:
    """The body's length as the response states it: the bytes nginx sends for us
    (X-Accel-Redirect), else Content-Length; None when it states none."""
    delegated = getattr(response, "delegated_length", None)
    if delegated is not None:
        return delegated
    value = response.get("Content-Length")
    return int(value) if value is not None and value.isdigit() else None


def body_length(response: HttpResponse) -> int:
    """Bytes the client gets, including those nginx sends for us (X-Accel-Redirect)."""
    length = declared_length(response)
    if length is not None:
        return length
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
    if getattr(response, "delegated_length", None) is None:
        head["Content-Length"] = str(length)
    else:  # nginx answers the HEAD itself, from the file
        head.delegated_length = length
    return head
