"""Version constraints and module path patterns for allow/deny rules.

A rule names a module path pattern, an optional version constraint and an action; when
several rules match a module version, the most specific one wins. This module parses and
evaluates the two halves and says how specific each is. It decides nothing itself.

Constraint syntax, in the go command's own vocabulary (``go get m@<v1.4.2``):

- ``""`` or ``*``: any version.
- ``v1.2.3``: exactly that version; a pseudo-version or ``v2.0.0+incompatible`` works too.
- ``<v1.4.2``, ``<=``, ``>``, ``>=``, ``=`` and ``!=`` followed by a version.
- Comparisons separated by spaces must all hold: ``>=v2.0.0 <v2.3.0``.
- Alternatives separated by ``||``: ``<v1.0.0 || >=v2.0.0 <v2.1.0``.

Versions are ordered as golang.org/x/mod/semver orders them: pre-releases sort below
their release (``v1.4.2-rc.1 < v1.4.2``), so do pseudo-versions
(``v1.4.1 < v1.4.2-0.20240101000000-abcdef123456 < v1.4.2``), and build metadata,
``+incompatible`` included, plays no part in the order.

The shorthands ``v1`` and ``v1.2`` are accepted where Go's own queries accept them: after
``<`` and ``>=``, where they mean ``v1.0.0`` / ``v1.2.0`` and are stored that way. Like
the go command ("ambiguous semantic version"), we refuse them after ``<=``, ``>``, ``=``
and ``!=`` and on their own, because a reader cannot tell whether ``<=v1.2`` lets v1.2.3
through or whether ``v1.2`` means one version or the whole v1.2 line; the error message
spells out both readings so the author can pick one. Build metadata other than
``+incompatible`` is refused too: module versions never carry it, so such a rule could
only be a mistake.

``str(constraint)`` is the canonical text (single spaces, `` || `` between alternatives,
``=`` written as the bare version, ``""`` for any version): store that, not what was typed.
"""

import re
from dataclasses import dataclass

from . import semver
from .errors import GoProxyError, quote
# patterns.path_match answers False for a malformed glob; rules need to tell "malformed"
# from "no match", so they use the same translation and look for its None.
from .patterns import _compile as _compile_glob

OPERATORS = ("<", "<=", ">", ">=", "=", "!=")

# Operators people bring from other ecosystems, with what to write instead.
_OPERATOR_HINTS = {
    "=>": "use >=",
    "=<": "use <=",
    "==": "use = or write the version alone",
    "!": "use !=",
    "<>": "use !=",
    "=!": "use !=",
    "~": "write the range out, e.g. {tilde}",
    "~>": "write the range out, e.g. {tilde}",
    "^": "write the range out, e.g. {caret}",
}

_OPERATOR_CHARS = "<>=!~^"
_GLOB_METACHARACTERS = "*?[\\"


class InvalidConstraintError(GoProxyError):
    """A version constraint cannot be parsed; the message says what to write instead.

    ``problem`` is the message without the quoted constraint in front, for callers that
    show the input themselves (a filter file names the line and the version item).
    """

    def __init__(self, message: str, problem: str | None = None):
        super().__init__(message)
        self.problem = problem or message


class InvalidPatternError(GoProxyError):
    """A module path pattern for a rule is malformed; the message says how to fix it."""


@dataclass(frozen=True)
class Comparison:
    """One ``<op><version>`` term; ``version`` is canonical (see the module docstring)."""

    op: str
    version: str

    def matches(self, version: str) -> bool:
        order = semver.compare(version, self.version)
        if self.op == "<":
            return order < 0
        if self.op == "<=":
            return order <= 0
        if self.op == ">":
            return order > 0
        if self.op == ">=":
            return order >= 0
        if self.op == "=":
            return order == 0
        return order != 0  # "!="

    def __str__(self) -> str:
        return self.version if self.op == "=" else self.op + self.version


@dataclass(frozen=True)
class Constraint:
    """A set of versions: any of ``alternatives``, each a run of comparisons that all hold.

    No alternatives at all means any version (the ``*`` constraint).
    """

    alternatives: tuple[tuple[Comparison, ...], ...] = ()

    @property
    def is_any(self) -> bool:
        return not self.alternatives

    @property
    def is_exact(self) -> bool:
        """Whether this names one version (``v1.2.3`` or ``=v1.2.3``) and nothing else."""
        return len(self.alternatives) == 1 and len(self.alternatives[0]) == 1 and self.alternatives[0][0].op == "="

    @property
    def specificity(self) -> int:
        """2 for an exact version, 1 for any other range, 0 for any version.

        Rule precedence uses it after the pattern's specificity: a rule about one version
        of a module beats a rule about a range of it, which beats a rule about all of it.
        """
        if self.is_any:
            return 0
        return 2 if self.is_exact else 1

    def matches(self, version: str) -> bool:
        """Whether ``version`` is in the set. An invalid version only matches any-version:
        a rule about versions has nothing to say about a string that is not one."""
        if self.is_any:
            return True
        if not semver.is_valid(version):
            return False
        return any(all(term.matches(version) for term in terms) for terms in self.alternatives)

    def __str__(self) -> str:
        return " || ".join(" ".join(str(term) for term in terms) for terms in self.alternatives)


