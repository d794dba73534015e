"""Checking module zips received from upstreams (modules.goproxy.zipcheck)."""

import io
import zipfile

import pytest

from modules.goproxy import dirhash
from modules.goproxy.errors import InvalidZipError
from modules.goproxy.zipcheck import ZipSummary, validate_zip

from .zips import make_zip, module_zip, patch_entry, rename_raw

MODULE = "example.com/m"
VERSION = "v1.0.0"
PREFIX = f"{MODULE}@{VERSION}/"
GO_MOD = b"module example.com/m\n\ngo 1.21\n"


def check(entries, module=MODULE, version=VERSION, **options) -> ZipSummary:
    """validate_zip on a zip of (name, content) pairs; names get the module prefix
    unless they start with "!", which marks a complete entry name."""
    prefix = f"{module}@{version}/"
    data = make_zip([(name[1:] if name.startswith("!") else prefix + name, content) for name, content in entries])
    return validate_zip(io.BytesIO(data), module, version, **options)


def rejection(entries, **options) -> str:
    with pytest.raises(InvalidZipError) as caught:
        check(entries, **options)
    return str(caught.value)


def test_a_valid_zip_is_summarized():
    data = module_zip(
        MODULE,
        VERSION,
        {"go.mod": GO_MOD, "LICENSE": b"MIT\n", "m.go": b"package m\n", "sub/dir/x.go": b"package dir\n"},
    )
    summary = validate_zip(io.BytesIO(data), MODULE, VERSION)
    assert summary == ZipSummary(
        files=["LICENSE", "go.mod", "m.go", "sub/dir/x.go"],
        go_mod=GO_MOD,
        unpacked_size=len(GO_MOD) + 4 + 10 + 12,
        license_name="LICENSE",
        zip_hash=dirhash.hash_zip(io.BytesIO(data)),
    )


def test_a_zip_without_go_mod_has_no_go_mod():
    summary = check([("m.go", b"package m\n")])
    assert summary.go_mod is None
    assert summary.files == ["m.go"]


def test_validate_zip_accepts_a_path(tmp_path):
    path = tmp_path / "m.zip"
    path.write_bytes(module_zip(MODULE, VERSION, {"go.mod": GO_MOD}))
    assert validate_zip(path, MODULE, VERSION).go_mod == GO_MOD
    assert validate_zip(str(path), MODULE, VERSION).files == ["go.mod"]


def test_directory_entries_are_allowed_as_in_checkzip_but_not_listed_as_files():
    summary = check([("", b""), ("sub/", b""), ("sub/a.go", b"package sub\n"), ("sub/", b"")])
    assert summary.files == ["sub/a.go"]


def test_non_ascii_file_names_are_fine():
    assert check([("doc/naïve-日本.md", b"#")]).files == ["doc/naïve-日本.md"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("!other.com/m@v1.0.0/go.mod", 'path does not have prefix "example.com/m@v1.0.0/"'),
        ("!example.com/m@v1.0.1/go.mod", "path does not have prefix"),
        ("!example.com/M@v1.0.0/go.mod", "path does not have prefix"),
        ("!go.mod", "path does not have prefix"),
        ("a/../b.go", "file path is not clean"),
        ("./a.go", "file path is not clean"),
        ("a//b.go", "file path is not clean"),
        ("../escape.go", 'malformed file path "../escape.go": invalid path element ".."'),
        ("/etc/passwd", 'malformed file path "/etc/passwd": empty path element'),
        ("a\\b.go", "invalid char '\\\\'"),
        ("a:b.go", "invalid char ':'"),
        ("what?.go", "invalid char '?'"),
        ("aux.go", '"aux" disallowed as path element component on Windows'),
        ("sub/go.mod", "go.mod file not in module root directory"),
        ("sub/GO.MOD", "go.mod file not in module root directory"),
        ("GO.mod", "go.mod files must have lowercase names"),
    ],
)
def test_rules_on_names(name, problem):
    message = rejection([(name, b"x")])
    assert problem in message
    assert message.startswith(name[1:] if name.startswith("!") else PREFIX + name)


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        ("README", "readme", 'case-insensitive file name collision: "README" and "readme"'),
        ("Dir/a.go", "dir/b.go", 'case-insensitive file name collision: "Dir" and "dir"'),
        ("a", "a/b.go", 'entry "a" is both a file and a directory'),
        ("x.go", "x.go", 'multiple entries for file "x.go"'),
        ("straße.txt", "STRASSE.txt", None),  # full case mappings do not count, as in Go
        ("σ.txt", "ς.txt", 'case-insensitive file name collision: "σ.txt" and "ς.txt"'),
        ("k.txt", "\u212a.txt", 'case-insensitive file name collision: "k.txt" and "\u212a.txt"'),  # Kelvin sign
    ],
)
def test_case_fold_collisions(first, second, problem):
    entries = [(first, b"1"), (second, b"2")]
    if problem is None:
        check(entries)
    else:
        assert problem in rejection(entries)


