"""Every URL in the URLconf, asked by every kind of account: who gets in and who is
refused (issue 21: the staff flag alone grants nothing; the API and the UI actions check
the same model permissions as the admin).

The expectations are written here in Django permission codenames, independently of the
permission map they check (athens_site/permissions.py). The walk fails when a route has
no sample request below, so a new URL cannot be added without saying who may use it.
Requests that would change something aim at things that do not exist (rule 999999, a
version not cached, an empty form), so a permitted account gets a 404 or a 400, never a
403, and nothing is changed for the next account.
"""

from dataclasses import dataclass
from typing import Callable

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.support.users import member_of

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
AUDIT = ("audit.view_downloadevent", "audit.view_fetchevent")
API_PERMISSIONS = (
    "modules.view_policyrule", "modules.add_policyrule", "modules.change_policyrule",
    "modules.delete_policyrule", "audit.view_downloadevent", "audit.view_fetchevent",
)


# --- Who is asking ---------------------------------------------------------------------------

def make_users() -> dict[str, object]:
    users = get_user_model().objects
    return {
        "anonymous": None,
        "member": users.create_user("member", password="x-long-password"),
        "staff-without-permissions": users.create_user("staff", password="x-long-password", is_staff=True),
        "security-team": member_of("Security team", "security"),
        "auditor": member_of("Auditors", "auditor"),
        "release-manager": member_of("Release managers", "release", staff=False),
        "superuser": users.create_superuser("root", "root@example.test", "x-long-password"),
    }


# --- What each URL needs ------------------------------------------------------------------------

Rule = Callable[[object], bool]  # user (None: anonymous) -> may use it


def anyone(user) -> bool:
    return True


def signed_in(user) -> bool:
    return user is not None


def staff(user) -> bool:
    return user is not None and user.is_staff


def nobody(user) -> bool:
    return False


def perms(*codenames: str, admin_page: bool = False) -> Rule:
    """All of `codenames`; an admin page also needs the staff flag (Django's admin asks it)."""
    return lambda user: user is not None and (user.is_staff or not admin_page) and user.has_perms(codenames)


def any_perm(*codenames: str, admin_page: bool = False) -> Rule:
    return lambda user: user is not None and (user.is_staff or not admin_page) and any(
        user.has_perm(codename) for codename in codenames
    )


@dataclass
class Sample:
    method: str
    path: str
    rule: Rule
    data: dict | str | None = None
    content_type: str | None = None
    refusals: tuple[int, ...] = (401, 403)  # besides a redirect to a login page


