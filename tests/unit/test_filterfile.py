"""Athens filter files: import and export of allow/deny rules (modules.policy.filterfile)."""

import pytest

from modules.policy.filterfile import FilterFileError, FilterRule, format_filter_file, parse_filter_file
from modules.goproxy.constraints import parse_constraint

ATHENS_FILE = """\
# Filter file moved over from our Athens deployment.
# Everything not listed is refused.
-

# Azure: only the SDK, and only the reviewed versions
- github.com/azure
+ github.com/azure/azure-sdk-for-go v1.2,v1.4.1,v2.*

+ github.com/gomods/athens v0.1,v0.2,v0.4.1
+ golang.org/x
- golang.org/x/crypto <v0.17.0
+ github.com/pkg/errors >=v0.9.0&<v1.0.0,v0.8.1
- github.com/evil/*
+ example.com/tool v0.0.0-20240101000000-abcdef123456
+ github.com/docker/docker v20.10.24+incompatible
"""


def test_parses_a_realistic_athens_file():
    assert parse_filter_file(ATHENS_FILE) == [
        FilterRule("deny", "", "", 3),
        FilterRule("deny", "github.com/azure", "", 6),
        FilterRule("allow", "github.com/azure/azure-sdk-for-go",
                   ">=v1.2.0-0 <v1.3.0-0 || v1.4.1 || >=v2.0.0-0 <v3.0.0-0", 7),
        FilterRule("allow", "github.com/gomods/athens", ">=v0.1.0-0 <v0.2.0-0 || >=v0.2.0-0 <v0.3.0-0 || v0.4.1", 9),
        FilterRule("allow", "golang.org/x", "", 10),
        FilterRule("deny", "golang.org/x/crypto", "<v0.17.0", 11),
        FilterRule("allow", "github.com/pkg/errors", ">=v0.9.0 <v1.0.0 || v0.8.1", 12),
        FilterRule("deny", "github.com/evil/*", "", 13),
        FilterRule("allow", "example.com/tool", "v0.0.0-20240101000000-abcdef123456", 14),
        FilterRule("allow", "github.com/docker/docker", "v20.10.24+incompatible", 15),
    ]


@pytest.mark.parametrize(
    ("item", "versions"),
    [
        ("v1.2.3", "v1.2.3"),  # exact, not Athens' text prefix (which caught v1.2.30)
        ("v1.2", ">=v1.2.0-0 <v1.3.0-0"),
        ("v1.2.", ">=v1.2.0-0 <v1.3.0-0"),
        ("v1.2.*", ">=v1.2.0-0 <v1.3.0-0"),
        ("v1.2*", ">=v1.2.0-0 <v1.3.0-0"),
        ("v1", ">=v1.0.0-0 <v2.0.0-0"),
        ("v1.*", ">=v1.0.0-0 <v2.0.0-0"),
        ("v0", ">=v0.0.0-0 <v1.0.0-0"),
        ("v1.0", ">=v1.0.0-0 <v1.1.0-0"),
        ("v1.2.3-rc.1", "v1.2.3-rc.1"),
        ("<v1.4.2", "<v1.4.2"),
        (">=v2.0.0", ">=v2.0.0"),
        ("!=v1.3.0", "!=v1.3.0"),
        ("=v1.3.0", "v1.3.0"),
        (">=v2.0.0&<v2.3.0", ">=v2.0.0 <v2.3.0"),
        (">=v1.2&<v2", ">=v1.2.0 <v2.0.0"),
        ("<v1.0.0,>=v2.0.0&<v2.1.0", "<v1.0.0 || >=v2.0.0 <v2.1.0"),
    ],
)
def test_version_items_become_constraints(item, versions):
    (rule,) = parse_filter_file(f"+ example.com/m {item}\n")
    assert rule.versions == versions


