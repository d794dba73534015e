"""Differential tests: this package against golang.org/x/mod itself.

An oracle program compiled from the x/mod sources vendored in the local Go toolchain
answers the same questions (see gotool.py and oracle/main.go). Hand-picked tables cover
the documented rules; seeded random inputs look for disagreements nobody thought of.
Every comparison is exact, error messages included where this package mirrors Go's.
"""

import io
import random
import unicodedata
import zipfile
from collections import defaultdict

import pytest

from modules.goproxy import dirhash, gomod, paths, patterns, pseudo, semver
from modules.goproxy.errors import GoProxyError, InvalidZipError
from modules.goproxy.zipcheck import _fold, validate_zip

from . import gotool
from .test_paths import INVALID_MODULE_PATHS, VALID_MODULE_PATHS
from .test_semver import ASCENDING
from .zips import make_zip, patch_entry, rename_raw

@pytest.fixture(scope="module")
def oracle():
    return gotool.oracle()


def error_of(function, *args) -> str:
    try:
        function(*args)
    except GoProxyError as exc:
        return str(exc)
    return ""


def mismatches(cases, ours, theirs):
    """The cases where ours(case) != theirs(case), for a readable assertion message."""
    return [(case, ours(case), theirs(case)) for case in cases if ours(case) != theirs(case)]


# -- random inputs --------------------------------------------------------------------

PATH_PIECES = ["example.com", "gopkg.in", "Example.com", "x", "v2", "v1", "v0", "v02", "v2.0", "yaml.v2",
               "yaml.v0", "yaml.v1-unstable", "a~1", "a~b", ".git", "com1", "NUL.txt", "-x", "x-", "a.b.", "é",
               "日本", "a b", "a+b", "a!b", "A", "a_b", "", ".", "..", "pkg.v3-unstable", "v10", "m2", "con",
               "a:b", "a\\b", "a*b", "z~0", "~", "-", "x.v1", "LPT1.go"]


