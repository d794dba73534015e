"""The "Edge cases to test" of docs/protocol.md, as far as they concern this library.

One test per edge case, numbered as in protocol.md. Case 11 (HEAD and 405) is about
the views only; the views' own tests cover it.
"""

import io

import pytest

from modules.goproxy import dirhash, gomod, versions
from modules.goproxy.errors import InvalidRequestError, InvalidZipError
from modules.goproxy.request import DownloadRequest, escape_download_path, parse_download_path
from modules.goproxy.zipcheck import validate_zip

from .zips import module_zip

PSEUDO = "v0.0.0-20240102030405-abcdefabcdef"


def test_1_bang_and_percent_encoded_bang_reach_the_uppercase_module_and_raw_uppercase_is_refused():
    assert parse_download_path("github.com/!azure/go/@v/list").module == "github.com/Azure/go"
    assert parse_download_path("github.com/%21azure/go/@v/list").module == "github.com/Azure/go"
    with pytest.raises(InvalidRequestError, match="uppercase letter 'A' must be escaped"):
        parse_download_path("github.com/Azure/go/@v/list")


@pytest.mark.parametrize(
    "raw_path",
    ["github.com/!!azure/@v/list", "github.com/azure!/@v/list", "github.com/!Azure/@v/list",
     "example.com/m/@v/v1.0.0-!A.info", "example.com/m/@v/v1.0.0!.info", "example.com/m/@v/a*b.info",
     "example.com/m/@v/v1.0.zip", "example.com/m/@v/.mod"],
)
def test_2_bad_escapes_and_bad_versions_are_request_errors_not_crashes(raw_path):
    with pytest.raises(InvalidRequestError):
        parse_download_path(raw_path)


def test_3_a_pseudo_version_only_module_lists_nothing_and_its_latest_is_the_pseudo_version():
    upstream_list = [PSEUDO, "v0.0.0-20230101000000-000000000000"]
    assert versions.filter_list("example.com/untagged", upstream_list) == []
    assert versions.latest_version(upstream_list) == PSEUDO


def test_4_list_never_holds_pseudo_non_canonical_or_major_mismatched_versions():
    upstream_list = ["v1.0.0", PSEUDO, "v1.1", "v1.2.0+meta", "v2.0.0", "v1.0.0+incompatible", "v1.3.0"]
    assert versions.filter_list("example.com/m", upstream_list) == ["v1.0.0", "v1.3.0"]
    assert versions.filter_list("example.com/m/v2", ["v1.0.0", "v2.0.0", "v3.0.0"]) == ["v2.0.0"]


def test_5_info_for_a_canonical_version_names_exactly_that_version():
    request = parse_download_path("example.com/m/@v/v1.2.3-rc.1.info")
    assert request == DownloadRequest("example.com/m", "info", "v1.2.3-rc.1")
    assert not request.is_query  # to be answered with exactly this Version, never another


def test_6_major_versions_and_subdirectories_are_different_modules():
    modules = {
        parse_download_path(path).module
        for path in ["example.com/m/@v/list", "example.com/m/v2/@v/list", "example.com/m/sub/@v/list"]
    }
    assert modules == {"example.com/m", "example.com/m/v2", "example.com/m/sub"}


def test_7_incompatible_versions_are_listed_and_served_with_a_literal_plus():
    assert versions.filter_list("example.com/m", ["v2.0.0+incompatible"]) == ["v2.0.0+incompatible"]
    assert escape_download_path("example.com/m", "zip", "v2.0.0+incompatible") == (
        "example.com/m/@v/v2.0.0+incompatible.zip"
    )
    for endpoint in ("info", "mod", "zip"):
        request = parse_download_path(f"example.com/m/@v/v2.0.0+incompatible.{endpoint}")
        assert request.version == "v2.0.0+incompatible"


@pytest.mark.parametrize("query", ["0123456789ab", "master", "v1.2", "release-branch.go1.21"])
def test_8_queries_resolve_only_through_info_and_never_as_mod_or_zip(query):
    assert parse_download_path(f"example.com/m/@v/{query}.info").is_query
    for endpoint in ("mod", "zip"):
        with pytest.raises(InvalidRequestError, match="not a canonical version"):
            parse_download_path(f"example.com/m/@v/{query}.{endpoint}")


@pytest.mark.parametrize("query", ["latest", "upgrade", "patch"])
def test_9_reserved_queries_are_refused(query):
    with pytest.raises(InvalidRequestError, match="query for the go command"):
        parse_download_path(f"example.com/m/@v/{query}.info")


def test_10_go_mod_with_retract_and_deprecated_lines_is_read_but_hashed_byte_for_byte():
    data = (
        b"// Deprecated: use example.com/n.\nmodule example.com/m\r\n\ngo 1.21\n"
        b"retract v1.0.0 // Oops.\n  \n"
    )
    parsed = gomod.parse_go_mod(data)
    assert parsed.deprecated == "use example.com/n."
    assert parsed.retracts == [gomod.Retract("v1.0.0", "v1.0.0", "Oops.")]
    # Nothing is normalized: the hash is over the exact bytes, CRLF and blanks included.
    assert dirhash.hash_go_mod(data) != dirhash.hash_go_mod(data.replace(b"\r\n", b"\n"))


def test_12_zips_over_the_limits_or_with_a_bad_prefix_are_rejected_a_go_mod_unlike_the_mod_is_noted():
    module, version = "example.com/m", "v1.0.0"
    mod = b"module example.com/m\n"
    good = module_zip(module, version, {"go.mod": mod, "m.go": b"package m\n"})
    validate_zip(io.BytesIO(good), module, version, expected_go_mod=mod)

    with pytest.raises(InvalidZipError, match="too large"):
        validate_zip(io.BytesIO(good), module, version, max_zip_size=100)
    with pytest.raises(InvalidZipError, match="total uncompressed size"):
        validate_zip(io.BytesIO(good), module, version, max_unpacked_size=10)
    with pytest.raises(InvalidZipError, match="path does not have prefix"):
        validate_zip(io.BytesIO(module_zip(module, "v1.0.1", {"go.mod": mod})), module, version)
    noted = validate_zip(io.BytesIO(good), module, version, expected_go_mod=mod + b"go 1.21\n")
    assert [notice.code for notice in noted.notices] == ["legacy-go-mod"]
