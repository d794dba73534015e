"""Version constraints and rule patterns (modules.goproxy.constraints)."""

import operator

import pytest

from modules.goproxy import semver
from modules.goproxy.constraints import (
    InvalidConstraintError,
    InvalidPatternError,
    parse_constraint,
    pattern_specificity,
    validate_pattern,
)
from modules.goproxy.errors import GoProxyError

PSEUDO = "v1.4.2-0.20240101000000-abcdef123456"  # a commit after v1.4.1


@pytest.mark.parametrize(
    ("constraint", "version", "matched"),
    [
        # releases
        ("<v1.4.2", "v1.4.1", True),
        ("<v1.4.2", "v1.4.2", False),
        ("<=v1.4.2", "v1.4.2", True),
        (">v1.4.2", "v1.4.2", False),
        (">v1.4.2", "v1.4.3", True),
        (">=v1.4.2", "v1.4.2", True),
        (">=v1.4.2", "v1.10.0", True),  # numeric, not textual, order
        ("<v1.10.0", "v1.9.0", True),
        ("v1.2.3", "v1.2.3", True),
        ("v1.2.3", "v1.2.4", False),
        ("=v1.2.3", "v1.2.3", True),
        ("!=v1.2.3", "v1.2.3", False),
        ("!=v1.2.3", "v1.2.4", True),
        ("v1.2.3", "v1.2", False),
        ("v1.2.0", "v1.2", True),  # a shorthand version is its .0 release
        # pre-releases sort below their release
        ("<v1.4.2", "v1.4.2-rc.1", True),
        (">=v1.4.2", "v1.4.2-rc.1", False),
        (">v1.4.1", "v1.4.2-rc.1", True),
        ("<v1.4.2-rc.2", "v1.4.2-rc.1", True),
        ("<v1.4.2-rc.10", "v1.4.2-rc.9", True),  # numeric identifiers compare as numbers
        ("<v1.4.2-rc.1", "v1.4.2-beta", True),
        ("v1.4.2-rc.1", "v1.4.2-rc.1", True),
        ("v1.4.2-rc.1", "v1.4.2", False),
        # pseudo-versions sit between the tag they build on and the next release
        ("<v1.4.2", PSEUDO, True),
        (">v1.4.1", PSEUDO, True),
        (">=v1.4.1 <v1.4.2", PSEUDO, True),
        ("<v1.4.2-rc.1", PSEUDO, True),  # "-0." sorts below every real pre-release
        ("<=v1.4.1", PSEUDO, False),
        (PSEUDO, PSEUDO, True),
        (PSEUDO, "v1.4.2-0.20240101000001-abcdef123456", False),
        (">=v0.0.0", "v0.0.0-20240101000000-abcdef123456", False),  # form 1 is below v0.0.0
        # +incompatible plays no part in the order
        (">=v2.0.0", "v2.0.0+incompatible", True),
        ("<v2.0.0", "v2.0.0+incompatible", False),
        ("<v3.0.0", "v2.5.1+incompatible", True),
        ("v2.0.0+incompatible", "v2.0.0+incompatible", True),
        ("v2.0.0+incompatible", "v2.0.1+incompatible", False),
        (">=v2.0.0+incompatible <v3.0.0", "v2.3.0+incompatible", True),
        # AND within an alternative, OR between alternatives
        (">=v2.0.0 <v2.3.0", "v2.2.9", True),
        (">=v2.0.0 <v2.3.0", "v2.3.0", False),
        (">=v2.0.0 <v2.3.0", "v1.9.0", False),
        ("<v1.0.0 || >=v2.0.0 <v2.1.0", "v0.9.0", True),
        ("<v1.0.0 || >=v2.0.0 <v2.1.0", "v1.5.0", False),
        ("<v1.0.0 || >=v2.0.0 <v2.1.0", "v2.0.5", True),
        ("<v1.0.0 || >=v2.0.0 <v2.1.0", "v2.1.0", False),
        (">=v1.0.0 !=v1.3.0", "v1.3.0", False),
        (">=v1.0.0 !=v1.3.0", "v1.3.1", True),
        ("v1.2.3 || v1.4.0", "v1.4.0", True),
        # shorthands where Go accepts them mean the .0 release
        ("<v1.2", "v1.1.9", True),
        ("<v1.2", "v1.2.0", False),
        (">=v1", "v1.0.0", True),
        (">=v1", "v0.9.0", False),
        # any version
        ("", "v0.0.1", True),
        ("*", "v9.9.9-pre", True),
    ],
)
def test_constraint_matches_versions_in_go_semver_order(constraint, version, matched):
    assert parse_constraint(constraint).matches(version) is matched


