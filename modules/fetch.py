"""The one place that fetches, validates, stores and commits a module version.

Each artifact on its own (issue 12). The go command reads the go.mod of every version
in its module graph and downloads the zips of only the modules it builds, so a cold
`.info` or `.mod` request fetches the .info and .mod alone and commits a READY row with
`zip_cached` False; a `.zip` request fetches the zip, checks it against that go.mod and
commits it with one UPDATE. `direct` is the exception: its one clone gives all three, so
they are committed together, as before.

A zip is streamed to a temporary file under a size cap and checked as the go command
checks it when it downloads and extracts (goproxy.zipcheck, goproxy.revinfo); what it
tolerates (a .mod that is not the zip's go.mod, files the go command would not have put
in a zip) is recorded as notices. Objects are written to storage exactly as the
upstream sent them and only then committed: the row (and its `zip_cached`) is the
commit marker. At most one process fetches a given module@version's metadata, and one
its zip, at a time (single flight per artifact); the others wait and read the row.
"""

import contextvars
import functools
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


def satisfies(row: ModuleVersion | None, *, zip: bool) -> bool:
    """Whether `row` answers a request: READY, and its zip cached if the zip is wanted."""
    return row is not None and (row.zip_cached or not zip)


@dataclass
class _Metadata:
    """The .info and .mod of a version from one upstream, checked, not yet stored."""

    info: VersionInfo
    go_mod: bytes
    mod_hash: str

    def audit_details(self) -> dict:
        return {"bytes": len(self.go_mod) + len(self.info.raw), "mod_hash": self.mod_hash}


@dataclass
class _Zip:
    """A version's zip from one upstream, checked against the cached go.mod."""

    zip_file: Any
    size: int
    zip_hash: str
    notices: tuple[Notice, ...] = ()
    entries: tuple[ZipEntry, ...] = ()

    def audit_details(self) -> dict:
        return {
            "bytes": self.size, "zip_hash": self.zip_hash,
            "notices": "\n".join(f"{notice.code}: {notice.message}" for notice in self.notices),
        }


def fetch_version(module: str, version: str, *, zip: bool = True) -> ModuleVersion:
    """Make sure module@version (a canonical version) is cached, its zip too when `zip`;
    return its READY row.

    Raises an UpstreamError subclass when it cannot be fetched; failures are remembered
    in the negative cache for a short time.
    """
    row = ready_version(module, version)
    if satisfies(row, zip=zip):
        return row
    chain = upstream_chain(module)
    negative_cache.check(module, version)
    try:
        with deadline.within(settings.ATHENS_FETCH_TIMEOUT):
            if row is None:
                row = _in_flight(f"fetch:{module}@{version}", module, version, zip=False,
                                 work=lambda: _fetch_and_commit(chain, module, version))
            if zip and not row.zip_cached:
                row = _in_flight(f"zip:{module}@{version}", module, version, zip=True,
                                 work=lambda: _fetch_zip_and_commit(chain, module, version))
    except LockTimeout as exc:
        raise Timeout(f"{module}@{version}: {exc}") from exc
    return row


def _in_flight(key: str, module: str, version: str, *, zip: bool, work: Callable[[], ModuleVersion]) -> ModuleVersion:
    """`work()` under the single flight `key`, unless whoever held it before us did it."""
    with single_flight(key, timeout=settings.ATHENS_FETCH_TIMEOUT):
        row = _load_ready_version(module, version)  # not the per-process cache: fresh
        if satisfies(row, zip=zip):
            return row
        negative_cache.check(module, version)
        try:
            return work()
        except UpstreamError as error:
            negative_cache.remember(module, version, error)
            raise


def _fetch_and_commit(chain: UpstreamChain, module: str, version: str) -> ModuleVersion:
    """The .info and .mod from the first upstream that has them (and the zip where it
    comes with them: `direct`), committed as a READY row."""
    with tempfile.TemporaryFile(dir=settings.ATHENS_TMP_DIR) as zip_file:

        def download(upstream: Upstream):
            if upstream.separate_artifacts:
                return _download_metadata(upstream, module, version)
            zip_file.seek(0)
            zip_file.truncate()
            return _download(upstream, module, version, zip_file)

        upstream, fetched = chain.first(
            recorded(module, version, "version", download, details=lambda fetched: fetched.audit_details())
        )
        return _commit(module, version, upstream, fetched)