def test_all_problems_are_collected_and_the_first_is_in_the_message():
    with pytest.raises(InvalidZipError) as caught:
        check([("a:b", b""), ("sub/go.mod", b""), ("ok.go", b"")])
    assert len(caught.value.problems) == 2
    assert str(caught.value).endswith("(and 1 more problems)")
    assert "invalid char ':'" in caught.value.problems[0]
    assert "go.mod file not in module root directory" in caught.value.problems[1]


def test_go_mod_and_license_size_limits():
    assert "go.mod file too large (max size is 10 bytes)" in rejection([("go.mod", b"x" * 11)], max_go_mod_size=10)
    assert "LICENSE file too large (max size is 10 bytes)" in rejection([("LICENSE", b"x" * 11)], max_license_size=10)
    # Only the exact root names are limited.
    check([("go.mod", b"x" * 10), ("LICENSE.md", b"x" * 11), ("sub/LICENSE", b"x" * 11)],
          max_go_mod_size=10, max_license_size=10)


def test_default_go_mod_limit_is_16_mib():
    message = rejection([("go.mod", b"\n" * ((16 << 20) + 1))])
    assert "go.mod file too large (max size is 16777216 bytes)" in message


def test_total_declared_size_limit():
    message = rejection([("a", b"x" * 60), ("b", b"x" * 41)], max_unpacked_size=100)
    assert message.startswith("total uncompressed size of module contents too large (max size is 100 bytes)")
    check([("a", b"x" * 60), ("b", b"x" * 40)], max_unpacked_size=100)


def test_zip_file_size_limit():
    data = module_zip(MODULE, VERSION, {"a": b"x" * 100}, compression=zipfile.ZIP_STORED)
    with pytest.raises(InvalidZipError, match=r"module zip file is too large \(\d+ bytes; limit is 100 bytes\)"):
        validate_zip(io.BytesIO(data), MODULE, VERSION, max_zip_size=100)


def test_an_entry_larger_than_declared_is_rejected_even_if_headers_fit_the_limits():
    data = patch_entry(module_zip(MODULE, VERSION, {"a": b"\0" * 100_000}), PREFIX + "a", declared_size=10)
    with pytest.raises(InvalidZipError, match="larger than declared size"):
        validate_zip(io.BytesIO(data), MODULE, VERSION, max_unpacked_size=1000)


def test_an_entry_smaller_than_declared_is_rejected():
    data = patch_entry(module_zip(MODULE, VERSION, {"a": b"abc"}), PREFIX + "a", declared_size=4)
    with pytest.raises(InvalidZipError, match="smaller than declared size"):
        validate_zip(io.BytesIO(data), MODULE, VERSION)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda data: patch_entry(data, PREFIX + "go.mod", crc=1), "checksum error"),
        (lambda data: b"PK\x03\x04 definitely not a zip", "not a valid zip file"),
        (lambda data: data[:-30], "not a valid zip file"),
        (lambda data: patch_entry(data, PREFIX + "go.mod", method=14), "unsupported compression method"),
    ],
)
def test_corrupt_zips_are_rejected(corrupt, message):
    data = module_zip(MODULE, VERSION, {"go.mod": GO_MOD})
    with pytest.raises(InvalidZipError, match=message):
        validate_zip(io.BytesIO(corrupt(data)), MODULE, VERSION)


def test_a_directory_entry_with_a_size_is_rejected():
    data = patch_entry(module_zip(MODULE, VERSION, {"d/": b"", "d/a": b"a"}), PREFIX + "d/", declared_size=3)
    with pytest.raises(InvalidZipError, match="directory entry has nonzero size"):
        validate_zip(io.BytesIO(data), MODULE, VERSION)


