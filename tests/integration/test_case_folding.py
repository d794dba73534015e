"""Patterns ignore case (issue 21): code hosts such as GitHub fold it, so
`example.test/Evil/pkg` is the repository a rule for `example.test/evil` names. Each
test asks for the other spelling, escaped as the go command escapes it (`!e`)."""

import pytest

from modules.models import DownloadModeRule, PolicyRule
from modules.tokens.models import create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"


def test_a_deny_rule_holds_for_any_spelling_of_its_path(client, proxy):
    proxy.tree.add_version(f"{HOST}/Evil/pkg", "v1.0.0", {"a.go": "package pkg\n"})
    denial = PolicyRule.objects.create(pattern=f"{HOST}/evil", action="deny", reason="malware")
    for ext in ("info", "mod", "zip"):
        response = client.get(f"/{HOST}/!evil/pkg/@v/v1.0.0.{ext}")
        assert response.status_code == 403, ext
        assert f"rule #{denial.pk}" in response.content.decode()
    assert proxy.requests == []

    _, secret = create_token(member_of("Security team", "sec"))
    check = client.get(
        "/api/rules/check/", {"module": f"{HOST}/Evil/pkg", "version": "v1.0.0"},
        HTTP_AUTHORIZATION=f"Token {secret}",
    ).json()
    assert check["allowed"] is False and check["rule"] == denial.pk


def test_a_rule_written_in_capitals_holds_for_the_lower_case_path(client, proxy):
    PolicyRule.objects.create(pattern=f"{HOST}/HELLO", action="deny", reason="case")
    assert client.get(f"/{HOST}/hello/@v/v1.0.0.info").status_code == 403


def test_a_goprivate_glob_keeps_any_spelling_of_a_private_path_from_the_public_upstream(client, proxy, settings):
    settings.ATHENS_GOPRIVATE = f"{HOST}/private"
    settings.ATHENS_NETWORK_MODE = "strict"
    response = client.get(f"/{HOST}/!private/secretlib/@v/list")
    assert response.status_code in (404, 410, 502, 504)
    assert [path for _, path in proxy.requests if "secretlib" in path.lower()] == []


def test_a_download_mode_rule_holds_for_any_spelling(client, proxy):
    DownloadModeRule.objects.create(pattern=f"{HOST}/upper", mode="none")
    response = client.get(f"/{HOST}/!upper/!case/@v/v0.1.0.info")
    assert response.status_code == 404
    assert proxy.requests == []
