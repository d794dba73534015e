"""Reading a cached module zip in place, for the browsing UI.

The zip stays where the cache stored it: modules/goproxy/zipread.ZipReader reads only
its central directory (Python's zipfile seeks to the end of the file object storage
gives us) and decompresses one entry on demand, in bounded chunks, checking sizes and
CRCs as Go does. Nothing is extracted to disk, and a requested path is only compared
as a string with entry names, never used as a file system path.

Limits keep a hostile zip from exhausting memory: the entry count is read from the
end-of-central-directory record before the directory is parsed, and a displayed file
is read up to `max_bytes`. Such zips are refused at fetch time already; this is the
second line.
"""

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Iterator

from modules.goproxy.errors import InvalidZipError
from modules.goproxy.zipread import ZipEntry, ZipReader

from .fetch import modules_storage

#: A zip whose central directory claims more entries than this is not parsed at all:
#: each parsed entry costs memory. Far above the largest real module zips.
MAX_DIRECTORY_ENTRIES = 500_000
BINARY_SNIFF_BYTES = 8 * 1024


class FileNotInZip(KeyError):
    """The requested path is not a file of the module zip (the view answers 404)."""


class ZipTooLarge(InvalidZipError):
    """The zip's central directory is too large to read for display."""


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


def _prefix(row) -> str:
    return f"{row.module.path}@{row.version}/"


def _open_reader(storage_file) -> ZipReader:
    count = _directory_entry_count(storage_file)
    if count is not None and count > MAX_DIRECTORY_ENTRIES:
        raise ZipTooLarge(f"zip has {count} entries, more than {MAX_DIRECTORY_ENTRIES}")
    return ZipReader(storage_file)


def _directory_entry_count(file) -> int | None:
    """The total entry count from the end-of-central-directory record (None if zip64 or
    unreadable: then zipfile's parse decides)."""
    try:
        end = zipfile._EndRecData(file)  # reads only the last 64 KiB or so
    except (OSError, ValueError, struct.error):
        return None
    if not end:
        return None
    return end[zipfile._ECD_ENTRIES_TOTAL]


def _files(reader: ZipReader, prefix: str) -> Iterator[tuple[str, ZipEntry]]:
    for entry in reader.entries:
        if entry.is_dir or not entry.name.startswith(prefix):
            continue
        yield entry.name[len(prefix):], entry


def list_files(row, *, max_entries: int = 50_000) -> list[ZipEntryInfo]:
    """The files of a cached version's zip (directories omitted), sorted by path, at most
    `max_entries` of them (the first in central-directory order).

    Names are returned as data: a name that is not UTF-8 keeps its bytes as surrogate
    escapes (see zipread), which templates render as replacement characters.
    """
    with modules_storage().open(row.zip_key, "rb") as storage_file:
        with _open_reader(storage_file) as reader:
            files = []
            for path, entry in _files(reader, _prefix(row)):
                if len(files) >= max_entries:
                    break
                files.append(ZipEntryInfo(path=path, size=entry.declared_size))
    files.sort(key=lambda info: info.path)
    return files


def _find(reader: ZipReader, prefix: str, path: str) -> ZipEntry:
    for name, entry in _files(reader, prefix):
        if name == path:
            return entry
    raise FileNotInZip(path)


def read_file(row, path: str, *, max_bytes: int = 512 * 1024) -> FileContent:
    """One file's content for display. Raises FileNotInZip for a path not in the zip.

    At most max_bytes (+1, to notice) are decompressed. `data` is None when the file
    is larger than max_bytes (`too_large`) or binary: a NUL byte in its first 8 KiB, or
    not valid UTF-8.
    """
    with modules_storage().open(row.zip_key, "rb") as storage_file:
        with _open_reader(storage_file) as reader:
            entry = _find(reader, _prefix(row), path)
            size = entry.declared_size
            limit = max(max_bytes, BINARY_SNIFF_BYTES)
            data = _read_at_most(reader, entry, limit)
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


def _read_at_most(reader: ZipReader, entry: ZipEntry, limit: int) -> bytes:
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
    storage_file = modules_storage().open(row.zip_key, "rb")
    try:
        reader = _open_reader(storage_file)
        entry = _find(reader, _prefix(row), path)
    except BaseException:
        storage_file.close()
        raise
    return io.BufferedReader(ZipFileStream(storage_file, reader, entry), buffer_size=64 * 1024)
