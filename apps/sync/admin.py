from django.contrib import admin

from apps.accounts.admin_scope import CONNECTOR_FILTER, ReadOnlyScopedAdmin
from apps.core.jsonview import pretty_json

from .models import CrmCall, CrmRecordLink, SyncJob


class CrmCallInline(admin.TabularInline):
    model = CrmCall
    extra = 0
    can_delete = False
    fields = ["created_at", "method", "url", "status_code", "duration_ms", "crm_error_code"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "booking_id", "lifecycle_action", "connector", "status", "attempts",
                    "error_code", "created_at", "finished_at"]
    list_filter = ["status", "lifecycle_action", "connector__kind", CONNECTOR_FILTER]
    search_fields = ["=booking_id", "=event__envelope_id", "event__customer_email"]
    list_select_related = ["connector", "event"]
    show_full_result_count = False
    inlines = [CrmCallInline]
    fields = ["account", "event", "connector", "booking_id", "lifecycle_action", "status",
              "attempts", "error", "error_code", "next_attempt_at", "created_at", "started_at",
              "finished_at", "plan_pretty", "result_pretty"]
    readonly_fields = fields

    @admin.display(description="Plan")
    def plan_pretty(self, obj):
        return pretty_json(obj.plan)

    @admin.display(description="Result")
    def result_pretty(self, obj):
        return pretty_json(obj.result)


@admin.register(CrmCall)
class CrmCallAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "method", "url", "status_code", "duration_ms", "crm_error_code",
                    "connector"]
    list_filter = ["method", "status_code", "connector__kind"]
    search_fields = ["crm_error_code", "=sync_job__booking_id"]
    list_select_related = ["connector"]
    show_full_result_count = False
    fields = ["account", "connector", "sync_job", "method", "url", "status_code", "duration_ms",
              "crm_error_code", "created_at", "request_pretty", "response_pretty"]
    readonly_fields = fields

    @admin.display(description="Request")
    def request_pretty(self, obj):
        return pretty_json(obj.request_body)

    @admin.display(description="Response")
    def response_pretty(self, obj):
        return pretty_json(obj.response_body)


@admin.register(CrmRecordLink)
class CrmRecordLinkAdmin(ReadOnlyScopedAdmin):
    list_display = ["booking_id", "record_type", "crm_id", "connector", "updated_at"]
    list_filter = ["record_type", CONNECTOR_FILTER]
    search_fields = ["=booking_id", "=crm_id"]
    list_select_related = ["connector"]
