"""Keap settings, read-only in admin and scoped to the user's accounts."""

from django.contrib import admin

from apps.connectors.admin_tools import ConnectorSettingsAdmin

from .models import (
    ClassificationSettings,
    CreationSettings,
    CrmCacheEntry,
    KeapConnection,
    MappingSettings,
    TaggingSettings,
    TrackingSettings,
)


@admin.register(KeapConnection)
class KeapConnectionAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "auth_method", "api_base"]


@admin.register(CreationSettings)
class CreationSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "email_update_mode", "email_ownership", "id_update_mode", "id_ownership"]


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "contact_type", "action_type", "priority", "lead_source_category"]


@admin.register(TaggingSettings)
class TaggingSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "generic_tags", "appointment_tags", "tag_category"]


@admin.register(MappingSettings)
class MappingSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "date_format", "updated_at"]


@admin.register(TrackingSettings)
class TrackingSettingsAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "enabled", "updated_at"]


@admin.register(CrmCacheEntry)
class CrmCacheEntryAdmin(ConnectorSettingsAdmin):
    list_display = ["connector", "kind", "name", "crm_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "crm_id"]


# Settings-as-code admin (generic, for every connector kind): registered on import.
import apps.connectors.settings_io_admin  # noqa: E402, F401
