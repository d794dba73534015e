"""Pseudo-versions: versions for untagged commits (golang.org/x/mod/module/pseudo.go).

A pseudo-version encodes a commit's UTC time and a revision prefix into a semver
prerelease so it sorts sensibly against tags. Three forms exist, each optionally with
``+incompatible``:

1. ``vX.0.0-yyyymmddhhmmss-abcdef123456``: no earlier tag with major X; sorts below
   every tagged vX version.
2. ``vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456``: the latest earlier tag is ``vX.Y.Z``;
   the ``0.`` makes it sort below any real prerelease of ``vX.Y.(Z+1)``.
3. ``vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456``: the latest earlier tag is ``vX.Y.Z-pre``.

The proxy never lists pseudo-versions in ``@v/list``; it may serve them, and ``@latest``
falls back to the newest one when a module has no tags at all.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from . import semver
from .errors import InvalidVersionError, quote

_PSEUDO_RE = re.compile(
    r"v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?",
    re.ASCII,
)


@dataclass(frozen=True)
class _Pseudo:
    base: str  # "vX.0.0", "vX.Y.(Z+1)-0" or "vX.Y.Z-pre.0"
    timestamp: str  # yyyymmddhhmmss
    rev: str
    build: str


def is_pseudo_version(v: str) -> bool:
    """Whether ``v`` has the shape of a pseudo-version (any of the three forms)."""
    return v.count("-") >= 2 and semver.is_valid(v) and _PSEUDO_RE.fullmatch(v) is not None


def _parse(v: str) -> _Pseudo:
    if not is_pseudo_version(v):
        raise InvalidVersionError(f"pseudo-version {quote(v)} invalid: syntax error")
    build = semver.build(v)
    rest = v[: len(v) - len(build)]
    rest, rev = rest.rsplit("-", 1)
    # The timestamp follows the last '.' in forms 2 and 3, the last '-' in form 1.
    dash, dot = rest.rfind("-"), rest.rfind(".")
    cut = dot if dot > dash else dash
    return _Pseudo(base=rest[:cut], timestamp=rest[cut + 1 :], rev=rev, build=build)


def pseudo_version_time(v: str) -> datetime:
    """The commit time recorded in pseudo-version ``v``, as an aware UTC datetime.

    Raises InvalidVersionError if ``v`` is not a pseudo-version or its timestamp is not
    a real time (month 13, February 30, ...), which Go rejects too.
    """
    timestamp = _parse(v).timestamp
    try:
        return datetime(
            int(timestamp[0:4]),
            int(timestamp[4:6]),
            int(timestamp[6:8]),
            int(timestamp[8:10]),
            int(timestamp[10:12]),
            int(timestamp[12:14]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        raise InvalidVersionError(f"pseudo-version {quote(v)} invalid: malformed time {quote(timestamp)}") from None


def pseudo_version_rev(v: str) -> str:
    """The revision identifier (usually a 12-hex-digit commit prefix) of ``v``."""
    return _parse(v).rev


def pseudo_version_base(v: str) -> str:
    """The tagged version a pseudo-version builds on, or '' for form 1 (no base).

    ``v1.2.4-0.2019...-abc`` -> ``v1.2.3``; ``v1.2.3-pre.0.2019...-abc`` -> ``v1.2.3-pre``;
    ``+incompatible`` is carried over. Raises InvalidVersionError for shapes that cannot
    have come from a tag: form 1 with ``+incompatible`` and ``vX.Y.0-0.…`` (whose base
    would need a negative patch number).
    """
    parsed = _parse(v)
    pre = semver.prerelease(parsed.base)
    if pre == "":
        if parsed.build:
            raise InvalidVersionError(
                f"pseudo-version {quote(v)} invalid: lacks base version, but has build metadata {quote(parsed.build)}"
            )
        return ""
    if pre == "-0":
        release = parsed.base[: -len(pre)]
        head, patch = release.rsplit(".", 1)
        if int(patch) == 0:
            raise InvalidVersionError(
                f"pseudo-version {quote(v)} invalid: version before {release} would have negative patch number"
            )
        return f"{head}.{int(patch) - 1}{parsed.build}"
    return parsed.base[: -len(".0")] + parsed.build