ANY = Constraint()


def parse_constraint(text: str) -> Constraint:
    """Parse constraint ``text`` (syntax in the module docstring).

    Raises InvalidConstraintError with a message that quotes ``text`` and says what to
    write instead.
    """
    stripped = text.strip()
    if stripped in ("", "*"):
        return ANY
    alternatives = []
    parts = stripped.split("||")
    for index, part in enumerate(parts):
        tokens = part.split()
        if not tokens:
            where = "before" if index == 0 else "after"
            raise _error(text, f"missing comparison {where} '||'")
        alternatives.append(_parse_alternative(text, tokens))
    return Constraint(tuple(alternatives))


def _parse_alternative(text: str, tokens: list[str]) -> tuple[Comparison, ...]:
    terms = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        # "< v1.2.3" is "<v1.2.3" with a space after the operator: join them.
        if token.strip(_OPERATOR_CHARS) == "":
            if i >= len(tokens):
                raise _error(text, f"missing version after {_show(token)}")
            token += tokens[i]
            i += 1
        terms.append(_parse_comparison(text, token))
    _check_satisfiable(text, terms)
    return tuple(terms)


def _check_satisfiable(text: str, terms: list[Comparison]) -> None:
    """Refuse ``>=v2.0.0 <v1.0.0`` and the like: a rule that matches no version at all is
    a typo (usually swapped bounds), and a silent one in a security policy.

    An exact version bounds the set from both sides, so ``v1.0.0 >v2.0.0`` is caught too.
    """
    lows = [term for term in terms if term.op in (">", ">=", "=")]
    highs = [term for term in terms if term.op in ("<", "<=", "=")]
    for low in lows:
        for high in highs:
            order = semver.compare(low.version, high.version)
            if order > 0 or (order == 0 and (low.op == ">" or high.op == "<")):
                raise _error(text, f"no version is both {low} and {high}")


def _parse_comparison(text: str, token: str) -> Comparison:
    if token == "*":
        raise _error(text, "'*' means any version and stands alone; leave it out or drop the other comparisons")
    if "|" in token:
        raise _error(text, "use '||' between alternatives")
    if "&" in token or "," in token:
        hint = "a space between comparisons that must all hold" if "&" in token else "'||' between alternatives"
        raise _error(text, f"use {hint}")
    version = token.lstrip(_OPERATOR_CHARS)
    op = token[: len(token) - len(version)]
    if op not in ("",) + OPERATORS:
        raise _error(text, f"unknown operator {_show(op)} ({_operator_hint(op, version)})")
    op = op or "="
    shown = "" if op == "=" and not token.startswith("=") else op
    if version == "":
        raise _error(text, f"missing version after {_show(op)}")
    if version[0].isdigit():
        raise _error(text, f"versions start with 'v', e.g. {shown}v{version}")
    if any(char in version for char in _OPERATOR_CHARS):
        raise _error(text, "separate comparisons with a space, e.g. >=v1.0.0 <v2.0.0")
    if not semver.is_valid(version):
        raise _error(text, f"{_show(version)} is not a semantic version (like v1.2.3, v1.2.3-rc.1)")
    build = semver.build(version)
    if build and build != semver.INCOMPATIBLE:
        release = version[: -len(build)]
        raise _error(text, f"module versions carry no build metadata except +incompatible; write {shown}{release}")
    canonical = semver.canonical(version)
    if canonical != version and op in ("<=", ">", "=", "!="):
        raise _error(text, _ambiguity(op, shown, version))
    return Comparison(op, canonical)


def _operator_hint(op: str, version: str) -> str:
    hint = _OPERATOR_HINTS.get(op, "use one of " + " ".join(OPERATORS))
    if "{" not in hint:
        return hint
    base = semver.canonical(version) if semver.is_valid(version) else "v1.2.3"
    next_minor = _bump(base, minor=True)
    next_major = _bump(base, minor=False)
    return hint.format(tilde=f">={base} <{next_minor}", caret=f">={base} <{next_major}")


