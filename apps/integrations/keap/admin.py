"""Keap settings, read-only in admin and scoped to the user's accounts."""

from django.contrib import admin

from apps.accounts.admin_scope import ReadOnlyScopedAdmin

from .models import (
    ClassificationSettings,
    CreationSettings,
    CrmCacheEntry,
    KeapConnection,
    MappingSettings,
    TaggingSettings,
    TrackingSettings,
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


@admin.register(KeapConnection)
class KeapConnectionAdmin(StepAdmin):
    list_display = ["connector", "auth_method", "api_base"]


@admin.register(CreationSettings)
class CreationSettingsAdmin(StepAdmin):
    list_display = ["connector", "email_update_mode", "email_ownership", "id_update_mode", "id_ownership"]


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(StepAdmin):
    list_display = ["connector", "contact_type", "action_type", "priority", "lead_source_category"]


@admin.register(TaggingSettings)
class TaggingSettingsAdmin(StepAdmin):
    list_display = ["connector", "generic_tags", "appointment_tags", "tag_category"]


@admin.register(MappingSettings)
class MappingSettingsAdmin(StepAdmin):
    list_display = ["connector", "date_format", "updated_at"]


@admin.register(TrackingSettings)
class TrackingSettingsAdmin(StepAdmin):
    list_display = ["connector", "enabled", "updated_at"]


@admin.register(CrmCacheEntry)
class CrmCacheEntryAdmin(StepAdmin):
    list_display = ["connector", "kind", "name", "crm_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "crm_id"]


# Settings-as-code admin (generic, for every connector kind): registered on import.
import apps.connectors.settings_io_admin  # noqa: E402, F401