@pytest.mark.parametrize(
    ("version", "in_v1_2"),
    [
        ("v1.2.0", True),
        ("v1.2.9", True),
        ("v1.2.0-rc.1", True),  # "v1.2.0-rc.1" starts with "v1.2." in Athens too
        ("v1.2.0-0.20240101000000-abcdef123456", True),
        ("v1.2.4-0.20240101000000-abcdef123456", True),
        ("v1.3.0-rc.1", False),  # a plain <v1.3.0 bound would have let this in
        ("v1.3.0-0.20240101000000-abcdef123456", False),
        ("v1.3.0", False),
        ("v1.1.99", False),
        ("v1.20.0", False),
    ],
)
def test_athens_minor_prefix_keeps_exactly_the_versions_athens_matched(version, in_v1_2):
    (rule,) = parse_filter_file("+ example.com/m v1.2\n")
    assert parse_constraint(rule.versions).matches(version) is in_v1_2
    assert version.startswith("v1.2.") is in_v1_2  # Athens' own test


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("D golang.org/x/tools", "'D' (fetch directly, never store) has no equivalent in this proxy: write '+' to "
                                 "serve the module through it, or list it in GOPRIVATE/GONOPROXY so the go command "
                                 "skips the proxy"),
        ("D", "'D' (fetch directly, never store) has no equivalent in this proxy"),
        ("+github.com/x", "put a space between '+' and 'github.com/x'"),
        ("-github.com/x", "put a space between '-' and 'github.com/x'"),
        ("* github.com/x", "unknown action '*': a rule starts with '+' (allow), '-' (deny) or 'D' (direct)"),
        ("allow github.com/x", "unknown action 'allow'"),
        ("d github.com/x", "unknown action 'd'"),
        ("+ github.com/x v1 # reviewed", "a comment goes on a line of its own, starting with '#'"),
        ("+ github.com/x v1.0.0, v1.1.0", "too many fields: a rule is '<+|-|D> <module path> [versions]'"),
        ("+ github.com/x >=v1.0.0 <v2.0.0", "too many fields"),
        ("+ github.com/x/", "'github.com/x/': remove the trailing '/'"),
        ("+ /github.com/x", "'/github.com/x': remove the leading '/'"),
        ("+ github.com//x", "'github.com//x': empty path element ('//')"),
        ("+ github.com/a,github.com/b", "'github.com/a,github.com/b': one pattern per rule"),
        ("+ github.com/[x", "'github.com/[x': unbalanced '['"),
        ("+ github.com/x@v1.2.3", "a pattern names modules, not versions"),
        ("+ github.com/x v1,,v2", "empty item in the version list 'v1,,v2'"),
        ("+ github.com/x v1,", "empty item in the version list 'v1,'"),
        ("+ github.com/x *", "'*' is not a version; leave the versions out to match every version"),
        ("+ github.com/x 1.2.3", "version '1.2.3': versions start with 'v', e.g. v1.2.3"),
        ("+ github.com/x <1.2", "version '<1.2': versions start with 'v', e.g. <v1.2"),
        ("+ github.com/x ~1.2.3", "version '~1.2.3': Athens' modifiers are not imported because they never "
                                  "matched pre-releases or pseudo-versions; write >=v1.2.3&<v1.3.0"),
        ("+ github.com/x ^1.2.3", "write >=v1.2.3&<v2.0.0"),
        ("+ github.com/x <1.2.3", "write <v1.2.3 (or <=v1.2.3, which is what Athens did)"),
        ("+ github.com/x v1.2.3*", "version 'v1.2.3*': Athens matched this as a text prefix"),
        ("+ github.com/x =>v1.2.3", "version '=>v1.2.3': unknown operator '=>' (use >=)"),
        ("+ github.com/x >=v2.0.0&", "version '>=v2.0.0&': a comparison is missing next to '&'"),
        ("+ github.com/x &<v2.0.0", "version '&<v2.0.0': a comparison is missing next to '&'"),
        ("+ github.com/x <v1.0.0||>v2.0.0", "version '<v1.0.0||>v2.0.0': separate alternatives with ','"),
        ("+ github.com/x >=v2.0.0&<v1.0.0", "version '>=v2.0.0&<v1.0.0': no version is both >=v2.0.0 and <v1.0.0"),
        ("+ github.com/x <=v1.2", "version '<=v1.2': ambiguous version 'v1.2' after '<='"),
        ("+ github.com/x v1.2.3+build.1", "version 'v1.2.3+build.1': module versions carry no build metadata"),
        ("+ github.com/x vlatest", "version 'vlatest': 'vlatest' is not a semantic version"),
    ],
)
def test_each_bad_line_is_reported_with_its_line_number(line, message):
    text = "# rules\n\n+ github.com/ok\n" + line + "\n+ github.com/ok/too\n"
    with pytest.raises(FilterFileError) as caught:
        parse_filter_file(text)
    error = caught.value
    assert error.line == 4
    assert len(error.errors) == 1
    assert error.errors[0][0] == 4
    assert message in error.errors[0][1]
    assert str(error) == f"line 4: {error.errors[0][1]}"