def _ambiguity(op: str, shown: str, shorthand: str) -> str:
    """Explain both readings of ``<=v1.2``-like terms, as the go command refuses them."""
    low = semver.canonical(shorthand)
    high = _bump(low, minor=shorthand.count(".") == 1)
    readings = {
        "<=": f"write <={low} or <{high}",
        ">": f"write >{low} or >={high}",
        "=": f"write {shown}{low} for that one version, or >={low} <{high} for all of {shorthand}.x",
        "!=": f"write !={low}, or <{low} || >={high} to exclude all of {shorthand}.x",
    }
    where = f" after {_show(shown)}" if shown else ""
    return f"ambiguous version {_show(shorthand)}{where}: {readings[op]}"


def _bump(version: str, *, minor: bool) -> str:
    """The first release of the next minor (or major) line after ``version``."""
    major_number, minor_number = map(int, semver.major_minor(version)[1:].split("."))
    return f"v{major_number}.{minor_number + 1}.0" if minor else f"v{major_number + 1}.0.0"


def pattern_specificity(pattern: str) -> tuple[int, int]:
    """How specific a GOPRIVATE-style glob is: (path elements, elements without globs).

    Compared as tuples, longer patterns win and among equally long ones the more literal
    wins: ``github.com/evil/pkg`` > ``github.com/evil/*`` > ``github.com/evil`` >
    ``github.com/*``. The empty pattern (the default rule) is (0, 0), below all others.
    """
    elements = pattern.split("/") if pattern else []
    literal = sum(1 for element in elements if not _has_glob(element))
    return len(elements), literal


def _has_glob(element: str) -> bool:
    """Whether ``element`` has an unescaped ``*``, ``?`` or ``[`` (``\\*`` is literal)."""
    i = 0
    while i < len(element):
        if element[i] == "\\":
            i += 2
            continue
        if element[i] in "*?[":
            return True
        i += 1
    return False


# Module paths use ASCII letters, digits and "-._~" (golang.org/x/mod/module.CheckPath);
# patterns add Go's glob syntax on top.
_PATTERN_CHARS = re.compile(r"[A-Za-z0-9\-._~/*?\[\]^\\]*", re.ASCII)


def validate_pattern(pattern: str) -> str:
    """Return the pattern with surrounding whitespace removed, or raise InvalidPatternError.

    One rule holds one glob, so commas are refused (GOPRIVATE would split on them), and
    so is everything match_prefix_patterns would silently ignore or rewrite (an empty
    glob, a trailing slash, bad glob syntax): a security rule that quietly matches
    nothing, or something else than it says, is worse than an error.
    """
    cleaned = pattern.strip()
    if not cleaned:
        raise InvalidPatternError(
            "empty pattern: give a module path such as github.com/org/repo, or a glob such as github.com/org/*"
        )
    shown = _show(cleaned)
    if any(char.isspace() for char in cleaned):
        raise InvalidPatternError(f"{shown}: a pattern contains no spaces (one module path or glob per rule)")
    if "," in cleaned:
        pieces = " and ".join(_show(piece) for piece in cleaned.split(",") if piece)
        raise InvalidPatternError(f"{shown}: one pattern per rule; write a rule for each of {pieces}")
    if "@" in cleaned:
        raise InvalidPatternError(
            f"{shown}: a pattern names modules, not versions; put the version in the version constraint"
        )
    if cleaned.startswith("/"):
        raise InvalidPatternError(
            f"{shown}: remove the leading '/'; module paths start with a host name (github.com/...)"
        )
    if cleaned.endswith("/"):
        raise InvalidPatternError(f"{shown}: remove the trailing '/'; a pattern already covers every path under it")
    if "//" in cleaned:
        raise InvalidPatternError(f"{shown}: empty path element ('//')")
    if not _PATTERN_CHARS.fullmatch(cleaned):
        bad = next(char for char in cleaned if not _PATTERN_CHARS.fullmatch(char))
        raise InvalidPatternError(
            f"{shown}: {_show(bad)} cannot appear in a module path "
            "(letters, digits, '-', '.', '_', '~' and globs * ? [...])"
        )
    for element in cleaned.split("/"):
        if _compile_glob(element) is None:
            raise InvalidPatternError(f"{shown}: {_glob_problem(element)} in path element {_show(element)}")
    return cleaned


def _glob_problem(element: str) -> str:
    if element.endswith("\\") and not element.endswith("\\\\"):
        return "nothing after the escaping '\\'"
    if element.count("[") > element.count("]"):
        return "unbalanced '['"
    return "malformed character class"


def _show(text: str) -> str:
    """Echo user input in single quotes, escaping anything unprintable."""
    return "'" + quote(text)[1:-1].replace('\\"', '"') + "'"


def _error(text: str, problem: str) -> InvalidConstraintError:
    return InvalidConstraintError(f"{_show(text.strip())}: {problem}", problem)
