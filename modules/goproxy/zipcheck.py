"""Checking a module zip received from an upstream before it is stored or served.

The rules are golang.org/x/mod/zip's ``CheckZip`` plus the checks its ``Unzip`` makes
while extracting, i.e. exactly what the go command enforces on a zip it downloads:

* every entry is under ``<module>@<version>/``, with a clean, valid file path
  (module.CheckFilePath: no ``..``, no absolute paths, no backslashes, no shell
  specials, no Windows device names);
* no two entries collide under Unicode case folding, and no path is both a file and a
  directory;
* ``go.mod`` appears only at the root and only in lowercase (a go.mod deeper down is a
  nested module's, and its files do not belong in this zip);
* the zip is at most 500 MiB, the declared uncompressed total at most 500 MiB, go.mod
  and LICENSE at most 16 MiB each;
* every entry decompresses to exactly its declared size with a correct CRC. Contents are
  streamed and counted, never trusted from headers, so a zip bomb stops at the limit.

Directory entries are allowed, as in CheckZip: Go ignores them when extracting, though
they do count in the zip's h1 hash.

Everything else is a *notice*, never a refusal, because the go command downloads and
builds such a zip without a word:

* the rules only the creating side follows (``zip.Create``: no vendored package files,
  no VCS directories, no ``.hg_archival.txt``, no symlinks). CheckZip does not check
  them, some depend on the go version in go.mod and changed in Go 1.24, so zips served
  for years by proxy.golang.org break them;
* with ``expected_go_mod`` (the ``.mod`` served for the version), a zip go.mod that
  differs from it, or a zip without go.mod whose ``.mod`` is not the synthesized
  ``module <path>\\n``. The go command never compares the two (it builds with the
  ``.mod`` and extracts the zip), and proxy.golang.org still serves, for old modules
  without go.mod, the ``.mod`` it synthesized long ago from their dependency files.

Notices are returned in ``ZipSummary.notices`` for the caller to record and show.
"""

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable

from . import semver
from .dirhash import hash_digests
from .errors import GoProxyError, InvalidZipError, quote
from .gomod import GoMod, parse_go_mod
from .paths import check_file_path, check_path, check_path_major, clean, split_path_version
from .zipread import ZipEntry, ZipReader

MAX_ZIP_FILE = 500 << 20
MAX_GO_MOD = 16 << 20
MAX_LICENSE = 16 << 20

_VCS_DIRS = frozenset({".bzr", ".git", ".hg", ".svn"})
_LICENSE_RE = re.compile(r"(?:LICEN[CS]E|COPYING|UNLICENSE|MIT-LICENSE)(?:[.-][0-9A-Z.-]+)?", re.IGNORECASE)


