"""Admin: the Salesforce steps per connector, with the API usage Salesforce last reported.

Staff read; administrators of the account change. Secrets live in ``Connector.credentials`` and
are never shown.
"""

from django.contrib import admin

from apps.accounts.admin_scope import CHANGE, VIEW, AccountScopedAdmin

from .models import (
    BookingPageRule,
    CreationRules,
    FieldMapping,
    RequiredFieldRule,
    SalesforceConnection,
    SalesforceInstallation,
)


class ConnectorScoped(AccountScopedAdmin):
    account_path = "connector__account"
    administrator_permissions = frozenset({VIEW, CHANGE})
    list_select_related = ["connector", "connector__account"]


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(ConnectorScoped):
    list_display = ["connector", "environment", "auth_method", "username", "instance_url",
                    "api_usage_display", "api_usage_at", "verified_at"]
    list_filter = ["environment", "auth_method"]
    search_fields = ["connector__name", "username", "instance_url"]
    fields = ["connector", "environment", "custom_login_url", "auth_method", "username", "client_id",
              "api_version", "instance_url", "verified_at", "missing_permissions",
              "api_usage_display", "api_usage_at"]
    # Where and how the connection logs in is changed in the wizard's step 1 only: there every URL
    # goes through the outbound-request policy and a changed target asks for the secrets again.
    readonly_fields = fields

    @admin.display(description="API usage (Sforce-Limit-Info)")
    def api_usage_display(self, obj: SalesforceConnection) -> str:
        if obj.api_usage_max is None:
            return "—"
        share = 100 * (obj.api_usage_used or 0) / max(1, obj.api_usage_max)
        return f"{obj.api_usage_used} / {obj.api_usage_max} ({share:.1f}%)"


@admin.register(SalesforceInstallation)
class SalesforceInstallationAdmin(ConnectorScoped):
    list_display = ["connector", "installed", "missing_fields", "checked_at"]
    readonly_fields = ["connector", "checked_at", "present_fields", "missing_fields"]

    @admin.display(boolean=True)
    def installed(self, obj: SalesforceInstallation) -> bool:
        return obj.installed


@admin.register(RequiredFieldRule)
class RequiredFieldRuleAdmin(ConnectorScoped):
    list_display = ["connector", "object_name", "field_name", "field_type", "source", "value"]
    list_filter = ["object_name", "source"]


@admin.register(FieldMapping)
class FieldMappingAdmin(ConnectorScoped):
    list_display = ["connector", "booking_field", "object_name", "field_name", "write_mode"]
    list_filter = ["object_name", "write_mode"]


@admin.register(CreationRules)
class CreationRulesAdmin(ConnectorScoped):
    list_display = ["connector", "general_link_creates", "event_creation", "new_lead_owner",
                    "existing_lead_owner"]


@admin.register(BookingPageRule)
class BookingPageRuleAdmin(ConnectorScoped):
    list_display = ["connector", "booking_page_id", "general_link_creates", "event_creation"]
