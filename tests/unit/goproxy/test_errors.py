"""The exception family and Go-style quoting (modules.goproxy.errors)."""

import pytest

from modules.goproxy import errors


@pytest.mark.parametrize(
    "cls",
    [errors.InvalidPathError, errors.InvalidVersionError, errors.InvalidZipError,
     errors.InvalidRequestError, errors.InvalidProxyListError],
)
def test_every_error_is_a_goproxy_error_and_a_value_error(cls):
    assert issubclass(cls, errors.GoProxyError)
    assert issubclass(cls, ValueError)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
        ("nul\x00del\x7f", '"nul\\x00del\\x7f"'),
        ("naïve 日本", '"naïve 日本"'),
        ("\u202eoverride", '"\\u202eoverride"'),
        ("raw\udcffbyte", '"raw\\xffbyte"'),
        ("lone\ud800", '"lone\\ud800"'),
    ],
)
def test_quote_escapes_like_go_and_never_leaks_unencodable_characters(text, quoted):
    assert errors.quote(text) == quoted
    quoted.encode("utf-8")


def test_quote_rune():
    assert errors.quote_rune("a") == "'a'"
    assert errors.quote_rune("'") == "'\\''"
    assert errors.quote_rune("\x00") == "'\\x00'"


def test_invalid_zip_error_keeps_all_problems():
    error = errors.InvalidZipError("first (and 1 more problems)", ("first", "second"))
    assert error.problems == ("first", "second")
    assert errors.InvalidZipError("only").problems == ("only",)


def test_invalid_version_error_has_a_reason():
    error = errors.InvalidVersionError('version "x" invalid: bad', "bad")
    assert error.reason == "bad"
    assert errors.InvalidVersionError("plain").reason == "plain"