def samples(pks: dict | None = None) -> list[Sample]:
    found = [
        Sample("get", "/healthz", anyone),
        Sample("get", "/readyz", anyone),
        Sample("get", "/metrics", anyone),  # from 127.0.0.1: the scraper's address
        Sample("get", f"/{HELLO}/@v/list", anyone),
        Sample("get", "/sumdb/sum.golang.org/supported", anyone),
        Sample("get", "/accounts/login/", anyone),
        Sample("post", "/accounts/logout/", anyone),
        # The cache browser: any signed-in account (ATHENS_UI_PUBLIC=false, the default).
        Sample("get", "/", signed_in),
        Sample("get", "/modules/", signed_in),
        Sample("get", f"/modules/{HELLO}/", signed_in),
        Sample("get", f"/modules/{HELLO}", signed_in),
        Sample("get", f"/modules/{HELLO}/@v/v9.9.9/", signed_in),
        Sample("get", f"/modules/{HELLO}/@v/v9.9.9/files/go.mod", signed_in),
        # One's own proxy tokens: any signed-in account, no model permission (an empty
        # form is a form error; token 999999 is nobody's, a 404).
        Sample("get", "/tokens/", signed_in),
        Sample("post", "/tokens/", signed_in, data={}),
        Sample("post", "/tokens/999999/revoke", signed_in),
        # What changes the cache: its own permissions, never the staff flag.
        Sample("get", "/modules/fetch/", perms("modules.fetch_moduleversion")),
        Sample("post", "/modules/fetch/", perms("modules.fetch_moduleversion"), data={}),
        Sample("get", "/modules/fetch/status", perms("modules.fetch_moduleversion")),
        Sample("get", f"/modules/{HELLO}/@v/v9.9.9/evict", perms("modules.evict_moduleversion")),
        Sample("post", f"/modules/{HELLO}/@v/v9.9.9/evict", perms("modules.evict_moduleversion")),
        # The API.
        Sample("get", "/api/schema/", any_perm(*API_PERMISSIONS)),
        Sample("get", "/api/audit/downloads/", perms("audit.view_downloadevent")),
        Sample("get", "/api/audit/downloads.json", perms("audit.view_downloadevent")),
        Sample("get", "/api/audit/downloads/999999/", perms("audit.view_downloadevent")),
        Sample("get", "/api/audit/downloads/999999.json", perms("audit.view_downloadevent")),
        Sample("get", "/api/audit/fetches/", perms("audit.view_fetchevent")),
        Sample("get", "/api/audit/fetches.json", perms("audit.view_fetchevent")),
        Sample("get", "/api/audit/fetches/999999/", perms("audit.view_fetchevent")),
        Sample("get", "/api/audit/fetches/999999.json", perms("audit.view_fetchevent")),
        Sample("get", "/api/rules/", perms("modules.view_policyrule")),
        Sample("get", "/api/rules.json", perms("modules.view_policyrule")),
        Sample("post", "/api/rules/", perms("modules.add_policyrule"), data="{}", content_type="application/json"),
        Sample("get", f"/api/rules/check/?module={HELLO}&version=v1.0.0", perms("modules.view_policyrule")),
        Sample("get", f"/api/rules/check.json?module={HELLO}&version=v1.0.0", perms("modules.view_policyrule")),
        Sample("get", "/api/rules/export/", perms("modules.view_policyrule")),
        Sample("get", "/api/rules/export.json", perms("modules.view_policyrule")),
        Sample("post", "/api/rules/import/", perms("modules.add_policyrule", "modules.change_policyrule"),
               data="{", content_type="application/json"),
        Sample("post", "/api/rules/import.json", perms("modules.add_policyrule", "modules.change_policyrule"),
               data="{", content_type="application/json"),
        Sample("post", "/api/rules/import/?replace=true", perms(
            "modules.add_policyrule", "modules.change_policyrule", "modules.delete_policyrule",
        ), data="deny example.test/x\n", content_type="text/plain"),
        Sample("get", "/api/rules/999999/", perms("modules.view_policyrule")),
        Sample("get", "/api/rules/999999.json", perms("modules.view_policyrule")),
        Sample("patch", "/api/rules/999999/", perms("modules.change_policyrule"), data="{}", content_type="application/json"),
        Sample("put", "/api/rules/999999/", perms("modules.change_policyrule"), data="{}", content_type="application/json"),
        Sample("delete", "/api/rules/999999/", perms("modules.delete_policyrule")),
        Sample("get", "/api/audit/reports/", perms(*AUDIT)),
        # The report pages, in the admin.
        Sample("get", "/admin/audit/reports/", perms(*AUDIT, admin_page=True)),
        Sample("get", "/admin/audit/reports/events.csv", perms(*AUDIT, admin_page=True)),
        Sample("get", "/admin/audit/reports/top-modules/", perms(*AUDIT, admin_page=True)),
        # The admin's own pages.
        Sample("get", "/admin/", staff),
        Sample("get", "/admin/login/", anyone),
        Sample("post", "/admin/logout/", anyone),
        Sample("get", "/admin/password_change/", staff),
        Sample("get", "/admin/password_change/done/", staff),
        Sample("get", "/admin/jsi18n/", staff),
        Sample("get", "/admin/autocomplete/", nobody),  # no model here has autocomplete fields
        Sample("get", "/admin/r/1/1/", staff),
        Sample("get", "/admin/no-such-page/", staff),
        Sample("get", "/admin/auth/user/999999/password/", perms("auth.change_user", admin_page=True)),
    ]
    from audit.reports import REPORTS

    found += [Sample("get", f"/api/audit/reports/{name}/", perms(*AUDIT)) for name in REPORTS]
    found += admin_model_samples(pks or {})
    return found


