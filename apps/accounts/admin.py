from django.contrib import admin

from .admin_scope import ADD, CHANGE, DELETE, VIEW, AccountScopedAdmin
from .models import Account, Membership, WebhookSecret


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(AccountScopedAdmin):
    account_path = "id"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
    administrator_permissions = frozenset({VIEW, CHANGE})

    def _account_id_of(self, obj) -> int:
        return obj.id

    def get_inlines(self, request, obj):
        return self.inlines if self.has_change_permission(request, obj) else []


@admin.register(Membership)
class MembershipAdmin(AccountScopedAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username", "account__slug"]
    list_select_related = ["user", "account"]
    administrator_permissions = frozenset({VIEW, ADD, CHANGE, DELETE})


@admin.register(WebhookSecret)
class WebhookSecretAdmin(AccountScopedAdmin):
    """Shows that secrets exist and when they expire; the secret itself is never rendered."""

    list_display = ["account", "created_at", "expires_at"]
    fields = ["account", "created_at", "expires_at"]
    readonly_fields = ["account", "created_at", "expires_at"]
    list_select_related = ["account"]
    staff_permissions = frozenset()
    administrator_permissions = frozenset({VIEW})
