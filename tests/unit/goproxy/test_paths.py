"""Module paths, file paths, escaping and major-version suffixes (modules.goproxy.paths)."""

import pytest

from modules.goproxy import paths
from modules.goproxy.errors import InvalidPathError, InvalidVersionError

VALID_MODULE_PATHS = [
    "example.com/m",
    "example.com",
    "rsc.io",
    "github.com/Azure/azure-sdk-for-go",
    "github.com/user/repo_name.go~tilde",
    "example.com/m/v2",
    "example.com/m/v10",
    "example.com/m/sub/v3",
    "example.com/m2",
    "example.com/v",
    "example.com/v2",  # a domain followed by a major suffix is fine
    "example.com/m/v2x",
    "gopkg.in/yaml.v2",
    "gopkg.in/yaml.v0",
    "gopkg.in/check.v1",
    "gopkg.in/user/pkg.v3",
    "gopkg.in/yaml.v2-unstable",
    "my-host.example.co.uk/a/b/c",
    "123.example/x",
    "example.com/a~b",
    "example.com/con-fig",  # "con" only as a whole name before the first dot
    "example.com/CONFIG",
]


@pytest.mark.parametrize("path", VALID_MODULE_PATHS)
def test_check_path_accepts_valid_module_paths(path):
    paths.check_path(path)


INVALID_MODULE_PATHS = [
    ("", "empty string"),
    ("example", "missing dot in first path element"),
    ("localhost/m", "missing dot in first path element"),
    ("Example.com/m", "invalid char 'E' in first path element"),
    ("exa_mple.com/m", "invalid char '_' in first path element"),
    ("example.com:8080/m", "invalid char ':'"),
    ("-example.com/m", "leading dash"),
    ("/example.com/m", "empty path element"),
    ("example.com/m/", "trailing slash"),
    ("example.com//m", "double slash"),
    ("example.com/./m", 'invalid path element "."'),
    ("example.com/../m", 'invalid path element ".."'),
    ("example.com/.m", "leading dot in path element"),
    ("example.com/m.", "trailing dot in path element"),
    ("example.com/m+", "invalid char '+'"),
    ("example.com/m@v1", "invalid char '@'"),
    ("example.com/m n", "invalid char ' '"),
    ("example.com/m%41", "invalid char '%'"),
    ("example.com/m\\n", "invalid char '\\\\'"),
    ("example.com/é", "invalid char 'é'"),
    ("example.com/com1", '"com1" disallowed as path element component on Windows'),
    ("example.com/NUL.txt", '"NUL" disallowed as path element component on Windows'),
    ("example.com/Lpt9", '"Lpt9" disallowed as path element component on Windows'),
    ("example.com/aux/x", '"aux" disallowed as path element component on Windows'),
    ("example.com/PROGRA~1", "trailing tilde and digits in path element"),
    ("example.com/m/v1", "invalid version"),
    ("example.com/m/v0", "invalid version"),
    ("example.com/m/v02", "invalid version"),
    ("example.com/m/v2.0", "invalid version"),
    ("example.com/m/v1.2.3", "invalid version"),
    ("gopkg.in/yaml", "invalid version"),
    ("gopkg.in/yaml.v", "invalid version"),
    ("gopkg.in/yaml.v02", "invalid version"),
    ("gopkg.in/yaml.v0-unstable", "invalid version"),
    ("example.com/m\udcff", "invalid UTF-8"),
]


@pytest.mark.parametrize(("path", "reason"), INVALID_MODULE_PATHS)
def test_check_path_rejects_invalid_module_paths_with_gos_reason(path, reason):
    with pytest.raises(InvalidPathError) as caught:
        paths.check_path(path)
    assert str(caught.value).startswith("malformed module path ")
    assert str(caught.value).endswith(reason)


def test_check_path_error_is_a_value_error():
    with pytest.raises(ValueError):
        paths.check_path("nodot")