def admin_model_samples(pks: dict) -> list[Sample]:
    """The admin's pages of every registered model, with what Django's admin asks for them:
    the staff flag, the model permission and the ModelAdmin's own refusals (a view-only
    model has no add page for anyone)."""
    superuser = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    request = type("Request", (), {"user": superuser})()
    found = []
    apps_seen = set()
    for model, model_admin in admin.site._registry.items():  # noqa: SLF001 - what the admin serves
        app, name = model._meta.app_label, model._meta.model_name
        base = f"/admin/{app}/{name}/"
        pk = pks.get(model, 999999)  # a real object: Django's admin says "does not exist" to anyone

        def codename(action, app=app, name=name):
            return f"{app}.{action}_{name}"

        def unless(offered: bool, rule: Rule) -> Rule:
            return rule if offered else nobody

        read = any_perm(codename("view"), codename("change"), admin_page=True)
        found += [
            Sample("get", base, read),
            Sample("get", f"{base}add/", unless(model_admin.has_add_permission(request), perms(codename("add"), admin_page=True))),
            Sample("get", f"{base}{pk}/change/", read),
            Sample("get", f"{base}{pk}/history/", read),
            Sample("get", f"{base}{pk}/delete/",
                   unless(model_admin.has_delete_permission(request), perms(codename("delete"), admin_page=True))),
            Sample("get", f"{base}{pk}/", staff),  # a redirect to the change page, which checks
        ]
        if app not in apps_seen:
            apps_seen.add(app)
            app_models = [m._meta.model_name for m in admin.site._registry if m._meta.app_label == app]  # noqa: SLF001
            found.append(Sample("get", f"/admin/{app}/", any_perm(
                *(f"{app}.{action}_{m}" for m in app_models for action in ("view", "add", "change", "delete")),
                admin_page=True,
            ), refusals=(401, 403, 404)))
        if name == "policyrule":
            found.append(Sample("get", f"{base}check/", perms(codename("view"), admin_page=True)))
    return found


# --- The walk ---------------------------------------------------------------------------------

def every_route(patterns=None, prefix="") -> list[str]:
    routes = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            routes += every_route(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append((prefix + str(pattern.pattern)).replace("/^", "/"))  # joined as Django joins them
    return routes


def refused(response, sample: Sample) -> bool:
    if response.status_code in (301, 302) and "login" in response.get("Location", ""):
        return True
    return response.status_code in sample.refusals


def test_every_route_has_a_sample_request():
    covered = {resolve(sample.path.split("?")[0]).route for sample in samples()}
    missing = [route for route in every_route() if route not in covered]
    assert not missing, f"routes nobody said who may use: {missing}"


def one_of_everything(users) -> dict:
    """An object of every model the admin shows, made the way the proxy makes them where
    it can (a download, a listing, a failed fetch); {model: pk}."""
    from django.utils import timezone

    from modules.policy import changes as rule_changes
    from modules.models import DownloadModeRule, PolicyRule, ResolvedQuery
    from modules.tokens.models import create_token

    client = Client()
    b"".join(client.get(f"/{HELLO}/@v/v1.0.0.zip").streaming_content)
    client.get(f"/{HELLO}/@v/list")
    client.get(f"/{HELLO}/@v/v9.9.9.info")
    ResolvedQuery.objects.create(module_path=HELLO, query="main", info="{}", resolved_at=timezone.now())
    DownloadModeRule.objects.create(pattern="elsewhere.example.test", mode="sync")
    rule_changes.save_rule(PolicyRule(pattern="bad.example.test", action="deny", reason="test"), users["superuser"])
    create_token(users["superuser"], "walk")
    # django-axes' records: a good login, then a failed one (a success resets the count).
    Client().post("/accounts/login/", {"username": "member", "password": "x-long-password"})
    Client().post("/accounts/login/", {"username": "member", "password": "wrong"})
    pks = {}
    for model in admin.site._registry:  # noqa: SLF001
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"no {model.__name__} to ask the admin about; make one above"
        pks[model] = first.pk
    return pks


@pytest.mark.parametrize("kind", [
    "anonymous", "member", "staff-without-permissions", "security-team", "auditor", "release-manager", "superuser",
])
def test_each_kind_of_account_gets_exactly_what_its_permissions_give(kind, proxy):
    users = make_users()
    user = users[kind]
    wrong = []
    for sample in samples(one_of_everything(users)):
        client = Client()
        if user is not None:
            client.force_login(user)
        kwargs = {"content_type": sample.content_type} if sample.content_type else {}
        response = getattr(client, sample.method)(sample.path, sample.data, **kwargs) if sample.data is not None \
            else getattr(client, sample.method)(sample.path)
        expected = sample.rule(user)
        got_in = not refused(response, sample)
        if response.status_code >= 500 or got_in != expected:
            wrong.append(f"{sample.method.upper()} {sample.path}: {response.status_code}, expected "
                         f"{'allowed' if expected else 'refused'}")
    assert not wrong, "\n".join(wrong)
