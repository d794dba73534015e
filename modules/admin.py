"""Admin pages for the module cache and the allow/deny rules."""

import json

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from .policy import changes as rule_changes
from .goproxy import semver
from .goproxy.errors import InvalidPathError
from .browse.pages import GO_MOD_SHOWN_BYTES
from .goproxy.paths import check_path
from .models import (
    DownloadModeRule,
    FetchFailure,
    Module,
    ModuleVersion,
    PolicyRule,
    PolicyRuleChange,
    ResolvedQuery,
    UpstreamListing,
)
from .policy.quarantine import FirstSeen
from .policy.rules import Policy
from .tokens.client_auth import group_ids


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the proxy writes itself: people look, nobody adds or edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AppendOnlyAdmin(ViewOnlyAdmin):
    """Records of what happened (audit events, rule history): not even deleted by hand."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["path", "created_at"]
    search_fields = ["path"]
    readonly_fields = ["path", "created_at", "versions"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a module goes when its last version is evicted

    @admin.display(description="Versions")
    def versions(self, obj):
        # A link to the paginated list rather than every version inline: a module can
        # have thousands of cached versions (issue 20: no page of more than a few
        # hundred KB).
        url = reverse("admin:modules_moduleversion_changelist") + f"?module__id__exact={obj.pk}"
        return format_html('<a href="{}">{} cached</a>', url, obj.versions.count())


@admin.register(ModuleVersion)
class ModuleVersionAdmin(ViewOnlyAdmin):
    """Cached versions are immutable: everything is read-only here. They are removed
    with *Evict from the cache* on their page in the cache browser, which deletes their
    storage objects too and is audited; the admin's delete did neither."""

    list_display = ["module", "version", "state", "time", "zip_size", "upstream", "fetched_at"]
    list_filter = ["state", "upstream"]
    search_fields = ["module__path", "version"]
    list_select_related = ["module"]
    readonly_fields = [
        "module", "version", "state", "time", "info", "go_mod_text", "zip_key", "zip_size",
        "zip_hash", "mod_hash", "upstream", "fetched_at", "notices",
    ]
    exclude = ["go_mod"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="go.mod")
    def go_mod_text(self, obj):
        go_mod = bytes(obj.go_mod)
        if len(go_mod) <= GO_MOD_SHOWN_BYTES:
            return go_mod.decode("utf-8", errors="replace")
        start = go_mod[:GO_MOD_SHOWN_BYTES].decode("utf-8", errors="replace")
        return f"{start}\n… ({len(go_mod):,} bytes in all; the whole file is this version's .mod download)"


@admin.register(UpstreamListing)
class UpstreamListingAdmin(ViewOnlyAdmin):
    list_display = ["module_path", "listed_at", "latest_at"]
    search_fields = ["module_path"]


@admin.register(FetchFailure)
class FetchFailureAdmin(ViewOnlyAdmin):
    """The negative cache; deleting a row makes the next request ask the upstream again."""

    list_display = ["module_path", "target", "http_status", "expires_at"]
    search_fields = ["module_path"]


@admin.register(DownloadModeRule)
class DownloadModeRuleAdmin(admin.ModelAdmin):
    """Per-module download modes; the first matching rule (lowest position) wins."""

    list_display = ["position", "pattern", "mode", "note"]
    list_display_links = ["pattern"]
    list_editable = ["position", "mode"]
    search_fields = ["pattern", "note"]


@admin.register(ResolvedQuery)
class ResolvedQueryAdmin(ViewOnlyAdmin):
    """Branch and commit queries and the versions they resolved to (a short-lived cache)."""

    list_display = ["module_path", "query", "resolved_at"]
    search_fields = ["module_path", "query"]


# -- allow/deny rules ------------------------------------------------------------------
# Rules are saved and deleted through modules.policy.changes, so every change made here is
# recorded (who, when, before, after) like one made through the API or a command.

HISTORY_ON_RULE_PAGE = 20


