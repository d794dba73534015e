"""Build Go module versions as a static GOPROXY tree on disk.

Why this exists: the project is a GOPROXY server, and its end-to-end tests need an
*upstream* that speaks the protocol exactly like proxy.golang.org does, without the
internet.  The GOPROXY protocol is static enough that a directory tree is a complete
upstream::

    <root>/<escaped module>/@v/list
    <root>/<escaped module>/@v/<escaped version>.info
    <root>/<escaped module>/@v/<escaped version>.mod
    <root>/<escaped module>/@v/<escaped version>.zip
    <root>/<escaped module>/@latest

Such a tree can be served by ``tests.support.upstream.StaticProxyServer`` or even used
directly by the real go command as ``GOPROXY=file:///<root>``.

The rules encoded here are the ones in ``/work/shared/docs/protocol.md`` (and
``cmd/go/internal/modfetch/proxy.go``), because the real go command rejects anything
else:

* ``!``-case-escaping of module paths *and* versions (``Upper`` -> ``!upper``).  It is
  implemented here on purpose instead of importing the project's own implementation:
  test fixtures must not depend on the code under test, so that the proxy's own
  escaping, version order and h1 hashes are checked against an independent copy.
* ``.info`` is ``{"Version": ..., "Time": ...}`` with an RFC 3339 UTC ``Z`` time.
* ``.mod`` is the go.mod byte for byte, or exactly ``module <path>\\n`` when the module
  has none (``+incompatible`` versions).
* ``.zip`` entries are ``<module>@<version>/<relpath>``, no directory entries, and the
  zip's go.mod (if any) equals ``.mod``.  Zips are byte-for-byte deterministic (fixed
  entry order and timestamps) so hashes are stable across test runs.
* ``@v/list`` holds only non-pseudo versions (by default) and ``@latest`` follows Go's
  rule: highest release, else highest prerelease, else newest pseudo-version.

Files are written atomically (temp file + rename) so a server may serve the tree while a
test publishes new versions into it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Mapping

__all__ = [
    "HOST",
    "ModuleVersionFiles",
    "ProxyTree",
    "build_zip",
    "escape_path",
    "escape_version",
    "expected_output",
    "format_time",
    "h1_hash",
    "h1_mod_hash",
    "h1_zip_hash",
    "is_pseudo_version",
    "is_semver",
    "latest_version",
    "semver_key",
    "standard_fixture",
    "unescape_path",
    "unescape_version",
    "write_program",
]

#: Host of every module in the standard fixture.  ``.test`` is reserved (RFC 2606), so
#: nothing can ever resolve it: a request that escapes to the internet fails loudly.
HOST = "mods.example.test"

# --------------------------------------------------------------------------- escaping


def escape_path(path: str) -> str:
    """``!``-escape a module path: every uppercase letter becomes ``!`` + lowercase.

    The go command does this so module paths survive case-insensitive file systems and
    URLs.  A ``!`` in the input is refused, as Go refuses it in module paths.
    """
    if "!" in path:
        raise ValueError(f"invalid character '!' in {path!r}")
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in path)


def unescape_path(escaped: str) -> str:
    """Invert :func:`escape_path`; rejects raw uppercase, ``!`` not followed by a-z and
    a trailing ``!`` (the same rules as golang.org/x/mod ``module.UnescapePath``)."""
    out: list[str] = []
    bang = False
    for c in escaped:
        if bang:
            if not ("a" <= c <= "z"):
                raise ValueError(f"invalid escape {'!' + c!r} in {escaped!r}")
            out.append(c.upper())
            bang = False
        elif c == "!":
            bang = True
        elif "A" <= c <= "Z":
            raise ValueError(f"unescaped uppercase letter {c!r} in {escaped!r}")
        else:
            out.append(c)
    if bang:
        raise ValueError(f"trailing '!' in {escaped!r}")
    return "".join(out)


# Versions use the very same encoding (``v1.5.3-!p!r!e``).
escape_version = escape_path
unescape_version = unescape_path

# --------------------------------------------------------------------------- versions

_SEMVER_RE = re.compile(
    r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# golang.org/x/mod/module pseudoVersionRE
_PSEUDO_RE = re.compile(
    r"^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
_PSEUDO_TIME_RE = re.compile(r"(\d{14})-[A-Za-z0-9]+(?:\+[0-9A-Za-z.-]+)?$")


def is_semver(version: str) -> bool:
    """True for a full canonical-looking semantic version ``vX.Y.Z[-pre][+build]``."""
    return _SEMVER_RE.match(version) is not None


def is_pseudo_version(version: str) -> bool:
    """True for the three pseudo-version forms (``v0.0.0-20240102030405-abcdef123456``,
    ``vX.Y.(Z+1)-0.<time>-<rev>``, ``vX.Y.Z-pre.0.<time>-<rev>``)."""
    return is_semver(version) and _PSEUDO_RE.match(version) is not None


def is_prerelease(version: str) -> bool:
    m = _SEMVER_RE.match(version)
    return bool(m and m.group(4))


def semver_key(version: str) -> tuple:
    """Sort key implementing semver precedence (build metadata such as
    ``+incompatible`` is ignored, as in Go's ``semver.Compare``)."""
    m = _SEMVER_RE.match(version)
    if not m:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    if pre is None:
        pre_key: tuple = (1,)
    else:
        ids = []
        for ident in pre.split("."):
            ids.append((0, int(ident), "") if ident.isdigit() else (1, 0, ident))
        pre_key = (0, tuple(ids))
    return (major, minor, patch, pre_key)


def _sort_key(version: str) -> tuple:
    """semver order; non-semver strings (written by tests on purpose) sort first."""
    return (1, semver_key(version)) if is_semver(version) else (0, version)


def pseudo_version_time(version: str) -> datetime:
    """The UTC timestamp embedded in a pseudo-version."""
    m = _PSEUDO_TIME_RE.search(version)
    if not m or not is_pseudo_version(version):
        raise ValueError(f"not a pseudo-version: {version!r}")
    return datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


def latest_version(versions: Iterable[str]) -> str | None:
    """Go's ``@latest`` rule: highest release, else highest prerelease, else the newest
    pseudo-version (pseudo-versions sort by their embedded time within a base)."""
    vs = [v for v in versions if is_semver(v)]
    releases = [v for v in vs if not is_prerelease(v)]
    if releases:
        return max(releases, key=semver_key)
    pres = [v for v in vs if not is_pseudo_version(v)]
    if pres:
        return max(pres, key=semver_key)
    pseudos = [v for v in vs if is_pseudo_version(v)]
    if pseudos:
        return max(pseudos, key=lambda v: (semver_key(v), pseudo_version_time(v)))
    return None


# --------------------------------------------------------------------------- time


def format_time(t: datetime) -> str:
    """RFC 3339 in the UTC ``Z`` form the go command and proxy.golang.org use;
    fractional seconds only when present (like Go's ``time.RFC3339Nano``)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    t = t.astimezone(timezone.utc)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += ("." + f"{t.microsecond:06d}").rstrip("0")
    return s + "Z"


def _parse_time(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


#: First default timestamp; each version added without an explicit time gets one hour
#: more, so default times are deterministic and increase in insertion order.
BASE_TIME = datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone.utc)

# --------------------------------------------------------------------------- hashes


def h1_hash(files: Mapping[str, bytes]) -> str:
    """Go's ``dirhash.Hash1``: what go.sum holds.  ``files`` maps names to contents."""
    summary = "".join(
        f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files)
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def h1_zip_hash(zip_bytes: bytes) -> str:
    """h1 hash of a module zip (names are the full zip entry names)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return h1_hash({info.filename: zf.read(info) for info in zf.infolist()})


def h1_mod_hash(mod_bytes: bytes) -> str:
    """h1 hash of a go.mod, as in the ``<module> <version>/go.mod h1:...`` go.sum line."""
    return h1_hash({"go.mod": mod_bytes})


# --------------------------------------------------------------------------- zips

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _check_rel_name(name: str) -> None:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or name.endswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise ValueError(f"invalid file name in module: {name!r}")


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def build_zip(
    module: str,
    version: str,
    files: Mapping[str, str | bytes],
    *,
    prefix: str | None = None,
    validate: bool = True,
) -> bytes:
    """Deterministic module zip: entries ``<module>@<version>/<name>`` in sorted order,
    fixed timestamps, no directory entries.

    ``prefix`` and ``validate=False`` exist to build *bad* zips (wrong prefix,
    ``../`` names) for tests of the proxy's zip validation.
    """
    if prefix is None:
        prefix = f"{module}@{version}/"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            if validate:
                _check_rel_name(name)
            info = zipfile.ZipInfo(prefix + name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr permissions are meaningful
            info.external_attr = 0o644 << 16
            zf.writestr(info, _as_bytes(files[name]))
    return buf.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class ModuleVersionFiles:
    """The three files of one module version in a :class:`ProxyTree`, with their bytes
    (as written) and the URL paths a client requests, for assertions such as
    "the proxy served exactly these bytes" or "the upstream saw this request"."""

    module: str
    version: str
    time: str
    info_path: Path
    mod_path: Path
    zip_path: Path
    info_bytes: bytes
    mod_bytes: bytes
    zip_bytes: bytes
    listed: bool

    @property
    def escaped_module(self) -> str:
        return escape_path(self.module)

    @property
    def escaped_version(self) -> str:
        return escape_version(self.version)

    def url_path(self, ext: str) -> str:
        """URL path (leading ``/``, unencoded ``!``) of ``info``, ``mod`` or ``zip``."""
        ext = ext.lstrip(".")
        if ext not in ("info", "mod", "zip"):
            raise ValueError(ext)
        return f"/{self.escaped_module}/@v/{self.escaped_version}.{ext}"

    @property
    def info(self) -> dict:
        return json.loads(self.info_bytes)

    @property
    def zip_hash(self) -> str:
        """go.sum ``h1:`` hash of the zip."""
        return h1_zip_hash(self.zip_bytes)

    @property
    def mod_hash(self) -> str:
        """go.sum ``h1:`` hash of the go.mod (the ``/go.mod`` line)."""
        return h1_mod_hash(self.mod_bytes)

    def zip_names(self) -> list[str]:
        with zipfile.ZipFile(io.BytesIO(self.zip_bytes)) as zf:
            return zf.namelist()

    def go_sum_lines(self) -> list[str]:
        """The two lines ``go mod download`` adds to go.sum for this version."""
        return [
            f"{self.module} {self.version} {self.zip_hash}",
            f"{self.module} {self.version}/go.mod {self.mod_hash}",
        ]


@dataclass
class _VersionRecord:
    time: str
    listed: bool


class ProxyTree:
    """A static GOPROXY tree rooted at ``root``.

    Creating a ProxyTree over an existing directory reloads its modules from disk (so a
    copy of a tree made with ``shutil.copytree`` can be extended).  ``description`` is
    set by :func:`standard_fixture`.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.description: dict | None = None
        self._modules: dict[str, dict[str, _VersionRecord]] = {}
        self._clock = 0
        self._load_existing()

    def __repr__(self) -> str:
        return f"ProxyTree({str(self.root)!r})"

    # -- paths
    def module_dir(self, module: str) -> Path:
        return self.root / escape_path(module)

    def version_path(self, module: str, version: str, ext: str) -> Path:
        return self.module_dir(module) / "@v" / f"{escape_version(version)}.{ext.lstrip('.')}"

    def list_path(self, module: str) -> Path:
        return self.module_dir(module) / "@v" / "list"

    def latest_path(self, module: str) -> Path:
        return self.module_dir(module) / "@latest"

    # -- queries
    def modules(self) -> list[str]:
        return sorted(self._modules)

    def versions(self, module: str) -> list[str]:
        """All versions of ``module`` (listed or not), in semver order."""
        return sorted(self._modules.get(module, {}), key=_sort_key)

    def listed_versions(self, module: str) -> list[str]:
        """What ``@v/list`` holds."""
        recs = self._modules.get(module, {})
        return sorted((v for v, r in recs.items() if r.listed), key=_sort_key)

    def latest(self, module: str) -> str | None:
        """What ``@latest`` answers (see :meth:`_write_index`)."""
        recs = self._modules.get(module, {})
        listed = [v for v, r in recs.items() if r.listed]
        return latest_version(listed or list(recs))

    def files(self, module: str, version: str) -> ModuleVersionFiles:
        """The files of an existing version, read back from disk (a missing file, e.g.
        after ``write_raw`` without it, reads as ``b""``)."""
        rec = self._modules[module][version]
        paths = {ext: self.version_path(module, version, ext) for ext in ("info", "mod", "zip")}
        return ModuleVersionFiles(
            module=module,
            version=version,
            time=rec.time,
            info_path=paths["info"],
            mod_path=paths["mod"],
            zip_path=paths["zip"],
            info_bytes=_read_or_empty(paths["info"]),
            mod_bytes=_read_or_empty(paths["mod"]),
            zip_bytes=_read_or_empty(paths["zip"]),
            listed=rec.listed,
        )

    # -- mutation
    def _next_time(self) -> datetime:
        t = BASE_TIME + timedelta(hours=self._clock)
        self._clock += 1
        return t

    def add_version(
        self,
        module: str,
        version: str,
        files: Mapping[str, str | bytes],
        *,
        time: datetime | str | None = None,
        go_mod: str | bytes | None = None,
        listed: bool | None = None,
    ) -> ModuleVersionFiles:
        """Write ``.info``, ``.mod`` and ``.zip`` of ``module@version`` and regenerate
        the module's ``@v/list`` and ``@latest``.

        * ``files``: relative path -> content of the module's files (go.mod included
          if the module has one).
        * ``go_mod``: the .mod to serve; when ``files`` has no go.mod it is also put in
          the zip (the zip's go.mod must equal .mod).  Default: ``files["go.mod"]``,
          else exactly ``module <path>\\n`` (and the zip has no go.mod).
        * ``time``: default is derived from a pseudo-version, else a deterministic
          increasing timestamp.
        * ``listed``: default lists every non-pseudo version.
        """
        if not is_semver(version):
            raise ValueError(f"not a canonical semantic version: {version!r}")
        escape_path(module)  # validates: no '!'
        files = {name: _as_bytes(data) for name, data in files.items()}
        for name in files:
            _check_rel_name(name)
        if go_mod is not None:
            mod = _as_bytes(go_mod)
            if "go.mod" in files and files["go.mod"] != mod:
                raise ValueError(
                    "files['go.mod'] differs from go_mod: the zip's go.mod must equal .mod "
                    "(use ProxyTree.write_raw to build an inconsistent version on purpose)"
                )
            files["go.mod"] = mod
        elif "go.mod" in files:
            mod = files["go.mod"]
        else:
            mod = f"module {module}\n".encode()

        if time is None:
            t = pseudo_version_time(version) if is_pseudo_version(version) else self._next_time()
        else:
            t = _parse_time(time)
        time_str = format_time(t)
        info = json.dumps({"Version": version, "Time": time_str}, separators=(",", ":")).encode()
        zip_bytes = build_zip(module, version, files)
        if listed is None:
            listed = not is_pseudo_version(version)
        return self.write_raw(
            module, version, info=info, mod=mod, zip=zip_bytes, listed=listed, time=time_str
        )

    def write_raw(
        self,
        module: str,
        version: str,
        *,
        info: bytes | dict | None = None,
        mod: bytes | str | None = None,
        zip: bytes | None = None,
        listed: bool | None = None,
        time: str | None = None,
    ) -> ModuleVersionFiles:
        """Write the given files as-is (no consistency checks) and regenerate the
        indexes.  For negative tests: an upstream serving a bad zip, a .info naming a
        different version, a .mod that differs from the zip's go.mod...  Files not
        given are left alone (or missing, which makes them 404)."""
        if isinstance(info, dict):
            info = json.dumps(info, separators=(",", ":")).encode()
        if info is not None:
            _atomic_write(self.version_path(module, version, "info"), info)
        if mod is not None:
            _atomic_write(self.version_path(module, version, "mod"), _as_bytes(mod))
        if zip is not None:
            _atomic_write(self.version_path(module, version, "zip"), zip)
        if time is None:
            time = _info_time(self.version_path(module, version, "info")) or format_time(
                self._next_time()
            )
        if listed is None:
            listed = not is_pseudo_version(version)
        self._modules.setdefault(module, {})[version] = _VersionRecord(time=time, listed=listed)
        self._write_index(module)
        paths = {ext: self.version_path(module, version, ext) for ext in ("info", "mod", "zip")}
        return ModuleVersionFiles(
            module=module,
            version=version,
            time=time,
            info_path=paths["info"],
            mod_path=paths["mod"],
            zip_path=paths["zip"],
            info_bytes=_read_or_empty(paths["info"]),
            mod_bytes=_read_or_empty(paths["mod"]),
            zip_bytes=_read_or_empty(paths["zip"]),
            listed=listed,
        )

    def remove_version(self, module: str, version: str) -> None:
        """Delete a version (simulates an upstream losing it: a caching proxy must keep
        serving its copy).  Removing the last version removes list and @latest, so the
        module becomes a 404."""
        for ext in ("info", "mod", "zip"):
            self.version_path(module, version, ext).unlink(missing_ok=True)
        recs = self._modules.get(module, {})
        recs.pop(version, None)
        if not recs:
            self._modules.pop(module, None)
        self._write_index(module)

    def _write_index(self, module: str) -> None:
        recs = self._modules.get(module)
        if not recs:
            self.list_path(module).unlink(missing_ok=True)
            self.latest_path(module).unlink(missing_ok=True)
            return
        listed = self.listed_versions(module)
        _atomic_write(self.list_path(module), "".join(v + "\n" for v in listed).encode())
        latest = self.latest(module)
        info_path = self.version_path(module, latest, "info") if latest else None
        if info_path is not None and info_path.exists():
            _atomic_write(self.latest_path(module), info_path.read_bytes())
        else:
            self.latest_path(module).unlink(missing_ok=True)

    def _load_existing(self) -> None:
        count = 0
        for dirpath, dirnames, _filenames in os.walk(self.root):
            if os.path.basename(dirpath) != "@v":
                continue
            dirnames[:] = []
            vdir = Path(dirpath)
            try:
                module = unescape_path(vdir.parent.relative_to(self.root).as_posix())
            except ValueError:
                continue
            listed = set()
            if (vdir / "list").exists():
                listed = set((vdir / "list").read_text().split())
            for info_file in vdir.glob("*.info"):
                try:
                    version = unescape_version(info_file.name[: -len(".info")])
                except ValueError:
                    continue
                time = _info_time(info_file) or format_time(BASE_TIME)
                self._modules.setdefault(module, {})[version] = _VersionRecord(
                    time=time, listed=version in listed
                )
                count += 1
        self._clock = count


def _read_or_empty(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _info_time(path: Path) -> str | None:
    try:
        return json.loads(path.read_bytes()).get("Time")
    except (OSError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- standard fixture


def _go_mod(module: str, *requires: str, extra: str = "", module_comment: str = "") -> str:
    line = f"module {module}"
    if module_comment:
        line += f" // {module_comment}"
    text = f"{line}\n\ngo 1.21\n"
    if requires:
        text += "\n" + "".join(f"require {r}\n" for r in requires)
    if extra:
        text += "\n" + extra
    return text


def _func_file(package: str, doc: str, func: str, value: str, imports: str = "") -> str:
    imp = f'\nimport "{imports}"\n' if imports else ""
    return (
        f"// Package {package} {doc}\n"
        f"package {package}\n{imp}\n"
        f"// {func} returns a string naming the module version it was built from.\n"
        f"func {func}() string {{\n\treturn {value}\n}}\n"
    )


_LICENSE = "Test fixture module for the GOPROXY test suite.  Public domain.\n"

#: How a program built by :func:`write_program` uses each standard package:
#: import path -> (import alias, call expression, output format).  ``{v}`` in the output
#: format is the selected version of the package's module.
PACKAGES: dict[str, tuple[str, str, str]] = {
    f"{HOST}/hello": ("hello", "Hello()", "hello {v}"),
    f"{HOST}/hello/world": ("world", "World()", "world from hello {v}"),
    f"{HOST}/hello/v2": ("hellov2", "Hello()", "hello {v}"),
    f"{HOST}/Upper/Case": ("uppercase", "Name()", "Upper/Case {v}"),
    f"{HOST}/pseudo": ("pseudo", "Version()", "pseudo {v}"),
    f"{HOST}/greeter": ("greeter", "Greet()", "greeter {v} says {hello}"),
    f"{HOST}/retracted": ("retracted", "Version()", "retracted {v}"),
    f"{HOST}/incompat": ("incompat", "Version()", "incompat {v}"),
}

#: Package import path -> module path (for packages not at a module root).
_PACKAGE_MODULE = {f"{HOST}/hello/world": f"{HOST}/hello"}


def standard_fixture(tree: ProxyTree) -> dict:
    """Populate ``tree`` with the modules the end-to-end tests use and return (and store
    as ``tree.description``) a description::

        {
          "host": "mods.example.test",
          "missing_module": "mods.example.test/does-not-exist",   # never present
          "modules": {
             "<key>": {
                "path": module path, "escaped_path": ..., "package": root package
                import path, "package_name": Go package name, "versions": all versions
                (semver order), "listed": @v/list content, "latest": @latest version,
                "outputs": {version: string its function returns},
                # per-module extras: "requires", "retracted", "deprecated",
                # "subpackages", "go_mod" (True if the zip has a go.mod)
             }, ...
          },
          "all_versions": [(module path, version), ...],   # every version in the tree
          "files": {(module path, version): ModuleVersionFiles},
        }

    Keys: ``hello``, ``hello_v2``, ``upper``, ``pseudo``, ``greeter``, ``retracted``,
    ``incompat``.  Every Go file compiles; modules with a go.mod say ``go 1.21``.
    """
    desc: dict = {"host": HOST, "missing_module": f"{HOST}/does-not-exist", "modules": {}}
    files: dict[tuple[str, str], ModuleVersionFiles] = {}

    def record(key: str, module: str, package_name: str, extra: dict | None = None) -> dict:
        info = {
            "path": module,
            "escaped_path": escape_path(module),
            "package": module,
            "package_name": package_name,
            "versions": tree.versions(module),
            "listed": tree.listed_versions(module),
            "latest": tree.latest(module),
            "outputs": {},
            "go_mod": True,
        }
        fmt = PACKAGES[module][2]
        for v in info["versions"]:
            info["outputs"][v] = fmt.format(v=v, hello=PACKAGES[f"{HOST}/hello"][2].format(v="v1.1.0"))
        info.update(extra or {})
        desc["modules"][key] = info
        return info

    # (a) hello: releases, a prerelease between them, a subpackage and a LICENSE.
    hello = f"{HOST}/hello"
    for v in ("v1.0.0", "v1.1.0", "v1.2.0-beta.1", "v1.2.0"):
        files[(hello, v)] = tree.add_version(
            hello,
            v,
            {
                "go.mod": _go_mod(hello),
                "LICENSE": _LICENSE,
                "hello.go": _func_file("hello", "says hello.", "Hello", f'"hello {v}"'),
                "world/world.go": _func_file(
                    "world", "is a subpackage of module hello.", "World", f'"world from hello {v}"'
                ),
            },
        )
    record("hello", hello, "hello", {"subpackages": [f"{hello}/world"]})

    # (b) hello/v2: a different module from hello, same package name.
    hello2 = f"{HOST}/hello/v2"
    v = "v2.0.0"
    files[(hello2, v)] = tree.add_version(
        hello2,
        v,
        {
            "go.mod": _go_mod(hello2),
            "hello.go": _func_file("hello", "is major version 2.", "Hello", f'"hello {v}"'),
        },
    )
    record("hello_v2", hello2, "hello")

    # (c) Upper/Case: !-escaped path; also a prerelease with uppercase letters, whose
    # version is !-escaped too (v0.1.1-!r!c.1).
    upper = f"{HOST}/Upper/Case"
    for v in ("v0.1.0", "v0.1.1-RC.1"):
        files[(upper, v)] = tree.add_version(
            upper,
            v,
            {
                "go.mod": _go_mod(upper),
                "case.go": _func_file(
                    "uppercase", "lives at a path with uppercase letters.", "Name", f'"Upper/Case {v}"'
                ),
            },
        )
    record("upper", upper, "uppercase")

    # (d) pseudo: only a pseudo-version; list is empty, @latest has it.
    pseudo = f"{HOST}/pseudo"
    v = "v0.0.0-20240102030405-abcdef123456"
    files[(pseudo, v)] = tree.add_version(
        pseudo,
        v,
        {
            "go.mod": _go_mod(pseudo),
            "pseudo.go": _func_file("pseudo", "has no tags.", "Version", f'"pseudo {v}"'),
        },
    )
    record("pseudo", pseudo, "pseudo")

    # (e) greeter requires and imports hello v1.1.0 (MVS may select a newer hello).
    greeter = f"{HOST}/greeter"
    v = "v1.0.0"
    files[(greeter, v)] = tree.add_version(
        greeter,
        v,
        {
            "go.mod": _go_mod(greeter, f"{hello} v1.1.0"),
            "greeter.go": _func_file(
                "greeter",
                "depends on module hello.",
                "Greet",
                f'"greeter {v} says " + hello.Hello()',
                imports=hello,
            ),
        },
    )
    record("greeter", greeter, "greeter", {"requires": {hello: "v1.1.0"}})

    # (f) retracted: v1.2.0's go.mod retracts v1.1.0 and deprecates the module.
    retracted = f"{HOST}/retracted"
    for v in ("v1.0.0", "v1.1.0", "v1.2.0"):
        if v == "v1.2.0":
            gomod = _go_mod(
                retracted,
                module_comment="Deprecated: use x instead",
                extra="retract v1.1.0 // broken\n",
            )
        else:
            gomod = _go_mod(retracted)
        files[(retracted, v)] = tree.add_version(
            retracted,
            v,
            {
                "go.mod": gomod,
                "retracted.go": _func_file(
                    "retracted", "has a retracted version.", "Version", f'"retracted {v}"'
                ),
            },
        )
    record(
        "retracted",
        retracted,
        "retracted",
        {"retracted": {"v1.1.0": "broken"}, "deprecated": "use x instead"},
    )

    # (g) incompat: v2 tag without go.mod at a path without /v2.
    incompat = f"{HOST}/incompat"
    v = "v2.0.0+incompatible"
    files[(incompat, v)] = tree.add_version(
        incompat,
        v,
        {"incompat.go": _func_file("incompat", "has no go.mod.", "Version", f'"incompat {v}"')},
    )
    record("incompat", incompat, "incompat", {"go_mod": False})

    desc["all_versions"] = [(m, v) for m in tree.modules() for v in tree.versions(m)]
    desc["files"] = files
    tree.description = desc
    return desc


# --------------------------------------------------------------------------- programs

PROGRAM_MODULE = "example.test/prog"


def _package_module(pkg: str) -> str:
    return _PACKAGE_MODULE.get(pkg, pkg)


def write_program(
    dir: Path,
    requires: Mapping[str, str],
    *,
    imports: Iterable[str] | None = None,
    calls: Mapping[str, tuple[str, str]] | None = None,
    module: str = PROGRAM_MODULE,
    go_version: str = "1.21",
) -> Path:
    """Write a ``main`` module (``example.test/prog``) into ``dir`` whose go.mod requires
    ``requires`` (module path -> version) and whose main.go imports the packages and
    prints one line per package, so ``go build``/``go run`` exercise the whole
    download path (list/info/mod/zip, MVS, go.sum).

    ``imports`` defaults to the root package of every required module that
    :data:`PACKAGES` knows; pass package paths explicitly to import e.g.
    ``mods.example.test/hello/world`` or a package whose module is *not* required (with
    ``GOFLAGS=-mod=mod`` the go command then resolves it through the proxy, probing
    path prefixes).  ``calls`` adds unknown packages: path -> (alias, call expression).
    Required modules that are not imported stay in go.mod only.  No go.sum is written:
    ``-mod=mod`` makes the go command fetch and record the checksums.

    Returns ``dir``.  See :func:`expected_output` for what the program prints.
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    table = {p: (a, c) for p, (a, c, _f) in PACKAGES.items()}
    table.update(calls or {})
    if imports is None:
        imports = [m for m in requires if m in table]
    imports = list(imports)
    unknown = [p for p in imports if p not in table]
    if unknown:
        raise ValueError(f"no known usage for packages {unknown}; pass calls=")

    gomod = f"module {module}\n\ngo {go_version}\n"
    if requires:
        gomod += "\nrequire (\n" + "".join(f"\t{m} {v}\n" for m, v in requires.items()) + ")\n"
    (dir / "go.mod").write_text(gomod)

    lines = ["// Command prog uses modules served by a test GOPROXY.", "package main", "", "import ("]
    lines.append('\t"fmt"')
    if imports:
        lines.append("")
    aliases = {}
    for i, pkg in enumerate(imports):
        alias = f"{table[pkg][0]}{i}"
        aliases[pkg] = alias
        lines.append(f'\t{alias} "{pkg}"')
    lines += [")", "", "func main() {"]
    for pkg in imports:
        lines.append(f"\tfmt.Println({aliases[pkg]}.{table[pkg][1]})")
    if not imports:
        lines.append('\tfmt.Println("no imports")')
    lines += ["}", ""]
    (dir / "main.go").write_text("\n".join(lines))
    (dir / "go.sum").unlink(missing_ok=True)
    return dir


def expected_output(
    requires: Mapping[str, str],
    imports: Iterable[str] | None = None,
    *,
    latest: Mapping[str, str] | None = None,
) -> str:
    """What the program of :func:`write_program` prints over the standard fixture.

    Applies the only MVS interaction in the fixture (greeter requires hello v1.1.0, so
    hello is at least v1.1.0 when greeter is in the build).  Imports of modules that are
    not required resolve to ``latest`` (default: the standard fixture's @latest).
    """
    latest = dict(latest or {})
    defaults = {
        f"{HOST}/hello": "v1.2.0",
        f"{HOST}/hello/v2": "v2.0.0",
        f"{HOST}/Upper/Case": "v0.1.0",
        f"{HOST}/pseudo": "v0.0.0-20240102030405-abcdef123456",
        f"{HOST}/greeter": "v1.0.0",
        f"{HOST}/retracted": "v1.2.0",
        f"{HOST}/incompat": "v2.0.0+incompatible",
    }
    for k, v in defaults.items():
        latest.setdefault(k, v)
    if imports is None:
        imports = [m for m in requires if m in PACKAGES]
    imports = list(imports)
    hello = f"{HOST}/hello"

    def apply_mvs(selected: dict[str, str]) -> None:
        if f"{HOST}/greeter" in selected:
            cur = selected.get(hello)
            if cur is None or semver_key(cur) < semver_key("v1.1.0"):
                selected[hello] = "v1.1.0"

    selected = dict(requires)
    apply_mvs(selected)
    # A package whose module is not in the build list yet is resolved to @latest
    # (which can, in turn, pull in requirements).
    for pkg in imports:
        if _package_module(pkg) not in selected:
            selected[_package_module(pkg)] = latest[_package_module(pkg)]
            apply_mvs(selected)
    hello_out = PACKAGES[hello][2].format(v=selected.get(hello, "v1.1.0"))
    out = [
        PACKAGES[p][2].format(v=selected[_package_module(p)], hello=hello_out) for p in imports
    ]
    return "\n".join(out) + "\n" if out else "no imports\n"
