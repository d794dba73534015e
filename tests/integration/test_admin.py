"""The admin shows cached modules and versions, and audit events read-only."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import DownloadEvent, FetchEvent
from modules.models import ModuleVersion

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"


@pytest.fixture
def admin_client(client, proxy):
    client.get(f"/{HELLO}/@v/v1.0.0.zip")  # one cached version, two audit rows
    user = get_user_model().objects.create_superuser("admin", "admin@example.test", "x-long-password")
    client.force_login(user)
    return client


def test_admin_requires_login(client):
    response = client.get("/admin/audit/downloadevent/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "url, expected",
    [
        ("/admin/modules/module/", HELLO),
        ("/admin/modules/moduleversion/", "v1.0.0"),
        ("/admin/audit/downloadevent/", HELLO),
        ("/admin/audit/fetchevent/", "ok"),
    ],
)
def test_admin_lists_show_the_cache_and_the_audit(admin_client, url, expected):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_version_page_shows_go_mod_and_hashes(admin_client):
    row = ModuleVersion.objects.get()
    page = admin_client.get(f"/admin/modules/moduleversion/{row.pk}/change/").content.decode()
    assert row.zip_hash in page and row.mod_hash in page
    assert f"module {HELLO}" in page


@pytest.mark.parametrize("model", [DownloadEvent, FetchEvent])
def test_audit_events_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, model):
    event = model.objects.first()
    base = f"/admin/audit/{model._meta.model_name}/"
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{event.pk}/change/", {"status": 500}).status_code == 403
    assert admin_client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=event.pk).exists()
