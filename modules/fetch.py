"""The one place that fetches, validates, stores and commits a module version.

A fetch downloads .info, .mod and .zip from the first upstream that has them (GOPROXY
semantics), streams the zip to a temporary file under a size cap, checks what the go
command checks when it downloads and extracts (goproxy.zipcheck, goproxy.revinfo),
records as notices what it tolerates (a .mod that is not the zip's go.mod, files the
go command would not have put in a zip), computes both h1 hashes, writes the three
objects to storage exactly as the upstream sent them and only then commits a READY
ModuleVersion row: the row is the commit marker.
At most one process fetches a given module@version at a time (single flight); the others
wait for it and then read its row.
"""

import functools
import logging
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from audit.recorder import record_fetch
from modules.goproxy.dirhash import hash_go_mod
from modules.goproxy.errors import InvalidZipError
from modules.goproxy.gomod import GoMod, parse_go_mod
from modules.goproxy.paths import escape_path, escape_version
from modules.goproxy.patterns import match_prefix_patterns
from modules.goproxy.zipcheck import Notice, validate_zip
from modules.goproxy.zipread import ZipEntry

from . import deadline, hot_cache, negative_cache
from .browse import digest
from .locks import LockTimeout, single_flight
from .models import Module, ModuleVersion
from .upstreams.base import Upstream, VersionInfo
from .upstreams.chain import UpstreamChain
from .upstreams.direct import DirectUpstream
from .upstreams.errors import InvalidContent, NotFound, Timeout, UpstreamError

logger = logging.getLogger(__name__)


def modules_storage():
    return storages["modules"]


# What object storage raises when it cannot be reached or refuses us (a missing object
# is a FileNotFoundError instead). Callers answer 503 rather than a traceback.
STORAGE_ERRORS = (BotoCoreError, ClientError)


def artifact_key(module: str, version: str, ext: str) -> str:
    """`<escaped module>/@v/<escaped version>.<ext>`: the storage is a static GOPROXY tree."""
    return f"{escape_path(module)}/@v/{escape_version(version)}.{ext}"


@functools.lru_cache(maxsize=4)
def _direct(go, netrc, git_config, timeout, concurrency, tmp_dir) -> DirectUpstream:
    """One DirectUpstream per process (and configuration): its concurrency cap is shared."""
    return DirectUpstream(
        go=go, netrc=netrc, git_config=git_config, timeout=timeout, max_concurrent=concurrency, tmp_dir=tmp_dir
    )


@functools.lru_cache(maxsize=4)
def _chain(value: str, timeout: float, direct: DirectUpstream) -> UpstreamChain:
    return UpstreamChain.from_setting(value, timeout=timeout, direct=direct)


def upstream_chain(module: str) -> UpstreamChain:
    """The upstreams to ask for `module`, in order: ATHENS_UPSTREAM, or only `direct` for
    modules matching ATHENS_GOPRIVATE. Raises NotFound in offline network mode."""
    if settings.ATHENS_NETWORK_MODE == "offline":
        raise NotFound(f"{module}: not cached, and the proxy is offline (ATHENS_NETWORK_MODE=offline)")
    direct = _direct(
        settings.ATHENS_GO_BINARY, settings.ATHENS_NETRC, settings.ATHENS_GIT_CONFIG,
        settings.ATHENS_DIRECT_TIMEOUT, settings.ATHENS_DIRECT_CONCURRENCY, settings.ATHENS_TMP_DIR,
    )
    if settings.ATHENS_GOPRIVATE and match_prefix_patterns(settings.ATHENS_GOPRIVATE, module):
        return UpstreamChain.direct_only(direct)
    return _chain(settings.ATHENS_UPSTREAM, settings.ATHENS_UPSTREAM_TIMEOUT, direct)


def ready_version(module: str, version: str) -> ModuleVersion | None:
    """The READY row of module@version, or None (hits are kept in memory: hot_cache)."""
    return hot_cache.ready_row(module, version, lambda: _load_ready_version(module, version))


def _load_ready_version(module: str, version: str) -> ModuleVersion | None:
    return (
        ModuleVersion.objects.select_related("module")
        .filter(module__path=module, version=version, state=ModuleVersion.State.READY)
        .first()
    )


