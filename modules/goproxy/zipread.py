"""Reading zip entries the way Go's archive/zip does, streaming and without trusting headers.

Python's zipfile parses the central directory well, so this module uses it for that,
but reads entry contents itself. The go command decides whether a module zip is
acceptable and what its h1 hash is with Go's reader; to agree with it byte for byte,
the proxy must read the same bytes and fail in the same cases:

* Entry names are the raw bytes of the central directory. Names that are not UTF-8
  are kept distinct (decoded with ``surrogateescape``) rather than re-decoded as CP437,
  and a NUL in a name is kept (Python's zipfile silently cuts the name there, which
  would hide a name Go rejects).
* An entry must decompress to exactly its declared size: Go stops with an error as
  soon as it sees one byte more (zip bombs with lying headers) and when it sees fewer.
  Python's zipfile silently stops at the declared size instead.
* The CRC-32 is checked as Go checks it, including the data descriptor's copy.
* Only "store" and "deflate" are accepted, the methods Go's reader registers.
* Directory entries (names ending in ``/``) read as empty and must declare size 0.

Output is produced in bounded chunks, so even a 500 MiB entry never sits in memory.
"""

import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from .errors import InvalidZipError, quote

CHUNK_SIZE = 1 << 16

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
_DATA_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_FLAG_ENCRYPTED = 0x1
_FLAG_DATA_DESCRIPTOR = 0x8
_FLAG_UTF8 = 0x800
_CREATOR_UNIX, _CREATOR_MACOSX = 3, 19


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One central-directory record of a zip file."""

    name: str  # raw name bytes decoded as UTF-8, invalid bytes kept via surrogateescape
    declared_size: int  # uncompressed size claimed by the central directory
    compressed_size: int
    method: int
    crc: int
    flags: int
    header_offset: int
    unix_mode: int | None  # st_mode bits if the creator was a Unix system, else None

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def _check_entry_count(file: BinaryIO, limit: int) -> None:
    """Refuse a zip with more than `limit` entries before zipfile parses its central
    directory: parsing costs about 1 KB of memory an entry (1,000,000 tiny files took a
    worker to 1 GB, issue 20).

    The entries are counted by walking the central directory's headers as zipfile will
    read them (its size and offset from the end record, the zip64 one where present),
    not taken from the end record's count: zipfile ignores that count, and Go compares
    only its low 16 bits, so a zip could declare 1 entry and hold a million. The walk
    reads 46 bytes a header and stops at limit + 1.
    """
    end_record = zipfile._EndRecData(file)  # noqa: SLF001 - the stdlib's own EOCD reader
    if end_record is None:
        file.seek(0)
        return  # not a zip: ZipFile says so with its own message
    size = end_record[zipfile._ECD_SIZE]  # noqa: SLF001
    # As zipfile computes it: the directory ends where the end record (or the zip64
    # end record and locator before it) starts, whatever the offset field claims.
    end = end_record[zipfile._ECD_LOCATION]  # noqa: SLF001
    if end_record[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # noqa: SLF001
        end -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    file.seek(max(end - size, 0))
    count, walked = 0, 0
    while walked < size:
        header = file.read(_CENTRAL_HEADER_SIZE)
        if len(header) < _CENTRAL_HEADER_SIZE or header[:4] != b"PK\x01\x02":
            break  # zipfile reports the damage
        name_length, extra_length, comment_length = struct.unpack("<HHH", header[28:34])
        file.seek(name_length + extra_length + comment_length, os.SEEK_CUR)
        walked += _CENTRAL_HEADER_SIZE + name_length + extra_length + comment_length
        count += 1
        if count > limit:
            file.seek(0)
            raise InvalidZipError(
                f"module zip has more than {limit} entries; this proxy accepts at most {limit} (ATHENS_ZIP_MAX_FILES)"
            )
    file.seek(0)


_CENTRAL_HEADER_SIZE = 46


class ZipReader:
    """An open zip file: its entries in central-directory order and their contents.

    Use as a context manager. ``file`` is a path or a seekable binary file object; a
    file object is left open for its owner.
    """

    def __init__(
        self, file: str | os.PathLike | BinaryIO, *, max_entries: int | None = None,
        entries: list[ZipEntry] | None = None,
    ):
        """``entries``: the central-directory records, already known (a stored file
        index), so the directory is not read again; contents are still checked as Go does."""
        self._owned = not hasattr(file, "read")
        self._file: BinaryIO = open(file, "rb") if self._owned else file
        if entries is not None:
            self.entries = entries
            return
        try:
            if max_entries is not None:
                _check_entry_count(self._file, max_entries)
            with zipfile.ZipFile(self._file) as archive:
                self.entries = [_entry(info) for info in archive.infolist()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
            self.close()
            raise InvalidZipError(f"not a valid zip file: {exc}") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._owned:
            self._file.close()

    def __enter__(self) -> "ZipReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def read_chunks(self, entry: ZipEntry) -> Iterator[bytes]:
        """Yield the uncompressed content of ``entry`` in chunks of at most CHUNK_SIZE.

        Raises InvalidZipError (naming the entry) when the content is not exactly the
        declared size, fails its CRC check or cannot be decompressed.
        """
        data_offset = self._data_offset(entry)
        if entry.is_dir:
            # Go tolerates data in a directory entry's compressed stream but not a
            # nonzero declared size; a directory reads as empty.
            if entry.declared_size != 0:
                raise _entry_error(entry, "directory entry has nonzero size")
            return
        if entry.flags & _FLAG_ENCRYPTED:
            raise _entry_error(entry, "encrypted entries are not supported")
        if entry.method == zipfile.ZIP_STORED:
            chunks = self._raw_chunks(data_offset, entry.compressed_size)
        elif entry.method == zipfile.ZIP_DEFLATED:
            chunks = _inflate(entry, self._raw_chunks(data_offset, entry.compressed_size))
        else:
            raise _entry_error(entry, f"unsupported compression method {entry.method}")

        crc, size = 0, 0
        for chunk in chunks:
            size += len(chunk)
            if size > entry.declared_size:
                raise _entry_error(
                    entry, f"uncompressed size is larger than declared size ({entry.declared_size} bytes)"
                )
            crc = zlib.crc32(chunk, crc)
            yield chunk
        if size != entry.declared_size:
            raise _entry_error(entry, f"uncompressed size is smaller than declared size ({entry.declared_size} bytes)")
        self._check_crc(entry, data_offset, crc)

    def _data_offset(self, entry: ZipEntry) -> int:
        """Where the entry's data starts: after its local header, as Go computes it."""
        self._file.seek(entry.header_offset)
        header = self._file.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise _entry_error(entry, "local file header is truncated")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if signature != _LOCAL_HEADER_SIGNATURE:
            raise _entry_error(entry, "local file header has a bad signature")
        return entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length

    def _raw_chunks(self, offset: int, length: int) -> Iterator[bytes]:
        """The entry's stored bytes, read by position so several readers can interleave."""
        while length > 0:
            self._file.seek(offset)
            chunk = self._file.read(min(length, CHUNK_SIZE))
            if not chunk:
                raise InvalidZipError("not a valid zip file: entry data runs past the end of the file")
            offset += len(chunk)
            length -= len(chunk)
            yield chunk

    def _check_crc(self, entry: ZipEntry, data_offset: int, crc: int) -> None:
        if entry.flags & _FLAG_DATA_DESCRIPTOR:
            # The descriptor after the data repeats the CRC (optionally after a
            # signature); Go requires it to agree with the central directory.
            self._file.seek(data_offset + entry.compressed_size)
            descriptor = self._file.read(8)
            if descriptor[:4] == _DATA_DESCRIPTOR_SIGNATURE:
                descriptor = descriptor[4:]
            if len(descriptor) < 4:
                raise _entry_error(entry, "data descriptor is truncated")
            if struct.unpack("<I", descriptor[:4])[0] != entry.crc or crc != entry.crc:
                raise _entry_error(entry, "checksum error")
        elif entry.crc != 0 and crc != entry.crc:
            # Without a descriptor Go checks the CRC only "if it seems like it was set".
            raise _entry_error(entry, "checksum error")


