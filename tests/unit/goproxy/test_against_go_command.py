"""The h1 hashes and zip checks against the real go command, offline.

Each test writes module versions into a static GOPROXY tree (the layout a proxy
serves: ``<escaped module>/@v/list``, ``<version>.info``, ``.mod``, ``.zip``), runs
``go mod download -json module@version`` with ``GOPROXY=file://<tree>`` and compares the
``Sum`` and ``GoModSum`` it computes with ours. For broken zips it checks that the go
command and ``validate_zip`` agree on rejecting them — and pins down the one rule the
go command leaves to proxies: a zip's go.mod must match the served ``.mod``.
"""

import io
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from modules.goproxy import dirhash, paths, versions
from modules.goproxy.errors import InvalidZipError
from modules.goproxy.zipcheck import HG_ARCHIVAL, LEGACY_GO_MOD, VCS_DIRECTORY, VENDORED_PACKAGE, validate_zip

from . import gotool
from .zips import make_zip, module_zip

TIME = "2024-01-02T03:04:05Z"


class ProxyTree:
    """A static GOPROXY directory tree, as ``GOPROXY=file://...`` reads it."""

    def __init__(self, root: Path):
        self.root = root

    def publish(self, module: str, version: str, mod: bytes, zip_data: bytes) -> None:
        directory = self.root / paths.escape_path(module) / "@v"
        directory.mkdir(parents=True, exist_ok=True)
        listed = (directory / "list").read_text().split() if (directory / "list").exists() else []
        (directory / "list").write_text("".join(v + "\n" for v in versions.filter_list(module, listed + [version])))
        escaped = paths.escape_version(version)
        (directory / f"{escaped}.info").write_text(json.dumps({"Version": version, "Time": TIME}))
        (directory / f"{escaped}.mod").write_bytes(mod)
        (directory / f"{escaped}.zip").write_bytes(zip_data)

    def zip_path(self, module: str, version: str) -> Path:
        return self.root / paths.escape_path(module) / "@v" / f"{paths.escape_version(version)}.zip"