def recorded(module: str, version: str, endpoint: str, operation: Callable[[Upstream], Any], details=None):
    """Wrap an upstream operation so each attempt becomes one FetchEvent."""

    def attempt(upstream: Upstream):
        started = time.monotonic()
        try:
            result = operation(upstream)
        except UpstreamError as error:
            record_fetch(
                module=module, version=version, endpoint=endpoint, upstream=upstream.name,
                outcome=error.outcome, duration_s=time.monotonic() - started, error=error.message,
            )
            raise
        record_fetch(
            module=module, version=version, endpoint=endpoint, upstream=upstream.name,
            outcome="ok", duration_s=time.monotonic() - started, **(details(result) if details else {}),
        )
        return result

    return attempt


@dataclass
class _Download:
    """A version downloaded from one upstream and checked, not yet stored."""

    info: VersionInfo
    go_mod: bytes
    zip_file: Any  # an open temporary file, positioned anywhere
    zip_size: int
    zip_hash: str
    mod_hash: str
    notices: tuple[Notice, ...] = ()
    entries: tuple[ZipEntry, ...] = ()  # the zip's central directory, as validate_zip read it
    parsed_go_mod: GoMod | None = None

    def audit_details(self) -> dict:
        return {
            "bytes": self.zip_size + len(self.go_mod) + len(self.info.raw),
            "zip_hash": self.zip_hash,
            "mod_hash": self.mod_hash,
            "notices": "\n".join(f"{notice.code}: {notice.message}" for notice in self.notices),
        }


def fetch_version(module: str, version: str) -> ModuleVersion:
    """Make sure module@version (a canonical version) is cached; return its READY row.

    Raises an UpstreamError subclass when it cannot be fetched; failures are remembered
    in the negative cache for a short time.
    """
    row = ready_version(module, version)
    if row is not None:
        return row
    chain = upstream_chain(module)
    negative_cache.check(module, version)
    try:
        with single_flight(f"fetch:{module}@{version}", timeout=settings.ATHENS_FETCH_TIMEOUT):
            # Whoever held the lock before us may have fetched it, or failed.
            row = ready_version(module, version)
            if row is not None:
                return row
            negative_cache.check(module, version)
            try:
                with deadline.within(settings.ATHENS_FETCH_TIMEOUT):
                    return _fetch_and_commit(chain, module, version)
            except UpstreamError as error:
                negative_cache.remember(module, version, error)
                raise
    except LockTimeout as exc:
        raise Timeout(f"{module}@{version}: {exc}") from exc


def _fetch_and_commit(chain: UpstreamChain, module: str, version: str) -> ModuleVersion:
    with tempfile.TemporaryFile(dir=settings.ATHENS_TMP_DIR) as zip_file:
        upstream, fetched = _download_from_chain(chain, module, version, zip_file, endpoint="version")
        return _commit(module, version, upstream, fetched)


def _download_from_chain(chain: UpstreamChain, module: str, version: str, zip_file, *, endpoint: str):
    """(upstream, _Download) from the first upstream that has module@version, audited."""

    def download(upstream: Upstream) -> _Download:
        zip_file.seek(0)
        zip_file.truncate()
        return _download(upstream, module, version, zip_file)

    return chain.first(recorded(module, version, endpoint, download, details=_Download.audit_details))


def restore_zip(row: ModuleVersion) -> None:
    """Put back a cached zip that storage lost, if the upstream still has the same bytes.

    The READY row (with its h1 hashes) is the truth: the zip is downloaded again and
    stored only if its hashes equal the row's. Other bytes mean the version changed
    upstream since it was cached; they are never served (a `conflict` FetchEvent records
    it) and the request gets a 502.
    """
    module, version = row.module.path, row.version
    storage = modules_storage()
    try:
        with single_flight(f"fetch:{module}@{version}", timeout=settings.ATHENS_FETCH_TIMEOUT):
            if storage.exists(row.zip_key):
                return  # restored meanwhile by another process
            with tempfile.TemporaryFile(dir=settings.ATHENS_TMP_DIR) as zip_file, \
                    deadline.within(settings.ATHENS_FETCH_TIMEOUT):
                upstream, fetched = _download_from_chain(upstream_chain(module), module, version, zip_file, endpoint="restore")
                if (fetched.zip_hash, fetched.mod_hash) != (row.zip_hash, row.mod_hash):
                    record_fetch(
                        module=module, version=version, endpoint="restore", upstream=upstream.name,
                        outcome="conflict", duration_s=0.0,
                        error=f"upstream now serves {fetched.zip_hash}, the cache held {row.zip_hash}",
                    )
                    raise InvalidContent(
                        f"{module}@{version}: the cached zip is missing from storage and the upstream now "
                        "serves different bytes"
                    )
                fetched.zip_file.seek(0)
                storage.save(row.zip_key, File(fetched.zip_file))
    except LockTimeout as exc:
        raise Timeout(f"{module}@{version}: {exc}") from exc
    logger.warning("restored missing zip %s from %s", row.zip_key, upstream.name)


