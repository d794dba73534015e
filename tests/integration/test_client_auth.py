"""ATHENS_CLIENT_AUTH on the download API: who a request is, what is refused with 401, what
the audit records (modules/tokens/client_auth.py). The go command's side (netrc over
HTTPS, two web processes) is in tests/e2e/test_client_auth_go_command.py."""

import base64
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import DownloadEvent
from modules import hot_cache
from modules.tokens.models import ApiToken, create_token
from tests.support.users import basic_auth
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
LIST = f"/{HELLO}/@v/list"
INFO = f"/{HELLO}/@v/v1.0.0.info"


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="x-long-password")


@pytest.fixture
def alices_token(alice):
    return ApiToken.create_token(alice, "laptop", kind=ApiToken.Kind.PROXY)


def rows():
    return list(DownloadEvent.objects.order_by("id").values_list("status", "username", "auth", "token_name"))


def assert_401(response, *texts):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/plain")
    assert response["WWW-Authenticate"].startswith('Basic realm="Go module proxy"')
    body = response.content.decode()
    for text in texts:
        assert text in body
    return body


# --- none (the default) ------------------------------------------------------------------

def test_none_serves_everyone_and_still_names_a_token_user(client, proxy, alices_token):
    _, secret = alices_token
    assert client.get(LIST).status_code == 200
    assert client.get(LIST, HTTP_AUTHORIZATION=basic_auth("alice", secret)).status_code == 200
    assert client.get(LIST, HTTP_AUTHORIZATION=basic_auth("alice", "wrong")).status_code == 200
    assert rows() == [(200, "", "", ""), (200, "alice", "token", "laptop"), (200, "", "bad-token", "")]


# --- optional ------------------------------------------------------------------------------

@pytest.fixture
def optional(settings):
    settings.ATHENS_CLIENT_AUTH = "optional"