@pytest.mark.parametrize(
    "path",
    ["go.mod", "a/b/c.go", "-dash.go", ".github/workflows/ci.yml", ".git/config", "with space.txt",
     "naïve/日本語.txt", "Ünïcode.md", "a~1/b", "!#$%&()+,-=@[]^_{}~.txt", "LICENSE"],
)
def test_check_file_path_accepts_what_module_zips_may_hold(path):
    paths.check_file_path(path)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty string"),
        ("/abs", "empty path element"),
        ("a/../b", 'invalid path element ".."'),
        ("..", 'invalid path element ".."'),
        ("a//b", "double slash"),
        ("a/", "trailing slash"),
        ("a\\b", "invalid char '\\\\'"),
        ("a:b", "invalid char ':'"),
        ("a*b", "invalid char '*'"),
        ('a"b', "invalid char '\"'"),
        ("a?b", "invalid char '?'"),
        ("a|b", "invalid char '|'"),
        ("a\x00b", "invalid char '\\x00'"),
        ("a\tb", "invalid char '\\t'"),
        ("a.", "trailing dot in path element"),
        ("dir/con.go", '"con" disallowed as path element component on Windows'),
        ("①.txt", "invalid char '①'"),  # a number, not a letter
    ],
)
def test_check_file_path_rejects_unsafe_names(path, reason):
    with pytest.raises(InvalidPathError) as caught:
        paths.check_file_path(path)
    assert str(caught.value).endswith(reason)


def test_check_import_path_allows_plus_but_not_module_only_rules():
    paths.check_import_path("example.com/c++")
    paths.check_import_path("nodot/pkg")  # the domain rule is for module paths only
    with pytest.raises(InvalidPathError, match="leading dash"):
        paths.check_import_path("-x")


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"),
        ("github.com/GoogleCloudPlatform/cloudsql-proxy", "github.com/!google!cloud!platform/cloudsql-proxy"),
        ("github.com/Sirupsen/logrus", "github.com/!sirupsen/logrus"),
        ("rsc.io/quote", "rsc.io/quote"),
        ("example.com/ABC/v2", "example.com/!a!b!c/v2"),
    ],
)
def test_escape_path_and_unescape_path_round_trip(path, escaped):
    assert paths.escape_path(path) == escaped
    assert paths.unescape_path(escaped) == path


def test_escape_path_refuses_an_invalid_module_path():
    with pytest.raises(InvalidPathError):
        paths.escape_path("Example.com/m")


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [
        ("github.com/Azure/x", "uppercase letter 'A' must be escaped as '!a'"),
        ("github.com/!!azure/x", "'!' followed by '!', not a lowercase letter"),
        ("github.com/!Azure/x", "'!' followed by 'A', not a lowercase letter"),
        ("github.com/!1/x", "'!' followed by '1', not a lowercase letter"),
        ("github.com/azure!", "trailing '!'"),
        ("github.com/é", "non-ASCII character 'é'"),
    ],
)
def test_unescape_path_rejects_bad_escapes(escaped, reason):
    with pytest.raises(InvalidPathError) as caught:
        paths.unescape_path(escaped)
    assert str(caught.value) == f'invalid escaped module path "{escaped}": {reason}'


def test_unescape_path_checks_the_unescaped_module_path():
    with pytest.raises(InvalidPathError) as caught:
        paths.unescape_path("!example.com/m")
    assert str(caught.value) == (
        'invalid escaped module path "!example.com/m": '
        'malformed module path "Example.com/m": invalid char \'E\' in first path element'
    )


@pytest.mark.parametrize(
    ("version", "escaped"),
    [
        ("v1.0.0", "v1.0.0"),
        ("v1.5.3-PRE", "v1.5.3-!p!r!e"),
        ("v2.0.0+incompatible", "v2.0.0+incompatible"),
        ("master", "master"),
        ("Feature-Branch", "!feature-!branch"),
        ("0123abcdef", "0123abcdef"),
    ],
)
def test_escape_version_and_unescape_version_round_trip(version, escaped):
    assert paths.escape_version(version) == escaped
    assert paths.unescape_version(escaped) == version


@pytest.mark.parametrize("version", ["", "v1!", "a/b", "a\x00", "..", "con", "v1.0.", "日本"])
def test_escape_version_refuses_what_cannot_be_a_file_name(version):
    with pytest.raises(InvalidVersionError, match="disallowed version string"):
        paths.escape_version(version)


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [
        ("v1.0.0-PRE", "uppercase letter 'P' must be escaped as '!p'"),
        ("v1.0.0-!!", "'!' followed by '!', not a lowercase letter"),
        ("v1.0.0!", "trailing '!'"),
        ("v1/v2", "invalid char '/'"),
        ("v1\x07", "invalid char '\\a'"),
        ("", "empty string"),
        ("..", 'invalid path element ".."'),
    ],
)
def test_unescape_version_rejects_bad_versions(escaped, reason):
    with pytest.raises(InvalidVersionError) as caught:
        paths.unescape_version(escaped)
    assert reason.replace("empty string", "empty path element") in str(caught.value)


def test_unescape_version_does_not_require_semver():
    assert paths.unescape_version("release-branch.go1.21") == "release-branch.go1.21"


