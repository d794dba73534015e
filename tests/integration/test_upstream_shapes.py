"""Shapes real upstreams send that the go command accepts: the proxy accepts them too,
and serves the upstream's bytes unchanged (issue 11).

Each test is named for the go command behaviour it mirrors; the refusals that remain are
in test_upstream_content_checks.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import FetchEvent
from modules.models import ModuleVersion, PolicyRule
from tests.unit.goproxy.zips import make_zip

pytestmark = pytest.mark.django_db

MODULE = "mods.example.test/shapes"
PREFIX = f"{MODULE}@v1.0.0/"
GO_MOD = f"module {MODULE}\n\ngo 1.21\n".encode()


def publish(tree, *, info: bytes, mod: bytes = GO_MOD, files=None, version="v1.0.0"):
    files = files if files is not None else {"go.mod": GO_MOD, "shapes.go": b"package shapes\n"}
    zip_bytes = make_zip([(f"{MODULE}@{version}/{name}", data) for name, data in files.items()])
    tree.write_raw(MODULE, version, info=info, mod=mod, zip=zip_bytes, time="2020-01-01T00:00:00Z")


INFO_SHAPES = {
    # cmd/go/testdata/mod and hand-made static trees: RevInfo.Time is optional.
    "without Time": b'{"Version":"v1.0.0"}',
    # The go command writes Time in UTC, other servers keep the committer's zone.
    "with an offset time zone": b'{"Version":"v1.0.0","Time":"2019-05-07T07:31:03-07:00"}',
    # RevInfo's Name/Short/Origin, and fields a later go version may add.
    "with extra fields": b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03Z","Name":"abc","Short":"ab",'
                         b'"Origin":{"VCS":"git","Hash":"abc"},"Future":[1,{"x":null}]}',
    "pretty-printed": b'{\n  "Version": "v1.0.0",\n  "Time": "2019-05-07T14:31:03.5Z"\n}\n',
}


@pytest.mark.parametrize("shape", list(INFO_SHAPES))
def test_info_shapes_the_go_command_accepts_are_served_byte_for_byte(client, proxy, shape):
    publish(proxy.tree, info=INFO_SHAPES[shape])
    response = client.get(f"/{MODULE}/@v/v1.0.0.info")
    assert (response.status_code, response.content) == (200, INFO_SHAPES[shape])
    assert client.get(f"/{MODULE}/@v/v1.0.0.info").content == INFO_SHAPES[shape]  # cached, still verbatim
    assert bytes(ModuleVersion.objects.get().info.encode()) == INFO_SHAPES[shape]


def test_an_offset_time_is_stored_as_the_instant_it_names(client, proxy):
    publish(proxy.tree, info=INFO_SHAPES["with an offset time zone"])
    client.get(f"/{MODULE}/@v/v1.0.0.zip")
    assert ModuleVersion.objects.get().time.isoformat() == "2019-05-07T14:31:03+00:00"


def test_info_without_time_is_stored_as_unknown_and_shown_as_unknown(client, proxy, admin_client):
    publish(proxy.tree, info=INFO_SHAPES["without Time"])
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    assert ModuleVersion.objects.get().time is None
    version_page = admin_client.get(f"/modules/{MODULE}/@v/v1.0.0/")
    assert version_page.status_code == 200
    assert b'id="time-unknown"' in version_page.content
    module_page = admin_client.get(f"/modules/{MODULE}/")
    assert module_page.status_code == 200
    assert b"unknown" in module_page.content


def test_quarantine_counts_a_version_without_time_from_when_it_was_cached(client, proxy):
    """An unknown release time is never "old": the version is as new as its first fetch."""
    publish(proxy.tree, info=INFO_SHAPES["without Time"])
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    PolicyRule.objects.create(pattern="*", action="allow", min_age_days=7)
    response = client.get(f"/{MODULE}/@v/v1.0.0.info")
    assert response.status_code == 403
    assert b"quarantine" in response.content
    ModuleVersion.objects.update(fetched_at=timezone.now() - timedelta(days=8))
    assert client.get(f"/{MODULE}/@v/v1.0.0.info").status_code == 200


def test_quarantine_of_an_uncached_version_without_time_starts_at_its_fetch(client, proxy):
    """Not listed before it is cached, refused once fetched (its age is 0 days), and
    served once the quarantine has passed since that fetch. Never stuck."""
    publish(proxy.tree, info=INFO_SHAPES["without Time"])
    PolicyRule.objects.create(pattern="*", action="allow", min_age_days=7)
    assert client.get(f"/{MODULE}/@v/list").content == b""
    response = client.get(f"/{MODULE}/@v/v1.0.0.info")
    assert response.status_code == 403
    assert b"quarantine" in response.content
    assert ModuleVersion.objects.get().time is None  # cached all the same: the clock runs
    assert client.get(f"/{MODULE}/@v/list").content == b""
    ModuleVersion.objects.update(fetched_at=timezone.now() - timedelta(days=8))
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200


LEGACY_MOD = b'module "mods.example.test/shapes"\n\nrequire "golang.org/x/text" v0.0.0-20170915032832-14c0d48ead0c\n'


def test_a_legacy_mod_unlike_the_zip_is_served_with_a_notice(client, proxy, admin_client):
    """proxy.golang.org's rsc.io/sampler@v1.2.1: a .mod synthesized from old dependency
    files, a zip without go.mod. The go command never compares the two."""
    publish(proxy.tree, info=b'{"Version":"v1.0.0"}', mod=LEGACY_MOD, files={"shapes.go": b"package shapes\n"})
    assert client.get(f"/{MODULE}/@v/v1.0.0.mod").content == LEGACY_MOD
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    row = ModuleVersion.objects.get()
    assert row.notice_codes == ["legacy-go-mod"]
    event = FetchEvent.objects.get(module=MODULE, outcome="ok", endpoint="zip")  # found with the zip
    assert event.notices.startswith("legacy-go-mod: ")
    page = admin_client.get(f"/modules/{MODULE}/@v/v1.0.0/")
    assert b'data-notice="legacy-go-mod"' in page.content
    assert b'id="notices"' in page.content
    assert b'data-notice="legacy-go-mod"' in admin_client.get(f"/modules/{MODULE}/").content


def test_a_zip_go_mod_that_differs_from_the_mod_is_served_with_a_notice(client, proxy):
    publish(proxy.tree, info=b'{"Version":"v1.0.0"}', mod=GO_MOD + b"// edited\n")
    assert client.get(f"/{MODULE}/@v/v1.0.0.mod").content == GO_MOD + b"// edited\n"
    assert ModuleVersion.objects.get().notice_codes == []  # nothing to compare it with yet
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    assert ModuleVersion.objects.get().notice_codes == ["legacy-go-mod"]


def test_create_side_rules_are_notices_not_refusals(client, proxy):
    """vendor/ packages and VCS directories: zip.Create leaves them out, the go command's
    download and Unzip accept them (x/mod/zip checkZip)."""
    files = {"go.mod": GO_MOD, "a.go": b"package shapes\n", "vendor/example.org/x/x.go": b"package x\n",
             ".hg/store": b"", ".hg_archival.txt": b"repo: x\n"}
    publish(proxy.tree, info=b'{"Version":"v1.0.0"}', files=files)
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    assert ModuleVersion.objects.get().notice_codes == ["hg-archival", "vcs-directory", "vendored-package"]


def test_a_clean_version_has_no_notice(client, proxy):
    publish(proxy.tree, info=b'{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}')
    assert client.get(f"/{MODULE}/@v/v1.0.0.zip").status_code == 200
    assert ModuleVersion.objects.get().notices == []
    assert list(FetchEvent.objects.filter(module=MODULE).order_by("id").values_list("endpoint", "notices")) == [
        ("version", ""), ("zip", ""),
    ]


def test_latest_and_queries_pass_the_upstreams_bytes_on(client, proxy):
    body = b'{"Version":"v1.0.0", "Time":"2019-05-07T07:31:03-07:00", "Origin":{"VCS":"git","Ref":"refs/heads/main"}}'
    publish(proxy.tree, info=body)
    proxy.tree.latest_path(MODULE).write_bytes(body)
    (proxy.tree.module_dir(MODULE) / "@v" / "main.info").write_bytes(body)
    assert client.get(f"/{MODULE}/@latest").content == body
    assert client.get(f"/{MODULE}/@v/main.info").content == body


def test_a_version_the_path_cannot_hold_is_a_query(client, proxy):
    """rsc.io/breaker@v2.0.0 answers v2.0.0+incompatible: proxy.go's Stat requires the
    requested version only when module.Check(path, rev) passes."""
    body = b'{"Version":"v2.0.0+incompatible"}'
    publish(proxy.tree, info=body, version="v2.0.0+incompatible")
    (proxy.tree.module_dir(MODULE) / "@v" / "v2.0.0.info").write_bytes(body)
    assert (client.get(f"/{MODULE}/@v/v2.0.0.info").content) == body
    assert client.get(f"/{MODULE}/@v/v2.0.0.mod").status_code == 404


def test_a_canonical_version_answered_with_another_is_refused_as_the_go_command_does(client, proxy):
    publish(proxy.tree, info=b'{"Version":"v1.0.1"}')
    response = client.get(f"/{MODULE}/@v/v1.0.0.info")
    assert response.status_code == 502
    assert b"instead of requested version" in response.content


@pytest.mark.parametrize("mode", ["redirect", "async", "async_redirect"])
def test_without_a_fetch_here_an_unknown_release_time_is_quarantined(client, proxy, settings, mode):
    """Redirect and async modes answer before anything is cached: an .info without Time
    cannot prove the version old, so under a quarantine it is refused, not sent on."""
    settings.ATHENS_DOWNLOAD_MODE = mode
    publish(proxy.tree, info=INFO_SHAPES["without Time"])
    PolicyRule.objects.create(pattern="*", action="allow", min_age_days=7)
    response = client.get(f"/{MODULE}/@v/v1.0.0.zip")
    assert response.status_code == 403
    assert b"quarantine" in response.content