def random_paths(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["/".join(rng.choice(PATH_PIECES) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def random_versions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    parts = ["v", "v0", "v1", "v2", "v10", "v01", ".0", ".1", ".2", ".00", "-", "-pre", "-0", "-01", ".beta",
             "+meta", "+incompatible", "-20200101000000-abcdefabcdef", ".20200101000000-abcdefabcdef",
             "-0.20200101000000-abcdefabcdef", "-rc.1", "..", "+", "x", "-1.2"]
    return ["".join(rng.choice(parts) for _ in range(rng.randint(1, 5))) for _ in range(count)]


# -- paths ----------------------------------------------------------------------------

PATH_CASES = (
    VALID_MODULE_PATHS
    + [path for path, _ in INVALID_MODULE_PATHS if path.isprintable() and path.encode("utf-8", "ignore")]
    + random_paths(1500, seed=1)
)


def test_check_path_messages_equal_gos(oracle):
    bad = mismatches(PATH_CASES, lambda p: error_of(paths.check_path, p), lambda p: oracle.ask("checkPath", p)["err"])
    assert bad == []


def test_check_import_path_messages_equal_gos(oracle):
    bad = mismatches(
        PATH_CASES, lambda p: error_of(paths.check_import_path, p), lambda p: oracle.ask("checkImportPath", p)["err"]
    )
    assert bad == []


def test_check_file_path_messages_equal_gos(oracle):
    cases = PATH_CASES + ["naïve/日本語.txt", "a\tb", "①", "Ⅻ", "ǅ", "a\u00a0b", "x/\u0301"]
    bad = mismatches(
        cases, lambda p: error_of(paths.check_file_path, p), lambda p: oracle.ask("checkFilePath", p)["err"]
    )
    assert bad == []


ALL_CHARACTERS = [chr(code) for code in range(0x30000) if not 0xD800 <= code <= 0xDFFF]


def unknown_to_python(char: str) -> bool:
    """Unassigned in this Python's Unicode tables (Go's may be newer)."""
    return unicodedata.category(char) == "Cn"


def test_file_name_characters_equal_gos_except_letters_newer_than_pythons_unicode(oracle):
    names = ["a" + char for char in ALL_CHARACTERS if char not in "/"]
    go_errors = oracle.ask("checkFilePathEach", *names)["value"]
    bad = [
        (name, ours, theirs)
        for name, theirs in zip(names, go_errors)
        if (ours := error_of(paths.check_file_path, name)) != theirs and not unknown_to_python(name[1])
    ]
    assert bad == []


def test_case_fold_collision_classes_equal_gos_except_letters_newer_than_pythons_unicode(oracle):
    go_keys = dict(zip(ALL_CHARACTERS, oracle.ask("foldEach", "".join(ALL_CHARACTERS))["value"]))
    ours_groups, go_groups = defaultdict(set), defaultdict(set)
    for char in ALL_CHARACTERS:
        ours_groups[_fold(char)].add(char)
        go_groups[go_keys[char]].add(char)
    bad = []
    for members in ours_groups.values():
        if len({go_keys[m] for m in members}) > 1:
            bad.append(("we join", sorted(members)))
    for members in go_groups.values():
        if len({_fold(m) for m in members}) > 1 and not any(map(unknown_to_python, members)):
            bad.append(("go joins", sorted(members)))
    assert bad == []


def test_split_path_version_equals_gos(oracle):
    def ours(path):
        split = paths._split_path_version(path)
        return [path, "", False] if split is None else [split[0], split[1], True]

    bad = mismatches(PATH_CASES, ours, lambda p: oracle.ask("splitPathVersion", p)["value"])
    assert bad == []


def test_escape_and_unescape_agree_with_go(oracle):
    def outcome(function, text):
        try:
            return [function(text), True]
        except GoProxyError:
            return ["", False]

    def theirs(op, text):
        answer = oracle.ask(op, text)
        return [answer["value"] if not answer["err"] else "", not answer["err"]]

    escaped_cases = PATH_CASES + ["github.com/!azure/x", "github.com/!!x", "x.com/a!", "x.com/!A", "x.com/!1"]
    for ours_fn, op, cases in [
        (paths.escape_path, "escapePath", PATH_CASES),
        (paths.unescape_path, "unescapePath", escaped_cases),
        (paths.escape_version, "escapeVersion", random_versions(500, seed=2) + PATH_CASES),
        (paths.unescape_version, "unescapeVersion", random_versions(500, seed=3) + escaped_cases),
    ]:
        bad = mismatches(cases, lambda text: outcome(ours_fn, text), lambda text: theirs(op, text))
        assert bad == [], op


MAJORS = ["", "/v2", "/v3", ".v1", ".v2", ".v0", ".v1-unstable", ".v3-unstable"]
VERSIONS = ASCENDING + random_versions(400, seed=4) + [
    "v0.0.0-20161208181325-20d25e280405", "v1.0.0+incompatible", "v2.0.0+incompatible", "v0.1.0"]


def test_check_path_major_equals_gos(oracle):
    cases = [(version, major) for version in VERSIONS for major in MAJORS]
    bad = mismatches(
        cases,
        lambda case: error_of(paths.check_path_major, *case),
        lambda case: oracle.ask("checkPathMajor", *case)["err"],
    )
    assert bad == []


def test_version_fits_path_is_go_module_check_plus_the_incompatible_rule(oracle):
    for path in ["example.com/m", "example.com/m/v2", "gopkg.in/yaml.v1", "gopkg.in/yaml.v2-unstable"]:
        for version in VERSIONS:
            go_accepts = oracle.ask("check", path, version)["err"] == ""
            incompatible_v0_v1_or_suffixed = semver.build(version) == "+incompatible" and (
                semver.major(version) in ("v0", "v1") or paths.split_path_version(path)[1] != ""
            )
            expected = go_accepts and not incompatible_v0_v1_or_suffixed
            assert paths.version_fits_path(path, version) is expected, (path, version)


# -- semver and pseudo-versions -------------------------------------------------------

SEMVER_CASES = VERSIONS + ["", "v", "v1.2.3\n", "v1.2.3-pré", "v١"]


def test_semver_parts_equal_gos(oracle):
    def ours(version):
        return {
            "isValid": semver.is_valid(version),
            "canonicalVersion": semver.canonical(version),
            "major": semver.major(version),
            "majorMinor": semver.major_minor(version),
            "prerelease": semver.prerelease(version),
            "build": semver.build(version),
        }

    def theirs(version):
        answer = oracle.ask("semver", version)["value"]
        del answer["canonical"]  # x/mod/semver's plain Canonical, which drops +incompatible
        return answer

    assert mismatches(SEMVER_CASES, ours, theirs) == []


def test_compare_equals_gos(oracle):
    rng = random.Random(5)
    pairs = [(rng.choice(SEMVER_CASES), rng.choice(SEMVER_CASES)) for _ in range(3000)]
    bad = mismatches(pairs, lambda pair: semver.compare(*pair), lambda pair: oracle.ask("compare", *pair)["value"])
    assert bad == []


def test_sort_key_orders_like_go_semver_sort(oracle):
    rng = random.Random(6)
    for _ in range(50):
        sample = rng.sample(SEMVER_CASES, 25)
        assert sorted(sample, key=semver.sort_key) == oracle.ask("sort", *sample)["value"]


def test_pseudo_version_functions_equal_gos(oracle):
    cases = SEMVER_CASES + [
        "v0.0.0-20191109021931-daa7c04131f5", "v1.2.4-0.20191109021931-daa7c04131f5",
        "v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible", "v2.0.0-20191109021931-daa7c04131f5+incompatible",
        "v1.2.0-0.20191109021931-daa7c04131f5", "v0.0.0-20191309021931-daa7c04131f5",
        "v0.0.0-20190230021931-daa7c04131f5", "v0.0.0-00010101000000-000000000000",
    ]

    def ours(version):
        result = {"isPseudo": pseudo.is_pseudo_version(version)}
        if result["isPseudo"]:
            result["rev"] = pseudo.pseudo_version_rev(version)
        for key, function in (("time", pseudo.pseudo_version_time), ("base", pseudo.pseudo_version_base)):
            try:
                value = function(version)
                result[key] = value.isoformat().replace("+00:00", "Z") if key == "time" else value
            except GoProxyError:
                result[key + "Err"] = True
        return result

    def theirs(version):
        answer = oracle.ask("pseudo", version)["value"]
        return {key: (True if key.endswith("Err") else value) for key, value in answer.items()}

    assert mismatches(cases, ours, theirs) == []


# -- patterns -------------------------------------------------------------------------

GLOBS = ["*", "?", "a*", "*a", "a?c", "[abc]", "[^abc]", "[a-c]*", "[", "a[", "[]", "[]a]", "[-]", "[a-]",
         "[\\-a]", "\\*", "a\\", "*/b", "a/*", "[z-a]", "[^z-a]", "a[^/]b", "a[/]b", "日*", "*.com",
         "a*b*c", "**", "[\\]]", "[a-\\z]", "[a-b-c]", "?*?"]
NAMES = ["", "a", "b", "abc", "a/b", "a/c", "*", "]", "-", "ab", "a/b/c", "日本", "x.com", "axbxc", "aab", "/"]


def test_path_match_equals_go_path_match(oracle):
    cases = [(glob, name) for glob in GLOBS for name in NAMES]
    bad = mismatches(cases, lambda c: patterns.path_match(*c), lambda c: oracle.ask("pathMatch", *c)["value"])
    assert bad == []


def test_path_match_equals_go_on_random_star_heavy_globs(oracle):
    # The chunk algorithm's corners: stars before, between and after classes, escapes
    # and literals, against names built from the same letters.
    rng = random.Random(23)
    pieces = ["*", "*", "a", "b", "?", "[ab]", "[^a]", "\\*", "/", "c"]
    cases = [
        ("".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))),
         "".join(rng.choice("abc/*") for _ in range(rng.randint(0, 8))))
        for _ in range(3000)
    ]
    bad = mismatches(cases, lambda c: patterns.path_match(*c), lambda c: oracle.ask("pathMatch", *c)["value"])
    assert bad == []


