"""The proxy's version policy (modules.goproxy.versions)."""

import random

import pytest

from modules.goproxy import semver, versions

PSEUDO_OLD = "v0.0.0-20190101000000-aaaaaaaaaaaa"
PSEUDO_NEW = "v0.0.0-20200101000000-bbbbbbbbbbbb"


@pytest.mark.parametrize(
    ("path", "version", "listable"),
    [
        ("example.com/m", "v1.0.0", True),
        ("example.com/m", "v0.1.0-rc.1", True),
        ("example.com/m", "v2.0.0+incompatible", True),
        ("example.com/m", "v1.2", False),  # not canonical
        ("example.com/m", "v1.2.0+build", False),  # not canonical
        ("example.com/m", "v2.0.0", False),  # major does not fit
        ("example.com/m", "v1.0.0+incompatible", False),
        ("example.com/m", PSEUDO_OLD, False),
        ("example.com/m", "v1.2.4-0.20191109021931-daa7c04131f5", False),
        ("example.com/m", "master", False),
        ("example.com/m", "", False),
        ("example.com/m/v2", "v2.1.0", True),
        ("example.com/m/v2", "v1.0.0", False),
        ("example.com/m/v2", "v2.0.0+incompatible", False),
        ("gopkg.in/yaml.v2", "v2.4.0", True),
        ("gopkg.in/yaml.v2", "v3.0.0", False),
    ],
)
def test_is_listable(path, version, listable):
    assert versions.is_listable(path, version) is listable


def test_filter_list_keeps_listable_versions_deduplicated_in_semver_order():
    upstream = ["v1.10.0", "v1.2.0", "v1.2.0", "v1.9.0-rc.1", "v1.2", "v2.0.0", PSEUDO_OLD,
                "v3.0.0+incompatible", "garbage", "v1.0.0+meta", "v0.1.0"]
    assert versions.filter_list("example.com/m", upstream) == [
        "v0.1.0", "v1.2.0", "v1.9.0-rc.1", "v1.10.0", "v3.0.0+incompatible",
    ]


def test_filter_list_of_a_pseudo_version_only_module_is_empty():
    assert versions.filter_list("example.com/m", [PSEUDO_OLD, PSEUDO_NEW]) == []


def test_parse_list_takes_the_first_field_of_each_line_like_the_go_command():
    body = b"v1.0.0\nv1.1.0 2020-01-01T00:00:00Z\n\n  v1.2.0  \r\nv1.3.0"
    assert versions.parse_list(body) == ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"]
    assert versions.parse_list("") == []


@pytest.mark.parametrize(
    ("candidates", "latest"),
    [
        (["v1.0.0", "v1.1.0", "v1.2.0-rc.1"], "v1.1.0"),  # a release beats a newer prerelease
        (["v1.2.0-rc.1", "v1.2.0-rc.2", PSEUDO_NEW], "v1.2.0-rc.2"),  # prereleases beat pseudo
        (["v1.0.0", "v2.0.0+incompatible"], "v2.0.0+incompatible"),
        ([PSEUDO_OLD, PSEUDO_NEW], PSEUDO_NEW),
        # The newest commit wins even when an older pseudo-version has a higher base.
        (["v1.5.1-0.20190101000000-aaaaaaaaaaaa", "v0.0.0-20200101000000-bbbbbbbbbbbb"],
         "v0.0.0-20200101000000-bbbbbbbbbbbb"),
        # Same time: semver order breaks the tie.
        (["v0.0.0-20200101000000-aaaaaaaaaaaa", "v0.0.0-20200101000000-bbbbbbbbbbbb"],
         "v0.0.0-20200101000000-bbbbbbbbbbbb"),
        (["v0.0.0-20201301000000-aaaaaaaaaaaa", PSEUDO_OLD], PSEUDO_OLD),  # month 13 ignored
        (["junk", "v1.0.0"], "v1.0.0"),
        (["junk"], None),
        ([], None),
    ],
)
def test_latest_version(candidates, latest):
    assert versions.latest_version(candidates) == latest


@pytest.mark.parametrize(
    ("version", "query"),
    [("v1.2.3", False), ("v2.0.0+incompatible", False), ("v1.2.3-pre", False), (PSEUDO_OLD, False),
     ("v1.2", True), ("v1", True), ("v1.2.3+meta", True), ("master", True),
     ("0123456789ab", True), ("latest", True), ("v1.2.3-", True)],
)
def test_is_query(version, query):
    assert versions.is_query(version) is query


def test_reserved_queries_are_the_go_commands_keywords():
    assert versions.RESERVED_QUERIES == {"latest", "upgrade", "patch"}


def _first_covering(version, retracts):
    """The rule as cmd/go states it (modload: Compare(low, v) <= 0 && Compare(v, high) <= 0),
    by brute force: the rationale of the first directive in go.mod order."""
    for low, high, rationale in retracts:
        if semver.compare(low, version) <= 0 <= semver.compare(high, version):
            return rationale
    return None


def test_retractions_match_the_brute_force_rule_on_random_inputs():
    rng = random.Random(20)
    pool = [f"v{a}.{b}.{c}{pre}" for a in (0, 1, 2) for b in range(4) for c in range(3) for pre in ("", "-rc.1", "-alpha")]
    pool += ["v2.0.0+incompatible", "v1.0.0-20240101000000-abcdefabcdef", "not-a-version"]
    for _ in range(300):
        cached = rng.sample(pool, rng.randint(0, 30))
        retracts = []
        for i in range(rng.randint(0, 12)):
            low, high = sorted(rng.sample(pool[:-1], 2), key=semver.sort_key)
            retracts.append((low, low if rng.random() < 0.4 else high, f"r{i}"))
        expected = {v: why for v in cached if semver.is_valid(v) and (why := _first_covering(v, retracts)) is not None}
        assert versions.retractions(cached, retracts) == expected, (cached, retracts)


def test_retraction_ignores_build_metadata_as_go_compares():
    assert versions.retractions(["v2.0.0+incompatible"], [("v2.0.0", "v2.0.0", "bad")]) == {
        "v2.0.0+incompatible": "bad"
    }
