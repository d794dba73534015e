"""GOPROXY-style lists of upstreams, read as cmd/go/internal/modfetch/proxy.go reads them.

``https://a.example,https://b.example|direct``: entries separated by ``,`` or ``|``.
The separator *after* an entry says what happens when that entry fails: after ``,`` the
next entry is tried only if the failure was "not found" (404 or 410); after ``|`` it is
tried on any error. The last entry has no separator and so never falls back.

``direct`` (fetch from the version control system) and ``off`` (fail) are keywords; the
go command stops reading the list at either of them, ignoring whatever follows, so that
future versions may give them fallback behaviour. An entry that is not a keyword but
looks like a host name (``proxy.example.com``) gets ``https://`` in front.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidProxyListError, quote

DIRECT = "direct"
OFF = "off"


@dataclass(frozen=True)
class ProxyEntry:
    """One entry of a GOPROXY list.

    ``url`` is an ``http``/``https``/``file`` URL without trailing slashes, or one of the
    keywords ``direct`` and ``off``. ``fallback_on_any_error`` is True when the entry was
    followed by ``|``: try the next entry after any error, not only after "not found".
    """

    url: str
    fallback_on_any_error: bool = False

    @property
    def is_keyword(self) -> bool:
        return self.url in (DIRECT, OFF)


def parse_goproxy(value: str) -> list[ProxyEntry]:
    """Parse a GOPROXY list; raise InvalidProxyListError if it is unusable.

    Empty entries are skipped (``a,,b`` is ``a,b``) and blanks around entries ignored.
    A list with no entries at all is an error, as in Go: an unset setting should be
    replaced by a default before it gets here.
    """
    entries = []
    for raw, separator in re.findall(r"([^,|]*)([,|]?)", value):
        entry = raw.strip()
        if not entry:
            continue
        if entry in (DIRECT, OFF):
            entries.append(ProxyEntry(entry))
            break  # the go command ignores everything after direct or off
        entries.append(ProxyEntry(_proxy_url(entry), fallback_on_any_error=separator == "|"))
    if not entries:
        raise InvalidProxyListError("GOPROXY list is not the empty string, but contains no entries")
    return entries


def format_goproxy(entries: list[ProxyEntry]) -> str:
    """The inverse of parse_goproxy: a GOPROXY string for the entries."""
    parts = []
    for index, entry in enumerate(entries):
        parts.append(entry.url)
        if index < len(entries) - 1:
            parts.append("|" if entry.fallback_on_any_error else ",")
    return "".join(parts)


def _proxy_url(entry: str) -> str:
    """Check one non-keyword entry; return it as a full URL without trailing slashes."""
    # Single words are reserved for keywords; anything with ":/" or an absolute path
    # must already be a URL; everything else that looks like a host gets https://.
    if any(char in entry for char in ".:/") and ":/" not in entry and not entry.startswith("/"):
        entry = "https://" + entry
    if re.search(r"[\x00-\x1f\x7f]", entry):
        raise InvalidProxyListError(f"invalid proxy URL {quote(entry)}: control character in URL")
    if re.search(r"%(?![0-9A-Fa-f]{2})", entry):
        raise InvalidProxyListError(f"invalid proxy URL {quote(entry)}: invalid URL escape")
    try:
        parts = urlsplit(entry)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError as exc:
        raise InvalidProxyListError(f"invalid proxy URL {quote(entry)}: {exc}") from None
    scheme = parts.scheme
    if scheme == "":
        raise InvalidProxyListError(f"invalid proxy URL missing scheme: {entry}")
    if scheme in ("http", "https"):
        # Go accepts "https://" with no host, but no request could ever succeed.
        if not parts.hostname:
            raise InvalidProxyListError(f"invalid proxy URL missing host: {entry}")
    elif scheme == "file":
        if parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/"):
            raise InvalidProxyListError(f"invalid file:// proxy URL with non-path elements: {entry}")
    else:
        raise InvalidProxyListError(f"invalid proxy URL scheme (must be https, http, file): {entry}")
    url = scheme + entry[len(scheme) :]  # the scheme is case-insensitive; normalize it
    # Trailing slashes go (callers append "/<module>/@v/..."), except the one slash
    # that is the whole path of "file:///".
    if not (parts.query or parts.fragment) and (parts.path.rstrip("/") or scheme != "file"):
        url = url.rstrip("/")
    return url
