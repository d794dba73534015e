"""Allow and deny rules enforced on every download API endpoint, before any upstream call."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import DownloadEvent
from modules.models import ModuleVersion, PolicyRule

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


def rule(pattern, action="deny", versions="", **fields):
    return PolicyRule.objects.create(pattern=pattern, action=action, versions=versions, **fields)


def listed(client, module):
    response = client.get(f"/{module}/@v/list")
    assert response.status_code == 200
    return response.content.decode().split()


def latest(client, module):
    response = client.get(f"/{module}/@latest")
    return response.status_code, (json.loads(response.content)["Version"] if response.status_code == 200 else None)


@pytest.mark.parametrize("ext", ["info", "mod", "zip"])
def test_denied_version_is_403_with_the_rule_and_reason_before_any_upstream_call(client, proxy, ext):
    denial = rule(HELLO, reason="CVE-2024-1234: remote code execution")
    response = client.get(f"/{HELLO}/@v/v1.1.0.{ext}")
    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text.startswith(f"forbidden: {HELLO}@v1.1.0 is denied by rule #{denial.pk}")
    assert "CVE-2024-1234: remote code execution" in text
    assert proxy.requests == []
    event = DownloadEvent.objects.get()
    assert event.status == 403 and event.rule == str(denial)


@pytest.mark.parametrize(
    "pattern, denied, allowed",
    [
        (HELLO, [HELLO, f"{HELLO}/v2"], [f"{HOST}/greeter"]),
        (f"{HOST}/*", [HELLO, f"{HOST}/greeter", f"{HELLO}/v2"], ["example.test/other"]),
        ("*", [HELLO, "example.test/other"], []),
        (f"{HOST}/hel*", [HELLO], [f"{HOST}/greeter"]),
    ],
)
def test_patterns_match_their_path_and_everything_under_it(client, proxy, pattern, denied, allowed):
    rule(pattern)

    def info(module):
        version = "v2.0.0" if module.endswith("/v2") else "v1.0.0"
        return client.get(f"/{module}/@v/{version}.info").status_code

    for module in denied:
        assert info(module) == 403, module
    for module in allowed:
        assert info(module) != 403, module


@pytest.mark.parametrize(
    "versions, denied, allowed",
    [
        ("v1.1.0", ["v1.1.0"], ["v1.0.0", "v1.2.0", "v1.2.0-beta.1"]),
        ("<v1.2.0", ["v1.0.0", "v1.1.0", "v1.2.0-beta.1"], ["v1.2.0"]),
        (">=v1.1.0 <v1.2.0", ["v1.1.0", "v1.2.0-beta.1"], ["v1.0.0", "v1.2.0"]),
        ("*", ["v1.0.0", "v1.2.0"], []),
    ],
)
def test_version_constraints_follow_go_semver_order(client, proxy, versions, denied, allowed):
    rule(HELLO, versions=versions)
    for version in denied:
        assert client.get(f"/{HELLO}/@v/{version}.info").status_code == 403, version
    for version in allowed:
        assert client.get(f"/{HELLO}/@v/{version}.info").status_code == 200, version


def test_pseudo_versions_are_ordered_as_semver(client, proxy):
    rule(f"{HOST}/pseudo", versions="<v0.0.1")
    assert client.get(f"/{HOST}/pseudo/@v/v0.0.0-20240102030405-abcdef123456.info").status_code == 403


def test_most_specific_rule_wins_and_deny_wins_a_tie(client, proxy):
    rule(f"{HOST}/*", reason="nothing from this host")
    rule(HELLO, action="allow")
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200
    assert client.get(f"/{HOST}/greeter/@v/v1.0.0.info").status_code == 403
    rule(HELLO, versions="v1.1.0")  # an exact version is more specific than "any"
    assert client.get(f"/{HELLO}/@v/v1.1.0.info").status_code == 403
    rule(HELLO, action="allow", versions="v1.1.0")  # same specificity: deny still wins
    assert client.get(f"/{HELLO}/@v/v1.1.0.info").status_code == 403


def test_list_leaves_out_denied_versions_and_latest_is_the_newest_allowed(client, proxy):
    rule(HELLO, versions=">=v1.2.0-0", reason="regression")
    assert listed(client, HELLO) == ["v1.0.0", "v1.1.0"]
    assert latest(client, HELLO) == (200, "v1.1.0")


def test_latest_is_403_when_no_version_is_allowed(client, proxy):
    rule(HELLO, reason="abandoned")
    status, _ = latest(client, HELLO)
    assert status == 403
    assert listed(client, HELLO) == []


def test_allowlist_mode_serves_only_what_a_rule_allows(client, proxy, settings):
    settings.ATHENS_POLICY = "allowlist"
    rule(HELLO, action="allow", versions="<v1.2.0")
    assert client.get(f"/{HELLO}/@v/v1.1.0.zip").status_code == 200
    refused = client.get(f"/{HELLO}/@v/v1.2.0.info")
    assert refused.status_code == 403
    assert b"not on the allowlist" in refused.content
    assert client.get(f"/{HOST}/greeter/@v/v1.0.0.info").status_code == 403
    assert listed(client, HELLO) == ["v1.0.0", "v1.1.0", "v1.2.0-beta.1"]  # a pre-release sorts below v1.2.0


def test_disabled_and_expired_rules_do_not_apply(client, proxy):
    rule(HELLO, enabled=False)
    rule(HELLO, versions="v1.0.0", expires=timezone.now() - timedelta(minutes=1))
    assert client.get(f"/{HELLO}/@v/v1.0.0.info").status_code == 200


def test_cached_content_is_kept_while_denied_and_served_again_without_refetch(client, proxy):
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 200
    denial = rule(HELLO)
    assert client.get(f"/{HELLO}/@v/v1.0.0.zip").status_code == 403
    assert ModuleVersion.objects.filter(module__path=HELLO, version="v1.0.0").exists()
    denial.delete()
    response = client.get(f"/{HELLO}/@v/v1.0.0.zip")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == proxy.tree.files(HELLO, "v1.0.0").zip_bytes
    assert proxy.count(f"/{HELLO}/@v/v1.0.0.zip") == 1


def test_quarantine_counts_from_this_proxys_first_fetch_never_the_upstreams_time(client, proxy):
    """The `.info` Time is the commit date, which the author sets: a version made today
    that says 2015 is as new as this proxy's first fetch of it."""
    rule("*", action="allow", min_age_days=7, reason="supply-chain quarantine")
    proxy.tree.add_version(HELLO, "v1.3.0", {"go.mod": f"module {HELLO}\n", "hello.go": "package hello\n"},
                           time=datetime(2015, 1, 1, tzinfo=UTC))
    refused = client.get(f"/{HELLO}/@v/v1.3.0.zip")
    assert refused.status_code == 403
    assert b"first fetched by this proxy 0 days ago" in refused.content and b"requires 7" in refused.content
    assert ModuleVersion.objects.filter(version="v1.3.0").exists()  # fetched all the same: its clock runs
    assert "v1.3.0" not in listed(client, HELLO)  # nor offered by the list or @latest meanwhile
    assert latest(client, HELLO)[1] != "v1.3.0"

    ModuleVersion.objects.filter(version="v1.3.0").update(fetched_at=timezone.now() - timedelta(days=8))
    assert client.get(f"/{HELLO}/@v/v1.3.0.zip").status_code == 200
    assert "v1.3.0" in listed(client, HELLO)
    assert latest(client, HELLO) == (200, "v1.3.0")
    assert proxy.count(f"/{HELLO}/@v/v1.3.0.zip") == 1


def test_denied_query_resolution_is_403(client, proxy):
    proxy.tree.version_path(HELLO, "main", "info").write_bytes(proxy.tree.files(HELLO, "v1.1.0").info_bytes)
    rule(HELLO, versions="v1.1.0", reason="bad")
    response = client.get(f"/{HELLO}/@v/main.info")
    assert response.status_code == 403
    assert b"v1.1.0" in response.content
