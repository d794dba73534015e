"""Reading one file of a cached module zip in place, for the browsing UI.

The zip stays where the cache stored it. Where each file is comes from the file index
stored when the version was cached (modules/browse/models.VersionFile), so a file view
reads one local header and one entry, never the central directory (7.6 s for a zip of
300,000 files, issue 20). modules/goproxy/zipread decompresses it in bounded chunks,
checking sizes and CRCs as Go does. Nothing is extracted to disk, and a requested path
is only compared with the index's names, never used as a file system path.
"""

import io
from dataclasses import dataclass

from modules.goproxy.errors import InvalidZipError
from modules.goproxy.zipread import ZipEntry, ZipReader

from modules.fetch import modules_storage

from . import digest
from .models import VersionFile

BINARY_SNIFF_BYTES = 8 * 1024


class FileNotInZip(KeyError):
    """The requested path is not a file of the module zip (the view answers 404)."""


@dataclass(frozen=True)
class ZipEntryInfo:
    path: str  # relative to the module root (the `module@version/` prefix removed)
    size: int  # uncompressed size as the central directory declares it


@dataclass(frozen=True)
class FileContent:
    path: str
    size: int
    data: bytes | None  # None when binary or too large
    is_binary: bool
    too_large: bool


def _entry(row, path: str) -> ZipEntry:
    """The index entry of `path` in row's zip. Raises FileNotInZip, or InvalidZipError
    when the zip could not be read when its digest was built."""
    version_digest = digest.for_version(row, only=("zip_error",))
    if version_digest.zip_error:
        raise InvalidZipError(version_digest.zip_error)
    raw = path.encode("utf-8", "surrogateescape")
    for found in VersionFile.objects.filter(version_id=row.pk, path_hash=digest.path_hash(raw)):
        if bytes(found.path) == raw:
            return ZipEntry(
                name=f"{row.module.path}@{row.version}/{path}", declared_size=found.size,
                compressed_size=found.compressed_size, method=found.method, crc=found.crc,
                flags=found.flags, header_offset=found.header_offset, unix_mode=None,
            )
    raise FileNotInZip(path)


def _open(row, entry: ZipEntry):
    storage_file = modules_storage().open(row.zip_key, "rb")
    return storage_file, ZipReader(storage_file, entries=[entry])


def read_file(row, path: str, *, max_bytes: int = 512 * 1024) -> FileContent:
    """One file's content for display. Raises FileNotInZip for a path not in the zip.

    At most max_bytes (+1, to notice) are decompressed. `data` is None when the file
    is larger than max_bytes (`too_large`) or binary: a NUL byte in its first 8 KiB, or
    not valid UTF-8.
    """
    entry = _entry(row, path)
    size = entry.declared_size
    storage_file, reader = _open(row, entry)
    with storage_file, reader:
        data = digest.read_at_most(reader, entry, max(max_bytes, BINARY_SNIFF_BYTES))
    head = data[:BINARY_SNIFF_BYTES]
    too_large = size > max_bytes
    is_binary = b"\x00" in head
    if not is_binary:
        sample = head if too_large else data
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A sniff cut in the middle of a multi-byte character is not binary.
            is_binary = not (too_large and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data")
    return FileContent(
        path=path, size=size, data=None if (is_binary or too_large) else data,
        is_binary=is_binary, too_large=too_large,
    )


class ZipFileStream(io.RawIOBase):
    """One zip entry's content as a read-only stream; closes the storage file with it."""

    def __init__(self, storage_file, reader: ZipReader, entry: ZipEntry):
        self._storage_file = storage_file
        self._reader = reader
        self._chunks = reader.read_chunks(entry)
        self._pending = b""
        self.size = entry.declared_size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._chunks.close()
            self._reader.close()
            self._storage_file.close()
        super().close()


def open_zip_file(row, path: str) -> io.BufferedReader:
    """A file-like object (read(), close(), iterable) streaming one file's content,
    decompressed chunk by chunk. `.raw.size` is its size. Raises FileNotInZip.

    The caller closes it (FileResponse does). A corrupt entry raises InvalidZipError
    while it is read.
    """
    entry = _entry(row, path)
    storage_file, reader = _open(row, entry)
    return io.BufferedReader(ZipFileStream(storage_file, reader, entry), buffer_size=64 * 1024)
