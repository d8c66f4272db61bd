from django.contrib import admin, messages
from django.utils import timezone

from apps.accounts.admin_scope import ReadOnlyScopedAdmin
from apps.accounts.admin_tools import ScopedAccountFilter, administrators_only
from apps.connectors.admin_tools import ScopedConnectorFilter

from . import admin_backfill, admin_connectors  # noqa: F401  (register the OnceHub API keys and connectors pages)
from .models import Incident


@admin.action(description="Mark selected incidents resolved", permissions=["administer"])
@administrators_only("resolve incidents")
def resolve_incidents(modeladmin, request, queryset):
    count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
    modeladmin.message_user(
        request, f"Resolved {count} incident(s). A new incident opens if the problem persists.",
        messages.SUCCESS,
    )


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open"), ("no", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Incident)
class IncidentAdmin(ReadOnlyScopedAdmin):
    list_display = ["opened_at", "kind", "connector", "account", "is_open", "resolved_at",
                    "notified_at", "notified_to"]
    list_filter = [OpenFilter, "kind", ScopedConnectorFilter, ScopedAccountFilter]
    search_fields = ["connector__name", "detail"]
    list_select_related = ["connector", "account"]
    actions = [resolve_incidents]
    fields = ["account", "connector", "kind", "detail", "opened_at", "last_seen_at", "resolved_at",
              "notified_at", "notified_to"]
    readonly_fields = fields

    @admin.display(boolean=True, description="open")
    def is_open(self, obj):
        return obj.resolved_at is None