def test_match_prefix_patterns_equals_gos(oracle):
    lists = ["", ",", "example.com", "example.com/", "*.example.com", "example.com/a,other.org", "example.com/*/c",
             "*", "*/*", "example.com/[", "example.com/[,*.org", "EXAMPLE.com", "example.com/a/"]
    targets = ["example.com", "example.com/a", "example.com/a/b", "example.com/a/b/c", "git.example.com/x",
               "other.org", "other.org/y", "example.comx/a", "x.org/a/b"]
    cases = [(glob, target) for glob in lists for target in targets]
    bad = mismatches(
        cases,
        lambda c: patterns._match_prefix_patterns(*c),  # noqa: SLF001 - Go's algorithm, before folding
        lambda c: oracle.ask("matchPrefixPatterns", *c)["value"],
    )
    assert bad == []
    # The proxy's own matching is Go's on case-folded inputs (a deliberate difference).
    folded = mismatches(
        [(glob, target.upper()) for glob, target in cases],
        lambda c: patterns.match_prefix_patterns(*c),
        lambda c: oracle.ask("matchPrefixPatterns", c[0].lower(), c[1].lower())["value"],
    )
    assert folded == []


# -- go.mod ---------------------------------------------------------------------------

GO_MOD_LINES = [
    "module example.com/m", 'module "example.com/q"', "module example.com/m // Deprecated: inline",
    "// Deprecated: above", "//", "// Intro.", "// Deprecated:", "// Deprecated: two\n// lines",
    "", "go 1.21", "go 1.13.x", "go 1.22rc1", "require example.com/a v1.0.0",
    "require example.com/b v1.2 // indirect", "require example.com/c v1.0.0 // indirect; note",
    "require example.com/d/v2 v2.1.0", "require (\n\texample.com/e v1.0.0\n\t// why\n\texample.com/f v1.1.0 // indirect\n)",
    "retract v1.0.0", "// Reason.\nretract v1.0.1", "retract [v1.1.0, v1.2.0] // range",
    "// Block reason.\nretract (\n\tv1.3.0\n\n\tv1.3.1\n\t// own\n\tv1.3.2\n)",
    "retract (\n\t// first\n\n\tv1.4.0\n)", "replace example.com/a => ../a", "exclude example.com/a v1.0.1",
    "toolchain go1.22.0", "godebug default=go1.21", "tool example.com/t", "require ()", "retract ( )",
    "// Deprecated: block\nmodule (\n\texample.com/b\n)",
]