def test_optional_serves_anonymous_requests_and_identifies_token_holders(client, proxy, optional, alices_token):
    _, secret = alices_token
    assert client.get(LIST).status_code == 200
    assert client.get(INFO, HTTP_AUTHORIZATION=basic_auth("alice", secret)).status_code == 200
    assert client.get(INFO, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200  # a GOAUTH command's header
    assert rows() == [(200, "", "", ""), (200, "alice", "token", "laptop"), (200, "alice", "token", "laptop")]


@pytest.mark.parametrize("header", [
    lambda secret: basic_auth("alice", "not-the-token"),
    lambda secret: basic_auth("bob", secret),  # alice's token under another login
    lambda secret: "Basic !!!not-base64!!!",
    lambda secret: "Basic " + base64.b64encode(b"no colon").decode(),
    lambda secret: "Basic " + base64.b64encode(b"alice:\xff\xfe").decode(),
    lambda secret: "Bearer",
    lambda secret: f"Bearer {secret} {secret}",
    lambda secret: "Negotiate abc",
    lambda secret: basic_auth("alice", "x" * 10_000),
    lambda secret: "Basic é",  # WSGI hands headers over as latin-1 text
    lambda secret: "Basic \x00\x7f",
], ids=["wrong-token", "other-login", "not-base64", "no-colon", "not-utf8", "bearer-alone", "bearer-two-words",
        "other-scheme", "huge", "non-ascii", "control-characters"])
def test_optional_refuses_a_bad_credential_with_a_401_the_go_command_prints(client, proxy, optional, alices_token,
                                                                            header):
    _, secret = alices_token
    body = assert_401(client.get(INFO, HTTP_AUTHORIZATION=header(secret)), "unauthorized:", "~/.netrc")
    assert secret not in body
    assert rows() == [(401, "", "bad-token", "")]
    assert secret not in str(DownloadEvent.objects.values().get())


def test_revoked_expired_inactive_and_api_tokens_are_refused(client, proxy, optional, alice, alices_token):
    token, secret = alices_token
    header = basic_auth("alice", secret)
    assert client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert_401(client.get(INFO, HTTP_AUTHORIZATION=header))
    ApiToken.objects.filter(pk=token.pk).update(expires=None)
    alice.is_active = False
    alice.save()
    assert_401(client.get(INFO, HTTP_AUTHORIZATION=header))
    alice.is_active = True
    alice.save()
    assert client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200
    token.revoke()
    assert_401(client.get(INFO, HTTP_AUTHORIZATION=header))

    _, api_secret = create_token(alice)  # a JSON API token is no download credential
    assert_401(client.get(INFO, HTTP_AUTHORIZATION=basic_auth("alice", api_secret)))


def test_last_used_is_written_at_most_once_a_minute(client, proxy, optional, alices_token):
    token, secret = alices_token
    header = basic_auth("alice", secret)
    client.get(INFO, HTTP_AUTHORIZATION=header)
    token.refresh_from_db()
    first = token.last_used
    assert first is not None and timezone.now() - first < timedelta(minutes=1)
    client.get(INFO, HTTP_AUTHORIZATION=header)
    token.refresh_from_db()
    assert token.last_used == first


# --- required ------------------------------------------------------------------------------

@pytest.fixture
def required(settings):
    settings.ATHENS_CLIENT_AUTH = "required"


@pytest.mark.parametrize("path", [LIST, INFO, f"/{HELLO}/@latest", f"/{HELLO}/@v/v1.0.0.zip", "/sumdb/x/supported",
                                  "/not-a-module/@v/list"])
def test_required_refuses_anonymous_requests_before_saying_anything_else(client, proxy, required, path):
    assert_401(client.get(path), "needs a proxy token", "/tokens/")
    assert rows() == [(401, "", "", "")]
    assert proxy.requests == []  # the upstream was not asked either


def test_required_leaves_health_checks_open_and_takes_tokens_and_browser_sessions(client, proxy, required,
                                                                                  alice, alices_token):
    _, secret = alices_token
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get(INFO, HTTP_AUTHORIZATION=basic_auth("alice", secret)).status_code == 200
    client.force_login(alice)  # someone following a download link from the web UI
    assert client.get(INFO).status_code == 200
    assert rows() == [(200, "alice", "token", "laptop"), (200, "alice", "session", "")]


def test_a_head_request_gets_the_same_401(client, proxy, required):
    response = client.head(INFO)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic ")


# --- the per-process cache ---------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_verified_token_costs_no_query_and_a_revocation_reaches_it(client, proxy, settings, alices_token):
    settings.ATHENS_CLIENT_AUTH = "required"
    settings.ATHENS_HOT_CACHE = True
    eventually(lambda: hot_cache._live_listener() is not None)  # noqa: SLF001 - wait for LISTEN
    token, secret = alices_token
    header = basic_auth("alice", secret)
    assert client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200
    assert not [q["sql"] for q in queries if "modules_apitoken" in q["sql"] or "auth_user" in q["sql"]]
    token.revoke()
    eventually(lambda: client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 401)


def test_answers_to_a_request_with_credentials_are_private_to_it(client, proxy, optional, alices_token):
    """A shared cache in front must not hand a token holder's answer to others: who asked
    decided it (RFC 9111 3.5: `public` would let it be stored)."""
    _, secret = alices_token
    anonymous = client.get(INFO)
    assert anonymous["Cache-Control"].startswith("public")
    for path in (INFO, f"/{HELLO}/@v/v1.0.0.mod", f"/{HELLO}/@v/v1.0.0.zip"):
        identified = client.get(path, HTTP_AUTHORIZATION=basic_auth("alice", secret))
        assert identified.status_code == 200
        assert identified["Cache-Control"] == "private, max-age=31536000, immutable", path


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["deactivate", "rename", "leave-group", "rule-moved-to-another-group"])
def test_what_changes_a_cached_tokens_rights_reaches_it(client, proxy, settings, alice, alices_token, change):
    """Each of these is noticed by a trigger (modules/migrations/0013) while the token is
    kept in memory; none may wait for a restart."""
    from django.contrib.auth.models import Group

    from modules.models import PolicyRule
    from modules.policy import changes

    settings.ATHENS_CLIENT_AUTH = "required"
    settings.ATHENS_HOT_CACHE = True
    eventually(lambda: hot_cache._live_listener() is not None)  # noqa: SLF001 - wait for LISTEN
    _, secret = alices_token
    header = basic_auth("alice", secret)
    helpers = Group.objects.create(name="Helpers")
    rule = PolicyRule(pattern=HELLO, action="allow")
    changes.save_rule(rule, "secteam", groups=[helpers])
    changes.save_rule(PolicyRule(pattern="*", action="deny"), "secteam")  # only Helpers get hello
    alice.groups.add(helpers)
    eventually(lambda: client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200)
    assert client.get(INFO, HTTP_AUTHORIZATION=header).status_code == 200  # verified and kept
    if change == "deactivate":
        get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
        expected = 401
    elif change == "rename":
        get_user_model().objects.filter(pk=alice.pk).update(username="alice2")  # the login no longer matches
        expected = 401
    elif change == "leave-group":
        alice.groups.remove(helpers)
        expected = 403
    else:
        rule.groups.set([Group.objects.create(name="Others")])  # only the rule's groups table changes
        expected = 403
    eventually(lambda: client.get(INFO, HTTP_AUTHORIZATION=header).status_code == expected)
