"""Download-protocol request paths (modules.goproxy.request)."""

import pytest

from modules.goproxy.errors import InvalidPathError, InvalidRequestError, InvalidVersionError
from modules.goproxy.request import DownloadRequest, escape_download_path, parse_download_path


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("rsc.io/quote/@v/list", DownloadRequest("rsc.io/quote", "list")),
        ("rsc.io/quote/@latest", DownloadRequest("rsc.io/quote", "latest")),
        ("rsc.io/quote/@v/v1.5.2.info", DownloadRequest("rsc.io/quote", "info", "v1.5.2")),
        ("rsc.io/quote/@v/v1.5.2.mod", DownloadRequest("rsc.io/quote", "mod", "v1.5.2")),
        ("rsc.io/quote/@v/v1.5.2.zip", DownloadRequest("rsc.io/quote", "zip", "v1.5.2")),
        ("github.com/!azure/go/@v/list", DownloadRequest("github.com/Azure/go", "list")),
        ("github.com/%21azure/go/@v/list", DownloadRequest("github.com/Azure/go", "list")),
        ("example.com/m/@v/v1.0.0-%21r%21c.1.info", DownloadRequest("example.com/m", "info", "v1.0.0-RC.1")),
        ("example.com/m/@v/v2.0.0+incompatible.zip", DownloadRequest("example.com/m", "zip", "v2.0.0+incompatible")),
        ("example.com/m/@v/v2.0.0%2Bincompatible.mod", DownloadRequest("example.com/m", "mod", "v2.0.0+incompatible")),
        ("example.com/m/@v/master.info", DownloadRequest("example.com/m", "info", "master")),
        ("example.com/m/@v/v1.2.info", DownloadRequest("example.com/m", "info", "v1.2")),
        ("example.com/m/@v/list.info", DownloadRequest("example.com/m", "info", "list")),
        ("example.com/m/v2/@v/v2.1.0.mod", DownloadRequest("example.com/m/v2", "mod", "v2.1.0")),
        ("gopkg.in/yaml.v2/@v/v2.4.0.zip", DownloadRequest("gopkg.in/yaml.v2", "zip", "v2.4.0")),
        ("rsc.io/@v/list", DownloadRequest("rsc.io", "list")),  # a prefix probe is a valid request
    ],
)
def test_parse_download_path(raw_path, expected):
    assert parse_download_path(raw_path) == expected


def test_is_query_marks_non_canonical_info_requests():
    assert parse_download_path("example.com/m/@v/master.info").is_query
    assert parse_download_path("example.com/m/@v/v1.2.info").is_query
    assert not parse_download_path("example.com/m/@v/v1.2.0.info").is_query
    assert not parse_download_path("example.com/m/@v/list").is_query


@pytest.mark.parametrize(
    ("raw_path", "message"),
    [
        # Escaping of module paths and versions.
        ("github.com/Azure/x/@v/list",
         "invalid escaped module path \"github.com/Azure/x\": uppercase letter 'A' must be escaped as '!a'"),
        ("github.com/!!azure/@v/list", "invalid escaped module path"),
        ("github.com/azure!/@v/list", "trailing '!'"),
        ("github.com/!Azure/@v/list", "'!' followed by 'A'"),
        ("example.com/m/@v/v1.0.0-RC.info", "invalid escaped version"),
        ("example.com/m/@v/v1.0.0-!.info", "invalid escaped version"),
        ("example.com/m/@v/v1*0.info", "invalid escaped version"),
        ("example.com/m/@v/na%C3%AFve.info", "non-ASCII character"),
        ("example.com/m/@v/.info", "invalid escaped version"),
        # Module path rules.
        ("nodot/@v/list", "missing dot in first path element"),
        ("example.com/m/v1/@v/list", "invalid version"),
        ("example.com/.git/@v/list", "leading dot in path element"),
        # Endpoints.
        ("example.com/m", "missing /@v/ or /@latest"),
        ("example.com/m/@v/", "unclean path"),
        ("example.com/m/@v/v1.0.0", "unknown endpoint"),
        ("example.com/m/@v/v1.0.0.txt", "unknown endpoint"),
        ("example.com/m/@v/v1.0.0.info/x", "contains a slash"),
        ("example.com/m/@latest/x", "unknown endpoint"),
        ("example.com/m/@w/list", "unknown endpoint"),
        ("example.com/m/@v/LIST", "unknown endpoint"),
        ("@v/list", "missing /@v/ or /@latest"),
        # Reserved queries and versions for .mod/.zip.
        ("example.com/m/@v/latest.info", '"latest" is a query for the go command, not a version'),
        ("example.com/m/@v/upgrade.info", "query for the go command"),
        ("example.com/m/@v/patch.info", "query for the go command"),
        ("example.com/m/@v/v1.2.mod", 'example.com/m@v1.2: invalid version: not a canonical version (should be "v1.2.0")'),
        ("example.com/m/@v/master.zip", "example.com/m@master: invalid version: not a canonical version"),
        ("example.com/m/@v/v1.0.0+meta.zip", 'not a canonical version (should be "v1.0.0")'),
        ("example.com/m/@v/v2.0.0.mod", "example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2"),
        ("example.com/m/v2/@v/v1.0.0.zip", "should be v2, not v1"),
        ("example.com/m/@v/v1.0.0+incompatible.zip", "+incompatible suffix not allowed"),
        # Unclean paths.
        ("example.com/m/../n/@v/list", "unclean path"),
        ("example.com/./m/@v/list", "unclean path"),
        ("example.com//m/@v/list", "unclean path"),
        ("/example.com/m/@v/list", "unclean path"),
        ("example.com/m/@v/list/", "unclean path"),
        ("example.com/m/%2e%2e/@v/list", "unclean path"),
        ("", "empty path"),
        # Encoding garbage and forbidden characters.
        ("example.com/m%/@v/list", "invalid percent-encoding"),
        ("example.com/m%zz/@v/list", "invalid percent-encoding"),
        ("example.com/m%2/@v/list", "invalid percent-encoding"),
        ("example.com/m%ff/@v/list", "not valid UTF-8"),
        ("example.com/m%00/@v/list", "invalid character '\\x00'"),
        ("example.com/m\x00/@v/list", "invalid character '\\x00'"),
        ("example.com/m%0a/@v/list", "invalid character '\\n'"),
        ("example.com/m%5cx/@v/list", "invalid character '\\\\'"),
        ("example.com\\m/@v/list", "invalid character '\\\\'"),
        ("example.com/m/@v/v1.0.0%7f.info", "invalid character '\\x7f'"),
        ("example.com/m/@v/" + "a" * 1100 + ".info", "path too long"),
        ("example.com/m/@v/" + "%61" * 1100 + ".info", "path too long"),
    ],
)
def test_parse_download_path_rejects(raw_path, message):
    with pytest.raises(InvalidRequestError) as caught:
        parse_download_path(raw_path)
    assert message in str(caught.value)