def random_go_mods(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["\n".join(rng.choice(GO_MOD_LINES) for _ in range(rng.randint(1, 8))) + "\n" for _ in range(count)]


def test_parse_go_mod_equals_go_parse_lax_wherever_go_parses(oracle):
    compared = 0
    for text in random_go_mods(600, seed=7) + [line + "\n" for line in GO_MOD_LINES]:
        answer = oracle.ask("parseLax", text)
        if answer["err"]:
            continue  # Go refuses the file; this parser only promises a best effort
        compared += 1
        parsed = gomod.parse_go_mod(text.encode())
        ours = {
            "module": parsed.module,
            "go": parsed.go,
            "deprecated": parsed.deprecated or None,  # Go cannot tell "" from absent
            "requires": [[r.path, r.version, r.indirect] for r in parsed.requires],
            "retracts": [[r.low, r.high, r.rationale] for r in parsed.retracts],
        }
        assert ours == answer["value"], text
    assert compared > 200


def test_module_path_of_equals_go_module_path(oracle):
    for text in random_go_mods(300, seed=8) + ["modulex a", "module", "module `raw`", 'module "bad\n']:
        expected = oracle.ask("modulePath", text)["value"] or None
        if text.lstrip("/ \n").startswith("module (") or "\nmodule (" in text:
            continue  # Go answers "(" there; this package reads the block instead
        assert gomod.module_path_of(text.encode()) == expected, text


# -- hashes and zips ------------------------------------------------------------------


def test_hash_go_mod_equals_gos(oracle):
    for text in random_go_mods(50, seed=9) + ["", "module golang.org/x/text\n", "é\r\n"]:
        assert dirhash.hash_go_mod(text.encode()) == oracle.ask("hashGoMod", text)["value"]


MODULE, VERSION = "example.com/m", "v1.0.0"
P = f"{MODULE}@{VERSION}/"
GOOD = {"go.mod": b"module example.com/m\n", "m.go": b"package m\n"}


def unseekable_zip(entries) -> bytes:
    class Sink(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, chunk):
            self.data += chunk
            return len(chunk)

    sink = Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return bytes(sink.data)


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(P + "link")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, b"m.go")
    return buffer.getvalue()


def zip_of(files: dict, **options) -> bytes:
    return make_zip([(P + name, content) for name, content in files.items()], **options)