def _download(upstream: Upstream, module: str, version: str, zip_file) -> _Download:
    """Get and check the three files of module@version from one upstream."""
    info, go_mod, zip_size = upstream.fetch_version(
        module, version, zip_file,
        max_zip_bytes=settings.ATHENS_MAX_ZIP_BYTES, max_mod_bytes=settings.ATHENS_MAX_GOMOD_BYTES,
    )
    if info.version != version:
        # proxy.go Stat: "proxy returned info for version X instead of requested version".
        raise InvalidContent(
            f"{upstream.name}: {module}@{version}.info: proxy returned info for version {info.version} "
            "instead of requested version"
        )
    zip_file.flush()
    zip_file.seek(0)
    parsed_go_mod = parse_go_mod(go_mod)  # once, for the zip check and the digest
    try:
        # What the go command's download and Unzip enforce; the rules only its zip
        # creation follows, and a .mod unlike the zip's go.mod, come back as notices.
        summary = validate_zip(
            zip_file, module, version,
            max_zip_size=settings.ATHENS_MAX_ZIP_BYTES, max_go_mod_size=settings.ATHENS_MAX_GOMOD_BYTES,
            expected_go_mod=go_mod, parsed_go_mod=parsed_go_mod, max_files=settings.ATHENS_ZIP_MAX_FILES,
        )
    except InvalidZipError as exc:
        raise InvalidContent(f"{upstream.name}: {module}@{version}.zip: {exc}") from exc
    return _Download(
        info=info, go_mod=go_mod, zip_file=zip_file, zip_size=zip_size,
        zip_hash=summary.zip_hash, mod_hash=hash_go_mod(go_mod), notices=summary.notices,
        entries=summary.entries, parsed_go_mod=parsed_go_mod,
    )


def _commit(module: str, version: str, upstream: Upstream, fetched: _Download) -> ModuleVersion:
    """Write the objects, then the READY row. Objects without a row are never served."""
    storage = modules_storage()
    zip_key = artifact_key(module, version, "zip")
    fetched.zip_file.seek(0)
    for key, content in (
        (artifact_key(module, version, "info"), ContentFile(fetched.info.raw)),
        (artifact_key(module, version, "mod"), ContentFile(fetched.go_mod)),
        (zip_key, File(fetched.zip_file)),
    ):
        # Leftovers of an attempt that died before its commit: we hold the lock, and no
        # READY row points at them, so nobody can be serving them.
        if storage.exists(key):
            storage.delete(key)
        saved = storage.save(key, content)
        if saved != key:
            raise UpstreamError(f"storage saved {key} as {saved}")
    try:
        with transaction.atomic():
            module_row, _ = Module.objects.get_or_create(path=module)
            row = ModuleVersion.objects.create(
                module=module_row,
                version=version,
                info=fetched.info.raw.decode(),
                time=fetched.info.time,
                notices=[notice.as_dict() for notice in fetched.notices],
                go_mod=fetched.go_mod,
                zip_key=zip_key,
                zip_size=fetched.zip_size,
                zip_hash=fetched.zip_hash,
                mod_hash=fetched.mod_hash,
                upstream=upstream.name,
            )
        ours = True
    except IntegrityError:
        # Committed meanwhile by a process that could not share our lock; keep theirs.
        row = ready_version(module, version)
        if row is None:
            raise
        ours = False  # its digest is theirs to build, from what they stored
    negative_cache.forget(module, version)
    if not ours:
        return row
    # What the pages show of it, derived once now that the zip is at hand (issue 20).
    digest.build_after_fetch(
        row, zip_file=fetched.zip_file, entries=list(fetched.entries), parsed_go_mod=fetched.parsed_go_mod,
    )
    logger.info("cached %s@%s from %s (%d bytes)", module, version, upstream.name, fetched.zip_size)
    return row
