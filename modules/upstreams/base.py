"""The interface every kind of upstream implements."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO

from modules.goproxy import semver
from modules.goproxy.pseudo import is_pseudo_version

from .errors import InvalidContent


@dataclass(frozen=True)
class VersionInfo:
    """A parsed `.info` answer: the version and its time, plus the bytes we will serve."""

    version: str
    time: datetime
    raw: bytes

    @classmethod
    def parse(cls, data: bytes, *, source: str) -> "VersionInfo":
        """Parse and check an upstream's .info JSON; re-encode it in the canonical shape.

        The served body is rebuilt from the checked fields (Version, Time and, when
        present, Origin) so nothing unexpected from an upstream reaches clients.
        """
        try:
            doc = json.loads(data)
            version = doc["Version"]
            time_text = doc["Time"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidContent(f"{source}: malformed .info JSON") from exc
        if not isinstance(version, str) or not semver.is_valid(version) or not semver.is_canonical(version):
            raise InvalidContent(f"{source}: .info has non-canonical Version {version!r}")
        try:
            time = datetime.fromisoformat(str(time_text).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidContent(f"{source}: .info has malformed Time {time_text!r}") from exc
        if time.tzinfo is None:
            raise InvalidContent(f"{source}: .info Time {time_text!r} has no time zone")
        body = {"Version": version, "Time": _rfc3339(time)}
        if isinstance(doc.get("Origin"), dict):
            body["Origin"] = doc["Origin"]
        return cls(version=version, time=time, raw=json.dumps(body).encode())

    @property
    def is_pseudo(self) -> bool:
        return is_pseudo_version(self.version)


def _rfc3339(time: datetime) -> str:
    """Format as RFC 3339 in UTC with a `Z`, the form the go command writes."""
    return time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Upstream:
    """A source of module versions. Methods raise `errors.UpstreamError` subclasses."""

    #: Shown in audit rows and error messages; never contains credentials.
    name: str = ""

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