def test_names_with_nul_or_invalid_utf8_are_rejected_with_printable_messages():
    data = module_zip(MODULE, VERSION, {"aXb": b"", "cYd": b""})
    data = rename_raw(data, PREFIX + "aXb", (PREFIX + "a\0b").encode())
    with pytest.raises(InvalidZipError) as caught:
        validate_zip(io.BytesIO(data), MODULE, VERSION)
    assert str(caught.value).startswith(f'"{PREFIX}a\\x00b": malformed file path "a\\x00b": invalid char')
    data = rename_raw(module_zip(MODULE, VERSION, {"cYd": b""}), PREFIX + "cYd", PREFIX.encode() + b"c\xffd")
    with pytest.raises(InvalidZipError) as caught:
        validate_zip(io.BytesIO(data), MODULE, VERSION)
    assert str(caught.value) == f'"{PREFIX}c\\xffd": malformed file path "c\\xffd": invalid UTF-8'
    str(caught.value).encode("utf-8")


@pytest.mark.parametrize(
    ("module", "version", "message"),
    [
        (MODULE, "v1.0", 'version "v1.0" is not canonical (should be "v1.0.0")'),
        (MODULE, "v1.0.0+meta", 'version "v1.0.0+meta" is not canonical (should be "v1.0.0")'),
        (MODULE, "master", 'version "master" is not canonical (should be "")'),
        (MODULE, "v2.0.0", "should be v0 or v1, not v2"),
        ("example.com/m/v2", "v1.0.0", "should be v2, not v1"),
        ("Example.com/m", "v1.0.0", "malformed module path"),
    ],
)
def test_module_and_version_must_be_valid_and_canonical(module, version, message):
    data = make_zip([(f"{module}@{version}/go.mod", b"")])
    with pytest.raises(InvalidZipError) as caught:
        validate_zip(io.BytesIO(data), module, version)
    assert message in str(caught.value)


def test_incompatible_and_major_suffix_versions_are_checked_like_go():
    check([("a.go", b"")], module="example.com/m", version="v2.0.0+incompatible")
    check([("a.go", b"")], module="example.com/m/v3", version="v3.1.0")
    check([("a.go", b"")], module="gopkg.in/yaml.v2", version="v2.4.0")


# -- what CheckZip accepts but zip.Create never produces ----------------------------

CREATE_ONLY_RULES = [
    ([("vendor/example.org/x/x.go", b"package x\n")], "vendored-package", "file is in vendor directory"),
    ([("pkg/vendor/example.org/x/x.go", b"package x\n")], "vendored-package", "file is in vendor directory"),
    ([(".git/config", b"[core]\n")], "vcs-directory", "directory is a version control repository"),
    ([("sub/.hg/store", b"")], "vcs-directory", "directory is a version control repository"),
    ([(".hg_archival.txt", b"repo: x\n")], "hg-archival", "file is inserted by 'hg archive' and is always omitted"),
    ([("go.mod", b"module example.com/m\n\ngo 1.24\n"), ("vendor/modules.txt", b"# x\n")],
     "vendored-package", "file is in vendor directory"),
]


def notices(entries, **options) -> list[tuple[str, str]]:
    return [(notice.code, notice.message) for notice in check(entries, **options).notices]


@pytest.mark.parametrize(("entries", "code", "problem"), CREATE_ONLY_RULES)
def test_create_only_rules_are_accepted_like_the_go_command_and_noted(entries, code, problem):
    # zip.Create follows them; CheckZip and Unzip, what the go command runs on a zip it
    # downloads, do not: a zip breaking them is accepted, with a notice naming the entry.
    [(found_code, message)] = notices(entries)
    assert found_code == code
    assert message.startswith(PREFIX) and message.endswith(problem)


@pytest.mark.parametrize(
    "entries",
    [
        [("vendor/modules.txt", b"# x\n")],  # kept for go < 1.24 (and without a go line)
        [("go.mod", b"module example.com/m\n\ngo 1.23\n"), ("vendor/modules.txt", b"# x\n")],
        [("vendor/README", b"")],  # directly in vendor/: not a package file
        [("go.mod", b"module example.com/m\n\ngo 1.24\n"), ("pkg/vendor/vendor.go", b"")],
        [(".github/workflows/ci.yml", b"")],
    ],
)
def test_what_create_keeps_gets_no_notice(entries):
    assert notices(entries) == []


def test_pkg_vendor_files_are_read_as_go_before_1_24_did():
    # Go < 1.24 computed the vendor index from the start of the path (golang.org/issue/37397).
    assert notices([("pkg/vendor/vendor.go", b"")])[0][0] == "vendored-package"


