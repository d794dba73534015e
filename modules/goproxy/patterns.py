"""GOPRIVATE / GONOPROXY / GONOSUMDB patterns (module.MatchPrefixPatterns).

A setting like ``*.corp.example.com,rsc.io/private`` is a comma-separated list of globs
in Go's ``path.Match`` syntax. A glob with N slashes is matched against the first N+1
elements of the module path, so ``rsc.io/private`` covers ``rsc.io/private/quux`` but
not ``rsc.io/privatequux``, and ``*`` never crosses a ``/``. Empty and malformed globs
are ignored, and a trailing slash on a glob is dropped.

Unlike Go's, the match here ignores the case of ASCII letters (issue 21). Code hosts
such as GitHub fold case, so ``github.com/Sirupsen/logrus`` and ``github.com/sirupsen/logrus``
are the same repository under two module paths: a deny rule, an ``ATHENS_GOPRIVATE``
glob or a download-mode rule written for one spelling must hold for the other, or
``example.test/!evil`` walks past the rule for ``example.test/evil`` and a private
module's name is asked of the public upstream. Folding can only make a pattern match
more paths, never fewer. (A class whose range crosses the case boundary, ``[Z-a]``, is
folded with the rest and then matches nothing; no real pattern is written so.)
"""

from functools import lru_cache

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_case(text: str) -> str:
    """ASCII letters in lower case, nothing else changed (str.lower() would also turn
    the Kelvin sign into a "k")."""
    return text.translate(_ASCII_LOWER)


def match_prefix_patterns(patterns: str, target: str) -> bool:
    """Whether a leading run of ``target``'s path elements matches one of the globs,
    ASCII case ignored."""
    return _match_prefix_patterns(fold_case(patterns), fold_case(target))


def _match_prefix_patterns(patterns: str, target: str) -> bool:
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

    The algorithm is Go's own (path/match.go): the pattern is a series of chunks, each
    a run of non-star items after optional stars; a chunk after a star is tried at each
    position of the name in turn, and the first position that works is kept. That is
    at most len(name) x len(pattern) steps, whatever the pattern: a translation into a
    backtracking regular expression took 41 s for ``*a*a*a*a*a*b`` against a 200-character
    path element, and patterns come from rules and settings anyone may write.
    """
    chunks = _compile(pattern)
    if chunks is None:
        return False
    for index, (star, items) in enumerate(chunks):
        last = index == len(chunks) - 1
        if star and not items:
            # Trailing star(s): match the rest if it holds no "/".
            return "/" not in name
        rest = _match_items(items, name)
        if rest is not None and (rest == "" or not last):
            name = rest
            continue
        if star:
            for i in range(len(name)):
                if name[i] == "/":
                    break
                rest = _match_items(items, name[i + 1:])
                if rest is not None:
                    if last and rest:
                        continue
                    name = rest
                    break
            else:
                return False
            if rest is None or (last and rest):
                return False
            continue
        return False
    return name == ""


# A chunk's items: ("=", char) a literal, ("?",) any non-"/" character, or
# ("[", negated, ((low, high), ...)) a class.
_Item = tuple
_Chunk = tuple[bool, tuple[_Item, ...]]


def _match_items(items: tuple[_Item, ...], name: str) -> str | None:
    """What is left of ``name`` after ``items`` matched its start, or None (matchChunk)."""
    position = 0
    for item in items:
        if position >= len(name):
            return None
        char = name[position]
        kind = item[0]
        if kind == "=":
            if char != item[1]:
                return None
        elif kind == "?":
            if char == "/":
                return None
        else:
            _, negated, ranges = item
            if any(low <= char <= high for low, high in ranges) == negated:
                return None
        position += 1
    return name[position:]


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> tuple[_Chunk, ...] | None:
    """The chunks of a Go glob (scanChunk), or None if it is malformed anywhere."""
    chunks = []
    while True:
        star = False
        while pattern.startswith("*"):
            pattern, star = pattern[1:], True
        end = _chunk_end(pattern)
        items = _items(pattern[:end])
        if items is None:
            return None
        chunks.append((star, items))
        pattern = pattern[end:]
        if not pattern:
            return tuple(chunks)


def _chunk_end(pattern: str) -> int:
    """Where the first star outside a class starts (Go's scanChunk)."""
    in_range = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
        elif char == "[":
            in_range = True
        elif char == "]":
            in_range = False
        elif char == "*" and not in_range:
            return i
        i += 1
    return len(pattern)


def _items(chunk: str) -> tuple[_Item, ...] | None:
    items = []
    i = 0
    while i < len(chunk):
        char = chunk[i]
        if char == "?":
            items.append(("?",))
            i += 1
        elif char == "\\":
            if i + 1 >= len(chunk):
                return None
            items.append(("=", chunk[i + 1]))
            i += 2
        elif char == "[":
            parsed = _character_class(chunk, i + 1)
            if parsed is None:
                return None
            item, i = parsed
            items.append(item)
        else:
            items.append(("=", char))
            i += 1
    return tuple(items)


def _character_class(pattern: str, i: int) -> tuple[_Item, int] | None:
    """Parse a class body starting after ``[``; return (item, index after ``]``).

    Unlike ``*`` and ``?``, a class may match ``/`` (Go does not exclude it). A reversed
    range like ``z-a`` is legal in Go and matches nothing.
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
    return ("[", negated, tuple(ranges)), i + 1


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
