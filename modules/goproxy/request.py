"""The download protocol's URL layout: parsing request paths and building upstream ones.

After the proxy's base URL, every request is ``<escaped module>/@v/list``,
``<escaped module>/@v/<escaped version>.info`` (``.mod``, ``.zip``) or
``<escaped module>/@latest``. The go command percent-encodes what it sends (``!`` as
``%21``; ``+`` stays literal), so a request path is decoded once, then ``!``-unescaped.

``parse_download_path`` is the single gate between a URL and everything that uses the
module path: storage keys, upstream requests, database rows. It rejects anything that is
not exactly one module endpoint, with a message fit to start a 404 text/plain body.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote as percent_encode

from . import semver
from .errors import GoProxyError, InvalidRequestError, InvalidVersionError, quote, quote_rune
from .paths import (
    check_path_major, check_version_fits_path, escape_path, escape_version, split_path_version, unescape_path,
    unescape_version,
)
from .versions import RESERVED_QUERIES, is_query

MAX_PATH_LENGTH = 1024

ENDPOINTS = ("list", "info", "mod", "zip", "latest")
_VERSION_ENDPOINTS = ("info", "mod", "zip")

_PERCENT_RE = re.compile(rb"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class DownloadRequest:
    """One request of the download protocol, decoded and checked."""

    module: str  # the module path, unescaped (github.com/Azure/go)
    endpoint: str  # "list", "info", "mod", "zip" or "latest"
    version: str | None = None  # unescaped; for "info" it may be a query

    @property
    def is_query(self) -> bool:
        """A ``.info`` request for a branch, commit or shorthand rather than a version.

        A canonical version the module path cannot hold (``v2.0.0`` of a path without
        ``/v2``) is a query too: the go command asks for it when a user names it, and
        accepts an answer for another version (``v2.0.0+incompatible``), since its
        proxy client requires ``Version`` to equal the request only when
        ``module.Check(path, rev)`` passes (modfetch/proxy.go Stat).
        """
        if self.endpoint != "info" or self.version is None:
            return False
        if is_query(self.version):
            return True
        try:
            check_path_major(self.version, split_path_version(self.module)[1])  # module.Check
        except GoProxyError:
            return True
        return False


def parse_download_path(raw_path: str) -> DownloadRequest:
    """Parse the part of a request path after the proxy's base URL and its ``/``.

    Pass the path as received, still percent-encoded (``github.com/%21azure/go/@v/
    v1.0.0.info``), not a framework's already-decoded copy: decoding twice would let
    ``%2521`` turn into ``!``. Raises InvalidRequestError for anything that is not a
    valid module endpoint.
    """
    path = _percent_decode(raw_path)
    _check_clean(path)
    module_part, endpoint, version_part = _split_endpoint(path)
    if len(module_part) > MAX_MODULE_PATH_LENGTH:
        raise InvalidRequestError(f"malformed module path {quote(module_part[:40])}...: longer than {MAX_MODULE_PATH_LENGTH} characters")
    try:
        module = unescape_path(module_part)
        version = unescape_version(version_part) if version_part is not None else None
    except GoProxyError as exc:
        raise InvalidRequestError(str(exc)) from None
    if version is not None:
        _check_version(module, endpoint, version)
    return DownloadRequest(module=module, endpoint=endpoint, version=version)


def escape_download_path(module: str, endpoint: str, version: str | None = None) -> str:
    """The request path for an endpoint, as the go command writes it (the inverse of parse).

    The module path and version are ``!``-escaped, then percent-encoded like Go's
    url.PathEscape (``!`` becomes ``%21``, ``+`` stays), so the result can be appended to
    an upstream's base URL and ``/``. Raises InvalidPathError / InvalidVersionError for
    an invalid module or version, InvalidRequestError for a wrong endpoint.
    """
    if endpoint not in ENDPOINTS:
        raise InvalidRequestError(f"unknown endpoint {quote(endpoint)}")
    if (endpoint in _VERSION_ENDPOINTS) != (version is not None):
        raise InvalidRequestError(f"endpoint {endpoint} {'needs' if version is None else 'takes no'} version")
    escaped_module = _path_escape(escape_path(module))
    if endpoint == "list":
        return f"{escaped_module}/@v/list"
    if endpoint == "latest":
        return f"{escaped_module}/@latest"
    return f"{escaped_module}/@v/{_path_escape(escape_version(version))}.{endpoint}"


def _percent_decode(raw_path: str) -> str:
    """Decode %XX escapes strictly, and refuse characters no valid path can hold."""
    if len(raw_path) > 3 * MAX_PATH_LENGTH:
        raise InvalidRequestError("path too long")
    raw = raw_path.encode("utf-8", errors="surrogateescape")
    if re.search(rb"%(?![0-9A-Fa-f]{2})", raw):
        raise InvalidRequestError(f"invalid percent-encoding in path {quote(raw_path)}")
    try:
        path = _PERCENT_RE.sub(lambda match: bytes([int(match.group(1), 16)]), raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError("path is not valid UTF-8") from None
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidRequestError("path too long")
    # Control characters and backslashes appear in no module path or version, and a
    # backslash is a path separator on Windows: refuse them before anything else.
    bad = re.search(r"[\x00-\x1f\x7f-\x9f\\]", path)
    if bad:
        raise InvalidRequestError(f"invalid character {quote_rune(bad.group())} in path")
    return path


def _check_clean(path: str) -> None:
    if path == "":
        raise InvalidRequestError("empty path")
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise InvalidRequestError(f"unclean path {quote(path)}")
    if any(element in (".", "..") for element in path.split("/")):
        raise InvalidRequestError(f"unclean path {quote(path)}")


def _split_endpoint(path: str) -> tuple[str, str, str | None]:
    """Split into (escaped module, endpoint, escaped version or None)."""
    # Module paths never contain "@", so the first "/@" ends the module path.
    module_part, at, rest = path.partition("/@")
    if not at:
        raise InvalidRequestError(f"missing /@v/ or /@latest in path {quote(path)}")
    if rest == "latest":
        return module_part, "latest", None
    if not rest.startswith("v/"):
        raise InvalidRequestError(f"unknown endpoint {quote('@' + rest)}")
    file_name = rest[len("v/") :]
    if file_name == "list":
        return module_part, "list", None
    if "/" in file_name:
        raise InvalidRequestError(f"invalid version file {quote(file_name)}: contains a slash")
    version_part, dot, extension = file_name.rpartition(".")
    if not dot or extension not in _VERSION_ENDPOINTS:
        raise InvalidRequestError(f"unknown endpoint {quote('@v/' + file_name)}")
    return module_part, extension, version_part


# The proxy's own limits, not Go's (Go sets none): the longest module path and version
# its database columns hold. Nothing real comes near them; refusing longer ones up front
# keeps them out of the negative cache and the audit as a plain "not found".
MAX_MODULE_PATH_LENGTH = 1024
MAX_VERSION_LENGTH = 255


def _check_version(module: str, endpoint: str, version: str) -> None:
    if len(version) > MAX_VERSION_LENGTH:
        raise InvalidRequestError(f"{module}@{version[:40]}...: invalid version: longer than {MAX_VERSION_LENGTH} characters")
    if endpoint == "info":
        if version in RESERVED_QUERIES:
            raise InvalidRequestError(
                f"{module}@{version}: invalid version: {quote(version)} is a query for the go command, not a version"
            )
        return
    # .mod and .zip exist only for canonical versions that the module path can hold.
    if not semver.is_canonical(version):
        canonical = semver.canonical(version)
        hint = f" (should be {quote(canonical)})" if canonical else ""
        raise InvalidRequestError(f"{module}@{version}: invalid version: not a canonical version{hint}")
    try:
        check_version_fits_path(module, version)
    except InvalidVersionError as exc:
        raise InvalidRequestError(f"{module}@{version}: invalid version: {exc.reason}") from None


def _path_escape(text: str) -> str:
    """Go's url.PathEscape with ``/`` left alone, as modfetch's pathEscape does."""
    return percent_encode(text, safe="/$&+:=@")
