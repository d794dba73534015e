"""The interface every kind of upstream implements."""

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from modules.goproxy import semver
from modules.goproxy.pseudo import is_pseudo_version
from modules.goproxy.revinfo import InvalidRevInfoError, parse_rev_info

from .errors import InvalidContent


@dataclass(frozen=True)
class VersionInfo:
    """A checked `.info` answer: the upstream's bytes as they came, and what we read of them.

    `time` is None when the body has no Time (the go command's RevInfo leaves it zero);
    `origin` is its Origin object, if any.
    """

    version: str
    time: datetime | None
    raw: bytes
    origin: dict | None = None

    @classmethod
    def parse(cls, data: bytes, *, source: str) -> "VersionInfo":
        """Check an upstream's .info (or @latest) body as the go command reads it.

        Accepted exactly when cmd/go's proxy client accepts it (goproxy.revinfo): only
        `Version` matters, `Time` is optional and may carry any offset, other fields are
        kept. Beyond that, the version must be a canonical semantic version: it names
        what this proxy caches and lists, and the go command stops on anything else
        once a query resolves to it ("unexpected invalid semantic version",
        modload/modfile.go; "version passed to GoMod is not canonical", proxy.go).
        Whether it is the version asked for is the caller's check (proxy.go's Stat
        makes it for canonical requests only). The body is never rebuilt: `raw` is `data`.
        """
        try:
            rev = parse_rev_info(data)
        except InvalidRevInfoError as exc:
            raise InvalidContent(f"{source}: invalid .info JSON: {exc}") from exc
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # encoding/json would read the bad bytes as U+FFFD; we keep bodies as text
            # (JSON exchanged between systems is UTF-8, RFC 8259 §8.1), so we cannot.
            raise InvalidContent(f"{source}: .info is not UTF-8 (byte {exc.start})") from exc
        version = rev.version
        if not semver.is_valid(version) or not semver.is_canonical(version):
            raise InvalidContent(f"{source}: .info has non-canonical Version {version!r}")
        return cls(version=version, time=rev.time, raw=bytes(data), origin=rev.origin)

    @property
    def is_pseudo(self) -> bool:
        return is_pseudo_version(self.version)


class Upstream:
    """A source of module versions. Methods raise `errors.UpstreamError` subclasses."""

    #: Shown in audit rows and error messages; never contains credentials.
    name: str = ""
    #: Whether the .info and .mod can be had without the zip (a GOPROXY: three files);
    #: `direct` clones the repository for any of them and gives all three at once.
    separate_artifacts: bool = True

    def list(self, module: str) -> list[str]:
        """The versions the upstream lists for the module (may include junk; callers filter)."""
        raise NotImplementedError

    def latest(self, module: str) -> VersionInfo:
        raise NotImplementedError

    def info(self, module: str, query: str) -> VersionInfo:
        """The .info for a canonical version or a query (branch, commit, `v1.2`)."""
        raise NotImplementedError

    def mod(self, module: str, version: str, *, max_bytes: int) -> bytes:
        raise NotImplementedError

    def download_zip(self, module: str, version: str, dest: BinaryIO, *, max_bytes: int) -> int:
        """Stream the zip into `dest`; return the number of bytes written."""
        raise NotImplementedError

    def fetch_version(
        self, module: str, version: str, zip_dest: BinaryIO, *, max_zip_bytes: int, max_mod_bytes: int
    ) -> tuple[VersionInfo, bytes, int]:
        """All three files of a canonical version: (.info, .mod bytes, zip size).

        The default asks for each file separately, as the protocol does; an upstream
        that gets all three in one go (`direct`: one clone) overrides it.
        """
        info = self.info(module, version)
        go_mod = self.mod(module, version, max_bytes=max_mod_bytes)
        zip_size = self.download_zip(module, version, zip_dest, max_bytes=max_zip_bytes)
        return info, go_mod, zip_size

    def __str__(self):
        return self.name
