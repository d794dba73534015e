"""Admin pages for the module cache."""

from django.contrib import admin

from .models import DownloadModeRule, FetchFailure, Module, ModuleVersion, ResolvedQuery, UpstreamListing


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the proxy writes itself: people look, nobody adds or edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ModuleVersionInline(admin.TabularInline):
    model = ModuleVersion
    fields = ["version", "state", "time", "zip_size", "zip_hash", "fetched_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["path", "created_at"]
    search_fields = ["path"]
    readonly_fields = ["path", "created_at"]
    inlines = [ModuleVersionInline]

    def has_add_permission(self, request):
        return False


@admin.register(ModuleVersion)
class ModuleVersionAdmin(ViewOnlyAdmin):
    """Cached versions are immutable: everything is read-only here."""

    list_display = ["module", "version", "state", "time", "zip_size", "upstream", "fetched_at"]
    list_filter = ["state", "upstream"]
    search_fields = ["module__path", "version"]
    list_select_related = ["module"]
    readonly_fields = [
        "module", "version", "state", "time", "info", "go_mod_text", "zip_key", "zip_size",
        "zip_hash", "mod_hash", "upstream", "fetched_at",
    ]
    exclude = ["go_mod"]

    @admin.display(description="go.mod")
    def go_mod_text(self, obj):
        return bytes(obj.go_mod).decode("utf-8", errors="replace")


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