@dataclass(frozen=True)
class ZipSummary:
    """What a valid module zip holds."""

    files: list[str]  # file paths relative to the module root, sorted
    go_mod: bytes | None  # the root go.mod, or None if the zip has none
    unpacked_size: int  # total bytes of all files once extracted
    license_name: str | None  # root license file for display (LICENSE preferred), or None
    zip_hash: str  # the h1 hash of the zip, as dirhash.hash_zip computes it
    notices: tuple["Notice", ...] = ()  # what the go command tolerates but did not create
    # The central directory as read, for the caller's file index (not part of equality).
    entries: tuple[ZipEntry, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Notice:
    """Something about a zip that the go command accepts but would not have created.

    ``code`` is stable (the UI and the audit key on it); ``message`` names the entry.
    """

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# Notice codes.
LEGACY_GO_MOD = "legacy-go-mod"  # the .mod is not the zip's go.mod (or the synthesized one)
VENDORED_PACKAGE = "vendored-package"
VCS_DIRECTORY = "vcs-directory"
HG_ARCHIVAL = "hg-archival"
NOT_REGULAR_FILE = "not-regular-file"
# At most this many notices of one code are listed; the last one says how many more.
_MAX_NOTICES_PER_CODE = 5


def validate_zip(
    file: str | os.PathLike | BinaryIO,
    module_path: str,
    version: str,
    *,
    max_zip_size: int = MAX_ZIP_FILE,
    max_go_mod_size: int = MAX_GO_MOD,
    max_license_size: int = MAX_LICENSE,
    max_unpacked_size: int = MAX_ZIP_FILE,
    expected_go_mod: bytes | None = None,
    parsed_go_mod: GoMod | None = None,
    max_files: int | None = None,
) -> ZipSummary:
    """Check a module zip for ``module_path@version``; return its summary and notices.

    Raises InvalidZipError naming the offending entry (``problems`` lists all of them)
    if the zip breaks a rule the go command enforces, is corrupt or is not a zip at all,
    and also if the module path or version is invalid or the version is not canonical.
    """
    _check_module_version(module_path, version)
    _check_file_size(file, max_zip_size)
    prefix = f"{module_path}@{version}/"
    limits = _Limits(max_go_mod_size, max_license_size, max_unpacked_size)
    with ZipReader(file, max_entries=max_files) as reader:
        _raise_if_any(_check_entries(reader.entries, prefix, limits))
        contents = _read_entries(reader, prefix)

    # The caller's parse of expected_go_mod, reused when the zip's go.mod is the same
    # bytes (a 15 MB go.mod takes seconds to parse).
    reuse = parsed_go_mod if expected_go_mod is not None and contents.go_mod == expected_go_mod else None
    notices = _create_side_notices(reader.entries, prefix, contents.go_mod, reuse)
    if expected_go_mod is not None:
        notices += _go_mod_notices(module_path, prefix, contents.go_mod, expected_go_mod)

    files = sorted(entry.name[len(prefix) :] for entry in reader.entries if _is_file(entry, prefix))
    return ZipSummary(
        files=files,
        go_mod=contents.go_mod,
        unpacked_size=contents.unpacked_size,
        license_name=_license_name(files),
        zip_hash=hash_digests((entry.name, contents.digests[entry.name]) for entry in reader.entries),
        notices=tuple(_capped(notices)),
        entries=tuple(reader.entries),
    )


@dataclass(frozen=True)
class _Limits:
    go_mod: int
    license: int
    unpacked: int


@dataclass(frozen=True)
class _Contents:
    go_mod: bytes | None
    unpacked_size: int
    digests: dict[str, str]  # entry name -> hex sha256 of its content


def _check_module_version(module_path: str, version: str) -> None:
    canonical = semver.canonical(version)
    if canonical != version:
        raise InvalidZipError(f"version {quote(version)} is not canonical (should be {quote(canonical)})")
    try:
        check_path(module_path)
        check_path_major(version, split_path_version(module_path)[1])
    except GoProxyError as exc:
        raise InvalidZipError(str(exc)) from None


def _check_file_size(file: str | os.PathLike | BinaryIO, limit: int) -> None:
    if hasattr(file, "seek"):
        size = file.seek(0, os.SEEK_END)
        file.seek(0)
    else:
        size = os.stat(file).st_size
    if size > limit:
        raise InvalidZipError(f"module zip file is too large ({size} bytes; limit is {limit} bytes)")


def _check_entries(entries: list[ZipEntry], prefix: str, limits: _Limits) -> list[str]:
    """CheckZip's per-entry rules; return the problems, the size problem first."""
    problems: list[str] = []
    size_problem = None
    collisions = _CollisionChecker()
    total = 0
    for entry in entries:
        problem = None
        if not entry.name.startswith(prefix):
            problem = f"path does not have prefix {quote(prefix)}"
        else:
            name = entry.name[len(prefix) :]
            if name == "":
                continue  # the module root directory itself
            is_dir = name.endswith("/")
            if is_dir:
                name = name[:-1]
            problem = _name_problem(name, is_dir, collisions)
            if problem is None and not is_dir:
                size = entry.declared_size
                if total + size <= limits.unpacked:
                    total += size
                elif size_problem is None:
                    size_problem = (
                        "total uncompressed size of module contents too large "
                        f"(max size is {limits.unpacked} bytes)"
                    )
                if name == "go.mod" and size > limits.go_mod:
                    problem = f"go.mod file too large (max size is {limits.go_mod} bytes)"
                elif name == "LICENSE" and size > limits.license:
                    problem = f"LICENSE file too large (max size is {limits.license} bytes)"
        if problem:
            problems.append(f"{_shown(entry.name)}: {problem}")
    return ([size_problem] if size_problem else []) + problems


def _name_problem(name: str, is_dir: bool, collisions: "_CollisionChecker") -> str | None:
    if clean(name) != name:
        return "file path is not clean"
    try:
        check_file_path(name)
    except GoProxyError as exc:
        return str(exc)
    problem = collisions.check(name, is_dir)
    if problem or is_dir:
        return problem
    base = name.rsplit("/", 1)[-1]
    if _fold(base) == "go.mod":
        if base != name:
            return "go.mod file not in module root directory"
        if name != "go.mod":
            return "go.mod files must have lowercase names"
    return None


class _CollisionChecker:
    """Finds paths equal under case folding, and paths used both as file and directory.

    A module must extract identically on case-insensitive file systems (macOS, Windows),
    where ``README`` and ``readme`` would overwrite each other.
    """

    def __init__(self):
        self._seen: dict[str, tuple[str, bool]] = {}

    def check(self, path: str, is_dir: bool) -> str | None:
        folded = _fold(path)
        if folded in self._seen:
            other, other_is_dir = self._seen[folded]
            if other != path:
                return f"case-insensitive file name collision: {quote(other)} and {quote(path)}"
            if other_is_dir != is_dir:
                return f"entry {quote(path)} is both a file and a directory"
            if not is_dir:
                return f"multiple entries for file {quote(path)}"
            # The same directory is seen many times (once per file in it): fine.
        else:
            self._seen[folded] = (path, is_dir)
        parent = path.rpartition("/")[0]
        return self.check(parent, True) if parent else None


def _fold(text: str) -> str:
    """A key equal for two strings exactly when Go's zip package says they collide.

    Go compares names under Unicode *simple* case folding (strToFold). Python only offers
    full folding, which also maps "ß" to "ss" and "İ" to "i̇" and so would join names Go
    keeps apart; where the full fold is more than one character, the character's simple
    lowercase (or the character itself) stands in for it.
    """
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(char) for char in text)