def test_a_rejection_message_can_start_a_404_body():
    with pytest.raises(InvalidRequestError) as caught:
        parse_download_path("github.com/Azure/x/@v/list")
    message = str(caught.value)
    assert message.startswith('invalid escaped module path "github.com/Azure/x": ')
    assert "\n" not in message
    message.encode("utf-8")  # never carries unencodable characters


def test_rejection_messages_escape_hostile_input():
    with pytest.raises(InvalidRequestError) as caught:
        parse_download_path("example.com/m/@v/%E2%80%AE%F0%9F%92%A5.info")
    str(caught.value).encode("utf-8")


@pytest.mark.parametrize(
    ("module", "endpoint", "version", "path"),
    [
        ("github.com/Azure/go", "list", None, "github.com/%21azure/go/@v/list"),
        ("github.com/Azure/go", "latest", None, "github.com/%21azure/go/@latest"),
        ("rsc.io/quote", "info", "v1.5.2", "rsc.io/quote/@v/v1.5.2.info"),
        ("rsc.io/quote", "mod", "v1.0.0-RC", "rsc.io/quote/@v/v1.0.0-%21r%21c.mod"),
        ("example.com/m", "zip", "v2.0.0+incompatible", "example.com/m/@v/v2.0.0+incompatible.zip"),
        ("example.com/m", "info", "feature(x)", "example.com/m/@v/feature%28x%29.info"),
        ("example.com/m", "info", "a,b=c&d$e@f+g h", "example.com/m/@v/a%2Cb=c&d$e@f+g%20h.info"),
    ],
)
def test_escape_download_path_writes_what_the_go_command_sends(module, endpoint, version, path):
    assert escape_download_path(module, endpoint, version) == path


@pytest.mark.parametrize(
    ("module", "endpoint", "version"),
    [("github.com/Azure/go", "list", None), ("example.com/m/v2", "zip", "v2.0.0-Beta"),
     ("example.com/m", "info", "master"), ("gopkg.in/yaml.v3", "latest", None)],
)
def test_escape_then_parse_round_trips(module, endpoint, version):
    assert parse_download_path(escape_download_path(module, endpoint, version)) == DownloadRequest(
        module, endpoint, version
    )


def test_escape_download_path_refuses_invalid_input():
    with pytest.raises(InvalidPathError):
        escape_download_path("Example.com/m", "list")
    with pytest.raises(InvalidVersionError):
        escape_download_path("example.com/m", "info", "a/b")
    with pytest.raises(InvalidVersionError):
        escape_download_path("example.com/m", "info", "naïve")  # versions are ASCII
    with pytest.raises(InvalidRequestError, match="unknown endpoint"):
        escape_download_path("example.com/m", "sum")
    with pytest.raises(InvalidRequestError, match="needs version"):
        escape_download_path("example.com/m", "zip")
    with pytest.raises(InvalidRequestError, match="takes no version"):
        escape_download_path("example.com/m", "list", "v1.0.0")
