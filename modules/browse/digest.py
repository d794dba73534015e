"""Deriving, once, what the pages show of a cached version and of its module.

`build(row)` runs right after a fetch commits a version (with the zip still open and
its central directory already read) and, for a version cached before digests existed,
on its first page view. It parses the go.mod, finds and renders the README, names the
license and stores the zip's file index. `refresh_module(module)` recomputes @latest,
retractions and deprecation whenever a version of the module is cached or evicted.

Why: each of these was done on every page view, and a module can make each of them
expensive. A 15 MB go.mod took 25.6 s off every `/modules/` view and 80.8 s off its
version page; a zip of 300,000 files took 7.6 s off every file view (issue 20). Done
once, the cost is paid by the fetch, which is bounded by ATHENS_FETCH_TIMEOUT and
ATHENS_ZIP_MAX_FILES.

Everything here is derived: a failure is logged and stored as the digest's error, and
never fails the fetch that triggered it.
"""

import hashlib
import logging
import re

from django.conf import settings
from django.db import connection, transaction

from modules.goproxy.errors import InvalidZipError
from modules.goproxy.gomod import GoMod, parse_go_mod
from modules.goproxy.versions import latest_version, retractions
from modules.goproxy.zipread import ZipEntry, ZipReader
from modules.models import Module, ModuleVersion

from . import readme
from .models import ModuleDigest, VersionDigest, VersionFile, VersionRequirement

logger = logging.getLogger(__name__)

README_MAX_BYTES = 512 * 1024  # a larger README is not shown (its file page offers it)
README_MAX_HTML = 1024 * 1024  # rendered larger than this: shown as plain text instead
README_MAX_NESTING = 32  # lists, quotes, tables and divs nested deeper: plain text
LICENSE_MAX_BYTES = 64 * 1024
# A deprecation or retraction message is a go.mod comment, so it can be megabytes long;
# the pages show the start of it.
MESSAGE_MAX_CHARS = 2000
_INSERT_BATCH = 2000

READY = ModuleVersion.State.READY


# -- versions ------------------------------------------------------------------------------


def for_version(row: ModuleVersion, *, only: tuple[str, ...] = ()) -> VersionDigest:
    """The digest of a READY row, built now if it has none yet; `only` names the fields
    the caller reads (the file view needs `zip_error`, not the rendered README)."""
    # Never the retractions by default: a 633,589-line list is only read when the
    # module's digest is recomputed, not on every page view.
    stored = VersionDigest.objects.filter(version_id=row.pk)
    found = (stored.only(*only) if only else stored.defer("retracts")).first()
    if found is None and not row.zip_cached:
        # Only its .info and go.mod were asked for (issue 12): nothing to index yet, and
        # nothing stored, so the first view after the zip is fetched builds the digest.
        return VersionDigest(version_id=row.pk)
    return found if found is not None else build(row)


def build(
    row: ModuleVersion, *, zip_file=None, entries: list[ZipEntry] | None = None, parsed_go_mod: GoMod | None = None,
    replace: bool = False,
) -> VersionDigest:
    """Compute and store the digest and file index of `row`; return the stored one.

    `zip_file` (open, seekable), `entries` (its central directory) and `parsed_go_mod`
    are what a fetch already has; without them they are read from storage and the row.

    The work is done outside any transaction; the write then locks the version's row,
    so that two builds of one version (a fetch's and a first page view's) store one
    digest, and an eviction meanwhile either waits for the write or makes it a no-op
    (the row is gone: nothing is stored, and the digest is returned unsaved). Without
    `replace` an existing digest is kept; with it (`manage.py build_digests --rebuild`)
    it is replaced.

    A zip that storage could not read (OSError) gives an unsaved digest that names the
    error, so the next view tries again; a zip that is not a valid zip is stored as such.
    """
    digest = VersionDigest(version_id=row.pk)
    parsed = parsed_go_mod or parse_go_mod(bytes(row.go_mod))
    _read_go_mod(digest, parsed)
    files: list[tuple[bytes, ZipEntry]] = []
    transient = False
    try:
        if zip_file is not None:
            zip_file.seek(0)
            files = _read_zip(digest, row, zip_file, entries)
        else:
            from modules.fetch import modules_storage  # modules.fetch imports this module

            with modules_storage().open(row.zip_key, "rb") as stored:
                files = _read_zip(digest, row, stored, entries)
    except InvalidZipError as exc:
        digest.zip_error = str(exc) or type(exc).__name__
        files = []
    except OSError as exc:
        logger.warning("could not read the zip of %s@%s from storage: %s", row.module.path, row.version, exc)
        digest.zip_error = "storage did not give it back just now; reload this page to try again."
        files, transient = [], True
    if transient:
        return digest
    with transaction.atomic():
        if not ModuleVersion.objects.select_for_update().filter(pk=row.pk, state=READY).exists():
            return digest  # evicted meanwhile
        existing = VersionDigest.objects.filter(version_id=row.pk).defer("retracts").first()
        if existing is not None and not replace:
            return existing
        for model in (VersionDigest, VersionFile, VersionRequirement):
            model.objects.filter(version_id=row.pk).delete()
        digest.save(force_insert=True)
        _insert(VersionFile, (
            {"version_id": row.pk, "position": position, "path": raw, "path_hash": path_hash(raw),
             "size": entry.declared_size, "compressed_size": entry.compressed_size, "method": entry.method,
             "crc": entry.crc, "flags": entry.flags, "header_offset": entry.header_offset}
            for position, (raw, entry) in enumerate(files)
        ))
        _insert(VersionRequirement, (
            {"version_id": row.pk, "position": position, "path": require.path, "required": require.version,
             "indirect": require.indirect}
            for position, require in enumerate(parsed.requires)
        ))
    return digest