ZIPS = {
    "valid": zip_of(GOOD),
    "stored": zip_of(GOOD, compression=zipfile.ZIP_STORED),
    "no go.mod": zip_of({"m.go": b"package m\n"}),
    "empty": make_zip([]),
    "root dir only": make_zip([(P, b"")]),
    "directories": zip_of({"": b"", "sub/": b"", "sub/a.go": b"package sub\n", "go.mod": GOOD["go.mod"]}),
    "duplicate directory": make_zip([(P + "d/", b""), (P + "d/", b""), (P + "d/a", b"a")]),
    "wrong prefix": make_zip([("example.com/m@v1.0.1/go.mod", b"")]),
    "no prefix": make_zip([("go.mod", b"")]),
    "nested go.mod": zip_of({"sub/go.mod": b"module example.com/m/sub\n", "sub/a.go": b""}),
    "uppercase go.mod": zip_of({"GO.MOD": b""}),
    "case collision": zip_of({"README": b"1", "readme": b"2"}),
    "kelvin collision": zip_of({"k": b"1", "\u212a": b"2"}),
    "sigma collision": zip_of({"σ": b"1", "ς": b"2"}),
    "sharp s": zip_of({"straße": b"1", "STRASSE": b"2"}),
    "dotless i": zip_of({"ı": b"1", "I": b"2"}),
    "file and directory": zip_of({"a": b"1", "a/b": b"2"}),
    "duplicate file": make_zip([(P + "a", b"1"), (P + "a", b"2")]),
    "dot dot": make_zip([(P + "../x", b"")]),
    "absolute": make_zip([(P + "/etc/passwd", b"")]),
    "unclean": make_zip([(P + "a/./b", b"")]),
    "backslash": zip_of({"a\\b": b""}),
    "windows name": zip_of({"sub/COM3.txt": b""}),
    "unicode names": zip_of({"naïve/日本語.go": b"package x\n", "Ünïcode.md": b""}),
    "vendor and vcs": zip_of({"vendor/a/b.go": b"", ".git/config": b"", ".hg_archival.txt": b""}),
    "symlink": symlink_zip(),
    "bad crc": patch_entry(zip_of(GOOD), P + "m.go", crc=1),
    "zero crc": patch_entry(zip_of(GOOD), P + "m.go", crc=0),
    "larger than declared": patch_entry(zip_of(GOOD), P + "m.go", declared_size=3),
    "smaller than declared": patch_entry(zip_of(GOOD), P + "m.go", declared_size=300),
    "bad method": patch_entry(zip_of(GOOD), P + "m.go", method=12),
    "directory with size": patch_entry(zip_of({"d/": b"", "d/a": b"a"}), P + "d/", declared_size=5),
    "data descriptor": unseekable_zip([(P + "go.mod", GOOD["go.mod"]), (P + "m.go", b"package m\n")]),
    "nul in name": rename_raw(zip_of({"aXb": b""}), P + "aXb", (P + "a\0b").encode()),
    "latin-1 name": rename_raw(zip_of({"cYd": b""}), P + "cYd", P.encode() + b"c\xe9d"),
    "go.mod too large": zip_of({"go.mod": b"\n" * ((16 << 20) + 1)}),
    "LICENSE too large": zip_of({"LICENSE": b" " * ((16 << 20) + 1)}),
    "total too large": patch_entry(zip_of({"a": b"", "b": b""}), P + "a", declared_size=(500 << 20) + 1),
    "not a zip": b"this is not a zip file",
    "truncated": zip_of(GOOD)[:-10],
}


@pytest.mark.parametrize("name", list(ZIPS))
def test_validate_zip_accepts_exactly_what_go_accepts_and_hashes_the_same(oracle, tmp_path, name):
    path = tmp_path / "module.zip"
    path.write_bytes(ZIPS[name])
    go_hash = oracle.ask("hashZip", str(path))
    go_check = oracle.ask("checkZip", MODULE, VERSION, str(path))
    go_unzip = oracle.ask("unzip", MODULE, VERSION, str(path), str(tmp_path / "out"))
    go_accepts = not (go_hash["err"] or go_check["err"] or go_unzip["err"])

    try:
        summary = validate_zip(path, MODULE, VERSION)
    except InvalidZipError as exc:
        assert not go_accepts, f"we reject what Go accepts: {exc}"
    else:
        assert go_accepts, f"we accept what Go rejects: {go_check['err'] or go_unzip['err'] or go_hash['err']}"
        assert summary.zip_hash == go_hash["value"]
        assert sorted(P + name for name in summary.files) == (go_check["value"] or [])

    if not go_hash["err"]:
        assert dirhash.hash_zip(path) == go_hash["value"]
    else:
        with pytest.raises(InvalidZipError):
            dirhash.hash_zip(path)