def test_an_unparsable_go_mod_in_the_zip_is_no_reason_to_refuse():
    # The go command never parses the zip's go.mod when it downloads; neither may we.
    summary = check([("go.mod", b"module (\n\x00garbage"), ("vendor/a/b.go", b"")])
    assert [notice.code for notice in summary.notices] == ["vendored-package"]


def test_many_notices_of_one_kind_are_summarized():
    entries = [(f"vendor/example.org/x{i}/x.go", b"") for i in range(50)]
    found = notices(entries)
    assert len(found) == 5
    assert found[-1][1].endswith("(and 45 more like it)")  # 5 shown + 45 = 50


def test_symlinks_are_accepted_with_a_notice():
    # Unzip writes a symlink entry as a regular file holding the link's target.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo(PREFIX + "link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, b"target")
    summary = validate_zip(io.BytesIO(buffer.getvalue()), MODULE, VERSION)
    assert [(n.code, n.message) for n in summary.notices] == [("not-regular-file", f"{PREFIX}link: file is a symbolic link")]


# -- the zip's go.mod against the served .mod ---------------------------------------


def test_a_zip_go_mod_unlike_the_mod_file_is_a_legacy_go_mod_notice():
    assert notices([("go.mod", GO_MOD)], expected_go_mod=GO_MOD) == []
    assert notices([("go.mod", GO_MOD)], expected_go_mod=GO_MOD + b"\n") == [
        ("legacy-go-mod", f"{PREFIX}go.mod: differs from the .mod file served for this version")
    ]


def test_without_go_mod_a_mod_file_other_than_the_synthesized_one_is_a_legacy_go_mod_notice():
    # proxy.golang.org's rsc.io/sampler@v1.2.1.mod is `module "rsc.io/sampler"` plus a
    # require line, synthesized long ago from its dependency files; its zip has no go.mod.
    assert notices([("m.go", b"package m\n")], expected_go_mod=b"module example.com/m\n") == []
    legacy = b'module "example.com/m"\n\nrequire golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c\n'
    [(code, message)] = notices([("m.go", b"package m\n")], expected_go_mod=legacy)
    assert code == "legacy-go-mod" and "the zip has no go.mod" in message


# -- summary details ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "license_name"),
    [
        (["LICENSE", "COPYING"], "LICENSE"),
        (["LICENSE.md", "a.go"], "LICENSE.md"),
        (["COPYING"], "COPYING"),
        (["license.txt"], "license.txt"),
        (["LICENSE-APACHE", "LICENSE-MIT"], "LICENSE-APACHE"),
        (["sub/LICENSE", "a.go"], None),
        (["LICENSES.go"], None),
    ],
)
def test_license_name(files, license_name):
    assert check([(name, b"text") for name in files]).license_name == license_name


def test_zip_hash_equals_hash_zip_including_directory_entries():
    data = module_zip(MODULE, VERSION, {"": b"", "d/": b"", "d/a.go": b"package d\n", "go.mod": GO_MOD})
    assert validate_zip(io.BytesIO(data), MODULE, VERSION).zip_hash == dirhash.hash_zip(io.BytesIO(data))


def test_a_zip_with_more_entries_than_allowed_is_refused_before_its_directory_is_read(monkeypatch):
    data = module_zip(MODULE, VERSION, {f"f{i}.go": b"" for i in range(20)})
    assert len(validate_zip(io.BytesIO(data), MODULE, VERSION, max_files=20).files) == 20

    too_many = module_zip(MODULE, VERSION, {f"f{i}.go": b"" for i in range(21)})

    def no_parsing(*args, **kwargs):
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", no_parsing)
    with pytest.raises(InvalidZipError, match="more than 20 entries; this proxy accepts at most 20"):
        validate_zip(io.BytesIO(too_many), MODULE, VERSION, max_files=20)


def test_the_entry_limit_counts_headers_not_the_count_the_end_record_declares():
    # zipfile reads every header whatever the end record says, and Go compares only
    # the count's low 16 bits: a zip declaring 1 entry may hold many.
    data = bytearray(module_zip(MODULE, VERSION, {f"f{i}.go": b"" for i in range(5)}))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8:end + 12] = (1).to_bytes(2, "little") * 2  # entries on this disk, in total
    with pytest.raises(InvalidZipError, match="more than 2 entries"):
        validate_zip(io.BytesIO(bytes(data)), MODULE, VERSION, max_files=2)
    assert len(validate_zip(io.BytesIO(bytes(data)), MODULE, VERSION, max_files=5).files) == 5