def _entry(info: zipfile.ZipInfo) -> ZipEntry:
    # Recover the raw name bytes: zipfile decoded them as UTF-8 or CP437 depending on
    # the UTF-8 flag (both reversible), and orig_filename is the name before zipfile
    # truncated it at a NUL.
    encoding = "utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437"
    raw_name = info.orig_filename.encode(encoding)
    unix_mode = info.external_attr >> 16 if info.create_system in (_CREATOR_UNIX, _CREATOR_MACOSX) else None
    return ZipEntry(
        name=raw_name.decode("utf-8", errors="surrogateescape"),
        declared_size=info.file_size,
        compressed_size=info.compress_size,
        method=info.compress_type,
        crc=info.CRC,
        flags=info.flag_bits,
        header_offset=info.header_offset,
        unix_mode=unix_mode,
    )


def _inflate(entry: ZipEntry, compressed: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress a raw deflate stream, never producing more than CHUNK_SIZE at once."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for data in compressed:
            while not inflater.eof:
                out = inflater.decompress(data, CHUNK_SIZE)
                data = inflater.unconsumed_tail
                if out:
                    yield out
                # A full chunk may leave output pending inside zlib even when all
                # input was consumed; keep asking until it returns a short chunk.
                if not data and len(out) < CHUNK_SIZE:
                    break
            if inflater.eof:
                break  # like Go, ignore bytes after the final deflate block
    except zlib.error as exc:
        raise _entry_error(entry, f"cannot decompress: {exc}") from None
    if not inflater.eof:
        raise _entry_error(entry, "compressed data ends unexpectedly")


def _entry_error(entry: ZipEntry, problem: str) -> InvalidZipError:
    return InvalidZipError(f"{quote(entry.name)}: {problem}")
