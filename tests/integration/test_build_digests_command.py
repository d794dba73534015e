"""`manage.py build_digests`: digests for versions cached before digests existed, built
ahead of their first page view; --rebuild replaces them."""

import io

import pytest
from django.core.management import call_command

from modules.browse.models import ModuleDigest, VersionDigest, VersionFile
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


def cache(client, module, version):
    response = client.get(f"/{module}/@v/{version}.zip")
    assert response.status_code == 200
    b"".join(response.streaming_content)


def run(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("build_digests", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_versions_without_a_digest_get_one_and_the_others_are_left_alone(client, proxy):
    for version in ("v1.0.0", "v1.1.0"):
        cache(client, HELLO, version)
    kept = VersionDigest.objects.get(version__version="v1.0.0")
    VersionDigest.objects.filter(pk=kept.pk).update(license_name="kept")
    legacy = ModuleVersion.objects.get(module__path=HELLO, version="v1.1.0")
    VersionDigest.objects.filter(version_id=legacy.pk).delete()
    VersionFile.objects.filter(version_id=legacy.pk).delete()
    ModuleDigest.objects.all().delete()

    assert "built 1 digest(s) for 1 module(s); 0 failed" in run()
    rebuilt = VersionDigest.objects.get(version_id=legacy.pk)
    assert rebuilt.file_count == VersionFile.objects.filter(version_id=legacy.pk).count() > 0
    assert VersionDigest.objects.get(pk=kept.pk).license_name == "kept"
    assert ModuleDigest.objects.get(module__path=HELLO).latest == "v1.1.0"

    assert "built 2 digest(s)" in run("--rebuild")
    assert VersionDigest.objects.get(pk=kept.pk).license_name != "kept"
