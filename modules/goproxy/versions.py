"""The proxy's version policy: what may be listed, what ``@latest`` means, what is a query.

``@v/list`` is read by ``go list -m -versions`` and by the ``@latest`` query, so it must
hold only canonical, tagged (non-pseudo) versions that fit the module path: one stray
``v1.2`` or ``v2.0.0`` under a path without ``/v2`` is enough to break clients.
"""

from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Iterable

from . import semver
from .errors import InvalidVersionError
from .paths import version_fits_path
from .pseudo import is_pseudo_version, pseudo_version_time

#: Queries the go command resolves itself, from ``@v/list`` and ``@latest``; it never
#: asks a proxy for ``latest.info``, so a proxy answers such requests 404 rather than
#: guess (cmd/go treats "latest", "upgrade" and "patch" as keywords, not versions).
RESERVED_QUERIES = frozenset({"latest", "upgrade", "patch"})


def is_listable(path: str, version: str) -> bool:
    """Whether ``version`` may appear in ``<path>/@v/list``.

    It must be canonical (``v1.2.0``, not ``v1.2`` or ``v1.2.0+meta``), a tag rather
    than a pseudo-version, and fit the module path: ``v2.0.0`` only under ``/v2``,
    ``v2.0.0+incompatible`` only under a path without a major suffix.
    """
    return semver.is_canonical(version) and not is_pseudo_version(version) and version_fits_path(path, version)


def filter_list(path: str, versions: Iterable[str]) -> list[str]:
    """The listable versions among ``versions``, without duplicates, in ascending order."""
    return sorted({v for v in versions if is_listable(path, v)}, key=semver.sort_key)


def parse_list(body: bytes | str) -> list[str]:
    """The versions in an ``@v/list`` body, read as cmd/go's proxy client reads them.

    Each line's first whitespace-separated field is the version; anything after it is
    ignored (some proxies append a timestamp). Nothing is filtered: pass the result
    through ``filter_list`` before serving it.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return [fields[0] for fields in (line.split() for line in body.split("\n")) if fields]


def latest_version(versions: Iterable[str]) -> str | None:
    """The version ``@latest`` should resolve to, or None if there is none.

    The go command prefers the highest release, then the highest prerelease, and only
    for a module without any tag the newest pseudo-version. Newest means the latest
    commit time encoded in it (as cmd/go's proxy client picks from a list), with semver
    order breaking ties. Invalid versions and pseudo-versions whose time is not a real
    date are ignored.
    """
    releases, prereleases, pseudos = [], [], []
    for v in versions:
        if not semver.is_valid(v):
            continue
        if is_pseudo_version(v):
            pseudos.append(v)
        elif semver.is_prerelease(v):
            prereleases.append(v)
        else:
            releases.append(v)
    if releases or prereleases:
        return max(releases or prereleases, key=semver.sort_key)
    dated = [(time, v) for v in pseudos if (time := _pseudo_time_or_none(v)) is not None]
    if not dated:
        return None
    return max(dated, key=lambda item: (item[0], semver.sort_key(item[1])))[1]


def _pseudo_time_or_none(v: str) -> datetime | None:
    try:
        return pseudo_version_time(v)
    except InvalidVersionError:
        return None


def is_query(version: str) -> bool:
    """Whether ``version`` in a ``.info`` request is a query rather than a version.

    Anything that is not a canonical semantic version is a query: a branch
    (``master``), a commit hash, a shorthand (``v1.2``), a version with build metadata.
    A query is resolved by an upstream to the canonical version it stands for; the
    reserved ones (``RESERVED_QUERIES``) are never resolved by a proxy.
    """
    return not semver.is_canonical(version)


def retractions(versions: Iterable[str], retracts: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """{version: rationale} for the ``versions`` that ``retracts`` cover.

    ``retracts`` are (low, high, rationale) in go.mod order; a version covered by several
    takes the rationale of the first. Near-linear in versions + retracts: each directive
    finds its versions by bisection and skips, through a union-find of the versions
    already taken, everything an earlier directive covered, so 600,000 directives over
    5,000 versions cost a second, not hours (issue 20).
    """
    ordered = sorted({v for v in versions if semver.is_valid(v)}, key=semver.sort_key)
    keys = [semver.precedence(v) for v in ordered]
    next_free = list(range(len(ordered) + 1))  # next_free[i]: first untaken index >= i

    def find(i: int) -> int:
        root = i
        while next_free[root] != root:
            root = next_free[root]
        while next_free[i] != root:
            next_free[i], i = root, next_free[i]
        return root

    found: dict[str, str] = {}
    for low, high, rationale in retracts:
        if not (semver.is_valid(low) and semver.is_valid(high)):
            continue
        i = find(bisect_left(keys, semver.precedence(low)))
        end = bisect_right(keys, semver.precedence(high))
        while i < end:
            found[ordered[i]] = rationale
            next_free[i] = i + 1
            i = find(i + 1)
    return found