@pytest.mark.parametrize(
    ("path", "prefix", "path_major"),
    [
        ("example.com/m", "example.com/m", ""),
        ("example.com/m/v2", "example.com/m", "/v2"),
        ("example.com/m/v123", "example.com/m", "/v123"),
        ("example.com/m2", "example.com/m2", ""),
        ("example.com/vv2", "example.com/vv2", ""),
        ("gopkg.in/yaml.v2", "gopkg.in/yaml", ".v2"),
        ("gopkg.in/yaml.v0", "gopkg.in/yaml", ".v0"),
        ("gopkg.in/user/pkg.v3-unstable", "gopkg.in/user/pkg", ".v3-unstable"),
    ],
)
def test_split_path_version(path, prefix, path_major):
    assert paths.split_path_version(path) == (prefix, path_major)


@pytest.mark.parametrize("path", ["example.com/m/v1", "example.com/m/v01", "example.com/m/v1.5", "gopkg.in/yaml"])
def test_split_path_version_rejects_invalid_suffixes(path):
    with pytest.raises(InvalidPathError, match="invalid version"):
        paths.split_path_version(path)


@pytest.mark.parametrize(
    ("path", "version", "fits"),
    [
        ("example.com/m", "v0.1.0", True),
        ("example.com/m", "v1.9.9", True),
        ("example.com/m", "v1.0.0-rc.1", True),
        ("example.com/m", "v2.0.0", False),
        ("example.com/m", "v2.0.0+incompatible", True),
        ("example.com/m", "v3.1.4-pre+incompatible", True),
        ("example.com/m", "v1.0.0+incompatible", False),  # v1 is compatible: never +incompatible
        ("example.com/m", "v0.5.0+incompatible", False),
        ("example.com/m", "v1.0.0+build", True),
        ("example.com/m/v2", "v2.0.0", True),
        ("example.com/m/v2", "v2.5.0-0.20200101000000-abcdefabcdef", True),
        ("example.com/m/v2", "v1.0.0", False),
        ("example.com/m/v2", "v3.0.0", False),
        ("example.com/m/v2", "v2.0.0+incompatible", False),
        ("gopkg.in/yaml.v2", "v2.4.0", True),
        ("gopkg.in/yaml.v2", "v1.0.0", False),
        ("gopkg.in/yaml.v2", "v2.0.0+incompatible", False),
        ("gopkg.in/yaml.v0", "v0.3.0", True),
        ("gopkg.in/check.v1", "v1.0.0", True),
        ("gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405", True),  # old go bug, kept
        ("gopkg.in/check.v1", "v0.1.0", False),  # only v0.0.0- pseudo-versions, not any v0
        ("gopkg.in/yaml.v3-unstable", "v3.0.0", True),
        ("example.com/m", "1.0.0", False),
        ("example.com/m", "v1.2", True),  # valid (if not canonical) semver with major v1
        ("Bad.com/m", "v1.0.0", False),
    ],
)
def test_version_fits_path(path, version, fits):
    assert paths.version_fits_path(path, version) is fits


def test_check_path_major_is_gos_exact_rule_which_allows_v1_incompatible():
    # module.CheckPathMajor lets any +incompatible version through an unsuffixed path;
    # only the go command's repository code refuses v0/v1 +incompatible.
    paths.check_path_major("v1.0.0+incompatible", "")
    with pytest.raises(InvalidVersionError) as caught:
        paths.check_path_major("v2.0.0", "")
    assert str(caught.value) == 'version "v2.0.0" invalid: should be v0 or v1, not v2'
    assert caught.value.reason == "should be v0 or v1, not v2"


def test_check_version_fits_path_explains_incompatible_refusals():
    with pytest.raises(InvalidVersionError, match="major version v1 is compatible"):
        paths.check_version_fits_path("example.com/m", "v1.0.0+incompatible")
    with pytest.raises(InvalidVersionError, match="module path includes a major version suffix"):
        paths.check_version_fits_path("example.com/m/v2", "v2.0.0+incompatible")
    with pytest.raises(InvalidVersionError, match="not a semantic version"):
        paths.check_version_fits_path("example.com/m", "master")


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [("a/b", "a/b"), ("a//b", "a/b"), ("a/./b", "a/b"), ("a/../b", "b"), ("../a", "../a"), ("", "."),
     ("a/", "a"), ("/a/..", "/"), ("//a", "/a"), ("///a", "/a")],
)
def test_clean_matches_go_path_clean(path, cleaned):
    assert paths.clean(path) == cleaned
