"""Django's error handlers where its defaults would not do."""

from django.core.exceptions import DisallowedHost
from django.http import HttpResponseBadRequest


def bad_request(request, exception=None):
    """400 in text/plain, for the go command and people alike. A Host header outside
    ATHENS_ALLOWED_HOSTS says so without repeating the host it named."""
    if isinstance(exception, DisallowedHost):
        message = "bad request: this proxy does not answer for that Host header (see ATHENS_ALLOWED_HOSTS)\n"
    else:
        message = "bad request\n"
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
