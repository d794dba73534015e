"""`manage.py proxy_token` (the download API's tokens) and `api_token` share their code
(modules/tokens/command.py); each sees only tokens of its own kind."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from modules.tokens.models import ApiToken, digest_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.test", "x-long-password")


def command(name, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_prints_a_working_proxy_token_on_its_last_line(alice):
    out = command("proxy_token", "create", "alice", "--name", "laptop", "--expires", "7")
    secret = out.strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert ApiToken.find(secret, ApiToken.Kind.PROXY) == token
    assert ApiToken.find(secret, ApiToken.Kind.API) is None
    assert (token.kind, token.user, token.name, token.prefix) == (ApiToken.Kind.PROXY, alice, "laptop", secret[:8])
    assert token.digest == digest_of(secret)
    assert timedelta(days=6) < token.expires - timezone.now() <= timedelta(days=7)
    assert f"Created token {token.prefix}… (id {token.pk}) for alice" in out


def test_each_command_lists_only_its_own_kind(alice):
    api, api_secret = ApiToken.create_token(alice, "ci", kind=ApiToken.Kind.API)
    proxy, proxy_secret = ApiToken.create_token(alice, "laptop", kind=ApiToken.Kind.PROXY)

    api_list = command("api_token", "list")
    assert api.prefix in api_list and "ci" in api_list
    assert proxy.prefix not in api_list and "laptop" not in api_list

    proxy_list = command("proxy_token", "list", "alice")
    assert proxy.prefix in proxy_list and "laptop" in proxy_list
    assert api.prefix not in proxy_list
    for secret in (api_secret, proxy_secret):
        assert secret not in api_list and secret not in proxy_list


def test_a_list_with_only_the_other_kind_has_no_tokens(alice):
    ApiToken.create_token(alice, "ci", kind=ApiToken.Kind.API)
    assert command("proxy_token", "list").strip() == "no tokens"
    ApiToken.objects.all().delete()
    ApiToken.create_token(alice, "laptop", kind=ApiToken.Kind.PROXY)
    assert command("api_token", "list").strip() == "no tokens"


@pytest.mark.parametrize("by", ["prefix", "id"])
def test_revoke_by_prefix_or_id(alice, by):
    token, secret = ApiToken.create_token(alice, kind=ApiToken.Kind.PROXY)
    out = command("proxy_token", "revoke", token.prefix if by == "prefix" else str(token.pk))
    assert f"revoked token {token.prefix}… (id {token.pk}) of alice" in out
    assert ApiToken.find(secret, ApiToken.Kind.PROXY) is None
    assert "already revoked" in command("proxy_token", "revoke", str(token.pk))


@pytest.mark.parametrize("name, other_kind", [("api_token", ApiToken.Kind.PROXY), ("proxy_token", ApiToken.Kind.API)])
@pytest.mark.parametrize("by", ["prefix", "id"])
def test_revoke_never_reaches_the_other_kind(alice, name, other_kind, by):
    token, secret = ApiToken.create_token(alice, kind=other_kind)
    with pytest.raises(CommandError, match="no token"):
        command(name, "revoke", token.prefix if by == "prefix" else str(token.pk))
    assert ApiToken.find(secret, other_kind) == token


def test_proxy_token_refuses_unknown_users_and_bad_input(alice):
    with pytest.raises(CommandError, match="no user"):
        command("proxy_token", "create", "nobody")
    with pytest.raises(CommandError, match="expires"):
        command("proxy_token", "create", "alice", "--expires", "0")
    with pytest.raises(CommandError, match="from 1 to 3650"):  # not an OverflowError's traceback
        command("proxy_token", "create", "alice", "--expires", "99999999999")
    with pytest.raises(CommandError, match="at most 100"):
        command("proxy_token", "create", "alice", "--name", "x" * 101)
    with pytest.raises(CommandError, match="no token"):
        command("proxy_token", "revoke", "zzzzzzzz")
    assert not ApiToken.objects.exists()


def test_no_prefix_reads_as_an_option(alice, monkeypatch):
    """`revoke <prefix>` takes the prefix the list shows; one starting with "-" would be
    taken for an option by the command line (1 token in 64 of url-safe base64)."""
    import secrets

    made = iter(["-startswithdash" + "x" * 30, "Abcdefgh" + "y" * 35])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(made))
    token, _ = ApiToken.create_token(alice, kind=ApiToken.Kind.PROXY)
    assert token.prefix == "Abcdefgh"
    assert "revoked token Abcdefgh" in command("proxy_token", "revoke", token.prefix)
