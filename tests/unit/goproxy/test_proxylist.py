"""GOPROXY-style upstream lists (modules.goproxy.proxylist)."""

import pytest

from modules.goproxy.errors import InvalidProxyListError
from modules.goproxy.proxylist import ProxyEntry, format_goproxy, parse_goproxy


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ("https://proxy.golang.org,direct",
         [ProxyEntry("https://proxy.golang.org", False), ProxyEntry("direct", False)]),
        # The separator after an entry decides how that entry's errors fall through.
        ("https://a.example|https://b.example,https://c.example",
         [ProxyEntry("https://a.example", True), ProxyEntry("https://b.example", False),
          ProxyEntry("https://c.example", False)]),
        ("https://a.example|direct", [ProxyEntry("https://a.example", True), ProxyEntry("direct")]),
        ("direct", [ProxyEntry("direct")]),
        ("off", [ProxyEntry("off")]),
        # Everything after direct or off is ignored, as the go command does.
        ("direct,https://a.example", [ProxyEntry("direct")]),
        ("https://a.example,off|https://b.example", [ProxyEntry("https://a.example"), ProxyEntry("off")]),
        # Empty elements and blanks are skipped.
        (" https://a.example , ,|https://b.example ,",
         [ProxyEntry("https://a.example", False), ProxyEntry("https://b.example", False)]),
        (",,https://a.example||", [ProxyEntry("https://a.example", True)]),
        # Host-looking entries get https://; trailing slashes go.
        ("proxy.golang.org", [ProxyEntry("https://proxy.golang.org")]),
        ("localhost:3000", [ProxyEntry("https://localhost:3000")]),
        ("corp.example/goproxy/", [ProxyEntry("https://corp.example/goproxy")]),
        ("https://proxy.golang.org/", [ProxyEntry("https://proxy.golang.org")]),
        ("http://127.0.0.1:8080/base//", [ProxyEntry("http://127.0.0.1:8080/base")]),
        ("HTTPS://Proxy.Example", [ProxyEntry("https://Proxy.Example")]),
        ("https://user:secret@proxy.example/", [ProxyEntry("https://user:secret@proxy.example")]),
        ("file:///srv/goproxy/", [ProxyEntry("file:///srv/goproxy")]),
        ("file:///", [ProxyEntry("file:///")]),
    ],
)
def test_parse_goproxy(value, entries):
    assert parse_goproxy(value) == entries


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "contains no entries"),
        (" , | ", "contains no entries"),
        ("proxy", "invalid proxy URL missing scheme: proxy"),  # single words are reserved
        ("/srv/goproxy", "invalid proxy URL missing scheme"),
        ("ftp://proxy.example", "invalid proxy URL scheme (must be https, http, file)"),
        ("https://", "missing host"),
        ("file://host/srv", "invalid file:// proxy URL with non-path elements"),
        ("file:///srv?x=1", "invalid file:// proxy URL with non-path elements"),
        ("file:srv", "invalid proxy URL \"https://file:srv\""),  # looks like host:port to Go too
        ("https://proxy.example:port", "invalid proxy URL"),
        ("https://proxy.example/%zz", "invalid URL escape"),
        ("https://proxy.example/\x7f", "control character"),
        ("https://good.example,ftp://bad.example", "invalid proxy URL scheme"),
    ],
)
def test_parse_goproxy_rejects(value, message):
    with pytest.raises(InvalidProxyListError) as caught:
        parse_goproxy(value)
    assert message in str(caught.value)


def test_keywords_are_recognized():
    entries = parse_goproxy("https://a.example,direct")
    assert [entry.is_keyword for entry in entries] == [False, True]


@pytest.mark.parametrize("value", ["https://a.example|https://b.example,direct", "off", "https://a.example"])
def test_format_goproxy_is_the_inverse_of_parse(value):
    assert format_goproxy(parse_goproxy(value)) == value