@pytest.mark.parametrize("version", ["", "latest", "1.2.3", "v1.2.3.4", "master", "v1.2.3-01"])
@pytest.mark.parametrize("constraint", ["<v9.0.0", ">=v0.0.0", "!=v1.2.3", "v1.2.3", "<v1.0.0 || >=v1.0.0"])
def test_invalid_version_matches_no_range(constraint, version):
    assert not parse_constraint(constraint).matches(version)


@pytest.mark.parametrize("version", ["", "latest", "v1.2.3.4"])
def test_invalid_version_matches_any_version(version):
    assert parse_constraint("*").matches(version)
    assert parse_constraint("").matches(version)


VERSIONS = ["v0.0.0-20240101000000-abcdef123456", "v0.1.0", "v1.0.0-rc.1", "v1.0.0", PSEUDO, "v1.4.2-rc.1",
            "v1.4.2", "v2.0.0+incompatible", "v2.0.1"]
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("pivot", VERSIONS)
def test_every_comparison_agrees_with_semver_compare(op, pivot):
    constraint = parse_constraint(op + pivot)
    for version in VERSIONS:
        assert constraint.matches(version) is OPS[op](semver.compare(version, pivot), 0), version


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("*", ""),
        ("  *  ", ""),
        ("v1.2.3", "v1.2.3"),
        ("=v1.2.3", "v1.2.3"),  # '=' is written as the bare version
        (" >=v2.0.0   <v2.3.0 ", ">=v2.0.0 <v2.3.0"),
        (">=v2.0.0\t<v2.3.0", ">=v2.0.0 <v2.3.0"),
        ("<v1.0.0||>=v2.0.0  <v2.1.0", "<v1.0.0 || >=v2.0.0 <v2.1.0"),
        (">= v2.0.0 < v2.3.0", ">=v2.0.0 <v2.3.0"),  # a space after the operator is fine
        ("<v1.2", "<v1.2.0"),
        (">=v1", ">=v1.0.0"),
        ("v2.0.0+incompatible", "v2.0.0+incompatible"),
        (PSEUDO, PSEUDO),
        ("!=v1.3.0", "!=v1.3.0"),
        ("<v2.3.0 >=v2.0.0", "<v2.3.0 >=v2.0.0"),  # written order is kept
    ],
)
def test_constraint_text_is_canonicalized(text, canonical):
    constraint = parse_constraint(text)
    assert str(constraint) == canonical
    assert parse_constraint(canonical) == constraint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<1.4.2", "'<1.4.2': versions start with 'v', e.g. <v1.4.2"),
        ("1.4.2", "'1.4.2': versions start with 'v', e.g. v1.4.2"),
        (">=v2.0.0 <", "'>=v2.0.0 <': missing version after '<'"),
        (">=", "'>=': missing version after '>='"),
        ("=>v1.0.0", "'=>v1.0.0': unknown operator '=>' (use >=)"),
        ("=<v1.0.0", "'=<v1.0.0': unknown operator '=<' (use <=)"),
        ("==v1.0.0", "'==v1.0.0': unknown operator '==' (use = or write the version alone)"),
        ("<<v1.0.0", "'<<v1.0.0': unknown operator '<<' (use one of < <= > >= = !=)"),
        ("~v1.2.3", "'~v1.2.3': unknown operator '~' (write the range out, e.g. >=v1.2.3 <v1.3.0)"),
        ("^v1.2.3", "'^v1.2.3': unknown operator '^' (write the range out, e.g. >=v1.2.3 <v2.0.0)"),
        ("vfoo", "'vfoo': 'vfoo' is not a semantic version (like v1.2.3, v1.2.3-rc.1)"),
        ("<v1.2.3.4", "'<v1.2.3.4': 'v1.2.3.4' is not a semantic version (like v1.2.3, v1.2.3-rc.1)"),
        ("latest", "'latest': 'latest' is not a semantic version (like v1.2.3, v1.2.3-rc.1)"),
        ("v1.2.3+meta", "'v1.2.3+meta': module versions carry no build metadata except +incompatible; write v1.2.3"),
        ("<=v1.2", "'<=v1.2': ambiguous version 'v1.2' after '<=': write <=v1.2.0 or <v1.3.0"),
        (">v1", "'>v1': ambiguous version 'v1' after '>': write >v1.0.0 or >=v2.0.0"),
        ("v1.2", "'v1.2': ambiguous version 'v1.2': write v1.2.0 for that one version, "
                 "or >=v1.2.0 <v1.3.0 for all of v1.2.x"),
        ("!=v1", "'!=v1': ambiguous version 'v1' after '!=': write !=v1.0.0, or <v1.0.0 || >=v2.0.0 "
                 "to exclude all of v1.x"),
        (">=v1.0.0<v2.0.0", "'>=v1.0.0<v2.0.0': separate comparisons with a space, e.g. >=v1.0.0 <v2.0.0"),
        (">=v1.0.0&<v2.0.0", "'>=v1.0.0&<v2.0.0': use a space between comparisons that must all hold"),
        ("<v1.0.0,>=v2.0.0", "'<v1.0.0,>=v2.0.0': use '||' between alternatives"),
        ("<v1.0.0 | >=v2.0.0", "'<v1.0.0 | >=v2.0.0': use '||' between alternatives"),
        ("|| <v1.0.0", "'|| <v1.0.0': missing comparison before '||'"),
        ("<v1.0.0 ||", "'<v1.0.0 ||': missing comparison after '||'"),
        ("<v1.0.0 || || >v2.0.0", "'<v1.0.0 || || >v2.0.0': missing comparison after '||'"),
        ("* || <v1.0.0", "'* || <v1.0.0': '*' means any version and stands alone; "
                         "leave it out or drop the other comparisons"),
        (">=v2.0.0 <v1.0.0", "'>=v2.0.0 <v1.0.0': no version is both >=v2.0.0 and <v1.0.0"),
        (">v1.0.0 <=v1.0.0", "'>v1.0.0 <=v1.0.0': no version is both >v1.0.0 and <=v1.0.0"),
        ("v1.0.0 >v2.0.0", "'v1.0.0 >v2.0.0': no version is both >v2.0.0 and v1.0.0"),
        ("v1.0.0 v1.0.1", "'v1.0.0 v1.0.1': no version is both v1.0.1 and v1.0.0"),
    ],
)
def test_invalid_constraint_message_says_what_to_write(text, message):
    with pytest.raises(InvalidConstraintError) as caught:
        parse_constraint(text)
    assert str(caught.value) == message
    assert caught.value.problem == message.split(": ", 1)[1]


