"""API tokens are stored as digests (modules/tokens/): the database never holds a usable
secret; a token works with `Authorization: Token` and `Bearer` until it is revoked or
expires or its user is deactivated; the command shows a secret once; the admin never."""

import hashlib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.models import DownloadEvent
from modules.tokens.legacy import convert_legacy_tokens
from modules.tokens.models import ApiToken, create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
API = "/api/audit/downloads/"  # needs audit.view_downloadevent, which Auditors have


@pytest.fixture
def auditor(db):
    return member_of("Auditors", "auditor")


def get_api(client, secret, scheme="Token"):
    return client.get(API, HTTP_AUTHORIZATION=f"{scheme} {secret}")


def assert_refused(response):
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."
    assert "Token" in response["WWW-Authenticate"]


def test_the_database_holds_no_usable_secret(auditor):
    token, secret = create_token(auditor, "ci")
    assert len(secret) >= 40
    for row in ApiToken.objects.values():
        assert not any(secret in str(value) for value in row.values())
    token.refresh_from_db()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8]
    assert (token.name, token.kind, token.user) == ("ci", "api", auditor)
    assert token.expires is None and token.revoked is None and token.last_used is None


def test_each_token_has_its_own_secret(auditor):
    (first, one), (second, two) = create_token(auditor), create_token(auditor)
    assert one != two and first.digest != second.digest


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_a_token_works_with_token_and_bearer(client, auditor, scheme):
    _, secret = create_token(auditor)
    response = get_api(client, secret, scheme)
    assert response.status_code == 200, response.content


def test_anonymous_requests_are_a_401_that_asks_for_a_token(client):
    response = client.get(API)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Token not-a-token", "Bearer not-a-token", "Token", "Token a b"])
def test_an_unknown_or_malformed_token_is_refused(client, auditor, header):
    create_token(auditor)
    assert_refused(client.get(API, HTTP_AUTHORIZATION=header))


def test_a_revoked_token_is_refused(client, auditor):
    token, secret = create_token(auditor)
    assert get_api(client, secret).status_code == 200
    assert token.revoke()
    assert not token.revoke()  # once
    assert_refused(get_api(client, secret))


def test_an_expired_token_is_refused(client, auditor):
    token, secret = create_token(auditor, expires_days=30)
    assert token.expires > timezone.now() + timedelta(days=29)
    assert get_api(client, secret).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert_refused(get_api(client, secret))


def test_an_inactive_users_token_is_refused(client, auditor):
    _, secret = create_token(auditor)
    auditor.is_active = False
    auditor.save()
    assert_refused(get_api(client, secret))


def test_last_used_is_set_and_written_at_most_once_a_minute(client, auditor):
    token, secret = create_token(auditor)
    assert get_api(client, secret).status_code == 200
    token.refresh_from_db()
    assert token.last_used is not None and timezone.now() - token.last_used < timedelta(minutes=1)

    recent = timezone.now() - timedelta(seconds=20)
    ApiToken.objects.filter(pk=token.pk).update(last_used=recent)
    get_api(client, secret)
    token.refresh_from_db()
    assert token.last_used == recent  # not rewritten on every request

    old = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used=old)
    get_api(client, secret)
    token.refresh_from_db()
    assert token.last_used > old


