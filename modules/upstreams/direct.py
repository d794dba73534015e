"""`direct` (version control; not supported yet) and `off` (lookups disabled).

Until direct fetching lands, `direct` in ATHENS_UPSTREAM answers every request with a
clear "not found" so that, exactly as with the go command's GOPROXY, the entries before
it decide.
"""

from .base import Upstream
from .errors import NotFound


class _RefusingUpstream(Upstream):
    """An upstream that answers every request with the same NotFound."""

    def refuse(self, module: str):
        raise NotImplementedError

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


class DirectUpstream(_RefusingUpstream):
    name = "direct"

    def refuse(self, module):
        raise NotFound(f"{module}: fetching direct from version control is not supported yet")


class OffUpstream(_RefusingUpstream):
    """`off`: module lookups disabled, as GOPROXY=off does in the go command."""

    name = "off"

    def refuse(self, module):
        raise NotFound(f"{module}: module lookup disabled by ATHENS_UPSTREAM=off")