def test_empty_range_at_one_point_is_allowed():
    constraint = parse_constraint(">=v1.0.0 <=v1.0.0")
    assert constraint.matches("v1.0.0")
    assert not constraint.matches("v1.0.1")


def test_unprintable_input_is_escaped_in_messages():
    with pytest.raises(InvalidConstraintError) as caught:
        parse_constraint("<v1.0.0\x1b[31m")
    assert "\x1b" not in str(caught.value)
    assert "\\x1b" in str(caught.value)


def test_invalid_constraint_error_belongs_to_the_goproxy_family():
    assert issubclass(InvalidConstraintError, GoProxyError)
    assert issubclass(InvalidConstraintError, ValueError)
    assert issubclass(InvalidPatternError, GoProxyError)


@pytest.mark.parametrize(
    ("text", "is_any", "is_exact", "specificity"),
    [
        ("", True, False, 0),
        ("*", True, False, 0),
        ("v1.2.3", False, True, 2),
        ("=v1.2.3", False, True, 2),
        (PSEUDO, False, True, 2),
        ("v2.0.0+incompatible", False, True, 2),
        ("<v1.4.2", False, False, 1),
        ("!=v1.2.3", False, False, 1),
        (">=v2.0.0 <v2.3.0", False, False, 1),
        ("v1.2.3 || v1.2.4", False, False, 1),  # two versions are a range, not one
        ("v1.2.3 >=v1.0.0", False, False, 1),
    ],
)
def test_constraint_specificity(text, is_any, is_exact, specificity):
    constraint = parse_constraint(text)
    assert (constraint.is_any, constraint.is_exact, constraint.specificity) == (is_any, is_exact, specificity)


