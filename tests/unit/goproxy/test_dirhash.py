"""The h1 hash (modules.goproxy.dirhash) and the zip reading under it (zipread)."""

import base64
import hashlib
import io
import zipfile

import pytest

from modules.goproxy import dirhash, zipread
from modules.goproxy.errors import GoProxyError, InvalidZipError

from .zips import make_zip, patch_entry, rename_raw


def h1_by_hand(files: dict[str, bytes]) -> str:
    """The documented algorithm, spelled out: sha256sum lines sorted by name, hashed."""
    summary = "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def test_hash_go_mod_matches_the_known_go_sum_entry_of_golang_org_x_text():
    # go.sum: golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c/go.mod h1:NqM8...
    # (that version had no go.mod, so the proxy serves the synthesized one).
    assert dirhash.hash_go_mod(b"module golang.org/x/text\n") == "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ="


def test_hash_go_mod_hashes_a_single_file_named_go_mod():
    data = b"module example.com/m\n\ngo 1.21\n"
    assert dirhash.hash_go_mod(data) == h1_by_hand({"go.mod": data})


def test_hash_files_sorts_names_so_input_order_does_not_matter():
    files = {"b.go": b"package b\n", "a/z.go": b"package z\n", "a.go": b"", "A.go": b"upper sorts first"}
    forward = dirhash.hash_files((name, lambda data=data: io.BytesIO(data)) for name, data in files.items())
    backward = dirhash.hash_files(
        (name, lambda data=data: io.BytesIO(data)) for name, data in reversed(list(files.items()))
    )
    assert forward == backward == h1_by_hand(files)


def test_hash_files_sorts_by_utf8_bytes():
    files = {"é.txt": b"1", "z.txt": b"2", "日本.txt": b"3", "Z.txt": b"4"}
    assert dirhash.hash_files((n, lambda d=d: io.BytesIO(d)) for n, d in files.items()) == h1_by_hand(files)


def test_hash_files_rejects_names_with_newlines():
    with pytest.raises(GoProxyError, match="newlines"):
        dirhash.hash_files([("a\nb", lambda: io.BytesIO(b""))])


def test_hash_files_of_nothing_is_the_hash_of_an_empty_summary():
    assert dirhash.hash_files([]) == "h1:" + base64.b64encode(hashlib.sha256(b"").digest()).decode()


def test_hash_files_closes_what_it_opens():
    opened = []

    def opener():
        stream = io.BytesIO(b"content")
        opened.append(stream)
        return stream

    dirhash.hash_files([("f", opener)])
    assert opened[0].closed


def test_hash_zip_hashes_entries_by_full_name():
    files = {"example.com/m@v1.0.0/go.mod": b"module example.com/m\n", "example.com/m@v1.0.0/m.go": b"package m\n"}
    assert dirhash.hash_zip(io.BytesIO(make_zip(list(files.items())))) == h1_by_hand(files)


def test_hash_zip_ignores_compression_timestamps_and_entry_order():
    entries = [("m@v1.0.0/a.go", b"a" * 1000), ("m@v1.0.0/b.go", b"b")]
    stored = make_zip(entries, compression=zipfile.ZIP_STORED)
    deflated = make_zip(list(reversed(entries)), compression=zipfile.ZIP_DEFLATED)
    assert dirhash.hash_zip(io.BytesIO(stored)) == dirhash.hash_zip(io.BytesIO(deflated))


def test_hash_zip_counts_directory_entries_as_empty_files_like_go():
    with_dir = make_zip([("m@v1.0.0/", b""), ("m@v1.0.0/a.go", b"a")])
    assert dirhash.hash_zip(io.BytesIO(with_dir)) == h1_by_hand({"m@v1.0.0/": b"", "m@v1.0.0/a.go": b"a"})


def test_hash_zip_uses_the_last_entry_for_a_duplicated_name_like_go():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m@v1.0.0/a.go", b"first")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("m@v1.0.0/a.go", b"second")
    summary_line = f"{hashlib.sha256(b'second').hexdigest()}  m@v1.0.0/a.go\n"
    expected = "h1:" + base64.b64encode(hashlib.sha256((summary_line * 2).encode()).digest()).decode()
    assert dirhash.hash_zip(io.BytesIO(buffer.getvalue())) == expected


def test_hash_zip_accepts_a_path(tmp_path):
    path = tmp_path / "m.zip"
    path.write_bytes(make_zip([("m@v1.0.0/a.go", b"a")]))
    assert dirhash.hash_zip(path) == dirhash.hash_zip(str(path)) == h1_by_hand({"m@v1.0.0/a.go": b"a"})