# Simple folds added in Unicode 15, missing from the tables of older Pythons.
_NEWER_SIMPLE_FOLDS = {"\u1fd3": "\u0390", "\u1fe3": "\u03b0", "\ufb05": "\ufb06"}


def _fold_char(char: str) -> str:
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    char = _NEWER_SIMPLE_FOLDS.get(char, char)
    lower = char.lower()
    return lower if len(lower) == 1 else char


def _read_entries(reader: ZipReader, prefix: str) -> _Contents:
    """Read every entry as Unzip and HashZip do: exact sizes, CRCs, streamed hashing."""
    go_mod = None
    unpacked = 0
    digests = {}
    for entry in reader.entries:
        digest = hashlib.sha256()
        keep = entry.name == prefix + "go.mod"
        kept = []
        for chunk in reader.read_chunks(entry):
            digest.update(chunk)
            if keep:
                kept.append(chunk)  # bounded: go.mod's declared size was checked
        digests[entry.name] = digest.hexdigest()
        if not entry.is_dir:
            unpacked += entry.declared_size
        if keep:
            go_mod = b"".join(kept)
    return _Contents(go_mod=go_mod, unpacked_size=unpacked, digests=digests)


def _create_side_notices(
    entries: list[ZipEntry], prefix: str, go_mod: bytes | None, parsed: GoMod | None = None,
) -> list[Notice]:
    """The rules zip.Create applies when building a zip, which CheckZip does not check."""
    go_version = parsed.go if parsed is not None else _go_version(go_mod)
    notices = []
    for entry in entries:
        name = entry.name[len(prefix) :]
        if name == "":
            continue
        parts = name.rstrip("/").split("/")
        directories = parts if entry.is_dir else parts[:-1]
        notice = None
        if any(part in _VCS_DIRS for part in directories):
            notice = (VCS_DIRECTORY, "directory is a version control repository")
        elif entry.is_dir:
            continue
        elif _is_vendored_package(name, go_version):
            notice = (VENDORED_PACKAGE, "file is in vendor directory")
        elif name == ".hg_archival.txt":
            notice = (HG_ARCHIVAL, "file is inserted by 'hg archive' and is always omitted")
        elif entry.unix_mode is not None and stat.S_IFMT(entry.unix_mode) not in (0, stat.S_IFREG):
            what = "file is a symbolic link" if stat.S_ISLNK(entry.unix_mode) else "not a regular file"
            notice = (NOT_REGULAR_FILE, what)
        if notice:
            notices.append(Notice(notice[0], f"{_shown(entry.name)}: {notice[1]}"))
    return notices