def test_an_api_token_is_no_credential_for_the_download_api(client, proxy, auditor, settings):
    """Least privilege: a token made for the JSON API does not identify anyone to the
    download API (that takes proxy tokens, tests/integration/test_client_auth.py)."""
    settings.ATHENS_CLIENT_AUTH = "optional"
    token, secret = create_token(auditor)
    assert client.get(f"/{HELLO}/@v/list", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    settings.ATHENS_CLIENT_AUTH = "none"
    assert client.get(f"/{HELLO}/@v/list", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200
    assert list(DownloadEvent.objects.order_by("id").values_list("username", "auth")) == [
        ("", "bad-token"), ("", "bad-token"),
    ]


# --- manage.py api_token --------------------------------------------------------------------

def command(*args) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_prints_a_working_secret_on_its_last_line(client, auditor):
    out = command("create", "auditor", "--name", "ci pipeline", "--expires", "7")
    secret = out.strip().splitlines()[-1]
    assert get_api(client, secret).status_code == 200
    token = ApiToken.objects.get()
    assert (token.name, token.prefix) == ("ci pipeline", secret[:8])
    assert timedelta(days=6) < token.expires - timezone.now() <= timedelta(days=7)


def test_list_shows_the_tokens_but_never_a_secret(auditor):
    other = get_user_model().objects.create_user("other", password="x-long-password")
    mine, my_secret = create_token(auditor, "laptop")
    theirs, their_secret = create_token(other, "server")
    theirs.revoke()

    everything = command("list")
    assert mine.prefix in everything and theirs.prefix in everything
    assert "laptop" in everything and "server" in everything
    for secret in (my_secret, their_secret):
        assert secret not in everything
    assert mine.digest not in everything and theirs.digest not in everything

    only_mine = command("list", "auditor")
    assert mine.prefix in only_mine and theirs.prefix not in only_mine


@pytest.mark.parametrize("by", ["prefix", "id"])
def test_revoke_by_prefix_or_id(client, auditor, by):
    token, secret = create_token(auditor)
    out = command("revoke", token.prefix if by == "prefix" else str(token.pk))
    assert "revoked" in out
    token.refresh_from_db()
    assert token.revoked is not None
    assert_refused(get_api(client, secret))
    assert "already revoked" in command("revoke", str(token.pk))


def test_the_command_refuses_unknown_users_and_tokens(auditor):
    with pytest.raises(CommandError, match="no user"):
        command("create", "nobody")
    with pytest.raises(CommandError, match="no token"):
        command("revoke", "zzzzzzzz")
    with pytest.raises(CommandError, match="expires"):
        command("create", "auditor", "--expires", "0")
    assert not ApiToken.objects.exists()


# --- The admin (pytest-django's admin_client: a superuser) --------------------------------

def test_the_admin_shows_the_prefix_but_never_the_secret_or_the_digest(admin_client, auditor):
    token, secret = create_token(auditor, "laptop")
    for url in ["/admin/modules/apitoken/", f"/admin/modules/apitoken/{token.pk}/change/"]:
        page = admin_client.get(url).content.decode()
        assert token.prefix in page and "laptop" in page, url
        assert secret not in page and token.digest not in page, url
    assert admin_client.get("/admin/modules/apitoken/add/").status_code == 403


def test_the_admin_revokes_selected_tokens(admin_client, auditor, client):
    (first, first_secret), (second, second_secret) = create_token(auditor), create_token(auditor)
    response = admin_client.post(
        "/admin/modules/apitoken/", {"action": "revoke_tokens", "_selected_action": [first.pk]}, follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 token." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked is not None and second.revoked is None
    admin_client.logout()
    assert_refused(get_api(client, first_secret))
    assert get_api(client, second_secret).status_code == 200


# --- Converting DRF's plain-text tokens (migration 0011) ---------------------------------

def test_plain_text_tokens_become_digests_and_keep_working(client, auditor):
    key = "0123456789abcdef0123456789abcdef01234567"  # what DRF's authtoken stored
    table = "legacy_authtoken_for_test"
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {quote(table)} ({quote('key')} varchar(40) PRIMARY KEY, "
            f"{quote('created')} timestamp NOT NULL, {quote('user_id')} integer NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {quote(table)} VALUES (%s, %s, %s)", [key, "2024-01-02 03:04:05", auditor.pk],
        )

    assert convert_legacy_tokens(ApiToken, connection, table) == 1

    token = ApiToken.objects.get()
    assert (token.name, token.kind, token.user, token.prefix) == ("migrated", "api", auditor, key[:8])
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.created == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        assert cursor.fetchone()[0] == 0  # the plain-text rows are gone
    assert get_api(client, key).status_code == 200  # the client's old key still works


def test_without_the_old_table_there_is_nothing_to_convert():
    assert convert_legacy_tokens(ApiToken, connection, "no_such_table_here") == 0
