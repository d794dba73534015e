"""GOPRIVATE/GONOPROXY prefix patterns and Go's path.Match (modules.goproxy.patterns)."""

import pytest

from modules.goproxy.patterns import match_prefix_patterns, path_match


@pytest.mark.parametrize(
    ("patterns", "target", "matched"),
    [
        ("rsc.io/private", "rsc.io/private", True),
        ("rsc.io/private", "rsc.io/private/quux", True),  # a leading run of elements
        ("rsc.io/private", "rsc.io/privatequux", False),  # whole elements only
        ("rsc.io/private", "rsc.io", False),  # the target is shorter than the pattern
        ("*.corp.example.com", "git.corp.example.com/team/repo", True),
        ("*.corp.example.com", "corp.example.com/team/repo", False),
        ("*.corp.example.com", "a.b.corp.example.com/x", True),  # * matches dots, not slashes
        ("github.com/*", "github.com/org/repo", True),
        ("github.com/*/repo", "github.com/org/repo/sub", True),
        ("github.com/*/repo", "github.com/org/other", False),
        ("*", "anything/at/all", True),
        ("example.com/?", "example.com/a/b", True),
        ("example.com/?", "example.com/ab", False),
        ("example.com/[ab]*", "example.com/beta", True),
        ("example.com/[^ab]*", "example.com/beta", False),
        ("example.com/[a-c]x", "example.com/bx", True),
        ("example.com/\\*", "example.com/*", True),
        ("example.com/\\*", "example.com/x", False),
        ("rsc.io/private/", "rsc.io/private/quux", True),  # a trailing slash is dropped
        ("", "example.com/m", False),
        (",,", "example.com/m", False),
        ("other.com,,rsc.io", "rsc.io/quote", True),  # empty patterns are ignored
        ("example.com/[", "example.com/x", False),  # malformed patterns are ignored
        ("example.com/[,example.com/*", "example.com/x", True),  # ... but not the others
        # Unlike Go, case is ignored: code hosts fold it, so both spellings are one module.
        ("EXAMPLE.com", "example.com/m", True),
        ("example.test/evil", "example.test/Evil/pkg", True),
        ("github.com/sirupsen/*", "github.com/Sirupsen/logrus", True),
        ("example.test/[a-c]x", "example.test/BX", True),
        ("example.test/k", "example.test/\u212a", False),  # the Kelvin sign is not a "k"
    ],
)
def test_match_prefix_patterns(patterns, target, matched):
    assert match_prefix_patterns(patterns, target) is matched


@pytest.mark.parametrize(
    ("pattern", "name", "matched"),
    [
        ("abc", "abc", True),
        ("*", "abc", True),
        ("*c", "abc", True),
        ("a*", "a", True),
        ("a*/b", "abc/b", True),
        ("a*/b", "a/c/b", False),  # * does not cross /
        ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
        ("a*b?c*x", "abxbbxdbxebxczzx", True),
        ("a*b?c*x", "abxbbxdbxebxczzy", False),
        ("ab[c]", "abc", True),
        ("ab[b-d]", "abc", True),
        ("ab[e-g]", "abc", False),
        ("ab[^c]", "abc", False),
        ("ab[^b-d]", "abe", True),
        ("a[^a]b", "a/b", True),  # unlike * and ?, a class may match /
        ("a?b", "a/b", False),
        ("[\\]a]", "]", True),
        ("[\\-]", "-", True),
        ("[x\\-]", "z", False),
        ("[a-\\z]", "b", True),
        ("[z-a]", "m", False),  # a reversed range is legal and matches nothing
        ("[^z-a]", "m", True),
        ("a[", "a", False),
        ("[]a]", "]", False),
        ("[-]", "-", False),
        ("[x-]", "x", False),
        ("[a-b-c]", "a", False),
        ("[", "a", False),
        ("[^", "a", False),
        ("[^bc", "a", False),
        ("a\\", "a", False),
        ("*x", "xxx", True),
        ("日本*", "日本語", True),
        ("?", "語", True),
    ],
)
def test_path_match_agrees_with_go(pattern, name, matched):
    assert path_match(pattern, name) is matched


def test_matching_costs_at_most_name_length_times_pattern_length(monkeypatch):
    """A glob that a backtracking regular expression took 41 s on (issue 20): Go's
    algorithm tries each chunk at most once per position of the name."""
    from modules.goproxy import patterns

    calls = 0
    original = patterns._match_items

    def counted(items, name):
        nonlocal calls
        calls += 1
        return original(items, name)

    monkeypatch.setattr(patterns, "_match_items", counted)
    name = "a" * 200
    glob = "*a*a*a*a*a*b"
    assert path_match(glob, name) is False
    assert calls <= (len(name) + 1) * len(glob)
    assert match_prefix_patterns(f"{glob},x.test", f"{name}/m") is False
