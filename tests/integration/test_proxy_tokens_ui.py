"""/tokens/: a person creates, sees and revokes their own proxy tokens (modules/tokens/views.py).

A new token's secret is shown once, in the response to the POST that made it, with the
netrc line (machine: the GOPROXY host with its port) and the GOPROXY line; the database keeps
only its digest; nobody reaches another person's tokens; anonymous visitors are sent to
the login page, whatever ATHENS_UI_PUBLIC says.
"""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from modules.tokens.models import ApiToken

pytestmark = pytest.mark.django_db

PAGE = "/tokens/"
SECRET = re.compile(r'<code id="token-secret">([^<]+)</code>')


@pytest.fixture
def alice(client):
    user = get_user_model().objects.create_user("alice", "alice@example.test", "x-long-password")
    client.force_login(user)
    return user


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.test", "x-long-password")


def text(response) -> str:
    return response.content.decode()


def create(client, **data) -> tuple[ApiToken, str]:
    """Create a token through the page; the new row and the secret the page showed."""
    response = client.post(PAGE, data)
    assert response.status_code == 200, text(response)
    found = SECRET.search(text(response))
    assert found, text(response)
    return ApiToken.objects.get(prefix=found.group(1)[:8]), found.group(1)


def row_of(page: str, token):
    """The token's row of the list (a match; its group 1 is the row's cells)."""
    return re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', page, re.S)


def revoke_url(token) -> str:
    return reverse("tokens:revoke", kwargs={"pk": token.pk})


# --- Creating ------------------------------------------------------------------------------

def test_creating_a_token_shows_its_secret_once_with_netrc_and_goproxy_lines(client, alice):
    response = client.post(PAGE, {"name": "laptop", "expires_days": "30"})
    assert response.status_code == 200
    page = text(response)
    secret = SECRET.search(page).group(1)
    assert f"machine testserver login alice password {secret}" in page
    assert "GOPROXY=http://testserver" in page
    assert "no-store" in response["Cache-Control"]

    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.kind, token.user, token.name, token.prefix) == (ApiToken.Kind.PROXY, alice, "laptop", secret[:8])
    assert timedelta(days=29) < token.expires - timezone.now() <= timedelta(days=30)
    assert ApiToken.find(secret, ApiToken.Kind.PROXY) == token
    assert ApiToken.find(secret, ApiToken.Kind.API) is None  # a proxy token is no API token
    for row in ApiToken.objects.values():
        assert not any(secret in str(value) for value in row.values())

    again = client.get(PAGE)
    assert again.status_code == 200
    assert token.prefix in text(again) and "laptop" in text(again)
    assert secret not in text(again)
    assert 'id="new-token"' not in text(again)
    assert secret not in str(dict(client.session))


def test_a_token_without_an_expiry_never_expires(client, alice):
    token, _ = create(client, name="ci", expires_days="")
    assert token.expires is None and token.state() == "active"


@pytest.mark.parametrize("host, secure, goproxy", [
    ("localhost:3000", False, "GOPROXY=http://localhost:3000"),
    ("localhost", True, "GOPROXY=https://localhost"),
    ("[::1]:8443", True, "GOPROXY=https://[::1]:8443"),
])
def test_the_netrc_machine_is_the_goproxy_host_with_its_port(client, alice, host, secure, goproxy):
    """The go command looks netrc credentials up by the URL's host and port
    (tests/e2e/test_client_auth_go_command.py shows it with the real go command)."""
    response = client.post(PAGE, {"name": "laptop"}, HTTP_HOST=host, secure=secure)
    page = text(response)
    secret = SECRET.search(page).group(1)
    assert f"machine {host} login alice password {secret}" in page
    assert goproxy in page
    assert ('id="token-not-https"' in page) == (not secure)  # the go command sends it over HTTPS only


@pytest.mark.parametrize("data, error", [
    ({}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "x" * 101}, "at most 100 characters"),
    ({"name": "laptop", "expires_days": "0"}, "greater than or equal to 1"),
    ({"name": "laptop", "expires_days": "-3"}, "greater than or equal to 1"),
    ({"name": "laptop", "expires_days": "3651"}, "less than or equal to 3650"),
    ({"name": "laptop", "expires_days": "soon"}, "Enter a whole number."),
    ({"name": "laptop", "expires_days": "99999999999999999999"}, "less than or equal to 3650"),
])
def test_bad_input_is_a_form_error_and_creates_nothing(client, alice, data, error):
    response = client.post(PAGE, data)
    assert response.status_code == 200
    assert error in text(response)
    assert 'role="alert"' in text(response)
    assert 'id="new-token"' not in text(response)
    assert not ApiToken.objects.exists()


