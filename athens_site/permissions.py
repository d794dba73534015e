"""Who may do what: the one permission map that the API, the UI actions, the report
pages and the templates consult (the admin checks the same Django model permissions
itself, model by model).

Why one map: before it, the admin checked model permissions while the API and the UI
actions let any staff account add an allow-everything rule, delete a deny rule, read
the audit and evict versions (issue 21). The staff flag alone grants nothing here; it
only lets an account into the admin, where Django checks the same permissions.

Each action names the Django permissions it needs, all of them. Grant them to groups
(modules/migrations/0009_groups.py creates "Security team", "Auditors" and "Release
managers" as a starting point), or to a user, in the admin. A superuser has every
permission.
"""

from rest_framework import permissions as drf

RULES_VIEW = "rules.view"
RULES_ADD = "rules.add"
RULES_CHANGE = "rules.change"
RULES_DELETE = "rules.delete"
RULES_IMPORT = "rules.import"
RULES_REPLACE = "rules.replace"
AUDIT_DOWNLOADS = "audit.downloads"
AUDIT_FETCHES = "audit.fetches"
AUDIT_REPORTS = "audit.reports"
CACHE_FETCH = "cache.fetch"
CACHE_EVICT = "cache.evict"

PERMISSION_MAP: dict[str, tuple[str, ...]] = {
    RULES_VIEW: ("modules.view_policyrule",),  # list, read, export, check
    RULES_ADD: ("modules.add_policyrule",),
    RULES_CHANGE: ("modules.change_policyrule",),
    RULES_DELETE: ("modules.delete_policyrule",),
    RULES_IMPORT: ("modules.add_policyrule", "modules.change_policyrule"),  # merge a filter file
    RULES_REPLACE: ("modules.add_policyrule", "modules.change_policyrule", "modules.delete_policyrule"),
    AUDIT_DOWNLOADS: ("audit.view_downloadevent",),
    AUDIT_FETCHES: ("audit.view_fetchevent",),
    # The reports join both kinds of event (who downloaded what was fetched when).
    AUDIT_REPORTS: ("audit.view_downloadevent", "audit.view_fetchevent"),
    CACHE_FETCH: ("modules.fetch_moduleversion",),
    CACHE_EVICT: ("modules.evict_moduleversion",),
}

def allowed(user, action: str) -> bool:
    """Whether `user` may do `action` (a key of PERMISSION_MAP)."""
    needed = PERMISSION_MAP[action]  # a KeyError is a bug: an action nobody mapped
    return bool(user and user.is_authenticated and user.is_active and user.has_perms(needed))


def can(user) -> dict[str, bool]:
    """Every action's answer for `user`, for templates: `{% if can.cache_fetch %}`."""
    return {action.replace(".", "_"): allowed(user, action) for action in PERMISSION_MAP}


def context(request) -> dict:
    """Template context processor: `can`, computed on first use only."""
    from django.utils.functional import SimpleLazyObject

    return {"can": SimpleLazyObject(lambda: can(getattr(request, "user", None)))}


class MappedPermission(drf.BasePermission):
    """DRF's side of the map. A view names its action in `permission_action`, or one
    per viewset action in `permission_actions` ({"list": RULES_VIEW, ...}); an action it
    does not name is refused (fail closed: a new endpoint is nobody's until mapped)."""

    def has_permission(self, request, view):
        action = getattr(view, "permission_action", None)
        per_action = getattr(view, "permission_actions", None)
        if per_action is not None:
            action = per_action.get(getattr(view, "action", None))
            if callable(action):
                action = action(request)
        return action is not None and allowed(request.user, action)


class AnyApiPermission(drf.BasePermission):
    """For the API's schema: shown to an account that may use some part of the API."""

    def has_permission(self, request, view):
        return any(allowed(request.user, action) for action in PERMISSION_MAP)
