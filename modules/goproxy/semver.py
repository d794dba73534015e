"""Semantic versions as the go command reads them (golang.org/x/mod/semver).

Go's dialect of semver 2.0.0 has two twists: a version always starts with ``v``, and
the shorthands ``vMAJOR`` and ``vMAJOR.MINOR`` are valid (meaning ``.0`` for the missing
parts) but may carry no prerelease or build suffix.

On top of x/mod/semver, ``canonical`` here is x/mod/module.CanonicalVersion: it drops
build metadata *except* ``+incompatible``, because for modules ``v2.0.0+incompatible``
is a different version from ``v2.0.0`` (a v2 tag in a repository without go.mod). That
is the form the proxy protocol uses everywhere (lists, .info, URLs).

Invalid versions are not errors here: like Go, every function answers something
sensible ('' or False), and ``compare`` puts invalid versions below all valid ones.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

INCOMPATIBLE = "+incompatible"

# Numbers have no leading zeros; identifiers are [0-9A-Za-z-]. The leading-zero rule
# for numeric prerelease identifiers is checked separately (see _parse).
_SEMVER_RE = re.compile(
    r"""
    v(?P<major>0|[1-9][0-9]*)
    (?:
        \.(?P<minor>0|[1-9][0-9]*)
        (?:
            \.(?P<patch>0|[1-9][0-9]*)
            (?P<prerelease>-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?
            (?P<build>\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?
        )?
    )?
    """,
    re.VERBOSE | re.ASCII,
)


@dataclass(frozen=True)
class _Parsed:
    major: str
    minor: str
    patch: str
    short: str  # what the shorthand omitted: '', '.0' or '.0.0'
    prerelease: str  # '' or '-...'
    build: str  # '' or '+...'


@lru_cache(maxsize=4096)
def _parse(v: str) -> _Parsed | None:
    match = _SEMVER_RE.fullmatch(v)
    if match is None:
        return None
    major, minor, patch, prerelease, build = match.group("major", "minor", "patch", "prerelease", "build")
    if prerelease and any(_is_bad_number(ident) for ident in prerelease[1:].split(".")):
        return None
    short = ".0.0" if minor is None else ".0" if patch is None else ""
    return _Parsed(major, minor or "0", patch or "0", short, prerelease or "", build or "")


def _is_bad_number(ident: str) -> bool:
    """Numeric prerelease identifiers must not have leading zeros (semver 2.0.0 §9)."""
    return ident.isdigit() and len(ident) > 1 and ident[0] == "0"


def is_valid(v: str) -> bool:
    """Whether ``v`` is a valid semantic version (shorthands included)."""
    return _parse(v) is not None


def canonical(v: str) -> str:
    """The canonical form of ``v``, or '' if ``v`` is invalid.

    Fills in a missing ``.MINOR``/``.PATCH`` and drops build metadata, but keeps the
    ``+incompatible`` marker (module.CanonicalVersion): ``v1.2`` -> ``v1.2.0``,
    ``v1.2.3+meta`` -> ``v1.2.3``, ``v2.0.0+incompatible`` stays as it is.
    """
    parsed = _parse(v)
    if parsed is None:
        return ""
    if parsed.build:
        stripped = v[: len(v) - len(parsed.build)]
        return stripped + INCOMPATIBLE if parsed.build == INCOMPATIBLE else stripped
    return v + parsed.short


def is_canonical(v: str) -> bool:
    """Whether ``v`` is valid and already in canonical form (``+incompatible`` allowed)."""
    return v != "" and canonical(v) == v


def major(v: str) -> str:
    """The major version prefix (``v2`` for ``v2.1.0``), or '' if invalid."""
    parsed = _parse(v)
    return "v" + parsed.major if parsed else ""


def major_minor(v: str) -> str:
    """The ``vMAJOR.MINOR`` prefix (``v2.1`` for ``v2.1.0``; ``v1.0`` for ``v1``)."""
    parsed = _parse(v)
    return f"v{parsed.major}.{parsed.minor}" if parsed else ""


def prerelease(v: str) -> str:
    """The prerelease suffix with its dash (``-pre`` for ``v1.0.0-pre+meta``), or ''."""
    parsed = _parse(v)
    return parsed.prerelease if parsed else ""


def build(v: str) -> str:
    """The build suffix with its plus (``+meta`` for ``v1.0.0-pre+meta``), or ''."""
    parsed = _parse(v)
    return parsed.build if parsed else ""


def is_prerelease(v: str) -> bool:
    """Whether ``v`` is a valid version with a prerelease suffix (pseudo-versions are)."""
    return prerelease(v) != ""


def compare(v: str, w: str) -> int:
    """-1, 0 or +1 as ``v`` sorts below, equal to or above ``w`` by semver precedence.

    Build metadata is ignored (so ``v2.0.0+incompatible`` equals ``v2.0.0``). Invalid
    versions compare equal to each other and below every valid version, as in Go.
    """
    key_v, key_w = _precedence(v), _precedence(w)
    return (key_v > key_w) - (key_v < key_w)


def sort_key(v: str) -> tuple:
    """A key for ``sorted()`` giving ascending semver order, like Go's semver.Sort.

    Versions of equal precedence (``v1.0.0`` and ``v1.0.0+meta``, or two invalid
    strings) are ordered by plain string comparison so the order is total and stable.
    """
    return (_precedence(v), v)


def precedence(v: str) -> tuple:
    """A key equal for versions of equal precedence (build metadata ignored), ordered
    as ``compare`` orders them: for bisecting a sorted list by a bound."""
    return _precedence(v)


def max_version(versions: Iterable[str]) -> str | None:
    """The highest valid version of ``versions`` (as given, not canonicalized), or None."""
    valid = [v for v in versions if is_valid(v)]
    return max(valid, key=sort_key) if valid else None


def _precedence(v: str) -> tuple:
    parsed = _parse(v)
    if parsed is None:
        return (0,)
    return (1, int(parsed.major), int(parsed.minor), int(parsed.patch), _prerelease_key(parsed.prerelease))


def _prerelease_key(pre: str) -> tuple:
    """Order prereleases by semver §11; a release (no prerelease) sorts above them all.

    Tuples compare element by element and a shorter tuple that is a prefix of a longer
    one sorts first, which is exactly "a larger set of identifiers has higher precedence".
    Numeric identifiers sort numerically and below alphanumeric ones.
    """
    if not pre:
        return (1,)
    idents = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre[1:].split("."))
    return (0, idents)