def test_the_form_keeps_what_was_typed_after_an_error(client, alice):
    response = client.post(PAGE, {"name": "my laptop", "expires_days": "0"})
    assert 'value="my laptop"' in text(response)


# --- Listing -------------------------------------------------------------------------------

def test_the_list_shows_ones_own_proxy_tokens_with_their_state(client, alice, bob):
    active, _ = ApiToken.create_token(alice, "active one", kind=ApiToken.Kind.PROXY)
    revoked, _ = ApiToken.create_token(alice, "revoked one", kind=ApiToken.Kind.PROXY)
    revoked.revoke()
    expired, _ = ApiToken.create_token(alice, "expired one", 1, kind=ApiToken.Kind.PROXY)
    ApiToken.objects.filter(pk=expired.pk).update(expires=timezone.now() - timedelta(minutes=1))
    api, _ = ApiToken.create_token(alice, "my api token", kind=ApiToken.Kind.API)
    theirs, _ = ApiToken.create_token(bob, "bobs laptop", kind=ApiToken.Kind.PROXY)

    page = text(client.get(PAGE))
    rows = {token.pk: row_of(page, token) for token in (active, revoked, expired)}
    assert all(rows.values()), page
    assert "active" in rows[active.pk].group(1) and revoke_url(active) in rows[active.pk].group(1)
    assert "revoked" in rows[revoked.pk].group(1) and revoke_url(revoked) not in page
    assert "expired" in rows[expired.pk].group(1) and revoke_url(expired) not in page
    for other in (api, theirs):
        assert other.prefix not in page and other.name not in page
    for token in (active, revoked, expired):
        assert token.digest not in page


def test_an_empty_list_says_so(client, alice):
    assert "You have no proxy tokens yet." in text(client.get(PAGE))


def test_the_site_nav_links_to_the_page_for_logged_in_people(client, alice, settings):
    assert f'href="{PAGE}"' in text(client.get("/modules/"))
    settings.ATHENS_UI_PUBLIC = True
    assert f'href="{PAGE}"' not in text(Client().get("/modules/"))


# --- Revoking ------------------------------------------------------------------------------

def test_revoking_ones_own_token(client, alice):
    token, secret = create(client, name="laptop")
    response = client.post(revoke_url(token))
    assert response.status_code == 302 and response["Location"] == PAGE
    token.refresh_from_db()
    assert token.revoked is not None
    assert ApiToken.find(secret, ApiToken.Kind.PROXY) is None

    page = text(client.get(PAGE))
    assert f"Revoked token {token.prefix}…" in page
    assert "revoked" in row_of(page, token).group(1)
    assert client.post(revoke_url(token)).status_code == 302  # again: nothing more to do
    assert "Revoked token" not in text(client.get(PAGE))


def test_revoking_another_persons_token_is_a_404_and_leaves_it_active(client, alice, bob):
    theirs, secret = ApiToken.create_token(bob, "bobs laptop", kind=ApiToken.Kind.PROXY)
    assert client.post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked is None
    assert ApiToken.find(secret, ApiToken.Kind.PROXY) == theirs


def test_ones_own_api_tokens_are_not_revoked_here(client, alice):
    api, secret = ApiToken.create_token(alice, "ci", kind=ApiToken.Kind.API)
    assert client.post(revoke_url(api)).status_code == 404
    assert ApiToken.find(secret, ApiToken.Kind.API) == api


def test_revoking_needs_a_post_with_the_csrf_token(alice):
    token, _ = ApiToken.create_token(alice, "laptop", kind=ApiToken.Kind.PROXY)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.get(revoke_url(token)).status_code == 405
    assert strict.post(revoke_url(token)).status_code == 403
    assert strict.post(PAGE, {"name": "laptop"}).status_code == 403
    token.refresh_from_db()
    assert token.revoked is None
    assert ApiToken.objects.count() == 1


# --- Anonymous ---------------------------------------------------------------------------

@pytest.mark.parametrize("public", [False, True])
def test_anonymous_visitors_are_sent_to_the_login_page(client, bob, settings, public):
    settings.ATHENS_UI_PUBLIC = public
    theirs, _ = ApiToken.create_token(bob, "bobs laptop", kind=ApiToken.Kind.PROXY)
    login = reverse(settings.LOGIN_URL)
    for response in (client.get(PAGE), client.post(PAGE, {"name": "laptop"}), client.post(revoke_url(theirs))):
        assert response.status_code == 302
        assert response["Location"].startswith(f"{login}?next=")
    theirs.refresh_from_db()
    assert theirs.revoked is None
    assert ApiToken.objects.count() == 1