@admin.register(PolicyRule)
class PolicyRuleAdmin(admin.ModelAdmin):
    """Allow/deny rules; the "Check module@version" page shows which rule decides."""

    list_display = [
        "pattern", "versions", "action", "for_groups", "enabled", "expires", "min_age_days", "reason", "updated_by",
        "updated_at",
    ]
    list_filter = ["action", "enabled", "groups"]
    search_fields = ["pattern", "reason"]
    readonly_fields = ["created_by", "created_at", "updated_by", "updated_at", "history"]
    filter_horizontal = ["groups"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="For")
    def for_groups(self, obj):
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "everyone"

    def get_fieldsets(self, request, obj=None):
        rule = (None, {"fields": [
            "pattern", "versions", "action", "groups", "reason", "enabled", "expires", "min_age_days",
        ]})
        if obj is None:
            return [rule]
        changes = [("created_by", "created_at"), ("updated_by", "updated_at"), "history"]
        return [rule, ("Changes", {"fields": changes})]

    def save_model(self, request, obj, form, change):
        rule_changes.save_rule(obj, request.user, groups=form.cleaned_data.get("groups"))

    def save_related(self, request, form, formsets, change):
        # The groups were saved (and recorded) with the rule by save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        rule_changes.delete_rule(obj, request.user)

    def delete_queryset(self, request, queryset):
        rule_changes.delete_rules(queryset, request.user)

    @admin.display(description="History")
    def history(self, obj):
        changes = PolicyRuleChange.objects.filter(rule_id=obj.pk)[:HISTORY_ON_RULE_PAGE]
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (date_format(change.changed_at, "DATETIME_FORMAT"), change.changed_by or "?", change.kind,
                 describe_change(change))
                for change in changes
            ),
        )
        everything = reverse("admin:modules_policyrulechange_changelist") + f"?rule_id={obj.pk}"
        return format_html(
            "<table><thead><tr><th>When</th><th>Who</th><th>Change</th><th>What</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}">All changes to this rule</a></p>',
            rows, everything,
        )

    def get_urls(self):
        check = path("check/", self.admin_site.admin_view(self.check_view), name="modules_policyrule_check")
        return [check, *super().get_urls()]

    def check_view(self, request):
        """Which rule decides module@version, and the other rules that match it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PolicyCheckForm(request.GET if "module" in request.GET else None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Check module@version",
            "form": form,
        }
        if form.is_valid():
            context.update(explain_decision(
                form.cleaned_data["module"], form.cleaned_data["version"], form.cleaned_data.get("user"),
            ))
        return TemplateResponse(request, "admin/modules/policyrule/check.html", context)


class PolicyCheckForm(forms.Form):
    module = forms.CharField(label="Module path", max_length=1024, help_text="e.g. github.com/org/repo")
    version = forms.CharField(max_length=255, help_text="e.g. v1.2.3, v1.2.3-rc.1 or a pseudo-version")
    user = forms.CharField(
        max_length=150, required=False,
        help_text="A username: the decision for their downloads (the rules of their groups too). Empty: anonymous.",
    )

    def clean_module(self):
        module = self.cleaned_data["module"]
        try:
            check_path(module)
        except InvalidPathError as exc:
            raise forms.ValidationError(str(exc)) from None
        return module

    def clean_version(self):
        version = self.cleaned_data["version"]
        if not semver.is_valid(version):
            raise forms.ValidationError(
                f"{version!r} is not a semantic version: write v1.2.3, v1.2.3-rc.1 or a pseudo-version"
            )
        return version

    def clean_user(self):
        name = self.cleaned_data.get("user", "").strip()
        if not name:
            return None
        try:
            return get_user_model()._default_manager.get_by_natural_key(name)
        except get_user_model().DoesNotExist:
            raise forms.ValidationError(f"there is no user {name!r}") from None


# Where each rule that matches appears on the check page: the decider, then the rest.
_STATUS_ORDER = {"decides": 0, "outranked": 1, "expired": 2, "disabled": 2, "for other groups": 3}


def explain_decision(module: str, version: str, user=None) -> dict:
    """The decision for module@version, for everyone or for `user` (the rules of their
    groups too), and every rule that matches it, in force or not.

    A version this proxy has not fetched yet has no age: the page says that a download
    would fetch it and then hold it in quarantine.
    """
    groups = group_ids(user)
    first_seen = FirstSeen(module)
    decision = Policy(groups=groups).decide(module, version, first_seen)
    now = timezone.now()
    matching = []
    every_rule = PolicyRule.objects.prefetch_related("groups")
    for rule in Policy(every_rule, groups=None).matching_rules(module, version):
        rule_groups = {group.pk for group in rule.groups.all()}
        if decision.rule is not None and rule.pk == decision.rule.pk:
            status = "decides"
        elif rule_groups and rule_groups.isdisjoint(groups):
            status = "for other groups"
        elif not rule.enabled:
            status = "disabled"
        elif rule.expires is not None and rule.expires <= now:
            status = "expired"
        else:
            status = "outranked"
        matching.append((rule, status))
    matching.sort(key=lambda row: _STATUS_ORDER[row[1]])  # stable: rank order within a status
    quarantine_unknown = bool(
        decision.allowed and decision.rule is not None and decision.rule.min_age_days
        and first_seen(version) is None
    )
    return {
        "module": module,
        "version": version,
        "checked_user": user,
        "decision": decision,
        "considered": [{"rule": rule, "status": status} for rule, status in matching],
        "quarantine_unknown": quarantine_unknown,
    }


def describe_change(change: PolicyRuleChange) -> str:
    """One line: the fields that changed, or the whole rule when created or deleted."""
    before, after = change.before or {}, change.after or {}
    fields = (*rule_changes.RECORDED_FIELDS, "groups")

    def value(snapshot: dict, name: str):
        return snapshot.get(name, [] if name == "groups" else None)  # older rows have no "groups"

    if not before or not after:
        rule = after or before
        return ", ".join(
            f"{name}={value(rule, name)!r}" for name in fields if value(rule, name) not in ("", None, [])
        )
    return ", ".join(
        f"{name}: {value(before, name)!r} → {value(after, name)!r}"
        for name in fields if value(before, name) != value(after, name)
    )


@admin.register(PolicyRuleChange)
class PolicyRuleChangeAdmin(AppendOnlyAdmin):
    """The history of the rules: append-only, never edited, kept after a rule is deleted."""

    list_display = ["changed_at", "rule", "kind", "changed_by", "summary"]
    list_filter = ["kind"]
    search_fields = ["=rule_id", "changed_by"]
    fields = ["rule", "kind", "changed_by", "changed_at", "before_json", "after_json"]
    readonly_fields = fields

    def get_queryset(self, request):
        rule_exists = Exists(PolicyRule.objects.filter(pk=OuterRef("rule_id")))
        return super().get_queryset(request).annotate(rule_exists=rule_exists)

    @admin.display(description="Rule", ordering="rule_id")
    def rule(self, obj):
        if not obj.rule_exists:
            return f"#{obj.rule_id} (deleted)"
        url = reverse("admin:modules_policyrule_change", args=[obj.rule_id])
        return format_html('<a href="{}">#{}</a>', url, obj.rule_id)

    @admin.display(description="What")
    def summary(self, obj):
        return describe_change(obj)

    @admin.display(description="Before")
    def before_json(self, obj):
        return _json_block(obj.before)

    @admin.display(description="After")
    def after_json(self, obj):
        return _json_block(obj.after)


def _json_block(data) -> str:
    if data is None:
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(data, indent=2, ensure_ascii=False))


# API tokens: their admin lives with them (modules/tokens/admin.py).
from .tokens import admin as _tokens_admin  # noqa: E402, F401
