"""Pseudo-versions (modules.goproxy.pseudo)."""

from datetime import datetime, timezone

import pytest

from modules.goproxy import pseudo
from modules.goproxy.errors import InvalidVersionError

TIME = datetime(2019, 11, 9, 2, 19, 31, tzinfo=timezone.utc)

# (pseudo-version, base, revision)
PSEUDO_VERSIONS = [
    ("v0.0.0-20191109021931-daa7c04131f5", "", "daa7c04131f5"),  # form 1
    ("v2.0.0-20191109021931-daa7c04131f5", "", "daa7c04131f5"),  # form 1, major 2
    ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", "daa7c04131f5"),  # form 2
    ("v1.2.10-0.20191109021931-daa7c04131f5", "v1.2.9", "daa7c04131f5"),
    ("v2.3.1-0.20191109021931-daa7c04131f5+incompatible", "v2.3.0+incompatible", "daa7c04131f5"),
    ("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre", "daa7c04131f5"),  # form 3
    ("v1.2.3-rc.1.0.20191109021931-daa7c04131f5", "v1.2.3-rc.1", "daa7c04131f5"),
    ("v2.0.0-beta.0.20191109021931-daa7c04131f5+incompatible", "v2.0.0-beta+incompatible", "daa7c04131f5"),
]


@pytest.mark.parametrize(("version", "base", "rev"), PSEUDO_VERSIONS)
def test_all_three_forms_are_pseudo_versions(version, base, rev):
    assert pseudo.is_pseudo_version(version)
    assert pseudo.pseudo_version_time(version) == TIME
    assert pseudo.pseudo_version_rev(version) == rev
    assert pseudo.pseudo_version_base(version) == base


@pytest.mark.parametrize(
    "version",
    ["v1.0.0", "v1.0.0-rc.1", "v1.2.3-20191109021931-daa7c04131f5",  # form 1 needs X.0.0
     "v0.0.0-2019110902193-daa7c04131f5",  # 13 digits
     "v0.0.0-20191109021931",  # no revision
     "v0.0.0-20191109021931-daa7c04131f5-",  # invalid semver
     "v1.2.4-1.20191109021931-daa7c04131f5",  # "1." instead of "0."
     "0.0.0-20191109021931-daa7c04131f5", "master", ""],
)
def test_other_versions_are_not_pseudo_versions(version):
    assert not pseudo.is_pseudo_version(version)


def test_pseudo_version_time_is_utc_and_aware():
    when = pseudo.pseudo_version_time("v0.0.0-20240229235959-abcdefabcdef")
    assert when == datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone.utc)
    assert when.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "version",
    ["v0.0.0-20191309021931-daa7c04131f5",  # month 13
     "v0.0.0-20190230021931-daa7c04131f5",  # February 30
     "v0.0.0-20191109246031-daa7c04131f5"],  # hour 24
)
def test_pseudo_version_time_rejects_impossible_times(version):
    assert pseudo.is_pseudo_version(version)
    with pytest.raises(InvalidVersionError, match="malformed time"):
        pseudo.pseudo_version_time(version)


def test_functions_reject_non_pseudo_versions():
    for function in (pseudo.pseudo_version_time, pseudo.pseudo_version_rev, pseudo.pseudo_version_base):
        with pytest.raises(InvalidVersionError, match="syntax error"):
            function("v1.0.0")


def test_base_of_form_1_with_incompatible_is_an_error():
    with pytest.raises(InvalidVersionError, match="lacks base version"):
        pseudo.pseudo_version_base("v2.0.0-20191109021931-daa7c04131f5+incompatible")


def test_base_with_negative_patch_is_an_error():
    with pytest.raises(InvalidVersionError, match="negative patch number"):
        pseudo.pseudo_version_base("v1.2.0-0.20191109021931-daa7c04131f5")