def test_exact_version_beats_range_beats_any_version():
    ranked = sorted(["", "v1.2.3", "<v1.4.2"], key=lambda text: parse_constraint(text).specificity, reverse=True)
    assert ranked == ["v1.2.3", "<v1.4.2", ""]


@pytest.mark.parametrize(
    ("pattern", "specificity"),
    [
        ("", (0, 0)),
        ("*", (1, 0)),
        ("github.com", (1, 1)),
        ("github.com/*", (2, 1)),
        ("github.com/evil", (2, 2)),
        ("github.com/evil/*", (3, 2)),
        ("github.com/evil/pkg", (3, 3)),
        ("*.corp.example.com/team", (2, 1)),
        ("github.com/ev?l/pkg", (3, 2)),
        ("github.com/[ab]vil/pkg", (3, 2)),
        ("github.com/\\*/pkg", (3, 3)),  # an escaped star is a literal character
    ],
)
def test_pattern_specificity(pattern, specificity):
    assert pattern_specificity(pattern) == specificity


def test_longer_and_more_literal_patterns_are_more_specific():
    patterns = ["github.com/*", "github.com/evil/pkg", "", "github.com/evil", "github.com/evil/*", "*"]
    ranked = sorted(patterns, key=pattern_specificity, reverse=True)
    assert ranked == ["github.com/evil/pkg", "github.com/evil/*", "github.com/evil", "github.com/*", "*", ""]


@pytest.mark.parametrize(
    ("pattern", "cleaned"),
    [
        ("github.com/evil/pkg", "github.com/evil/pkg"),
        ("  github.com/evil/*\n", "github.com/evil/*"),
        ("*.corp.example.com", "*.corp.example.com"),
        ("github.com/[a-c]x/?", "github.com/[a-c]x/?"),
        ("github.com/[^a]*", "github.com/[^a]*"),
        ("example.com/\\*", "example.com/\\*"),
        ("gopkg.in/yaml.v3", "gopkg.in/yaml.v3"),
        ("github.com/Azure/go-autorest", "github.com/Azure/go-autorest"),
        ("example.com/~user/x_y", "example.com/~user/x_y"),
    ],
)
def test_validate_pattern_accepts_module_paths_and_globs(pattern, cleaned):
    assert validate_pattern(pattern) == cleaned


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty pattern: give a module path such as github.com/org/repo, or a glob such as github.com/org/*"),
        ("   ", "empty pattern: give a module path such as github.com/org/repo, or a glob such as github.com/org/*"),
        ("github.com/a b", "'github.com/a b': a pattern contains no spaces (one module path or glob per rule)"),
        ("github.com/a\tb", "'github.com/a\\tb': a pattern contains no spaces (one module path or glob per rule)"),
        ("github.com/a,github.com/b", "'github.com/a,github.com/b': one pattern per rule; "
                                      "write a rule for each of 'github.com/a' and 'github.com/b'"),
        ("/github.com/a", "'/github.com/a': remove the leading '/'; "
                          "module paths start with a host name (github.com/...)"),
        ("github.com/a/", "'github.com/a/': remove the trailing '/'; a pattern already covers every path under it"),
        ("github.com//a", "'github.com//a': empty path element ('//')"),
        ("github.com/[ab", "'github.com/[ab': unbalanced '[' in path element '[ab'"),
        ("github.com/a[", "'github.com/a[': unbalanced '[' in path element 'a['"),
        ("github.com/[]", "'github.com/[]': malformed character class in path element '[]'"),
        ("github.com/a\\", "'github.com/a\\\\': nothing after the escaping '\\' in path element 'a\\\\'"),
        ("github.com/a@v1.2.3", "'github.com/a@v1.2.3': a pattern names modules, not versions; "
                                "put the version in the version constraint"),
        ("github.com/a:b", "'github.com/a:b': ':' cannot appear in a module path "
                           "(letters, digits, '-', '.', '_', '~' and globs * ? [...])"),
        ("github.com/é", "'github.com/é': 'é' cannot appear in a module path "
                         "(letters, digits, '-', '.', '_', '~' and globs * ? [...])"),
    ],
)
def test_validate_pattern_rejects_with_message(pattern, message):
    with pytest.raises(InvalidPatternError) as caught:
        validate_pattern(pattern)
    assert str(caught.value) == message
