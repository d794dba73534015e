"""The ``h1:`` hash that go.sum and the checksum database record (x/mod/sumdb/dirhash).

Hash1 hashes a list of named files as if by ``sha256sum $(find . -type f | sort) |
sha256sum``: a summary line ``<hex sha256 of content>  <name>\\n`` per file, in byte
order of the names, then ``"h1:" + base64(sha256(summary))``. Only names and contents
count, so a zip's compression, timestamps and entry order never change the hash.

For a module zip the names are the full entry names (``example.com/m@v1.0.0/go.mod``);
for a go.mod file alone (the ``/go.mod`` line in go.sum) the single name is ``go.mod``.
"""

import base64
import hashlib
import io
import os
from typing import BinaryIO, Callable, Iterable

from .errors import GoProxyError, InvalidZipError, quote
from .zipread import CHUNK_SIZE, ZipReader


def hash_files(items: Iterable[tuple[str, Callable[[], BinaryIO]]]) -> str:
    """The h1 hash of named files; each opener returns a binary file to read (and close).

    Files are read in chunks, in name order. Raises GoProxyError for a name containing
    a newline, which would make the summary ambiguous (Go refuses those too).
    """
    digests = {}
    names = []
    for name, opener in items:
        _check_name(name)
        names.append(name)
        with opener() as stream:
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
        digests[name] = digest.hexdigest()
    return hash_digests((name, digests[name]) for name in names)


def hash_digests(named_digests: Iterable[tuple[str, str]]) -> str:
    """The h1 hash from (name, hex sha256 of content) pairs already computed.

    Lets a caller that reads every file anyway (zip validation) hash in the same pass.
    """
    lines = []
    for name, hex_digest in named_digests:
        _check_name(name)
        lines.append((_name_bytes(name), hex_digest))
    # Go sorts names as byte strings; encoding first keeps that order even for names
    # carrying undecodable bytes.
    lines.sort(key=lambda line: line[0])
    summary = hashlib.sha256()
    for name, hex_digest in lines:
        summary.update(hex_digest.encode("ascii") + b"  " + name + b"\n")
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_go_mod(data: bytes) -> str:
    """The h1 hash of a go.mod file: what go.sum records on its ``<version>/go.mod`` line."""
    return hash_files([("go.mod", lambda: io.BytesIO(data))])


def hash_zip(file: str | os.PathLike | BinaryIO) -> str:
    """The h1 hash of a module zip: every entry, under its full name, as dirhash.HashZip.

    Like Go, directory entries are hashed too (as empty files), and when a name occurs
    twice the last entry's content is hashed for both occurrences. Contents are
    streamed and checked as Go's zip reader checks them. Raises InvalidZipError for a
    file that is not a readable zip or an entry name containing a newline.
    """
    with ZipReader(file) as reader:
        last_entry = {entry.name: entry for entry in reader.entries}
        for name in last_entry:
            if "\n" in name:
                raise InvalidZipError(f"{quote(name)}: dirhash: filenames with newlines are not supported")
        digests = {}
        for name, entry in last_entry.items():
            digest = hashlib.sha256()
            for chunk in reader.read_chunks(entry):
                digest.update(chunk)
            digests[name] = digest.hexdigest()
        return hash_digests((entry.name, digests[entry.name]) for entry in reader.entries)


def _check_name(name: str) -> None:
    if "\n" in name:
        raise GoProxyError("dirhash: filenames with newlines are not supported")


def _name_bytes(name: str) -> bytes:
    try:
        return name.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        raise GoProxyError(f"dirhash: file name {quote(name)} cannot be encoded") from None
