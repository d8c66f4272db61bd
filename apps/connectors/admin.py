from django.contrib import admin

from apps.accounts.admin_scope import ACCOUNT_FILTER, CHANGE, VIEW, AccountScopedAdmin

from .models import Connector


@admin.register(Connector)
class ConnectorAdmin(AccountScopedAdmin):
    """Staff read status; administrators change settings. Credentials are never shown."""

    list_display = ["name", "kind", "status", "is_active", "is_paused", "account", "updated_at"]
    list_filter = ["kind", "status", "is_active", "is_paused", ACCOUNT_FILTER]
    search_fields = ["name"]
    list_select_related = ["account"]
    fields = ["account", "kind", "name", "status", "status_detail", "is_active", "is_paused",
              "created_at", "updated_at"]
    readonly_fields = ["account", "kind", "status", "status_detail", "created_at", "updated_at"]
    administrator_permissions = frozenset({VIEW, CHANGE})
