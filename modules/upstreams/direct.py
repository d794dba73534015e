"""`direct` (version control, through the go command) and `off` (lookups disabled).

`direct` in ATHENS_UPSTREAM means what it means in the go command's GOPROXY: get the
module from its version control repository. The proxy does that by running the go
command itself with GOPROXY=direct (see gocommand.py for how it is isolated), so
versions, pseudo-versions, `.mod` files and zips are exactly what a client fetching
direct would compute, and their h1 hashes match its go.sum.

Each operation costs at least one clone into a fresh workspace, so a version is fetched
with one `go mod download` (`fetch_version`), not with three separate requests.
"""

import json
import os
from typing import BinaryIO

from modules.egress.hosts import EgressRefused, check_module_host
from modules.goproxy.errors import InvalidPathError
from modules.goproxy.paths import check_path

from .base import Upstream, VersionInfo
from .errors import InvalidContent, NotFound, Unavailable
from .gocommand import GoCommand, GoSession, parse_json_stream, redact

_CHUNK = 1 << 16


class DirectUpstream(Upstream):
    """Module versions straight from version control, computed by the go command."""

    name = "direct"
    separate_artifacts = False  # one clone gives all three files

    def __init__(
        self,
        *,
        go: str | None = None,
        netrc: str | None = None,
        git_config: str | None = None,
        timeout: float = 300.0,
        max_concurrent: int = 2,
        tmp_dir: str | None = None,
        govcs: str | None = None,
    ):
        self.go_command = GoCommand(
            go=go, netrc=netrc, git_config=git_config, timeout=timeout,
            max_concurrent=max_concurrent, tmp_dir=tmp_dir, govcs=govcs,
        )

    # -- the protocol's five requests ---------------------------------------------------

    def list(self, module: str) -> list[str]:
        _check_module(module)
        with self.go_command.session() as session:
            doc = _run_json(session, module, "list", "-m", "-versions", "-retracted", "-json", "--", module)
            versions = doc.get("Versions") or []
            if not versions:
                # The go command lists nothing both for a module that has no tags and for
                # a path that no module of the repository has; only @latest (a
                # pseudo-version, or "no matching versions") tells the two apart.
                session.run("list", "-m", "-json", "--", f"{module}@latest", subject=module)
        return [str(version) for version in versions]

    def latest(self, module: str) -> VersionInfo:
        return self.info(module, "latest")

    def info(self, module: str, query: str) -> VersionInfo:
        """Resolve a version or query (`v1.2.3`, `v1.2`, a branch, a commit hash, `latest`)."""
        subject = _subject(module, query)
        with self.go_command.session() as session:
            doc = _run_json(session, subject, "list", "-m", "-json", "--", subject)
        return _version_info(doc, source=f"direct {subject}")

    def mod(self, module: str, version: str, *, max_bytes: int) -> bytes:
        subject = _subject(module, version)
        with self.go_command.session() as session:
            # go list -m fetches the .info and .mod only, not the zip.
            doc = _run_json(session, subject, "list", "-m", "-json", "--", subject)
            _check_resolved(doc, module, version)
            return _read_capped(_file_in(session, doc, "GoMod", subject), max_bytes, what=f"{subject} go.mod")

    def download_zip(self, module: str, version: str, dest: BinaryIO, *, max_bytes: int) -> int:
        subject = _subject(module, version)
        with self.go_command.session() as session:
            doc = _download(session, module, version)
            return _copy_capped(_file_in(session, doc, "Zip", subject), dest, max_bytes, what=f"{subject}.zip")

    def fetch_version(
        self, module: str, version: str, zip_dest: BinaryIO, *, max_zip_bytes: int, max_mod_bytes: int
    ) -> tuple[VersionInfo, bytes, int]:
        """All three files of a canonical version from one `go mod download` (one clone)."""
        subject = _subject(module, version)
        with self.go_command.session() as session:
            doc = _download(session, module, version)
            info_file, mod_file, zip_file = (_file_in(session, doc, f, subject) for f in ("Info", "GoMod", "Zip"))
            info_bytes = _read_capped(info_file, 1 << 20, what=f"{subject}.info")
            go_mod = _read_capped(mod_file, max_mod_bytes, what=f"{subject} go.mod")
            zip_size = _copy_capped(zip_file, zip_dest, max_zip_bytes, what=f"{subject}.zip")
        # The .info the go command wrote to its module cache is what it would serve as a
        # proxy itself (GOPROXY=file://$GOMODCACHE/cache/download): kept byte for byte,
        # unless its Origin.URL carries credentials (from a netrc-less URL in GOPRIVATE).
        info = VersionInfo.parse(info_bytes, source=f"direct {subject}.info")
        if info.origin and redact(info.origin.get("URL", "")) != info.origin.get("URL", ""):
            info = _version_info(json.loads(info_bytes), source=f"direct {subject}.info")
        return info, go_mod, zip_size  # fetch._download checks that it names `version`