# The .info and the .mod are asked for at the same time: one round trip to an upstream
# across the internet (20-100 ms) instead of two, on the path of every module graph walk.
_metadata_requests = ThreadPoolExecutor(max_workers=8, thread_name_prefix="athens-mod-request")


def _download_metadata(upstream: Upstream, module: str, version: str) -> "_Metadata":
    # The deadline and the request id travel with the context into the other thread.
    mod_request = _metadata_requests.submit(
        contextvars.copy_context().run, upstream.mod, module, version, max_bytes=settings.ATHENS_MAX_GOMOD_BYTES,
    )
    info = upstream.info(module, version)  # on an error, the .mod answer is not waited for
    _check_info_version(upstream, module, version, info)
    go_mod = mod_request.result()
    return _Metadata(info=info, go_mod=go_mod, mod_hash=hash_go_mod(go_mod))


def _check_info_version(upstream: Upstream, module: str, version: str, info: VersionInfo) -> None:
    if info.version != version:
        # proxy.go Stat: "proxy returned info for version X instead of requested version".
        raise InvalidContent(
            f"{upstream.name}: {module}@{version}.info: proxy returned info for version {info.version} "
            "instead of requested version"
        )


def _fetch_zip_and_commit(chain: UpstreamChain, module: str, version: str) -> ModuleVersion:
    """The zip of a READY row without one: downloaded, checked against the cached
    go.mod, stored, then committed (zip_cached) in one UPDATE."""
    row = _load_ready_version(module, version)
    if row is None:  # evicted while we waited
        raise NotFound(f"{module}@{version}: not cached any more (evicted); ask again")
    go_mod = bytes(row.go_mod)
    parsed_go_mod = parse_go_mod(go_mod)
    with tempfile.TemporaryFile(dir=settings.ATHENS_TMP_DIR) as zip_file:

        def download(upstream: Upstream) -> _Zip:
            zip_file.seek(0)
            zip_file.truncate()
            size = upstream.download_zip(module, version, zip_file, max_bytes=settings.ATHENS_MAX_ZIP_BYTES)
            summary = _checked_zip(upstream, module, version, zip_file, go_mod, parsed_go_mod)
            return _Zip(zip_file, size, summary.zip_hash, summary.notices, summary.entries)

        upstream, fetched = chain.first(recorded(module, version, "zip", download, details=_Zip.audit_details))
        return _commit_zip(row, upstream, fetched, parsed_go_mod)


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
    _check_info_version(upstream, module, version, info)
    parsed_go_mod = parse_go_mod(go_mod)  # once, for the zip check and the digest
    summary = _checked_zip(upstream, module, version, zip_file, go_mod, parsed_go_mod)
    return _Download(
        info=info, go_mod=go_mod, zip_file=zip_file, zip_size=zip_size,
        zip_hash=summary.zip_hash, mod_hash=hash_go_mod(go_mod), notices=summary.notices,
        entries=summary.entries, parsed_go_mod=parsed_go_mod,
    )


def _checked_zip(upstream: Upstream, module: str, version: str, zip_file, go_mod: bytes, parsed_go_mod: GoMod):
    """What the go command's download and Unzip enforce; the rules only its zip creation
    follows, and a .mod unlike the zip's go.mod, come back as notices."""
    zip_file.flush()
    zip_file.seek(0)
    try:
        return validate_zip(
            zip_file, module, version,
            max_zip_size=settings.ATHENS_MAX_ZIP_BYTES, max_go_mod_size=settings.ATHENS_MAX_GOMOD_BYTES,
            expected_go_mod=go_mod, parsed_go_mod=parsed_go_mod, max_files=settings.ATHENS_ZIP_MAX_FILES,
        )
    except InvalidZipError as exc:
        raise InvalidContent(f"{upstream.name}: {module}@{version}.zip: {exc}") from exc