def test_every_problem_is_reported_at_once():
    text = "-\n+ github.com/a v1\nD github.com/b\n+ github.com/c ~1.2.3\n\n+github.com/d\n+ github.com/a v1\n"
    with pytest.raises(FilterFileError) as caught:
        parse_filter_file(text)
    error = caught.value
    assert [number for number, _ in error.errors] == [3, 4, 6, 7]
    assert error.line == 3
    message = str(error)
    assert message.startswith("4 problems in the filter file:\n")
    for number in (3, 4, 6, 7):
        assert f"\nline {number}: " in message


def test_filter_file_error_is_a_value_error():
    assert issubclass(FilterFileError, ValueError)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("-\n+\n", 2, "the default rule is already set on line 1"),
        ("-\n# comment\n-\n", 3, "the default rule is already set on line 1"),
        ("- github.com/a\n+ github.com/a\n", 2, "contradicts line 1, which says deny for 'github.com/a'"),
        ("- github.com/a\n- github.com/a\n", 2, "repeats the rule for 'github.com/a' on line 1"),
        ("+ github.com/a v1.2\n- github.com/a v1.2.*\n", 2,
         "contradicts line 1, which says allow for 'github.com/a' >=v1.2.0-0 <v1.3.0-0"),
        ("+ m.com/a <v1.0.0,v2.0.0\n+ m.com/a <v1,=v2.0.0\n", 2,
         "repeats the rule for 'm.com/a' <v1.0.0 || v2.0.0 on line 1"),
    ],
)
def test_repeated_rules_are_reported(text, line, message):
    with pytest.raises(FilterFileError) as caught:
        parse_filter_file(text)
    assert caught.value.errors == [(line, message)]


def test_same_path_with_different_versions_makes_separate_rules():
    # Athens kept only the last line for a path; here both are rules and the more
    # specific one wins, which is what the author of such a file meant.
    assert parse_filter_file("+ github.com/a v1.2\n- github.com/a\n") == [
        FilterRule("allow", "github.com/a", ">=v1.2.0-0 <v1.3.0-0", 1),
        FilterRule("deny", "github.com/a", "", 2),
    ]


def test_direct_lines_can_be_imported_as_allow_rules():
    rules = parse_filter_file("D\n- github.com/a\nD golang.org/x/tools v0.1\n", direct="allow")
    assert rules == [
        FilterRule("allow", "", "", 1),
        FilterRule("deny", "github.com/a", "", 2),
        FilterRule("allow", "golang.org/x/tools", ">=v0.1.0-0 <v0.2.0-0", 3),
    ]


def test_direct_option_must_be_error_or_allow():
    with pytest.raises(ValueError, match="direct must be 'error' or 'allow'"):
        parse_filter_file("+\n", direct="deny")


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("", []),
        ("# only comments\n\n   \n#- github.com/a\n", []),
        ("\ufeff-\r\n+ github.com/a\r\n", [FilterRule("deny", "", "", 1), FilterRule("allow", "github.com/a", "", 2)]),
        ("  +   github.com/a\t v1.2.3  \n", [FilterRule("allow", "github.com/a", "v1.2.3", 1)]),
        ("  # indented comment\n+\n", [FilterRule("allow", "", "", 2)]),
        ("+ github.com/a", [FilterRule("allow", "github.com/a", "", 1)]),  # no final newline
    ],
)
def test_comments_blank_lines_and_whitespace_are_tolerated(text, rules):
    assert parse_filter_file(text) == rules


def test_a_file_without_a_default_line_yields_no_default_rule():
    rules = parse_filter_file("- github.com/a\n")
    assert all(rule.pattern != "" for rule in rules)