def _go_version(go_mod: bytes | None) -> str | None:
    """The go line of the zip's go.mod, for the vendor rule; None if absent or unparsable
    (the go command itself never parses the zip's go.mod when it downloads)."""
    if go_mod is None:
        return None
    try:
        return parse_go_mod(go_mod).go
    except GoProxyError:
        return None


def _capped(notices: list[Notice]) -> list[Notice]:
    """At most a few notices of each code: a zip of 100,000 vendored files is one fact."""
    counts: dict[str, int] = {}
    for notice in notices:
        counts[notice.code] = counts.get(notice.code, 0) + 1
    kept, seen = [], dict.fromkeys(counts, 0)
    for notice in notices:
        seen[notice.code] += 1
        if seen[notice.code] < _MAX_NOTICES_PER_CODE or counts[notice.code] == _MAX_NOTICES_PER_CODE:
            kept.append(notice)
        elif seen[notice.code] == _MAX_NOTICES_PER_CODE:
            more = counts[notice.code] - _MAX_NOTICES_PER_CODE
            kept.append(Notice(notice.code, f"{notice.message} (and {more} more like it)"))
    return kept


def _is_vendored_package(name: str, go_version: str | None) -> bool:
    """zip's isVendoredPackage: a file in a package under some ``vendor/`` directory.

    Files directly in ``vendor/`` are kept (they are not a package's), except that from
    go 1.24 on ``vendor/modules.txt`` is dropped too and a nested ``x/vendor/`` is read
    correctly; older go.mod files keep the old behaviour so old hashes stay valid.
    """
    modern = _go_lang_at_least(go_version, (1, 24))
    if modern and name == "vendor/modules.txt":
        return True
    if name.startswith("vendor/"):
        start = len("vendor/")
    elif "/vendor/" in name:
        # Before 1.24 the index was computed wrongly, as if "/vendor/" were at the start.
        start = name.index("/vendor/") + len("/vendor/") if modern else len("/vendor/")
    else:
        return False
    return "/" in name[start:]


def _go_lang_at_least(go_version: str | None, wanted: tuple[int, int]) -> bool:
    match = re.match(r"([0-9]+)\.([0-9]+)", go_version or "")
    return bool(match) and (int(match.group(1)), int(match.group(2))) >= wanted


def _go_mod_notices(module_path: str, prefix: str, go_mod: bytes | None, expected: bytes) -> list[Notice]:
    if go_mod is None:
        synthesized = f"module {module_path}\n".encode()
        if expected != synthesized:
            return [Notice(LEGACY_GO_MOD, f"{prefix}: the zip has no go.mod and the .mod file is not the "
                                          f"synthesized {quote(synthesized.decode())}")]
        return []
    if go_mod != expected:
        return [Notice(LEGACY_GO_MOD, f"{prefix}go.mod: differs from the .mod file served for this version")]
    return []


def _license_name(files: Iterable[str]) -> str | None:
    """The root license file to show: ``LICENSE`` if present, else the first look-alike."""
    root_files = sorted(name for name in files if "/" not in name)
    if "LICENSE" in root_files:
        return "LICENSE"
    return next((name for name in root_files if _LICENSE_RE.fullmatch(name)), None)


def _is_file(entry: ZipEntry, prefix: str) -> bool:
    return not entry.is_dir and len(entry.name) > len(prefix)


def _shown(name: str) -> str:
    """An entry name fit for a message: as is if printable, else quoted and escaped.

    Names come from the zip unchecked and may hold control characters or bytes that are
    not UTF-8 (kept as surrogates), which must not reach a log line or HTTP body raw.
    """
    return name if name.isprintable() else quote(name)


def _raise_if_any(problems: list[str]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InvalidZipError(problems[0] + more, tuple(problems))
