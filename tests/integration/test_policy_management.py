"""Managing allow/deny rules: admin, API and commands, every change recorded with its author."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from modules.policy import changes as rule_changes
from modules.policy.filterfile import parse_filter_file
from modules.models import PolicyRule, PolicyRuleChange
from modules.tokens.models import create_token
from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"

FILTER_FILE = f"""\
# a filter file as a security team writes it
-
+ {HOST}
- {HELLO} <v1.4.2,>=v2.0.0&<v2.3.0
- example.test/evil/*
+ {HOST}/greeter v1.2
"""


def rule(pattern=HELLO, action="deny", versions="", **fields):
    """A rule row as another part of the proxy (or an old database) would hold it."""
    return PolicyRule.objects.create(pattern=pattern, action=action, versions=versions, **fields)


def rules_as_tuples():
    return sorted(PolicyRule.objects.values_list("action", "pattern", "versions"))


def post_rule(api, **fields):
    data = {"pattern": HELLO, "action": "deny", **fields}
    response = api.post("/api/rules/", data, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def without_comments(text):
    return [line for line in text.splitlines() if not line.startswith("#")]


@pytest.fixture
def staff(db):
    return member_of("Security team", "secteam")


@pytest.fixture
def api(client, staff):
    """A client authenticated with the staff user's API token."""
    _, secret = create_token(staff)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {secret}"
    return client


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.test", "x-long-password")
    client.force_login(user)
    return client


def admin_form(**fields):
    """The POST body of the rule's admin form."""
    data = {
        "pattern": HELLO, "versions": "", "action": "deny", "reason": "", "enabled": "on",
        "expires_0": "", "expires_1": "", "min_age_days": "",
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


# -- API --------------------------------------------------------------------------------


def test_staff_create_read_update_and_delete_rules_through_the_api(api):
    created = api.post(
        "/api/rules/",
        {"pattern": f" {HELLO} ", "versions": "< v1.4.2", "action": "deny", "reason": "CVE-2099-1"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["pattern"], body["versions"], body["action"]) == (HELLO, "<v1.4.2", "deny")
    assert body["created_by"] == body["updated_by"] == "secteam"
    url = f"/api/rules/{body['id']}/"

    assert api.get(url).json()["reason"] == "CVE-2099-1"
    assert [row["id"] for row in api.get("/api/rules/").json()["results"]] == [body["id"]]

    patched = api.patch(url, {"enabled": False, "min_age_days": 7}, content_type="application/json")
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["min_age_days"]) == (False, 7)

    replaced = api.put(url, {"pattern": HELLO, "action": "allow"}, content_type="application/json")
    assert replaced.status_code == 200
    assert replaced.json()["action"] == "allow"

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not PolicyRule.objects.exists()


def test_api_changes_are_recorded_with_the_api_user_before_and_after(api):
    rule_id = post_rule(api)
    api.patch(f"/api/rules/{rule_id}/", {"reason": "typosquat"}, content_type="application/json")
    api.delete(f"/api/rules/{rule_id}/")

    deleted, changed, created = PolicyRuleChange.objects.filter(rule_id=rule_id)
    rule_fields = {
        "pattern": HELLO, "versions": "", "action": "deny", "reason": "", "enabled": True,
        "expires": None, "min_age_days": None, "groups": [],
    }
    assert (created.kind, created.changed_by) == ("created", "secteam")
    assert (created.before, created.after) == (None, rule_fields)
    assert (changed.kind, changed.changed_by) == ("changed", "secteam")
    assert (changed.before, changed.after) == (rule_fields, {**rule_fields, "reason": "typosquat"})
    assert (deleted.kind, deleted.changed_by) == ("deleted", "secteam")
    assert (deleted.before, deleted.after) == ({**rule_fields, "reason": "typosquat"}, None)


def test_an_update_that_changes_nothing_records_nothing(api):
    rule_id = post_rule(api)
    api.patch(f"/api/rules/{rule_id}/", {"action": "deny"}, content_type="application/json")
    assert PolicyRuleChange.objects.filter(rule_id=rule_id).count() == 1


def test_expiry_is_recorded_in_iso_8601_utc(api):
    response = api.post(
        "/api/rules/", {"pattern": HELLO, "action": "allow", "expires": "2099-01-02T03:04:05+02:00"},
        content_type="application/json",
    )
    assert PolicyRuleChange.objects.get(rule_id=response.json()["id"]).after["expires"] == "2099-01-02T01:04:05+00:00"


API_URLS = [
    ("get", "/api/rules/"),
    ("post", "/api/rules/"),
    ("get", "/api/rules/export/"),
    ("post", "/api/rules/import/"),
    ("get", f"/api/rules/check/?module={HELLO}&version=v1.0.0"),
]


@pytest.mark.parametrize("method, url", API_URLS)
def test_rules_api_refuses_anonymous_users(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("method, url", API_URLS)
def test_rules_api_refuses_non_staff(client, method, url):
    user = get_user_model().objects.create_user("dev", password="x-long-password")
    _, secret = create_token(user)
    assert getattr(client, method)(url, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 403
    client.force_login(user)
    assert getattr(client, method)(url).status_code == 403


def test_rules_api_works_with_a_session_login(client, staff):
    client.force_login(staff)
    assert client.get("/api/rules/").status_code == 200


@pytest.mark.parametrize(
    "fields, field, problem",
    [
        ({"pattern": f"{HELLO},{HOST}/other"}, "pattern", "one pattern per rule"),
        ({"pattern": f"{HELLO}/"}, "pattern", "remove the trailing '/'"),
        ({"pattern": f"{HELLO}@v1.0.0"}, "pattern", "put the version in the version constraint"),
        ({"pattern": ""}, "pattern", "may not be blank"),
        ({"versions": "<1.4.2"}, "versions", "versions start with 'v', e.g. <v1.4.2"),
        ({"versions": "~v1.2.3"}, "versions", "unknown operator '~'"),
        ({"versions": "<=v1.2"}, "versions", "ambiguous version 'v1.2'"),
        ({"action": "block"}, "action", '"block" is not a valid choice'),
        ({"action": None}, "action", "This field is required"),
        ({"min_age_days": -1}, "min_age_days", "greater than or equal to 0"),
    ],
)
def test_invalid_rules_are_rejected_naming_the_field_and_the_problem(api, fields, field, problem):
    data = {"pattern": HELLO, "versions": "", "action": "deny", **fields}
    response = api.post(
        "/api/rules/", {name: value for name, value in data.items() if value is not None},
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert problem in " ".join(errors[field])
    assert not PolicyRule.objects.exists()
    assert not PolicyRuleChange.objects.exists()


def test_an_invalid_update_leaves_the_rule_and_its_history_as_they_were(api):
    rule_id = post_rule(api)
    response = api.patch(f"/api/rules/{rule_id}/", {"versions": ">=2.0.0"}, content_type="application/json")
    assert response.status_code == 400
    assert "versions start with 'v'" in response.json()["versions"][0]
    assert PolicyRule.objects.get().versions == ""
    assert PolicyRuleChange.objects.count() == 1


def test_api_filters_rules_by_action_enabled_and_pattern(api):
    deny = rule(HELLO, "deny")
    allow = rule(HOST, "allow")
    off = rule(f"{HOST}/greeter", "deny", enabled=False)

    def ids(**params):
        return {row["id"] for row in api.get("/api/rules/", params).json()["results"]}

    assert ids(action="deny") == {deny.pk, off.pk}
    assert ids(action="allow") == {allow.pk}
    assert ids(enabled="false") == {off.pk}
    assert ids(enabled="true", action="deny") == {deny.pk}
    assert ids(pattern=HOST) == {allow.pk}


@pytest.mark.parametrize(
    "rules, module, version, deciding, allowed",
    [
        # The most specific pattern wins.
        ([(f"{HOST}/*", "deny", ""), (HELLO, "allow", "")], HELLO, "v1.0.0", 1, True),
        ([("*", "deny", ""), (HOST, "allow", "")], HELLO, "v1.0.0", 1, True),
        # Then the most specific version constraint.
        ([(HELLO, "deny", "<v2.0.0"), (HELLO, "allow", "v1.0.0")], HELLO, "v1.0.0", 1, True),
        # At equal specificity, deny wins.
        ([(HELLO, "allow", ""), (HELLO, "deny", "")], HELLO, "v1.0.0", 1, False),
        # No rule matches: ATHENS_POLICY=denylist allows.
        ([(f"{HOST}/greeter", "deny", "")], HELLO, "v1.0.0", None, True),
    ],
)
def test_api_check_names_the_deciding_rule(api, rules, module, version, deciding, allowed):
    created = [rule(pattern, action, versions) for pattern, action, versions in rules]
    response = api.get("/api/rules/check/", {"module": module, "version": version})
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is allowed
    assert body["rule"] == (created[deciding].pk if deciding is not None else None)
    assert body["why"]


def test_api_check_rejects_a_bad_module_path_and_version(api):
    response = api.get("/api/rules/check/", {"module": "Not A Module", "version": "1.0"})
    assert response.status_code == 400
    errors = response.json()
    assert "malformed module path" in errors["module"][0]
    assert "not a semantic version" in errors["version"][0]


def test_api_export_then_import_reproduces_the_rules(api):
    first = api.post("/api/rules/import/", FILTER_FILE, content_type="text/plain")
    assert first.status_code == 200, first.json()
    assert first.json() == {"created": 5, "changed": 0, "unchanged": 0, "deleted": 0}
    imported = rules_as_tuples()
    assert ("deny", "*", "") in imported
    assert ("deny", HELLO, "<v1.4.2 || >=v2.0.0 <v2.3.0") in imported

    exported = api.get("/api/rules/export/")
    assert exported.status_code == 200
    assert exported["Content-Type"] == "text/plain; charset=utf-8"
    text = exported.content.decode()
    assert without_comments(text)[0] == "-"

    rule_changes.delete_rules(PolicyRule.objects.all(), "test")
    again = api.post("/api/rules/import/", {"text": text, "replace": True}, content_type="application/json")
    assert again.json() == {"created": 5, "changed": 0, "unchanged": 0, "deleted": 0}
    assert rules_as_tuples() == imported
    assert without_comments(api.get("/api/rules/export/").content.decode()) == without_comments(text)


def test_export_answers_a_client_that_accepts_only_text(api):
    rule(HELLO, "deny")
    response = api.get("/api/rules/export/", HTTP_ACCEPT="text/plain")
    assert response.status_code == 200
    assert without_comments(response.content.decode()) == [f"- {HELLO}"]


def test_api_import_updates_matching_rules_and_replace_deletes_the_others(api):
    kept = rule(HELLO, "allow", "<v1.4.2 || >=v2.0.0 <v2.3.0", reason="kept reason", enabled=False)
    other = rule(f"{HOST}/other", "deny")
    merged = api.post("/api/rules/import/", FILTER_FILE, content_type="text/plain").json()
    assert merged == {"created": 4, "changed": 1, "unchanged": 0, "deleted": 0}
    kept.refresh_from_db()
    assert (kept.action, kept.enabled, kept.reason, kept.updated_by) == ("deny", True, "kept reason", "secteam")
    assert PolicyRule.objects.filter(pk=other.pk).exists()

    replaced = api.post("/api/rules/import/?replace=true", FILTER_FILE, content_type="text/plain").json()
    assert replaced == {"created": 0, "changed": 0, "unchanged": 5, "deleted": 1}
    assert not PolicyRule.objects.filter(pk=other.pk).exists()
    assert PolicyRuleChange.objects.get(rule_id=other.pk).changed_by == "secteam"


def test_export_leaves_out_disabled_and_expired_rules(api):
    rule(HELLO, "deny")
    rule(f"{HOST}/off", "deny", enabled=False)
    rule(f"{HOST}/old", "deny", expires=timezone.now() - timedelta(days=1))
    assert without_comments(api.get("/api/rules/export/").content.decode()) == [f"- {HELLO}"]


def test_api_import_of_a_malformed_file_lists_each_bad_line_and_changes_nothing(api):
    existing = rule(HELLO, "deny")
    bad = f"+ {HOST}\n- {HELLO} <1.4.2\n* example.test/x\n+ {HOST}\n"
    response = api.post("/api/rules/import/", {"text": bad, "replace": True}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    assert [error["line"] for error in body["errors"]] == [2, 3, 4]
    assert "write <v1.4.2" in body["errors"][0]["message"]
    assert "unknown action" in body["errors"][1]["message"]
    assert rules_as_tuples() == [("deny", HELLO, "")]
    assert PolicyRule.objects.get().pk == existing.pk
    assert not PolicyRuleChange.objects.exists()


def test_a_root_rule_written_twice_is_refused(api):
    response = api.post("/api/rules/import/", "-\n+ *\n", content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"line": 2, "message": "contradicts line 1: same module pattern and versions, allow instead of deny"}
    ]


def test_an_import_that_fails_partway_changes_nothing(api, monkeypatch):
    old = rule(f"{HOST}/old", "deny")

    def failing_delete(rule, user):
        raise RuntimeError("database went away")

    monkeypatch.setattr(rule_changes, "delete_rule", failing_delete)
    with pytest.raises(RuntimeError):
        rule_changes.import_rules(parse_filter_file(FILTER_FILE), "secteam", replace=True)
    assert list(PolicyRule.objects.all()) == [old]
    assert not PolicyRuleChange.objects.exists()


# -- admin -------------------------------------------------------------------------------


def test_admin_add_change_and_delete_are_recorded_with_the_admin_user(admin_client):
    response = admin_client.post("/admin/modules/policyrule/add/", admin_form(versions="< v1.4.2", reason="CVE"))
    assert response.status_code == 302
    added = PolicyRule.objects.get()
    assert (added.versions, added.created_by, added.updated_by) == ("<v1.4.2", "admin", "admin")

    response = admin_client.post(
        f"/admin/modules/policyrule/{added.pk}/change/", admin_form(action="allow", versions="<v1.4.2")
    )
    assert response.status_code == 302
    response = admin_client.post(f"/admin/modules/policyrule/{added.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not PolicyRule.objects.exists()

    deleted, changed, created = PolicyRuleChange.objects.filter(rule_id=added.pk)
    assert [c.changed_by for c in (created, changed, deleted)] == ["admin"] * 3
    assert (created.before, created.after["versions"], created.after["reason"]) == (None, "<v1.4.2", "CVE")
    assert (changed.before["action"], changed.after["action"]) == ("deny", "allow")
    assert (deleted.before["action"], deleted.after) == ("allow", None)


def test_admin_bulk_delete_records_each_rule(admin_client):
    rules = [rule(HELLO), rule(HOST, "allow")]
    response = admin_client.post(
        "/admin/modules/policyrule/",
        {"action": "delete_selected", "_selected_action": [r.pk for r in rules], "post": "yes"},
    )
    assert response.status_code == 302
    assert not PolicyRule.objects.exists()
    assert sorted(PolicyRuleChange.objects.filter(kind="deleted").values_list("rule_id", "changed_by")) == [
        (rules[0].pk, "admin"), (rules[1].pk, "admin"),
    ]


def test_admin_form_shows_the_pattern_and_constraint_problems(admin_client):
    response = admin_client.post(
        "/admin/modules/policyrule/add/", admin_form(pattern="github.com/a,github.com/b", versions="<1.4.2")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "one pattern per rule" in form.errors["pattern"][0]
    assert "versions start with 'v', e.g. <v1.4.2" in form.errors["versions"][0]
    assert not PolicyRule.objects.exists()
    assert not PolicyRuleChange.objects.exists()


def test_rule_page_shows_its_history_and_the_history_outlives_the_rule(admin_client):
    added = rule_changes.save_rule(PolicyRule(pattern=HELLO, action="deny"), "alice")
    rule_id = added.rule_id
    edited = PolicyRule.objects.get()
    edited.reason = "CVE-2099-0002"
    rule_changes.save_rule(edited, "bob")

    page = admin_client.get(f"/admin/modules/policyrule/{rule_id}/change/").content.decode()
    assert "alice" in page and "bob" in page
    assert "reason: &#x27;&#x27; → &#x27;CVE-2099-0002&#x27;" in page
    assert f"/admin/modules/policyrulechange/?rule_id={rule_id}" in page

    rule_changes.delete_rule(edited, "carol")
    listing = admin_client.get("/admin/modules/policyrulechange/", {"rule_id": rule_id}).content.decode()
    assert "alice" in listing and "bob" in listing and "carol" in listing
    assert f"#{rule_id} (deleted)" in listing
    by_user = admin_client.get("/admin/modules/policyrulechange/", {"q": "carol"})
    assert [c.changed_by for c in by_user.context["cl"].result_list] == ["carol"]
    by_id = admin_client.get("/admin/modules/policyrulechange/", {"q": str(rule_id)})
    assert len(by_id.context["cl"].result_list) == 3
    by_kind = admin_client.get("/admin/modules/policyrulechange/", {"kind__exact": "deleted"})
    assert [c.changed_by for c in by_kind.context["cl"].result_list] == ["carol"]

    change = PolicyRuleChange.objects.get(kind="changed")
    detail = admin_client.get(f"/admin/modules/policyrulechange/{change.pk}/change/").content.decode()
    assert "CVE-2099-0002" in detail and "bob" in detail


def test_rule_history_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    change = rule_changes.save_rule(PolicyRule(pattern=HELLO, action="deny"), "alice")
    base = "/admin/modules/policyrulechange/"
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{change.pk}/change/", {"changed_by": "mallory"}).status_code == 403
    assert admin_client.post(f"{base}{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PolicyRuleChange.objects.get().changed_by == "alice"


def test_rule_list_links_to_the_check_page(admin_client):
    page = admin_client.get("/admin/modules/policyrule/").content.decode()
    assert 'href="/admin/modules/policyrule/check/"' in page


@pytest.mark.parametrize(
    "rules, deciding, outranked, verdict",
    [
        # The most specific pattern wins.
        ([(f"{HOST}/*", "deny", ""), (HELLO, "allow", "")], 1, [0], "allowed"),
        ([("*", "deny", ""), (HOST, "allow", "")], 1, [0], "allowed"),
        # At equal specificity, deny wins.
        ([(HELLO, "allow", ""), (HELLO, "deny", "")], 1, [0], "denied"),
        # An exact version beats a range.
        ([(HELLO, "deny", ">=v1.0.0"), (HELLO, "allow", "v1.0.0")], 1, [0], "allowed"),
    ],
)
def test_check_page_shows_the_deciding_rule_and_the_others_considered(
    admin_client, rules, deciding, outranked, verdict
):
    created = [rule(pattern, action, versions) for pattern, action, versions in rules]
    rule(f"{HOST}/greeter", "deny")  # does not match: not listed
    rule(HELLO, "deny", enabled=False)  # matches, but not in force

    response = admin_client.get("/admin/modules/policyrule/check/", {"module": HELLO, "version": "v1.0.0"})
    assert response.status_code == 200
    assert response.context["decision"].rule == created[deciding]
    assert f'<span class="decision-{verdict}">{verdict}</span>' in response.content.decode()
    assert f'href="/admin/modules/policyrule/{created[deciding].pk}/change/"' in response.content.decode()
    considered = [(row["rule"].pattern, row["rule"].action, row["status"]) for row in response.context["considered"]]
    assert considered[0] == (created[deciding].pattern, created[deciding].action, "decides")
    assert sorted(considered[1:]) == sorted(
        [(created[i].pattern, created[i].action, "outranked") for i in outranked] + [(HELLO, "deny", "disabled")]
    )


def test_check_page_without_a_matching_rule_names_athens_policy(admin_client, settings):
    settings.ATHENS_POLICY = "allowlist"
    response = admin_client.get("/admin/modules/policyrule/check/", {"module": HELLO, "version": "v1.0.0"})
    page = response.content.decode()
    assert "not on the allowlist" in page
    assert "ATHENS_POLICY=allowlist decides" in page


def test_check_page_rejects_a_bad_module_path_and_version(admin_client):
    response = admin_client.get(
        "/admin/modules/policyrule/check/", {"module": "github.com/Foo/../bar", "version": "1.2.3"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "malformed module path" in form.errors["module"][0]
    assert "not a semantic version" in form.errors["version"][0]
    assert "decision" not in response.context


def test_check_page_requires_an_admin_login(client):
    response = client.get("/admin/modules/policyrule/check/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# -- management commands -----------------------------------------------------------------


def test_policy_export_and_import_commands_round_trip(tmp_path):
    source = tmp_path / "filter.conf"
    source.write_text(FILTER_FILE)
    out = StringIO()
    call_command("policy_import", str(source), "--user", "ops", stdout=out)
    assert "5 created" in out.getvalue()
    imported = rules_as_tuples()
    assert set(PolicyRule.objects.values_list("created_by", flat=True)) == {"ops"}
    assert set(PolicyRuleChange.objects.values_list("changed_by", flat=True)) == {"ops"}

    exported = tmp_path / "exported.conf"
    call_command("policy_export", str(exported), stdout=StringIO())
    rule_changes.delete_rules(PolicyRule.objects.all(), "test")
    call_command("policy_import", str(exported), "--replace", "--user", "ops", stdout=StringIO())
    assert rules_as_tuples() == imported

    stdout = StringIO()
    call_command("policy_export", stdout=stdout)
    assert without_comments(stdout.getvalue()) == without_comments(exported.read_text())


def test_policy_import_replace_deletes_rules_the_file_does_not_list(tmp_path):
    rule(f"{HOST}/other", "deny")
    source = tmp_path / "filter.conf"
    source.write_text(f"+ {HELLO}\n")
    out = StringIO()
    call_command("policy_import", str(source), "--replace", "--user", "ops", stdout=out)
    assert "1 created, 0 changed, 0 unchanged, 1 deleted" in out.getvalue()
    assert rules_as_tuples() == [("allow", HELLO, "")]


def test_policy_import_of_a_bad_file_names_each_line_and_changes_nothing(tmp_path):
    rule(HELLO, "deny")
    source = tmp_path / "filter.conf"
    source.write_text(f"+ {HOST}\n- {HELLO},{HOST}/x\nD example.test/private\n")
    with pytest.raises(CommandError) as raised:
        call_command("policy_import", str(source), "--replace", stdout=StringIO())
    message = str(raised.value)
    assert "2 bad line(s), nothing imported" in message
    assert f"{source}:2: " in message and "one pattern per rule" in message
    assert f"{source}:3: " in message and "'D'" in message
    assert rules_as_tuples() == [("deny", HELLO, "")]
    assert not PolicyRuleChange.objects.exists()


def test_policy_import_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("policy_import", str(tmp_path / "missing.conf"))
