"""Building module zips for tests, including broken ones Python's zipfile would not write.

Broken zips are made by writing a good one and patching bytes afterwards: the sizes or
CRC in the headers, an entry name with bytes zipfile refuses to encode, a flag.
"""

import io
import struct
import warnings
import zipfile

GOOD_TIME = (2024, 1, 2, 3, 4, 6)


def make_zip(entries, *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of (name, content) pairs, in that order; names ending in '/' are directories."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # tests want duplicates
        for name, content in entries:
            info = zipfile.ZipInfo(name, GOOD_TIME)
            info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else compression
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            info.create_system = 3
            archive.writestr(info, content)
    return buffer.getvalue()


def module_zip(module: str, version: str, files: dict, **options) -> bytes:
    """A module zip: every file under ``<module>@<version>/``."""
    prefix = f"{module}@{version}/"
    return make_zip([(prefix + name, content) for name, content in files.items()], **options)


def _central_records(data: bytes):
    """Yield (offset, name bytes) of every central directory record."""
    offset = data.find(b"PK\x01\x02")
    while offset >= 0:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        yield offset, data[offset + 46 : offset + 46 + name_length]
        offset = data.find(b"PK\x01\x02", offset + 46 + name_length)


def _local_header(data: bytes, central_offset: int) -> int:
    return struct.unpack_from("<I", data, central_offset + 42)[0]


def patch_entry(data: bytes, name: str, *, declared_size=None, crc=None, flags_or=0, method=None) -> bytes:
    """Rewrite header fields of entry ``name`` in both the central and local headers."""
    out = bytearray(data)
    for central, raw_name in _central_records(data):
        if raw_name != name.encode():
            continue
        local = _local_header(data, central)
        if declared_size is not None:
            struct.pack_into("<I", out, central + 24, declared_size)
            struct.pack_into("<I", out, local + 22, declared_size)
        if crc is not None:
            struct.pack_into("<I", out, central + 16, crc)
            struct.pack_into("<I", out, local + 14, crc)
        if flags_or:
            flags = struct.unpack_from("<H", data, central + 8)[0] | flags_or
            struct.pack_into("<H", out, central + 8, flags)
            struct.pack_into("<H", out, local + 6, flags)
        if method is not None:
            struct.pack_into("<H", out, central + 10, method)
            struct.pack_into("<H", out, local + 8, method)
        return bytes(out)
    raise KeyError(name)


def rename_raw(data: bytes, placeholder: str, raw_name: bytes) -> bytes:
    """Replace an entry name by raw bytes of the same length (e.g. not UTF-8, or a NUL)."""
    assert len(placeholder.encode()) == len(raw_name)
    assert data.count(placeholder.encode()) == 2  # local header and central directory
    return data.replace(placeholder.encode(), raw_name)