def _read_go_mod(digest: VersionDigest, parsed: GoMod) -> None:
    digest.require_count = len(parsed.requires)
    digest.retracts = [[r.low, r.high, _shorten(r.rationale)] for r in parsed.retracts]
    digest.deprecated = None if parsed.deprecated is None else _shorten(parsed.deprecated)


def _read_zip(digest: VersionDigest, row: ModuleVersion, file, entries) -> list[tuple[bytes, ZipEntry]]:
    """Fill the zip's part of `digest`; return the files (raw relative name, entry) in
    tree order."""
    prefix = f"{row.module.path}@{row.version}/"
    with ZipReader(file, max_entries=settings.ATHENS_ZIP_MAX_FILES, entries=entries) as reader:
        files = [
            (entry.name[len(prefix):].encode("utf-8", "surrogateescape"), entry)
            for entry in reader.entries if not entry.is_dir and entry.name.startswith(prefix) and entry.name != prefix
        ]
        files.sort(key=lambda item: item[0].split(b"/"))
        digest.file_count = len(files)
        by_path = {entry.name[len(prefix):]: entry for _, entry in files if "/" not in entry.name[len(prefix):]}
        _read_license(digest, reader, by_path)
        _read_readme(digest, reader, by_path)
    return files


def _read_license(digest: VersionDigest, reader: ZipReader, root_files: dict[str, ZipEntry]) -> None:
    candidates = sorted((path for path in root_files if _LICENSE_FILE.match(path)), key=len)
    if not candidates:
        return
    digest.license_path = candidates[0]
    data = read_at_most(reader, root_files[candidates[0]], LICENSE_MAX_BYTES)
    digest.license_name = license_name(data.decode("utf-8", errors="replace")) or candidates[0]


