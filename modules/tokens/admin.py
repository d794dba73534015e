"""The admin of API tokens: see, rename, revoke, delete; never a secret, never a digest.

Tokens are created by `manage.py api_token create` / `proxy_token create`, or by their
owner on /tokens/, which show the secret once; the admin has no add page, since it
could only show or take a secret. Staff with the change permission revoke anyone's. Imported by
modules/admin.py (the admin discovers only `<app>.admin`).
"""

from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "kind", "created", "last_used", "expires", "revoked"]
    list_display_links = ["prefix", "name"]
    list_filter = ["kind", ("revoked", admin.EmptyFieldListFilter), ("expires", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "kind", "name", "prefix", "created", "last_used", "expires", "revoked"]
    # Nothing here extends a token's life: an expired one stays expired (a new token is
    # made by its owner, who then sees its secret); revoking is the action below.
    readonly_fields = ["user", "kind", "prefix", "created", "last_used", "expires", "revoked"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        count = queryset.filter(revoked__isnull=True).update(revoked=timezone.now())
        self.message_user(request, f"Revoked {count} token{'s' if count != 1 else ''}.", messages.SUCCESS)