def test_hash_zip_streams_large_entries_in_bounded_chunks(monkeypatch):
    content = bytes(range(256)) * 40_000  # about 10 MiB, compresses well
    data = make_zip([("m@v1.0.0/big.bin", content)])
    seen = []
    original = zipread.ZipReader.read_chunks

    def spy(self, entry):
        for chunk in original(self, entry):
            seen.append(len(chunk))
            yield chunk

    monkeypatch.setattr(zipread.ZipReader, "read_chunks", spy)
    assert dirhash.hash_zip(io.BytesIO(data)) == h1_by_hand({"m@v1.0.0/big.bin": content})
    assert max(seen) <= zipread.CHUNK_SIZE
    assert sum(seen) == len(content)


def test_hash_zip_rejects_names_with_newlines():
    with pytest.raises(InvalidZipError, match="newlines"):
        dirhash.hash_zip(io.BytesIO(make_zip([("m@v1.0.0/a\nb", b"")])))


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda data: patch_entry(data, "m@v1.0.0/a.go", crc=0x12345678), "checksum error"),
        (lambda data: patch_entry(data, "m@v1.0.0/a.go", declared_size=10), "larger than declared size"),
        (lambda data: patch_entry(data, "m@v1.0.0/a.go", declared_size=5000), "smaller than declared size"),
        (lambda data: patch_entry(data, "m@v1.0.0/a.go", method=12), "unsupported compression method 12"),
        (lambda data: patch_entry(data, "m@v1.0.0/a.go", flags_or=0x1), "encrypted"),
        (lambda data: b"not a zip at all", "not a valid zip file"),
        (lambda data: data[: len(data) // 2], "not a valid zip file"),
        (lambda data: data.replace(b"PK\x03\x04", b"PK\x03\x05", 1), "bad signature"),
    ],
)
def test_hash_zip_rejects_corrupt_zips(corrupt, message):
    data = make_zip([("m@v1.0.0/a.go", b"package a\n" * 100)])
    with pytest.raises(InvalidZipError, match=message):
        dirhash.hash_zip(io.BytesIO(corrupt(data)))


def test_zip_reader_checks_the_crc_in_a_data_descriptor():
    # zipfile writes a data descriptor when the output is not seekable.
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buffer = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.buffer += data
            return len(data)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("m@v1.0.0/a.go", b"package a\n")
    data = bytes(sink.buffer)
    with zipread.ZipReader(io.BytesIO(data)) as reader:
        (entry,) = reader.entries
        assert entry.flags & 0x8
        assert b"".join(reader.read_chunks(entry)) == b"package a\n"
    # Corrupt the CRC copy in the descriptor (right after the compressed data).
    descriptor = data.index(b"PK\x07\x08")
    broken = data[: descriptor + 4] + b"\x00\x00\x00\x00" + data[descriptor + 8 :]
    with zipread.ZipReader(io.BytesIO(broken)) as reader:
        with pytest.raises(InvalidZipError, match="checksum error"):
            b"".join(reader.read_chunks(reader.entries[0]))


def test_zip_reader_stops_a_deflate_bomb_at_the_declared_size():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("m@v1.0.0/bomb")
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, b"\0" * (50 << 20))
    data = patch_entry(buffer.getvalue(), "m@v1.0.0/bomb", declared_size=1000)
    assert len(data) < 200_000  # tiny input, 50 MiB of output if nobody counts
    produced = 0
    with zipread.ZipReader(io.BytesIO(data)) as reader:
        with pytest.raises(InvalidZipError, match="larger than declared size"):
            for chunk in reader.read_chunks(reader.entries[0]):
                produced += len(chunk)
    assert produced <= 1000


def test_zip_reader_keeps_raw_names_that_python_would_truncate_or_re_decode():
    data = make_zip([("m@v1.0.0/aXb", b""), ("m@v1.0.0/cYd", b"")])
    data = rename_raw(data, "m@v1.0.0/aXb", b"m@v1.0.0/a\x00b")
    data = rename_raw(data, "m@v1.0.0/cYd", b"m@v1.0.0/c\xffd")
    with zipread.ZipReader(io.BytesIO(data)) as reader:
        names = [entry.name for entry in reader.entries]
    assert names == ["m@v1.0.0/a\x00b", "m@v1.0.0/c\udcffd"]
