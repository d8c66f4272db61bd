"""HubSpot settings, read-only in admin and scoped to the user's accounts."""

from django.contrib import admin

from apps.accounts.admin_scope import ReadOnlyScopedAdmin

from .models import (
    ClassificationSettings,
    CreationSettings,
    CrmCacheEntry,
    HubSpotConnection,
    MeetingSettings,
    PropertyMapping,
)


class StepAdmin(ReadOnlyScopedAdmin):
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


@admin.register(HubSpotConnection)
class HubSpotConnectionAdmin(StepAdmin):
    list_display = ["connector", "auth_method", "api_base", "api_version", "portal_id", "verified_at"]


@admin.register(CreationSettings)
class CreationSettingsAdmin(StepAdmin):
    list_display = ["connector", "email_update_mode", "email_ownership", "id_update_mode", "id_ownership",
                    "company_mode"]


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(StepAdmin):
    list_display = ["connector", "lifecycle_stage", "lead_status", "meeting_type"]


@admin.register(MeetingSettings)
class MeetingSettingsAdmin(StepAdmin):
    list_display = ["connector", "write_lifecycle_properties", "checked_at"]


@admin.register(PropertyMapping)
class PropertyMappingAdmin(StepAdmin):
    list_display = ["connector", "object_type", "property_name", "booking_field", "write_mode"]
    list_filter = ["object_type"]


@admin.register(CrmCacheEntry)
class CrmCacheEntryAdmin(StepAdmin):
    list_display = ["connector", "kind", "name", "crm_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "crm_id"]
