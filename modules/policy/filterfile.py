"""Athens filter files: bring allow/deny rules over from Athens, and write ours back out.

Athens (``ATHENS_FILTER_FILE``) reads one rule a line; ``#`` starts a comment line and
blank lines are skipped::

    # deny everything not listed
    -
    - github.com/azure
    + github.com/azure/azure-sdk-for-go v1.2,v1.4.1,>=v2.0.0&<v2.3.0
    D enterprise.example.com/company

``+`` allows, ``-`` denies, ``D`` is Athens' "fetch directly, do not store", and a line
with only the sign sets the default for every module (the root rule, pattern ``""``).
The path covers itself and every module under it, as a GOPRIVATE pattern does; our
patterns may also use globs (``github.com/*/internal``). The optional third field is a
comma-separated list of version items, any of which may match (``||`` in our constraint
syntax, see modules.goproxy.constraints):

- ``v1.2.3``: exactly that version. Athens compared it as a text prefix, so it also
  caught v1.2.30; its documentation says "only v1.2.3", and that is what we import.
- ``v1.2`` (or ``v1.2.*``, ``v1.2.``): every version whose text starts with ``v1.2.``,
  which is ``>=v1.2.0-0 <v1.3.0-0``. The ``-0`` bounds (``-0`` is the lowest possible
  pre-release) keep exactly Athens' set: the v1.2.0 pre-releases and pseudo-versions
  are in, v1.3.0-rc.1 is out. ``v1`` likewise means ``>=v1.0.0-0 <v2.0.0-0``.
- one of our comparisons: ``<v1.4.2``, ``>=v2.0.0``, ``!=v1.3.0``.
- comparisons that must all hold, joined by ``&``: ``>=v2.0.0&<v2.3.0``. The file splits
  fields on whitespace and items on commas (which mean OR), so an AND range needs a
  character of its own; ``&`` cannot occur in a version.

Decisions worth knowing when migrating:

- ``D`` lines are reported as errors by default, naming their line: this proxy has no
  "pass through without storing" mode, and turning them into "allow" would start
  caching what was kept out of the cache (often private code). The caller may pass
  ``direct="allow"`` after deciding that is fine.
- Athens' modifiers ``~1.2.3``, ``^1.2.3`` and ``<1.2.3`` are errors whose message gives
  the comparison to write instead. They cannot be imported faithfully: Athens never
  matched a pre-release or pseudo-version with them, its ``^1.2.3`` also let v1.2.0
  through and its ``<1.2.3`` also let v1.2.3 through, contrary to its documentation.
- Athens kept only the last line for a path. Here every line is a rule, and the most
  specific rule that matches a version wins, so ``+ m v1.2`` followed by ``- m`` means
  "v1.2.x only", which is what such a file was written to say, although Athens denied
  all of m. Lines that repeat a path *and* its versions are errors.
- A file without a default line yields no root rule, so this proxy's own default
  applies; Athens allowed everything then. Write ``+`` or ``-`` to be explicit.

Every problem in a file is reported at once (FilterFileError.errors), so a team fixes
an imported file in one pass.
"""

import re
from dataclasses import dataclass
from typing import Iterable

from modules.goproxy.constraints import (
    Comparison,
    Constraint,
    InvalidConstraintError,
    InvalidPatternError,
    parse_constraint,
    validate_pattern,
)
from modules.goproxy.errors import quote

ALLOW = "allow"
DENY = "deny"

_SIGNS = {"+": ALLOW, "-": DENY}
_SIGN_OF = {ALLOW: "+", DENY: "-"}
_DIRECT = "D"

# Athens' prefix items: v1, v1., v1.*, v1*, v1.2, v1.2., v1.2.*, v1.2* (it trimmed the
# stars and matched the rest, plus a '.', as text).
_ATHENS_PREFIX = re.compile(r"v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.\*|\*|\.)?", re.ASCII)
_ATHENS_MODIFIER = re.compile(r"([~^<])([0-9]+)\.([0-9]+)\.([0-9]+)", re.ASCII)
_PRE_RELEASE_FLOOR = re.compile(r"v([0-9]+)\.([0-9]+)\.0-0", re.ASCII)


@dataclass(frozen=True)
class FilterRule:
    """One rule read from a filter file.

    ``pattern`` is ``""`` for the default (root) rule; ``versions`` is canonical
    constraint text, ``""`` for any version; ``line`` is where the rule was written.
    """

    action: str  # ALLOW or DENY
    pattern: str
    versions: str
    line: int