# -- checking what goes in --------------------------------------------------------------


def _check_module(module: str) -> None:
    """Only valid module paths reach the go command (which never sees an option here),
    and only paths whose host `direct` may contact (modules/egress)."""
    try:
        check_path(module)
    except InvalidPathError as exc:
        raise NotFound(str(exc)) from exc
    try:
        check_module_host(module)
    except EgressRefused as refused:
        # Our own words, so the client is told them (not an upstream's text).
        raise NotFound(f"{module}: direct may not contact it: {refused}", public=f"direct may not contact it: {refused}") from None


def _subject(module: str, query: str) -> str:
    """`module@query`, after checking both.

    A query never looks like an option and never holds spaces, control characters or a
    second `@`. Go's build-list queries (`upgrade`, `patch`) and comparisons (`<v1.3`,
    `>=v1.2`) mean nothing to a proxy, whose clients resolve those themselves.
    """
    _check_module(module)
    if (
        not query
        or query.startswith(("-", "<", ">"))
        or query in ("upgrade", "patch")
        or "@" in query
        or any(char.isspace() or not char.isprintable() for char in query)
    ):
        raise NotFound(f"{module}@{query!r}: invalid version query")
    return f"{module}@{query}"


# -- reading what comes out ---------------------------------------------------------------


def _run_json(session: GoSession, subject: str, *args: str) -> dict:
    """Run a go command that prints one JSON object; return it."""
    result = session.run(*args, subject=subject)
    try:
        docs = parse_json_stream(result.stdout)
    except ValueError:
        docs = []
    if len(docs) != 1:
        raise Unavailable(f"{subject}: unexpected output from the go command")
    return docs[0]


def _download(session: GoSession, module: str, version: str) -> dict:
    """`go mod download -json module@version`: the paths of .info, .mod and .zip."""
    subject = _subject(module, version)
    doc = _run_json(session, subject, "mod", "download", "-json", "--", subject)
    _check_resolved(doc, module, version)
    return doc


def _check_resolved(doc: dict, module: str, version: str) -> None:
    """A canonical version must resolve to itself: `v2.0.0` of a module whose v2 has no
    go.mod resolves to `v2.0.0+incompatible`, which is another version."""
    if doc.get("Path") != module or doc.get("Version") != version:
        resolved = f"{doc.get('Path')}@{doc.get('Version')}"
        raise NotFound(f"{module}@{version}: not a version of this module (the go command resolves it to {resolved})")


def _file_in(session: GoSession, doc: dict, field: str, subject: str) -> str:
    """A file the go command wrote, as named in its JSON; it must be in the workspace."""
    path = doc.get(field)
    if not isinstance(path, str) or not path or not session.workspace.contains(path):
        raise Unavailable(f"{subject}: the go command did not report a {field} file")
    return path


def _version_info(doc: dict, *, source: str) -> VersionInfo:
    """The .info answer for a `go list -m -json` object or a cached .info file."""
    body = {"Version": doc.get("Version"), "Time": doc.get("Time")}
    origin = doc.get("Origin")
    if isinstance(origin, dict):
        # Origin.URL is the repository URL the go command used: never with credentials.
        body["Origin"] = {key: redact(value) if key == "URL" and isinstance(value, str) else value
                          for key, value in origin.items()}
    return VersionInfo.parse(json.dumps(body).encode(), source=source)


def _read_capped(path: str, max_bytes: int, *, what: str) -> bytes:
    size = os.stat(path).st_size
    if size > max_bytes:
        raise InvalidContent(f"direct {what}: {size} bytes is over the limit of {max_bytes}")
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidContent(f"direct {what}: over the limit of {max_bytes} bytes")
    return data


def _copy_capped(path: str, dest: BinaryIO, max_bytes: int, *, what: str) -> int:
    """Stream a file into `dest`, refusing one over `max_bytes`; return its size."""
    size = os.stat(path).st_size
    if size > max_bytes:
        raise InvalidContent(f"direct {what}: {size} bytes is over the limit of {max_bytes}")
    written = 0
    with open(path, "rb") as source:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise InvalidContent(f"direct {what}: over the limit of {max_bytes} bytes")
            dest.write(chunk)
    return written


# -- off --------------------------------------------------------------------------------


class OffUpstream(Upstream):
    """`off`: module lookups disabled, as GOPROXY=off does in the go command."""

    name = "off"

    def refuse(self, module: str):
        raise NotFound(f"{module}: module lookup disabled by ATHENS_UPSTREAM=off")

    def list(self, module):
        self.refuse(module)

    def latest(self, module):
        self.refuse(module)

    def info(self, module, query):
        self.refuse(module)

    def mod(self, module, version, *, max_bytes):
        self.refuse(module)

    def download_zip(self, module, version, dest, *, max_bytes):
        self.refuse(module)

    def fetch_version(self, module, version, zip_dest, *, max_zip_bytes, max_mod_bytes):
        self.refuse(module)
