"""API tokens of which only a digest is stored (modules/tokens/; issue 21): a copy of
the database gives no usable token, and a token can be revoked or expire."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from modules.tokens.legacy import convert_legacy_tokens
from modules.tokens.models import ApiToken, create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

RULES = "/api/rules/"


@pytest.fixture
def auditor(db):
    return member_of("Security team", "sec")


def api(client, header):
    return client.get(RULES, HTTP_AUTHORIZATION=header)


def test_the_database_holds_no_usable_secret(auditor):
    _, secret = create_token(auditor, "ci")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert secret not in stored and secret[:8] in stored  # the prefix only, to tell tokens apart


def test_a_token_works_with_either_scheme_and_records_its_use(client, auditor):
    token, secret = create_token(auditor, "ci")
    assert api(client, f"Token {secret}").status_code == 200
    assert api(client, f"Bearer {secret}").status_code == 200
    token.refresh_from_db()
    assert token.last_used is not None


@pytest.mark.parametrize("spoil", ["revoked", "expired", "inactive user", "wrong secret"])
def test_a_spoilt_token_is_a_401(client, auditor, spoil):
    token, secret = create_token(auditor, "ci")
    if spoil == "revoked":
        token.revoke()
    elif spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    elif spoil == "inactive user":
        get_user_model().objects.filter(pk=auditor.pk).update(is_active=False)
    else:
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    response = api(client, f"Token {secret}")
    assert response.status_code == 401 and "Token" in response["WWW-Authenticate"]


def test_the_command_prints_the_secret_once_and_lists_without_it(client, auditor):
    out = io.StringIO()
    call_command("api_token", "create", "sec", "--name", "ci", "--expires", "30", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert api(client, f"Token {secret}").status_code == 200
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert "ci" in listing.getvalue() and secret[:8] in listing.getvalue() and secret not in listing.getvalue()
    call_command("api_token", "revoke", secret[:8], stdout=io.StringIO())
    assert api(client, f"Token {secret}").status_code == 401


def test_the_admin_shows_the_prefix_never_the_secret_or_its_digest(admin_client, auditor):
    token, secret = create_token(auditor, "ci")
    for url in ("/admin/modules/apitoken/", f"/admin/modules/apitoken/{token.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert secret[:8] in page and secret not in page and token.digest not in page
    assert admin_client.get("/admin/modules/apitoken/add/").status_code == 403


def test_plain_text_tokens_of_before_become_digests_and_keep_working(client, auditor):
    """The migration's conversion, on a table shaped like DRF's authtoken_token."""
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE legacy_tokens (key varchar(40) PRIMARY KEY, user_id integer, created timestamptz)")
        cursor.execute("INSERT INTO legacy_tokens VALUES (%s, %s, now())", [key, auditor.pk])
    assert convert_legacy_tokens(ApiToken, connection, table="legacy_tokens") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM legacy_tokens")
        assert cursor.fetchone()[0] == 0  # the plain text is gone
    assert api(client, f"Token {key}").status_code == 200
