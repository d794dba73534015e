"""Read-only admin pages for the audit events: nobody edits history.

The report pages (audit/report_views.py, under /admin/audit/reports/) are linked from
the admin's home page and from both event lists.
"""

from django.contrib import admin

from modules.admin import AppendOnlyAdmin

from .models import DownloadEvent, FetchEvent

# The admin's home page gets an "Audit reports" box above the applications.
admin.site.index_template = "admin/audit/reports/admin_index.html"


class ReadOnlyAdmin(AppendOnlyAdmin):
    date_hierarchy = "time"
    # The event lists carry "Reports" and "Who downloaded…" buttons.
    change_list_template = "admin/audit/reports/change_list.html"
    show_full_result_count = False


@admin.register(DownloadEvent)
class DownloadEventAdmin(ReadOnlyAdmin):
    list_display = [
        "time", "module", "version", "endpoint", "status", "cache", "bytes_sent", "client_addr", "username", "token_name",
    ]
    list_filter = ["endpoint", "status", "cache"]
    search_fields = ["module", "version", "username", "client_addr"]


@admin.register(FetchEvent)
class FetchEventAdmin(ReadOnlyAdmin):
    list_display = ["time", "module", "version", "endpoint", "upstream", "outcome", "bytes", "duration_ms", "worker"]
    list_filter = ["outcome", "endpoint"]
    search_fields = ["module", "version", "upstream"]