def test_format_writes_the_athens_format():
    text = format_filter_file(
        [
            ("deny", "github.com/azure", ""),
            ("allow", "github.com/azure/azure-sdk-for-go", ">=v1.2.0-0 <v1.3.0-0 || v1.4.1 || >=v2.0.0 <v2.3.0"),
            ("deny", "", ""),
            ("deny", "golang.org/x/crypto", "<v0.17.0"),
            ("allow", "github.com/pkg/errors", "=v0.8.1"),
            ("allow", "example.com/m", ">=v1.0.0-0 <v2.0.0-0"),
            ("deny", "github.com/evil/*", "*"),
        ],
        header="Rules exported from the proxy.\n\nDo not edit by hand.",
    )
    assert text == (
        "# Rules exported from the proxy.\n"
        "#\n"
        "# Do not edit by hand.\n"
        "-\n"
        "- github.com/azure\n"
        "+ github.com/azure/azure-sdk-for-go v1.2,v1.4.1,>=v2.0.0&<v2.3.0\n"
        "- golang.org/x/crypto <v0.17.0\n"
        "+ github.com/pkg/errors v0.8.1\n"
        "+ example.com/m v1\n"
        "- github.com/evil/*\n"
    )


ROUND_TRIP_CASES = [
    [],
    [("deny", "", "")],
    [("allow", "", ""), ("deny", "github.com/evil", ""), ("allow", "github.com/evil/ok", "v1.2.3")],
    [("allow", "github.com/a", ">=v2.0.0 <v2.3.0")],
    [("allow", "github.com/a", "  >=v2.0.0    <v2.3.0 ")],  # non-canonical input
    [("deny", "github.com/a", "<v1.0.0 || >=v2.0.0 <v2.1.0 || v3.1.4")],
    [("deny", "github.com/a", ">=v1.0.0 !=v1.3.0 <v2.0.0")],
    [("allow", "github.com/a", ">=v1.2.0-0 <v1.3.0-0"), ("deny", "github.com/a", "")],
    [("allow", "github.com/a", ">=v1.2.0-0 <v1.4.0-0")],  # looks like a prefix range, is not one
    [("allow", "github.com/a", ">=v1.2.0 <v1.3.0")],
    [("allow", "github.com/a", ">=v1.0.0-0 <v2.0.0-0 || >=v3.0.0-0 <v3.1.0-0")],
    [("allow", "github.com/a", "v0.0.0-20240101000000-abcdef123456")],
    [("allow", "github.com/a", "v1.4.2-0.20240101000000-abcdef123456 || v2.0.0+incompatible")],
    [("allow", "github.com/a", ">=v2.0.0+incompatible <v3.0.0+incompatible")],
    [("allow", "github.com/*/internal", "<v1.4.2-rc.1"), ("deny", "*.corp.example.com", "*")],
    [("allow", "example.com/[a-c]x/\\*", "")],
    [("deny", "github.com/a", ">v1.0.0 <=v1.5.0"), ("deny", "", ""), ("allow", "github.com/b", "=v1.0.0")],
]


@pytest.mark.parametrize("rules", ROUND_TRIP_CASES)
def test_parse_of_format_gives_equivalent_rules(rules):
    parsed = parse_filter_file(format_filter_file(rules, header="round trip"))
    expected = [(action, pattern, str(parse_constraint(versions))) for action, pattern, versions in rules]
    expected.sort(key=lambda rule: rule[1] != "")  # the default rule is written first
    assert [(rule.action, rule.pattern, rule.versions) for rule in parsed] == expected


def test_format_of_parse_gives_back_the_same_rules():
    rules = parse_filter_file(ATHENS_FILE)
    again = parse_filter_file(format_filter_file((rule.action, rule.pattern, rule.versions) for rule in rules))
    assert [(r.action, r.pattern, r.versions) for r in again] == [(r.action, r.pattern, r.versions) for r in rules]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([("direct", "github.com/a", "")], "unknown action \"direct\": a rule either allows or denies"),
        ([("deny", "", "<v1.0.0")], "the default rule cannot have versions in a filter file"),
        ([("deny", "", ""), ("allow", "", "")], "two rules for the default rule"),
        ([("deny", "github.com/a", "<v1"), ("allow", "github.com/a", "<v1.0.0")],
         "two rules for \"github.com/a\" <v1.0.0"),
        ([("deny", "github.com/a b", "")], "'github.com/a b': a pattern contains no spaces"),
        ([("deny", "github.com/a", "<1.0.0")], "'<1.0.0': versions start with 'v'"),
    ],
)
def test_format_refuses_rules_the_format_cannot_hold(rules, message):
    with pytest.raises(ValueError) as caught:
        format_filter_file(rules)
    assert str(caught.value).startswith(message)