class FilterFileError(ValueError):
    """A filter file has problems; ``errors`` lists every (line number, message).

    ``line`` is the first problem's line, and the message names every line, so it can be
    shown to the person who wrote the file as it is.
    """

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = list(errors)
        self.line = self.errors[0][0]
        lines = [f"line {number}: {message}" for number, message in self.errors]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} problems in the filter file:\n" + "\n".join(lines)
        super().__init__(message)


class _LineProblem(Exception):
    """What is wrong with one line; parse_filter_file adds the line number."""


def parse_filter_file(text: str, *, direct: str = "error") -> list[FilterRule]:
    """Read the rules of an Athens filter file, in the order written.

    ``direct`` says what to do with ``D`` lines: ``"error"`` (the default) reports them,
    ``"allow"`` imports them as allow rules. Raises FilterFileError naming every bad line.
    """
    if direct not in ("error", ALLOW):
        raise ValueError(f"direct must be 'error' or 'allow', not {quote(direct)}")
    rules: list[FilterRule] = []
    errors: list[tuple[int, str]] = []
    first_line: dict[tuple[str, str], FilterRule] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rule = _parse_line(line, number, direct)
            _check_repeat(rule, first_line.get((rule.pattern, rule.versions)))
        except _LineProblem as problem:
            errors.append((number, str(problem)))
            continue
        first_line[(rule.pattern, rule.versions)] = rule
        rules.append(rule)
    if errors:
        raise FilterFileError(errors)
    return rules


def _parse_line(line: str, number: int, direct: str) -> FilterRule:
    fields = line.split()
    sign = fields[0]
    if sign not in _SIGNS and sign != _DIRECT:
        if sign[0] in _SIGNS and len(sign) > 1:
            raise _LineProblem(f"put a space between {_show(sign[0])} and {_show(sign[1:])}")
        raise _LineProblem(f"unknown action {_show(sign)}: a rule starts with '+' (allow), '-' (deny) or 'D' (direct)")
    for field in fields[1:]:
        if field.startswith("#"):
            raise _LineProblem("a comment goes on a line of its own, starting with '#'")
    if len(fields) > 3:
        raise _LineProblem(
            "too many fields: a rule is '<+|-|D> <module path> [versions]', with the versions "
            "separated by ',' and no spaces (use '&' for comparisons that must all hold)"
        )
    if sign == _DIRECT:
        if direct == "error":
            raise _LineProblem(
                "'D' (fetch directly, never store) has no equivalent in this proxy: write '+' to serve "
                "the module through it, or list it in GOPRIVATE/GONOPROXY so the go command skips the proxy"
            )
        action = ALLOW
    else:
        action = _SIGNS[sign]
    if len(fields) == 1:
        return FilterRule(action, "", "", number)
    try:
        pattern = validate_pattern(fields[1])
    except InvalidPatternError as error:
        raise _LineProblem(str(error)) from None
    versions = _import_versions(fields[2]) if len(fields) == 3 else ""
    return FilterRule(action, pattern, versions, number)


def _check_repeat(rule: FilterRule, earlier: FilterRule | None) -> None:
    if earlier is None:
        return
    if rule.pattern == "":
        raise _LineProblem(f"the default rule is already set on line {earlier.line}")
    what = _show(rule.pattern) + (f" {rule.versions}" if rule.versions else "")
    if rule.action == earlier.action:
        raise _LineProblem(f"repeats the rule for {what} on line {earlier.line}")
    raise _LineProblem(f"contradicts line {earlier.line}, which says {earlier.action} for {what}")


def _import_versions(field: str) -> str:
    """Our canonical constraint text for a comma-separated list of version items."""
    items = field.split(",")
    if "" in items:
        raise _LineProblem(f"empty item in the version list {_show(field)}")
    alternatives = [_import_item(item) for item in items]
    return str(parse_constraint(" || ".join(alternatives)))


