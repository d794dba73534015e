"""Rules for groups (modules/policy/rules.py): a rule that names Django groups applies to
the downloads of their members (identified by a proxy token) and outranks an
everyone-rule of the same pattern and versions, never a more specific one."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.models import DownloadEvent
from modules.models import PolicyRule, PolicyRuleChange
from modules.policy import changes
from modules.tokens.models import ApiToken, create_token
from tests.support.users import basic_auth, member_of

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


@pytest.fixture
def contractors():
    return Group.objects.create(name="Contractors")


def someone(username, *groups):
    user = get_user_model().objects.create_user(username, password="x-long-password")
    user.groups.add(*groups)
    _, secret = ApiToken.create_token(user, kind=ApiToken.Kind.PROXY)
    return basic_auth(username, secret)


def rule(pattern, action, versions="", groups=(), **fields):
    created = PolicyRule(pattern=pattern, action=action, versions=versions, **fields)
    changes.save_rule(created, "secteam", groups=groups)
    return created


def status(client, path, header=None):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    return client.get(path, **extra).status_code


@pytest.mark.parametrize("rules, member, everyone_else", [
    # A group's rule outranks everyone's at the same pattern and versions, either way.
    ([(HELLO, "deny", ""), (HELLO, "allow", "Contractors")], 200, 403),
    ([(HELLO, "allow", ""), (HELLO, "deny", "Contractors")], 403, 200),
    # A more specific everyone-rule still beats a group's broader rule.
    ([(f"{HOST}/*", "allow", "Contractors"), (HELLO, "deny", "")], 403, 403),
    ([(f"{HOST}/*", "deny", "Contractors"), (HELLO, "allow", "")], 200, 200),
    # An exact version beats a range, even a range for the group.
    ([(HELLO, "allow", "", "v1.0.0"), (HELLO, "deny", "Contractors", ">=v1.0.0")], 200, 200),
    ([(HELLO, "deny", "", "v1.0.0"), (HELLO, "allow", "Contractors", ">=v1.0.0")], 403, 403),
])
def test_who_a_rule_is_for_decides_after_pattern_and_versions(client, proxy, contractors, rules, member,
                                                              everyone_else):
    for pattern, action, group, *versions in rules:
        rule(pattern, action, versions[0] if versions else "", groups=[contractors] if group else [])
    carol, dave = someone("carol", contractors), someone("dave")
    info = f"/{HELLO}/@v/v1.0.0.info"
    assert (status(client, info, carol), status(client, info, dave), status(client, info)) == (
        member, everyone_else, everyone_else,
    )


def test_lists_and_latest_hide_what_the_requesters_group_may_not_have(client, proxy, contractors):
    rule(HELLO, "deny", ">=v1.1.0", groups=[contractors], reason="not reviewed for contractors")
    carol, dave = someone("carol", contractors), someone("dave")
    theirs = client.get(f"/{HELLO}/@v/list", HTTP_AUTHORIZATION=carol).content.decode().split()
    everyones = client.get(f"/{HELLO}/@v/list", HTTP_AUTHORIZATION=dave).content.decode().split()
    assert "v1.0.0" in theirs and not [v for v in theirs if v >= "v1.1.0"]
    assert set(theirs) < set(everyones)
    latest = client.get(f"/{HELLO}/@latest", HTTP_AUTHORIZATION=carol).json()["Version"]
    assert latest == "v1.0.0"
    denied = client.get(f"/{HELLO}/@v/v1.1.0.mod", HTTP_AUTHORIZATION=carol)
    assert denied.status_code == 403 and b"not reviewed for contractors" in denied.content
    assert DownloadEvent.objects.filter(status=403).get().rule.startswith(f"#{PolicyRule.objects.get().pk} deny")


@pytest.mark.django_db(transaction=True)
def test_joining_a_group_applies_its_rules_to_a_cached_token_at_once(client, proxy, settings, contractors):
    from modules import hot_cache
    from tests.support.waiting import eventually

    settings.ATHENS_HOT_CACHE = True
    eventually(lambda: hot_cache._live_listener() is not None)  # noqa: SLF001
    rule(HELLO, "deny", groups=[contractors])
    carol = someone("carol")
    info = f"/{HELLO}/@v/v1.0.0.info"
    assert status(client, info, carol) == 200  # the token is verified and kept in memory
    get_user_model().objects.get(username="carol").groups.add(contractors)
    eventually(lambda: status(client, info, carol) == 403)


def test_a_rule_that_no_longer_validates_does_not_stop_a_group_deletion(contractors):
    legacy = PolicyRule.objects.create(pattern="example.test/[", action="allow")  # written before validation
    legacy.groups.add(contractors)
    contractors.delete()
    legacy.refresh_from_db()
    assert not legacy.enabled


def test_deleting_a_group_disables_the_rules_that_were_only_its_own(client, proxy, contractors):
    auditors = Group.objects.get(name="Auditors")
    only_theirs = rule(HELLO, "allow", groups=[contractors])
    shared = rule(f"{HOST}/greeter", "allow", groups=[contractors, auditors])
    contractors.delete()
    only_theirs.refresh_from_db()
    shared.refresh_from_db()
    # "Allow contractors" must not become "allow everyone".
    assert (only_theirs.enabled, list(only_theirs.groups.all())) == (False, [])
    assert (shared.enabled, list(shared.groups.all())) == (True, [auditors])
    assert PolicyRuleChange.objects.filter(rule_id=shared.pk).first().after["groups"] == ["Auditors"]
    change = PolicyRuleChange.objects.filter(rule_id=only_theirs.pk).first()
    assert change.changed_by == "(group 'Contractors' deleted)"
    assert (change.before["groups"], change.after["groups"], change.after["enabled"]) == (["Contractors"], [], False)


# --- managing them -----------------------------------------------------------------------

@pytest.fixture
def api(client):
    _, secret = create_token(member_of("Security team", "secteam"))
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {secret}"
    return client


def test_the_api_creates_rules_for_groups_by_name_and_checks_for_a_user(api, contractors):
    response = api.post("/api/rules/", {"pattern": HELLO, "action": "deny", "groups": ["Contractors"]},
                        content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["groups"] == ["Contractors"]
    rule_id = response.json()["id"]
    assert PolicyRuleChange.objects.get(rule_id=rule_id).after["groups"] == ["Contractors"]

    carol = get_user_model().objects.create_user("carol")
    carol.groups.add(contractors)
    for user, allowed in (("carol", False), (None, True)):
        params = {"module": HELLO, "version": "v1.0.0", **({"user": user} if user else {})}
        answer = api.get("/api/rules/check/", params).json()
        assert (answer["allowed"], answer["user"]) == (allowed, user)

    unknown = api.post("/api/rules/", {"pattern": HELLO, "action": "deny", "groups": ["Nobody"]},
                       content_type="application/json")
    assert unknown.status_code == 400 and "groups" in unknown.json()
    assert api.get("/api/rules/check/", {"module": HELLO, "version": "v1.0.0", "user": "ghost"}).status_code == 400

    patched = api.patch(f"/api/rules/{rule_id}/", {"groups": []}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["groups"] == []
    change = PolicyRuleChange.objects.filter(rule_id=rule_id).first()
    assert (change.before["groups"], change.after["groups"]) == (["Contractors"], [])


def test_an_import_that_replaces_every_rule_keeps_the_rules_for_groups(api, contractors):
    theirs = rule(HELLO, "deny", groups=[contractors])
    rule(f"{HOST}/greeter", "deny")
    exported = api.get("/api/rules/export/").content.decode()
    answer = api.post("/api/rules/import/?replace=true", exported, content_type="text/plain")
    assert answer.status_code == 200 and answer.json()["deleted"] == 0
    assert PolicyRule.objects.filter(pk=theirs.pk).exists()
    emptied = api.post("/api/rules/import/?replace=true", "+\n", content_type="text/plain")
    assert emptied.json()["deleted"] == 1  # the greeter rule; the group's stays
    assert list(PolicyRule.objects.exclude(pattern="*").values_list("pk", flat=True)) == [theirs.pk]


def test_filter_files_hold_everyone_rules_only(api, contractors):
    rule(HELLO, "allow", groups=[contractors])
    rule(f"{HOST}/greeter", "deny")
    exported = api.get("/api/rules/export/").content.decode()
    assert f"- {HOST}/greeter" in exported and HELLO not in exported.replace(f"{HOST}/greeter", "")
    # An imported everyone-rule for the same pattern is a new rule, not the group's rule changed.
    assert api.post("/api/rules/import/", f"- {HELLO}\n", content_type="text/plain").status_code == 200
    assert sorted(PolicyRule.objects.filter(pattern=HELLO).values_list("action", "groups__name")) == [
        ("allow", "Contractors"), ("deny", None),
    ]


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.test", "x-long-password"))
    return client


def test_the_admin_saves_a_rules_groups_with_its_history(admin_client, contractors):
    form = {
        "pattern": HELLO, "versions": "", "action": "deny", "reason": "", "enabled": "on",
        "expires_0": "", "expires_1": "", "min_age_days": "", "groups": [str(contractors.pk)],
    }
    assert admin_client.post("/admin/modules/policyrule/add/", form).status_code == 302
    saved = PolicyRule.objects.get()
    assert list(saved.groups.all()) == [contractors]
    assert PolicyRuleChange.objects.get(rule_id=saved.pk).after["groups"] == ["Contractors"]
    listing = admin_client.get("/admin/modules/policyrule/").content.decode()
    assert "Contractors" in listing


def test_the_check_page_takes_a_user(admin_client, contractors):
    for_them = rule(HELLO, "deny", groups=[contractors], reason="contractors")
    everyone = rule(HELLO, "allow")
    carol = get_user_model().objects.create_user("carol")
    carol.groups.add(contractors)
    page = "/admin/modules/policyrule/check/"
    theirs = admin_client.get(page, {"module": HELLO, "version": "v1.0.0", "user": "carol"})
    assert theirs.context["decision"].rule == for_them and not theirs.context["decision"].allowed
    assert "for carol" in theirs.content.decode()
    anonymous = admin_client.get(page, {"module": HELLO, "version": "v1.0.0"})
    assert anonymous.context["decision"].rule == everyone
    statuses = {row["rule"].pk: row["status"] for row in anonymous.context["considered"]}
    assert statuses == {everyone.pk: "decides", for_them.pk: "for other groups"}
    unknown = admin_client.get(page, {"module": HELLO, "version": "v1.0.0", "user": "ghost"})
    assert unknown.status_code == 200 and "there is no user" in unknown.content.decode()
