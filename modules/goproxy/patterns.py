"""GOPRIVATE / GONOPROXY / GONOSUMDB patterns (module.MatchPrefixPatterns).

A setting like ``*.corp.example.com,rsc.io/private`` is a comma-separated list of globs
in Go's ``path.Match`` syntax. A glob with N slashes is matched against the first N+1
elements of the module path, so ``rsc.io/private`` covers ``rsc.io/private/quux`` but
not ``rsc.io/privatequux``, and ``*`` never crosses a ``/``. Empty and malformed globs
are ignored, and a trailing slash on a glob is dropped.
"""

import re
from functools import lru_cache


def match_prefix_patterns(patterns: str, target: str) -> bool:
    """Whether a leading run of ``target``'s path elements matches one of the globs."""
    for glob in patterns.split(","):
        glob = glob.removesuffix("/")
        if not glob:
            continue
        prefix = _leading_elements(target, glob.count("/") + 1)
        if prefix is not None and path_match(glob, prefix):
            return True
    return False


def _leading_elements(target: str, count: int) -> str | None:
    """The first ``count`` slash-separated elements of ``target``, or None if it has fewer."""
    elements = target.split("/")
    if len(elements) < count:
        return None
    return "/".join(elements[:count])


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: does all of ``name`` match the shell glob ``pattern``?

    ``*`` matches any run of non-``/`` characters, ``?`` one non-``/`` character,
    ``[...]`` / ``[^...]`` a character class with ranges, ``\\`` escapes. A malformed
    pattern matches nothing (Go returns ErrBadPattern, which callers here ignore).
    """
    regex = _compile(pattern)
    return regex is not None and regex.fullmatch(name) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern | None:
    """Translate a Go glob into a regular expression, or None if it is malformed."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "\\":
            if i + 1 >= len(pattern):
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "[":
            parsed = _character_class(pattern, i + 1)
            if parsed is None:
                return None
            regex, i = parsed
            out.append(regex)
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _character_class(pattern: str, i: int) -> tuple[str, int] | None:
    """Parse a class body starting after ``[``; return (regex, index after ``]``).

    Unlike ``*`` and ``?``, a class may match ``/`` (Go does not exclude it).
    """
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    ranges = []
    while True:
        if i < len(pattern) and pattern[i] == "]" and ranges:
            break
        low, i = _class_char(pattern, i)
        if low is None:
            return None
        high = low
        if pattern[i] == "-":
            high, i = _class_char(pattern, i + 1)
            if high is None:
                return None
        ranges.append((low, high))
    # A reversed range like "z-a" is legal in Go and matches nothing; Python's re would
    # reject it, so leave it out (and cope with a class left with no ranges at all).
    members = "".join(f"{re.escape(low)}-{re.escape(high)}" for low, high in ranges if low <= high)
    if not members:
        return ("." if negated else "(?!)"), i + 1
    return ("[^" if negated else "[") + members + "]", i + 1


def _class_char(pattern: str, i: int) -> tuple[str | None, int]:
    """One possibly escaped class character; None where Go reports a bad pattern.

    Go also requires something to follow the character (at least the closing ``]``).
    """
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            return None, i
    if i + 1 >= len(pattern):
        return None, i
    return pattern[i], i + 1