def _import_item(item: str) -> str:
    if item == "*":
        raise _LineProblem("'*' is not a version; leave the versions out to match every version")
    prefix = _ATHENS_PREFIX.fullmatch(item)
    if prefix:
        major, minor = prefix.group(1), prefix.group(2)
        return _prefix_range(int(major), None if minor is None else int(minor))
    modifier = _ATHENS_MODIFIER.fullmatch(item)
    if modifier:
        raise _LineProblem(_modifier_advice(item, *modifier.groups()))
    if item.endswith("*"):
        raise _LineProblem(
            f"version {_show(item)}: Athens matched this as a text prefix (v1.2.3* caught v1.2.30 too); "
            "write the exact version, or a range such as >=v1.2.3&<v1.3.0"
        )
    if "|" in item:
        raise _LineProblem(f"version {_show(item)}: separate alternatives with ',' in a filter file")
    parts = item.split("&")
    if "" in parts:
        raise _LineProblem(f"version {_show(item)}: a comparison is missing next to '&'")
    try:
        constraint = parse_constraint(" ".join(parts))
    except InvalidConstraintError as error:
        raise _LineProblem(f"version {_show(item)}: {error.problem}") from None
    return str(constraint)


def _prefix_range(major: int, minor: int | None) -> str:
    """The range of versions whose text starts with ``vMAJOR.`` or ``vMAJOR.MINOR.``."""
    if minor is None:
        return f">=v{major}.0.0-0 <v{major + 1}.0.0-0"
    return f">=v{major}.{minor}.0-0 <v{major}.{minor + 1}.0-0"


def _modifier_advice(item: str, op: str, major: str, minor: str, patch: str) -> str:
    version = f"v{major}.{minor}.{patch}"
    if op == "~":
        instead = f">={version}&<v{major}.{int(minor) + 1}.0"
    elif op == "^":
        instead = f">={version}&<v{int(major) + 1}.0.0"
    else:
        instead = f"<{version} (or <={version}, which is what Athens did)"
    return (
        f"version {_show(item)}: Athens' modifiers are not imported because they never matched "
        f"pre-releases or pseudo-versions; write {instead}"
    )


def format_filter_file(rules: Iterable[tuple[str, str, str]], *, header: str | None = None) -> str:
    """Write ``(action, pattern, versions)`` rules as a filter file that parses back to them.

    The default rule (pattern ``""``) goes first, as Athens' documentation places it;
    the others keep their order. Version ranges that are exactly an Athens prefix come
    out as one (``v1.2``), so the file stays readable and works in Athens too. Raises
    ValueError for a rule the format cannot hold: an unknown action, a bad pattern or
    constraint, versions on the default rule, or the same pattern and versions twice.
    """
    lines = [f"# {text}".rstrip() for text in header.splitlines()] if header else []
    default_lines: list[str] = []
    rule_lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for action, pattern, versions in rules:
        if action not in _SIGN_OF:
            raise ValueError(f"unknown action {quote(action)}: a rule either allows or denies")
        sign = _SIGN_OF[action]
        constraint = parse_constraint(versions)
        if pattern == "":
            if not constraint.is_any:
                raise ValueError(f"the default rule cannot have versions in a filter file (got {quote(versions)})")
            key = ("", "")
            default_lines.append(sign)
        else:
            pattern = validate_pattern(pattern)
            key = (pattern, str(constraint))
            field = _export_versions(constraint)
            rule_lines.append(f"{sign} {pattern} {field}" if field else f"{sign} {pattern}")
        if key in seen:
            what = "the default rule" if pattern == "" else f"{quote(pattern)} {str(constraint) or '(any version)'}"
            raise ValueError(f"two rules for {what}: a filter file holds one")
        seen.add(key)
    return "\n".join(lines + default_lines + rule_lines) + "\n"


def _export_versions(constraint: Constraint) -> str:
    return ",".join(_export_alternative(terms) for terms in constraint.alternatives)


def _export_alternative(terms: tuple[Comparison, ...]) -> str:
    return _athens_prefix(terms) or "&".join(str(term) for term in terms)


def _athens_prefix(terms: tuple[Comparison, ...]) -> str | None:
    """``v1.2`` for ``>=v1.2.0-0 <v1.3.0-0``, ``v1`` for ``>=v1.0.0-0 <v2.0.0-0``, else None."""
    if len(terms) != 2 or (terms[0].op, terms[1].op) != (">=", "<"):
        return None
    low, high = (_PRE_RELEASE_FLOOR.fullmatch(term.version) for term in terms)
    if low is None or high is None:
        return None
    (low_major, low_minor), (high_major, high_minor) = (tuple(map(int, m.groups())) for m in (low, high))
    if high_major == low_major and high_minor == low_minor + 1:
        return f"v{low_major}.{low_minor}"
    if high_major == low_major + 1 and low_minor == high_minor == 0:
        return f"v{low_major}"
    return None


def _show(text: str) -> str:
    return "'" + quote(text)[1:-1].replace('\\"', '"') + "'"
