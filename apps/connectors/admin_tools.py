"""Admin filters on connectors: the user's connectors and the registered CRM kinds, both from
small tables or the registry (never ``SELECT DISTINCT`` over big ones). Building blocks in
``apps.accounts.admin_tools``."""

from __future__ import annotations

from django.contrib import admin

from apps.accounts.admin_scope import ReadOnlyScopedAdmin
from apps.accounts.admin_tools import id_from, refuse_filter_value, visible_account_ids

from . import registry
from .models import Connector


class ScopedConnectorFilter(admin.SimpleListFilter):
    """The connectors of the user's accounts (the Connector table is small)."""

    title = "connector"
    parameter_name = "connector__id__exact"
    connector_path = "connector"

    def lookups(self, request, model_admin):
        ids = visible_account_ids(request)
        connectors = Connector.objects.select_related("account")
        if ids is not None:
            connectors = connectors.filter(account_id__in=ids)
        many_accounts = ids is None or len(ids) > 1
        return [
            (str(c.pk), f"{c.name} · {c.account.name}" if many_accounts else c.name)
            for c in connectors.order_by("account__name", "name")
        ]

    def queryset(self, request, queryset):
        connector_id = id_from(request, self.value(), self.title)
        if connector_id is not None:
            return queryset.filter(**{f"{self.connector_path}_id": connector_id})
        return queryset


class CrmKindFilter(admin.SimpleListFilter):
    """The CRM (connector kind), from the registry: no query."""

    title = "CRM"
    parameter_name = "crm"
    kind_path = "connector__kind"

    def lookups(self, request, model_admin):
        return sorted(registry.choices(), key=lambda c: c[1])

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if registry.get(value) is None:
            refuse_filter_value(request, self.title)
        return queryset.filter(**{self.kind_path: value})


class ConnectorSettingsAdmin(ReadOnlyScopedAdmin):
    """A CRM package's settings rows in admin: every field read-only, scoped to the user's
    accounts through the connector (the wizard and settings files are where they change)."""

    account_path = "connector__account"
    list_select_related = ["connector", "connector__account"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
