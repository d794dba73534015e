"""An upstream serving content that the go command itself would refuse: rejected,
audited, never cached, and the client gets a clear error. (What the go command accepts,
however unusual, is in test_upstream_shapes.py.)"""

import io
import json
import zipfile

import pytest

from audit.models import FetchEvent
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

MODULE = "mods.example.test/bad"
GO_MOD = f"module {MODULE}\n\ngo 1.21\n"


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def publish(tree, version="v1.0.0", *, info=None, mod=GO_MOD, zip_entries=None, zip_bytes=None):
    prefix = f"{MODULE}@{version}/"
    if zip_bytes is None:
        zip_entries = zip_entries or {"go.mod": GO_MOD.encode(), "bad.go": b"package bad\n"}
        zip_bytes = make_zip({prefix + name: data for name, data in zip_entries.items()})
    tree.write_raw(
        MODULE, version,
        info=info or {"Version": version, "Time": "2024-01-02T03:04:05Z"},
        mod=mod, zip=zip_bytes,
    )


# Bad zips: the .info and .mod are what the go command would accept from the upstream
# directly, and are served (a module graph needs no zip); the zip is refused.
ZIP_CASES = {
    "corrupt zip": dict(zip_bytes=b"PK\x03\x04 this is not a zip"),
    "wrong prefix": dict(zip_bytes=make_zip({f"{MODULE}@v9.9.9/go.mod": GO_MOD.encode()})),
    "nested module file": dict(
        zip_entries={"go.mod": GO_MOD.encode(), "sub/go.mod": b"module x/sub\n", "sub/a.go": b"package sub\n"}
    ),
}


def assert_refused(response, ext):
    assert response.status_code == 502, (ext, response.content)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.startswith(b"invalid upstream content") or response.content.startswith(b"bad gateway")


@pytest.mark.parametrize("case", ZIP_CASES)
def test_a_bad_zip_is_rejected_audited_and_never_cached(client, proxy, isolated_storage, case):
    publish(proxy.tree, **ZIP_CASES[case])
    for ext in ("info", "mod"):
        assert client.get(f"/{MODULE}/@v/v1.0.0.{ext}").status_code == 200
    for _ in range(2):
        assert_refused(client.get(f"/{MODULE}/@v/v1.0.0.zip"), "zip")
    assert not ModuleVersion.objects.get().zip_cached
    event = FetchEvent.objects.get(module=MODULE, endpoint="zip")  # negatively cached: one attempt only
    assert event.outcome == "invalid"
    assert event.error
    assert not list(isolated_storage.rglob("*.zip"))


def test_an_info_naming_another_version_is_rejected_for_every_file(client, proxy, isolated_storage):
    publish(proxy.tree, info={"Version": "v1.0.1", "Time": "2024-01-02T03:04:05Z"})
    for ext in ("info", "mod", "zip"):
        assert_refused(client.get(f"/{MODULE}/@v/v1.0.0.{ext}"), ext)
    assert not ModuleVersion.objects.exists()
    event = FetchEvent.objects.get(module=MODULE)  # negatively cached: one attempt only
    assert event.outcome == "invalid" and "instead of requested version" in event.error
    assert not [path for path in isolated_storage.rglob("*") if path.is_file()]


def test_oversized_zip_is_rejected(client, proxy, settings):
    settings.ATHENS_MAX_ZIP_BYTES = 2048
    publish(proxy.tree, zip_entries={"go.mod": GO_MOD.encode(), "big.go": b"package bad\n//" + b"x" * 10_000})
    response = client.get(f"/{MODULE}/@v/v1.0.0.zip")
    assert response.status_code == 502
    assert FetchEvent.objects.get(module=MODULE, endpoint="zip").outcome == "invalid"
    assert not ModuleVersion.objects.get().zip_cached


def test_oversized_go_mod_is_rejected(client, proxy, settings):
    settings.ATHENS_MAX_GOMOD_BYTES = 64
    big = GO_MOD + "// " + "y" * 200 + "\n"
    publish(proxy.tree, mod=big, zip_entries={"go.mod": big.encode()})
    assert client.get(f"/{MODULE}/@v/v1.0.0.mod").status_code == 502
    assert not ModuleVersion.objects.exists()


def test_info_with_malformed_json_is_rejected(client, proxy):
    publish(proxy.tree)
    proxy.tree.version_path(MODULE, "v1.0.0", "info").write_text("{not json")
    response = client.get(f"/{MODULE}/@v/v1.0.0.info")
    assert response.status_code == 502
    assert b"invalid .info JSON" in response.content


def test_a_zip_with_more_files_than_allowed_is_refused_with_the_limit_named(client, proxy, settings):
    settings.ATHENS_ZIP_MAX_FILES = 5
    publish(proxy.tree, zip_entries={"go.mod": GO_MOD.encode(), **{f"f{i}.go": b"package bad\n" for i in range(5)}})
    response = client.get(f"/{MODULE}/@v/v1.0.0.zip")
    assert response.status_code == 502
    assert b"ATHENS_ZIP_MAX_FILES" in response.content
    assert FetchEvent.objects.get(module=MODULE, endpoint="zip").outcome == "invalid"
    assert not ModuleVersion.objects.get().zip_cached
