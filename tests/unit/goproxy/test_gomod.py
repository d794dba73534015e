"""The tolerant go.mod reader (modules.goproxy.gomod)."""

import pytest

from modules.goproxy.gomod import GoMod, Require, Retract, module_path_of, parse_go_mod

FULL = b"""// Package m does things.
//
// Deprecated: use example.com/n instead.
// It will not get fixes.
module example.com/m

go 1.21

toolchain go1.22.1

require example.com/single v1.0.0

require (
\texample.com/a v1.2 // indirect
\texample.com/b v1.3.0 // indirect; needed by tests
\texample.com/c v0.0.0-20200101000000-abcdefabcdef
\t"example.com/quoted" v1.0.0
\texample.com/d/v2 v2.0.0
\texample.com/bad v2.0.0
)

replace example.com/a => ../a

exclude example.com/b v1.2.0

// Published by mistake.
retract v1.0.1

retract (
\t// Contains a data race.
\t[v1.1.0, v1.1.5]
\tv1.2.0 // Broken build.
)
"""


def test_parse_go_mod_reads_everything_a_proxy_shows():
    assert parse_go_mod(FULL) == GoMod(
        module="example.com/m",
        go="1.21",
        requires=[
            Require("example.com/single", "v1.0.0", False),
            Require("example.com/a", "v1.2.0", True),
            Require("example.com/b", "v1.3.0", True),
            Require("example.com/c", "v0.0.0-20200101000000-abcdefabcdef", False),
            Require("example.com/quoted", "v1.0.0", False),
            Require("example.com/d/v2", "v2.0.0", False),
        ],
        retracts=[
            Retract("v1.0.1", "v1.0.1", "Published by mistake."),
            Retract("v1.1.0", "v1.1.5", "Contains a data race."),
            Retract("v1.2.0", "v1.2.0", "Broken build."),
        ],
        deprecated="use example.com/n instead.\nIt will not get fixes.",
    )


@pytest.mark.parametrize(
    ("data", "deprecated"),
    [
        (b"// Deprecated: gone\nmodule example.com/m\n", "gone"),
        (b"module example.com/m // Deprecated: gone\n", "gone"),
        (b"// Deprecated: gone\n\nmodule example.com/m\n", None),  # a blank line detaches it
        (b"// deprecated: gone\nmodule example.com/m\n", None),  # case sensitive
        (b"// Not Deprecated: gone\nmodule example.com/m\n", None),  # must start a paragraph
        (b"// Intro.\n//\n// Deprecated: first\n//\n// Deprecated: second\nmodule example.com/m\n", "first"),
        (b"// Deprecated:\nmodule example.com/m\n", ""),
        (b"module example.com/m\n// Deprecated: after\n", None),
        (b"// Deprecated: in block\nmodule (\n\texample.com/m\n)\n", "in block"),
        (b"module example.com/m\n", None),
    ],
)
def test_deprecation_comment_rules(data, deprecated):
    assert parse_go_mod(data).deprecated == deprecated


def test_retract_rationale_comes_from_the_block_only_when_the_line_has_no_comment():
    data = b"""module example.com/m

// Block reason.
retract (
\tv1.0.0
\tv1.1.0 // Own reason.

\tv1.2.0
)
"""
    retracts = parse_go_mod(data).retracts
    assert [r.rationale for r in retracts] == [
        "Block reason.",
        "Own reason.",
        "",  # modfile keeps the blank line above as a comment, so no block fallback
    ]


def test_bad_retractions_are_skipped():
    data = b"module example.com/m\nretract [v1.0.0 v1.1.0]\nretract junk\nretract v1.0.0\nretract\n"
    assert parse_go_mod(data).retracts == [Retract("v1.0.0", "v1.0.0", "")]


@pytest.mark.parametrize(
    ("line", "go"),
    [(b"go 1.21", "1.21"), (b"go 1.21.3", "1.21.3"), (b"go 1.22rc1", "1.22rc1"), (b"go 1.13.x", "1.13"),
     (b"go v1.12", None), (b"go v1.12.x", "1.12"), (b"go one", None), (b"go 1.21 1.22", None)],
)
def test_go_directive_is_read_laxly_like_a_dependency_go_mod(line, go):
    assert parse_go_mod(b"module example.com/m\n" + line + b"\n").go == go


def test_only_the_first_module_and_go_lines_count():
    parsed = parse_go_mod(b"module example.com/a\nmodule example.com/b\ngo 1.20\ngo 1.21\n")
    assert (parsed.module, parsed.go) == ("example.com/a", "1.20")


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe garbage", b"module", b"require (\n", b"module \"unterminated\n", b"/* comment */",
     b"))))\n((((", b"module a b c\n", b"\x00\x01\x02", b"retract (\n\tv1.0.0\n"],
)
def test_odd_input_never_raises(data):
    parse_go_mod(data)


def test_requires_with_invalid_versions_or_quotes_are_skipped():
    data = b'module example.com/m\nrequire example.com/a latest\nrequire ex\'ample.com/b v1.0.0\nrequire example.com/c v1.0.0 extra\n'
    assert parse_go_mod(data).requires == []


def test_quoted_module_path():
    assert parse_go_mod(b'module "example.com/m"\n').module == "example.com/m"
    assert parse_go_mod(b'module "example.com/\\u006d"\n').module == "example.com/m"
    assert parse_go_mod(b"module `example.com/m`\n").module is None  # modfile refuses raw strings here


def test_crlf_line_endings():
    parsed = parse_go_mod(b"// Deprecated: x\r\nmodule example.com/m\r\nrequire example.com/a v1.0.0 // indirect\r\n")
    assert parsed.module == "example.com/m"
    assert parsed.deprecated == "x"
    assert parsed.requires == [Require("example.com/a", "v1.0.0", True)]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b"module example.com/m\n", "example.com/m"),
        (b"// comment\n\nmodule   example.com/m   // trailing\n", "example.com/m"),
        (b'module "example.com/m"\n', "example.com/m"),
        (b"module `example.com/m`\n", "example.com/m"),
        (b"modulex example.com/m\nmodule example.com/n\n", "example.com/n"),
        (b"module (\n\texample.com/m\n)\n", "example.com/m"),
        (b"require x v1\n", None),
        (b"module\n", None),
        (b'module "unterminated\n', None),
        (b"go 1.21\nrequire (\nmodule example.com/m\n", "example.com/m"),  # tolerant of the rest
        (b"", None),
    ],
)
def test_module_path_of(data, path):
    assert module_path_of(data) == path