@dataclass
class GoCommand:
    go: str
    home: Path
    tree: ProxyTree

    def download(self, module: str, version: str) -> dict:
        """``go mod download -json`` for one version; its JSON (with "Error" on failure)."""
        env = gotool.go_env(self.home, GOPROXY=f"file://{self.tree.root}")
        result = subprocess.run(
            [self.go, "mod", "download", "-json", f"{module}@{version}"],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        report = json.loads(result.stdout)
        assert (result.returncode == 0) == ("Error" not in report), result.stderr
        return report


@pytest.fixture
def go_command(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    command = GoCommand(gotool.require_go(), home, ProxyTree(tmp_path / "tree"))
    yield command
    gotool.make_writable(home)  # the go command leaves its module cache read-only


GOOD_MODULES = {
    "files in subdirectories and non-ASCII names": (
        "example.com/simple",
        "v1.0.0",
        {
            "go.mod": b"module example.com/simple\n\ngo 1.21\n",
            "simple.go": b"package simple\n",
            "internal/deep/er/x.go": b"package er\n",
            "docs/naïve café.md": "# Ünïcödé\n".encode(),
            "testdata/日本語.txt": "こんにちは\n".encode(),
            "LICENSE": b"MIT License\n",
        },
    ),
    "uppercase module path": (
        "github.com/Upper/CaseModule",
        "v1.2.0-RC.1",
        {"go.mod": b"module github.com/Upper/CaseModule\n\ngo 1.20\n", "Case.go": b"package casemodule\n"},
    ),
    "major version suffix": (
        "example.com/major/v2",
        "v2.1.0",
        {"go.mod": b"module example.com/major/v2\n\ngo 1.21\n", "m.go": b"package major\n"},
    ),
    "retract and deprecated comments": (
        "example.com/retracted",
        "v1.1.0",
        {
            "go.mod": (
                b"// Package retracted is old.\n//\n// Deprecated: use example.com/simple instead.\n"
                b"module example.com/retracted\n\ngo 1.21\n\n"
                b"require example.com/simple v1.0.0 // indirect\n\n"
                b"retract (\n\t// Published too early.\n\tv1.0.0\n\t[v0.1.0, v0.2.0] // Broken.\n)\n"
            ),
            "r.go": b"package retracted\n",
        },
    ),
    "no go.mod, +incompatible": (
        "example.com/legacy",
        "v2.0.0+incompatible",
        {"legacy.go": b"package legacy\n", "sub/sub.go": b"package sub\n"},
    ),
    "pseudo-version": (
        "example.com/untagged",
        "v0.0.0-20240102030405-abcdefabcdef",
        {"go.mod": b"module example.com/untagged\n", "u.go": b"package untagged\n"},
    ),
    "gopkg.in path": (
        "gopkg.in/yaml.v3",
        "v3.0.1",
        {"go.mod": b'module "gopkg.in/yaml.v3"\n', "yaml.go": b"package yaml\n"},
    ),
}


@pytest.mark.parametrize("case", list(GOOD_MODULES))
def test_our_hashes_equal_the_go_commands_sums(go_command, case):
    module, version, files = GOOD_MODULES[case]
    mod = files.get("go.mod", f"module {module}\n".encode())
    zip_data = module_zip(module, version, files)
    go_command.tree.publish(module, version, mod, zip_data)

    report = go_command.download(module, version)

    assert "Error" not in report, report
    zip_path = go_command.tree.zip_path(module, version)
    assert report["Sum"] == dirhash.hash_zip(zip_path)
    assert report["GoModSum"] == dirhash.hash_go_mod(mod)
    summary = validate_zip(zip_path, module, version, expected_go_mod=mod)
    assert summary.zip_hash == report["Sum"]
    assert summary.go_mod == files.get("go.mod")
    assert summary.notices == ()  # a zip as the go command creates it: nothing to note


def test_directory_entries_count_in_the_go_commands_sum(go_command):
    module, version = "example.com/dirs", "v1.0.0"
    prefix = f"{module}@{version}/"
    mod = b"module example.com/dirs\n"
    zip_data = make_zip([(prefix, b""), (prefix + "a/", b""), (prefix + "a/a.go", b"package a\n"),
                         (prefix + "go.mod", mod)])
    go_command.tree.publish(module, version, mod, zip_data)

    report = go_command.download(module, version)

    assert report["Sum"] == dirhash.hash_zip(go_command.tree.zip_path(module, version))
    without_dirs = module_zip(module, version, {"a/a.go": b"package a\n", "go.mod": mod})
    assert report["Sum"] != dirhash.hash_zip(io.BytesIO(without_dirs))


BAD_ZIPS = {
    "wrong prefix": lambda module, version, mod: module_zip(module, "v9.9.9", {"go.mod": mod}),
    "nested go.mod": lambda module, version, mod: module_zip(
        module, version, {"go.mod": mod, "sub/go.mod": b"module example.com/bad/sub\n"}
    ),
    "case collision": lambda module, version, mod: module_zip(
        module, version, {"go.mod": mod, "README": b"1", "readme": b"2"}
    ),
    "not a zip": lambda module, version, mod: b"<html>proxy error page</html>",
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_bad_zips_are_rejected_by_both_the_go_command_and_validate_zip(go_command, case):
    module, version = "example.com/bad", "v1.0.0"
    mod = b"module example.com/bad\n"
    go_command.tree.publish(module, version, mod, BAD_ZIPS[case](module, version, mod))

    report = go_command.download(module, version)

    assert "Error" in report
    with pytest.raises(InvalidZipError):
        validate_zip(go_command.tree.zip_path(module, version), module, version, expected_go_mod=mod)


def test_a_go_mod_differing_from_the_mod_file_is_accepted_with_a_notice(go_command):
    # The go command builds with the .mod and extracts the zip: it never compares them,
    # and proxy.golang.org serves such pairs for old modules. So validate_zip accepts
    # the pair, as the go command does, and says so in a notice.
    module, version = "example.com/differ", "v1.0.0"
    served_mod = b"module example.com/differ\n"
    zip_go_mod = b"module example.com/differ\n\nrequire example.com/other v1.0.0\n"
    go_command.tree.publish(module, version, served_mod, module_zip(module, version, {"go.mod": zip_go_mod}))

    report = go_command.download(module, version)

    assert "Error" not in report
    summary = validate_zip(go_command.tree.zip_path(module, version), module, version, expected_go_mod=served_mod)
    assert [notice.code for notice in summary.notices] == [LEGACY_GO_MOD]
    assert "differs from the .mod file" in summary.notices[0].message


CREATE_ONLY_ZIPS = {
    "vendored package": ({"vendor/example.org/x/x.go": b"package x\n"}, VENDORED_PACKAGE),
    "VCS directory": ({".git/config": b"[core]\n"}, VCS_DIRECTORY),
    "hg archive file": ({".hg_archival.txt": b"repo: x\n"}, HG_ARCHIVAL),
}


@pytest.mark.parametrize("case", list(CREATE_ONLY_ZIPS))
def test_zips_the_go_command_would_not_create_are_accepted_by_it_and_noted_by_validate_zip(go_command, case):
    # zip.Create leaves these files out, but the go command's download and Unzip
    # (modfetch/fetch.go, x/mod/zip checkZip) accept a zip that has them.
    module, version = "example.com/created", "v1.0.0"
    mod = b"module example.com/created\n"
    extra, code = CREATE_ONLY_ZIPS[case]
    go_command.tree.publish(module, version, mod, module_zip(module, version, {"go.mod": mod, **extra}))

    report = go_command.download(module, version)

    assert "Error" not in report, report
    summary = validate_zip(go_command.tree.zip_path(module, version), module, version, expected_go_mod=mod)
    assert [notice.code for notice in summary.notices] == [code]
    assert summary.zip_hash == report["Sum"]
