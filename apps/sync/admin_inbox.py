"""The inbox and bookings in admin: find a customer's booking, read what arrived, replay it.

The models are intake's, but these pages show and act on sync state (each event's and
booking's jobs, replay, search by CRM record id), so the sync layer registers them
(``apps.sync.admin`` imports this module): intake may not import sync.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.accounts.admin_scope import ReadOnlyScopedAdmin
from apps.accounts.admin_tools import (
    FastChangeListMixin,
    ScopedAccountFilter,
    change_link,
    recent_filter,
    status_badge,
)
from apps.core.display import moment
from apps.core.jsonview import pretty_json
from apps.intake.models import Booking, BookingEvent
from apps.intake.sources.registry import BOOKING_EVENT_TYPES

from . import job_page
from .admin_actions import replay_events
from .admin_tools import ConsoleSearchMixin
from .models import SyncJob


class EventTypeFilter(admin.SimpleListFilter):
    """Every booking source's event types, from the known lists (no DISTINCT over the inbox)."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(t, t) for t in sorted(BOOKING_EVENT_TYPES)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_type=self.value())
        return queryset


class ProcessedFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("yes", "Processed"), ("no", "Not processed yet"), ("failing", "Failing (being retried)"),
                ("quarantined", "Quarantined")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=True,
                                   processing_attempts__gt=0)
        if self.value() == "quarantined":
            return queryset.filter(quarantined_at__isnull=False)
        return queryset


def _jobs_table(jobs) -> str:
    rows = [
        (reverse("admin:sync_syncjob_change", args=[job.pk]), job.pk, job.connector.name,
         status_badge(job.status, job.get_status_display()), job.attempts,
         job_page.short_reason(job))
        for job in jobs
    ]
    if not rows:
        return "—"
    return format_html(
        "<table><tr><th>Job</th><th>Connector</th><th>Status</th><th>Attempts</th><th>Reason</th></tr>"
        "{}</table>",
        format_html_join("", '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                         "<td>{}</td></tr>", rows),
    )


@admin.register(BookingEvent)
class BookingEventAdmin(ConsoleSearchMixin, FastChangeListMixin, ReadOnlyScopedAdmin):
    crm_search_booking_path = "booking_id"
    list_display = ["envelope_id", "source", "event_type", "booking_id", "customer_email",
                    "lifecycle_action", "received_at", "processing", "account"]
    list_filter = ["source", EventTypeFilter, "lifecycle_action", ProcessedFilter,
                   recent_filter("received_at", "received"), ScopedAccountFilter]
    search_fields = ["envelope_id__exact", "booking_id__exact", "customer_email__iexact"]
    search_help_text = "Event id (EVNT-…), booking id (BKNG-…), customer email or CRM record id."
    list_select_related = ["account"]
    actions = [replay_events]
    fields = ["account", "source", "envelope_id", "event_type", "booking_link", "customer_email",
              "lifecycle_action", "event_created_at", "received_at", "queued_at", "processed_at",
              "hand_offs", "processing_attempts", "quarantined_at", "processing_error_text",
              "signature_timestamp", "sync_jobs", "payload_pretty"]
    readonly_fields = fields

    @admin.display(description="Processing", ordering="processed_at")
    def processing(self, obj):
        if obj.quarantined_at is not None:
            return status_badge("dead", f"Quarantined ({obj.processing_attempts} attempts)")
        if obj.processed_at is not None:
            return obj.processed_at
        if obj.processing_attempts:
            return status_badge("retrying", f"Failing ({obj.processing_attempts} attempts)")
        return "—"

    @admin.display(description="Why it failed / what it waits for")
    def processing_error_text(self, obj):
        if not obj.processing_error:
            return "—"
        return format_html('<pre class="bb-json">{}</pre>', obj.processing_error)

    @admin.display(description="Booking")
    def booking_link(self, obj):
        if not obj.booking_id:
            return "—"
        url = reverse("admin:intake_booking_changelist") + f"?q={obj.booking_id}"
        return format_html('<a href="{}">{}</a>', url, obj.booking_id)

    @admin.display(description="Sync jobs")
    def sync_jobs(self, obj):
        return _jobs_table(obj.sync_jobs.select_related("connector").order_by("connector__name"))

    @admin.display(description="Payload")
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)


@admin.register(Booking)
class BookingAdmin(ConsoleSearchMixin, FastChangeListMixin, ReadOnlyScopedAdmin):
    crm_search_booking_path = "booking_id"
    list_display = ["booking_id", "customer_email", "customer_name", "lifecycle_action", "status",
                    "starting_time", "owner_id", "events_seen", "updated_at", "account"]
    list_filter = ["lifecycle_action", recent_filter("updated_at", "updated"),
                   recent_filter("starting_time", "starts"), ScopedAccountFilter]
    search_fields = ["booking_id__exact", "customer_email__iexact", "rescheduled_booking_id__exact"]
    search_help_text = "Booking id (BKNG-…), customer email or CRM record id."
    list_select_related = ["account"]
    readonly_fields = [f.name for f in Booking._meta.fields if f.name != "latest_event"] + [
        "latest_event_link", "events", "sync_jobs"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.display(description="Latest event")
    def latest_event_link(self, obj):
        return change_link("admin:intake_bookingevent_change", obj.latest_event_id)

    @admin.display(description="Events")
    def events(self, obj):
        events = BookingEvent.objects.filter(account_id=obj.account_id, booking_id=obj.booking_id)
        rows = [(reverse("admin:intake_bookingevent_change", args=[e.pk]), e.envelope_id, e.event_type,
                 e.lifecycle_action, moment(e.received_at)) for e in events.order_by("received_at")]
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a> {} · {} · {}', rows)

    @admin.display(description="Sync jobs")
    def sync_jobs(self, obj):
        jobs = SyncJob.objects.filter(account_id=obj.account_id, booking_id=obj.booking_id)
        return _jobs_table(jobs.select_related("connector").order_by("created_at"))
