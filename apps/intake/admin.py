from django.contrib import admin

from apps.accounts.admin_scope import ACCOUNT_FILTER, ReadOnlyScopedAdmin
from apps.core.jsonview import pretty_json

from .models import Booking, BookingEvent


@admin.register(BookingEvent)
class BookingEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["envelope_id", "event_type", "booking_id", "customer_email",
                    "lifecycle_action", "received_at", "processed_at", "account"]
    list_filter = ["event_type", "lifecycle_action", ACCOUNT_FILTER, ("received_at", admin.DateFieldListFilter)]
    search_fields = ["=envelope_id", "=booking_id", "customer_email"]
    list_select_related = ["account"]
    show_full_result_count = False
    date_hierarchy = None
    fields = ["account", "envelope_id", "event_type", "booking_id", "customer_email",
              "lifecycle_action", "event_created_at", "received_at", "queued_at", "processed_at",
              "hand_offs", "signature_timestamp", "payload_pretty"]
    readonly_fields = fields

    @admin.display(description="Payload")
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)


@admin.register(Booking)
class BookingAdmin(ReadOnlyScopedAdmin):
    list_display = ["booking_id", "customer_email", "lifecycle_action", "status", "starting_time",
                    "owner_id", "events_seen", "updated_at", "account"]
    list_filter = ["lifecycle_action", "status", ACCOUNT_FILTER]
    search_fields = ["=booking_id", "customer_email", "=rescheduled_booking_id"]
    list_select_related = ["account"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Booking._meta.fields]
