"""Semantic versions in Go's dialect (modules.goproxy.semver)."""

import pytest

from modules.goproxy import semver


@pytest.mark.parametrize(
    "version",
    ["v0.0.0", "v1", "v1.2", "v1.2.3", "v1.2.3-pre", "v1.2.3-0.pre.1-x", "v1.2.3+build.5",
     "v1.2.3-rc.1+meta", "v2.0.0+incompatible", "v10.20.30", "v1.0.0-x-y-z.-", "v1.0.0-0"],
)
def test_is_valid_accepts(version):
    assert semver.is_valid(version)


@pytest.mark.parametrize(
    "version",
    ["", "v", "1.2.3", "V1.2.3", "v01.2.3", "v1.02.3", "v1.2.03", "v1.2.3.4", "v1.2-pre", "v1-pre",
     "v1.2+meta", "v1.2.3-", "v1.2.3-pre..1", "v1.2.3-01", "v1.2.3+", "v1.2.3+a..b", "v1.2.3-pré",
     "v1.2.3 ", " v1.2.3", "v1.2.3\n", "v1.2.3-pre\n", "v١.2.3", "latest", "master"],
)
def test_is_valid_rejects(version):
    assert not semver.is_valid(version)


@pytest.mark.parametrize(
    ("version", "canonical"),
    [
        ("v1", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3-pre", "v1.2.3-pre"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3-pre+meta.1", "v1.2.3-pre"),
        ("v2.0.0+incompatible", "v2.0.0+incompatible"),
        ("v2.0.0-rc.1+incompatible", "v2.0.0-rc.1+incompatible"),
        ("v2.0.0+incompatible.1", "v2.0.0"),  # only the exact build "+incompatible" is kept
        ("v1.2.3-", ""),
        ("bad", ""),
    ],
)
def test_canonical_fills_shorthands_and_drops_build_but_keeps_incompatible(version, canonical):
    assert semver.canonical(version) == canonical


@pytest.mark.parametrize(
    ("version", "expected"),
    [("v1.2.3", True), ("v2.0.0+incompatible", True), ("v1.2.3-pre", True), ("v1.2", False),
     ("v1", False), ("v1.2.3+meta", False), ("", False), ("master", False)],
)
def test_is_canonical(version, expected):
    assert semver.is_canonical(version) is expected


# Semver 2.0.0 §11's example chain, plus Go's rules for builds and invalid versions.
ASCENDING = [
    "v1.0.0-alpha",
    "v1.0.0-alpha.1",
    "v1.0.0-alpha.beta",
    "v1.0.0-beta",
    "v1.0.0-beta.2",
    "v1.0.0-beta.11",
    "v1.0.0-rc.1",
    "v1.0.0",
    "v1.0.1",
    "v1.1.0",
    "v1.10.0",
    "v2.0.0-0.20200101000000-abcdefabcdef",
    "v2.0.0",
    "v10.0.0",
    "v99999999999999999999.0.0",
]


@pytest.mark.parametrize("index", range(len(ASCENDING) - 1))
def test_compare_follows_semver_precedence(index):
    lower, higher = ASCENDING[index], ASCENDING[index + 1]
    assert semver.compare(lower, higher) == -1
    assert semver.compare(higher, lower) == 1
    assert semver.compare(lower, lower) == 0


@pytest.mark.parametrize(
    ("v", "w"),
    [("v1", "v1.0.0"), ("v1.2", "v1.2.0"), ("v1.0.0+a", "v1.0.0+b"), ("v2.0.0+incompatible", "v2.0.0"),
     ("bad", "worse"), ("", "x")],
)
def test_compare_treats_as_equal(v, w):
    assert semver.compare(v, w) == 0


def test_compare_puts_invalid_versions_below_valid_ones():
    assert semver.compare("bad", "v0.0.0-0") == -1
    assert semver.compare("v0.0.0-0", "bad") == 1


def test_sort_key_sorts_ascending_with_invalid_first_and_stable_ties():
    shuffled = ["v1.0.0+b", "v2.0.0", "junk", "v1.0.0", "v1.0.0-rc.1", "v1.0.0+a", "aaa", "v0.9.0"]
    assert sorted(shuffled, key=semver.sort_key) == [
        "aaa", "junk", "v0.9.0", "v1.0.0-rc.1", "v1.0.0", "v1.0.0+a", "v1.0.0+b", "v2.0.0",
    ]


def test_sort_key_orders_the_whole_semver_chain():
    assert sorted(reversed(ASCENDING), key=semver.sort_key) == ASCENDING


@pytest.mark.parametrize(
    ("version", "major", "major_minor", "prerelease", "build"),
    [
        ("v1.2.3-pre+meta", "v1", "v1.2", "-pre", "+meta"),
        ("v2", "v2", "v2.0", "", ""),
        ("v2.1", "v2", "v2.1", "", ""),
        ("v0.0.0-2020-abc", "v0", "v0.0", "-2020-abc", ""),
        ("v3.0.0+incompatible", "v3", "v3.0", "", "+incompatible"),
        ("bad", "", "", "", ""),
    ],
)
def test_parts(version, major, major_minor, prerelease, build):
    assert semver.major(version) == major
    assert semver.major_minor(version) == major_minor
    assert semver.prerelease(version) == prerelease
    assert semver.build(version) == build


def test_is_prerelease():
    assert semver.is_prerelease("v1.0.0-rc.1")
    assert semver.is_prerelease("v1.0.1-0.20200101000000-abcdefabcdef")
    assert not semver.is_prerelease("v1.0.0")
    assert not semver.is_prerelease("v1.0.0+pre")
    assert not semver.is_prerelease("bad-pre")


def test_max_version_returns_the_highest_valid_version_as_given():
    assert semver.max_version(["v1.0.0", "v1.10.0", "v1.9.0", "junk"]) == "v1.10.0"
    assert semver.max_version(["v1.2", "v1.1.9"]) == "v1.2"
    assert semver.max_version(["junk"]) is None
    assert semver.max_version([]) is None