def _store(storage, key: str, content) -> None:
    # Leftovers of an attempt that died before its commit: we hold the lock, and no
    # committed row points at them, so nobody can be serving them.
    if storage.exists(key):
        storage.delete(key)
    saved = storage.save(key, content)
    if saved != key:
        raise UpstreamError(f"storage saved {key} as {saved}")


def _commit(module: str, version: str, upstream: Upstream, fetched) -> ModuleVersion:
    """Write the objects, then the READY row. Objects without a row are never served.
    `fetched`: a _Metadata (the zip comes later) or a _Download (all three)."""
    storage = modules_storage()
    zip_key = artifact_key(module, version, "zip")
    whole = isinstance(fetched, _Download)
    _store(storage, artifact_key(module, version, "info"), ContentFile(fetched.info.raw))
    _store(storage, artifact_key(module, version, "mod"), ContentFile(fetched.go_mod))
    if whole:
        fetched.zip_file.seek(0)
        _store(storage, zip_key, File(fetched.zip_file))
    try:
        with transaction.atomic():
            module_row, _ = Module.objects.get_or_create(path=module)
            row = ModuleVersion.objects.create(
                module=module_row,
                version=version,
                info=fetched.info.raw.decode(),
                time=fetched.info.time,
                notices=[notice.as_dict() for notice in fetched.notices] if whole else [],  # the zip's
                go_mod=fetched.go_mod,
                zip_key=zip_key,
                zip_cached=whole,
                zip_size=fetched.zip_size if whole else 0,
                zip_hash=fetched.zip_hash if whole else "",
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
    if not whole:
        _refresh_module_digest(row)
        logger.info("cached %s@%s .info and .mod from %s", module, version, upstream.name)
        return row
    # What the pages show of it, derived once now that the zip is at hand (issue 20).
    digest.build_after_fetch(
        row, zip_file=fetched.zip_file, entries=list(fetched.entries), parsed_go_mod=fetched.parsed_go_mod,
    )
    logger.info("cached %s@%s from %s (%d bytes)", module, version, upstream.name, fetched.zip_size)
    return row


def _refresh_module_digest(row: ModuleVersion) -> None:
    try:
        digest.refresh_module(row.module_id)  # reads the go.mod only
    except Exception:  # noqa: BLE001 - derived data must not fail a fetch
        logger.exception("could not refresh the module digest of %s", row.module.path)


def _commit_zip(row: ModuleVersion, upstream: Upstream, fetched: "_Zip", parsed_go_mod: GoMod) -> ModuleVersion:
    """Store the zip, then mark the row's zip cached in one UPDATE (the zip's commit
    marker). A row evicted meanwhile takes nothing: the object is removed again."""
    storage = modules_storage()
    fetched.zip_file.seek(0)
    _store(storage, row.zip_key, File(fetched.zip_file))
    notices = [*(row.notices or []), *(notice.as_dict() for notice in fetched.notices)]
    updated = ModuleVersion.objects.filter(pk=row.pk, zip_cached=False).update(
        zip_cached=True, zip_size=fetched.size, zip_hash=fetched.zip_hash, notices=notices,
    )
    if not updated:
        current = _load_ready_version(row.module.path, row.version)
        if current is None:
            storage.delete(row.zip_key)
            raise NotFound(f"{row}: evicted while its zip was fetched; ask again")
        return current  # committed meanwhile by a process that could not share our lock
    negative_cache.forget(row.module.path, row.version)
    row.zip_cached, row.zip_size, row.zip_hash, row.notices = True, fetched.size, fetched.zip_hash, notices
    digest.build_after_fetch(row, zip_file=fetched.zip_file, entries=list(fetched.entries), parsed_go_mod=parsed_go_mod)
    logger.info("cached the zip of %s from %s (%d bytes)", row, upstream.name, fetched.size)
    return row
