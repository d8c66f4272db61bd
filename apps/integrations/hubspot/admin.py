"""HubSpot settings, read-only in admin and scoped to the user's accounts."""

from django.contrib import admin

from apps.connectors.admin_tools import ConnectorSettingsAdmin

from .models import (
    ClassificationSettings,
    CreationSettings,
    CrmCacheEntry,
    HubSpotConnection,
    MeetingSettings,
    PropertyMapping,
)


@admin.register(HubSpotConnection)
class HubSpotConnectionAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "auth_method", "api_base", "api_version", "portal_id", "verified_at"]


@admin.register(CreationSettings)
class CreationSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "email_update_mode", "email_ownership", "id_update_mode", "id_ownership",
                    "company_mode"]


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "lifecycle_stage", "lead_status", "meeting_type"]


@admin.register(MeetingSettings)
class MeetingSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "write_lifecycle_properties", "checked_at"]


@admin.register(PropertyMapping)
class PropertyMappingAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "object_type", "property_name", "booking_field", "write_mode"]
    list_filter = ["object_type"]


@admin.register(CrmCacheEntry)
class CrmCacheEntryAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "kind", "name", "crm_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "crm_id"]