def _read_readme(digest: VersionDigest, reader: ZipReader, root_files: dict[str, ZipEntry]) -> None:
    path = readme.find_readme(root_files)
    if path is None:
        return
    digest.readme_path = path
    entry = root_files[path]
    if entry.declared_size > README_MAX_BYTES:
        digest.readme_note = (
            f"{path} is {entry.declared_size:,} bytes, more than the {README_MAX_BYTES // 1024} KiB "
            "this page shows; open it from the file list."
        )
        return
    data = read_at_most(reader, entry, README_MAX_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        digest.readme_note = f"{path} is not UTF-8 text; open it from the file list."
        return
    if not readme.is_markdown(path):
        digest.readme_html = readme.render_plain(text)
        return
    html = readme.render_readme(text, base_url="files/")
    why = None
    if len(html) > README_MAX_HTML:
        why = f"its HTML would be more than {README_MAX_HTML // 1024} KiB"
    elif (depth := readme.nesting_depth(html)) > README_MAX_NESTING:
        why = f"it nests {depth} levels deep, more than {README_MAX_NESTING}"
    if why:
        digest.readme_note = f"{path} is shown as plain text: {why}."
        digest.readme_html = readme.render_plain(text)
    else:
        digest.readme_html = html


def read_at_most(reader: ZipReader, entry: ZipEntry, limit: int) -> bytes:
    """The first `limit` bytes of an entry (+ at most a chunk more, cut off)."""
    buffer = bytearray()
    chunks = reader.read_chunks(entry)
    try:
        for chunk in chunks:
            buffer += chunk
            if len(buffer) > limit:
                break
    finally:
        chunks.close()
    return bytes(buffer[:limit])


def path_hash(raw_path: bytes) -> int:
    """The index key of a file path: 64 bits of BLAKE2b, signed for a BIGINT column."""
    return int.from_bytes(hashlib.blake2b(raw_path, digest_size=8).digest(), "big", signed=True)


def _insert(model, rows) -> None:
    """Insert many rows (dicts of column values): COPY on PostgreSQL (300,000 rows in
    about a second, where INSERTs take several), bulk_create in batches elsewhere."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    columns = list(first)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            copy.write_row([first[column] for column in columns])
            for row in rows:
                copy.write_row([row[column] for column in columns])
        return
    batch = [model(**first)]
    for row in rows:
        batch.append(model(**row))
        if len(batch) >= _INSERT_BATCH:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def build_after_fetch(row: ModuleVersion, *, zip_file, entries, parsed_go_mod) -> None:
    """The fetch path's call: build the digests, log (never raise) a failure; the pages
    build what is missing on their first view. The module's digest is refreshed even
    when the version's could not be built: it reads only the go.mod."""
    try:
        build(row, zip_file=zip_file, entries=entries, parsed_go_mod=parsed_go_mod)
    except Exception:  # noqa: BLE001 - derived data must not fail a fetch
        logger.exception("could not build the browsing digest of %s@%s", row.module.path, row.version)
    try:
        refresh_module(row.module_id)
    except Exception:  # noqa: BLE001
        logger.exception("could not refresh the module digest of %s", row.module.path)


# -- licenses ------------------------------------------------------------------------------

_LICENSE_FILE = re.compile(r"^(?:un)?licen[cs]e(?:[.-].*)?$|^copying(?:[.-].*)?$", re.IGNORECASE)

# Distinctive phrases of the common licenses, most specific first. A heuristic for a
# label, not a legal determination (pkg.go.dev uses google/licensecheck for that).
_LICENSE_PHRASES = [
    ("AGPL-3.0", ("gnu affero general public license",)),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license",)),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("0BSD", ("permission to use, copy, modify, and/or distribute this software",)),
]


def license_name(text: str) -> str | None:
    """An SPDX id for a license text when one of the common ones is recognized."""
    text = " ".join(text.lower().split())
    for name, phrases in _LICENSE_PHRASES:
        if all(phrase in text for phrase in phrases):
            return name
    return None


# -- modules -------------------------------------------------------------------------------


def for_module(module: Module) -> ModuleDigest:
    """The digest of a module, built now if it has none yet."""
    found = ModuleDigest.objects.filter(module_id=module.pk).first()
    return found if found is not None else refresh_module(module.pk)


def refresh_module(module_id: int) -> ModuleDigest | None:
    """Recompute a module's @latest, retracted versions and deprecation from its cached
    versions, as the go command does: from the go.mod of the version @latest picks
    ignoring retractions; retracted versions are skipped unless nothing else is left.

    Runs under a lock on the module's row, so two fetches committing versions of one
    module at once cannot leave the older answer behind. None if the module is gone.
    """
    with transaction.atomic():
        module = Module.objects.select_for_update().filter(pk=module_id).first()
        if module is None:
            return None
        versions = list(ModuleVersion.objects.filter(module_id=module_id, state=READY).values_list("id", "version"))
        names = [version for _, version in versions]
        ignoring = latest_version(names)
        retracted, deprecated = {}, None
        if ignoring is not None:
            source = next(row_id for row_id, version in versions if version == ignoring)
            facts = _go_mod_facts(source)
            retracted = {v: _shorten(why) for v, why in retractions(names, facts.retracts).items()}
            deprecated = None if facts.deprecated is None else _shorten(facts.deprecated)
        latest = latest_version([v for v in names if v not in retracted]) or ignoring or ""
        digest, _ = ModuleDigest.objects.update_or_create(
            module_id=module_id, defaults={"latest": latest, "deprecated": deprecated, "retracted": retracted},
        )
    return digest


def _go_mod_facts(version_id: int) -> VersionDigest:
    """The go.mod part of a version's digest; parsed from the row if not stored yet."""
    found = VersionDigest.objects.filter(version_id=version_id).only("retracts", "deprecated").first()
    if found is not None:
        return found
    digest = VersionDigest()
    go_mod = ModuleVersion.objects.filter(pk=version_id).values_list("go_mod", flat=True).first()
    _read_go_mod(digest, parse_go_mod(bytes(go_mod or b"")))
    return digest


def _shorten(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX_CHARS else text[:MESSAGE_MAX_CHARS] + "…"

