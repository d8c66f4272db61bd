"""The sync log in admin: jobs (with their attempts and CRM calls), calls, record links.

Big tables: counts are capped (``CappedCountPaginator``), filters take their choices from
small tables, search uses indexed exact lookups, and every list joins what it shows.
"""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from apps.accounts.admin_scope import ReadOnlyScopedAdmin
from apps.accounts.admin_tools import (
    FastChangeListMixin,
    ScopedAccountFilter,
    change_link,
    recent_filter,
    status_badge,
)
from apps.accounts.selectors import is_administrator_of
from apps.connectors.admin_tools import CrmKindFilter, ScopedConnectorFilter
from apps.connectors.errors import reason_for, suggests_refresh
from apps.core.jsonview import pretty_json

from . import (
    admin_inbox,  # noqa: F401  (registers the inbox and bookings pages)
    job_page,
)
from .admin_actions import export_jobs_csv, retry_jobs
from .admin_tools import ConsoleSearchMixin, HasErrorFilter, HttpStatusFilter, looks_like_oncehub_id
from .models import CrmCall, CrmRecordLink, SyncJob


class FailureReasonFilter(admin.SimpleListFilter):
    """The error codes seen among the (scoped) problem jobs of the last 7 days."""

    title = "failure reason"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        rows = (
            model_admin.get_queryset(request)
            .filter(status__in=("failed", "dead", "retrying"),
                    created_at__gte=timezone.now() - timedelta(days=7))
            .exclude(error_code="")
            .values("error_code", "connector__kind").annotate(n=Count("pk")).order_by("-n")[:30]
        )
        # Keyed by code, labelled in words (the CRM's catalogue, apps.connectors.errors): one
        # entry per code even when several CRMs raised it.
        counts: dict[str, int] = {}
        labels: dict[str, str] = {}
        for row in rows:
            code = row["error_code"]
            counts[code] = counts.get(code, 0) + row["n"]
            labels.setdefault(code, reason_for(row["connector__kind"], code) or code)
        top = sorted(counts, key=lambda code: -counts[code])[:15]
        return [(code, f"{labels[code]} ({counts[code]})") for code in top]

    def queryset(self, request, queryset):
        if self.value() is not None:
            return queryset.filter(error_code=self.value())
        return queryset


@admin.register(SyncJob)
class SyncJobAdmin(ConsoleSearchMixin, FastChangeListMixin, ReadOnlyScopedAdmin):
    crm_search_booking_path = "booking_id"
    list_display = ["id", "booking_id", "customer_email", "lifecycle_action", "connector",
                    "status_badge", "attempts", "last_error", "created_at", "finished_at"]
    list_display_links = ["id", "booking_id"]
    list_filter = ["status", "lifecycle_action", CrmKindFilter, ScopedConnectorFilter,
                   FailureReasonFilter, recent_filter("created_at", "created"), ScopedAccountFilter]
    search_fields = ["booking_id__exact", "event__envelope_id__exact", "event__customer_email__iexact"]
    search_help_text = "Booking id (BKNG-…), event id (EVNT-…), customer email or CRM record id."
    list_select_related = ["connector", "event"]
    actions = [retry_jobs, export_jobs_csv]
    # The page's summary, attempts and plan come from job_page (its template:
    # templates/admin/sync/syncjob/change_form.html); the fields are what links elsewhere.
    fields = ["account", "event_link", "booking_link", "connector", "error_code", "record_links"]
    readonly_fields = fields

    @admin.display(description="email", ordering="event__customer_email")
    def customer_email(self, obj):
        return obj.event.customer_email

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="last error")
    def last_error(self, obj):
        if not obj.error:
            return "—"
        # The short reason (the CRM's catalogue, apps.connectors.errors); the title holds the
        # whole sentence and its details line.
        text = job_page.short_reason(obj)
        # Cut to one line by .bb-truncate (static/bookbridge/admin.css); the title holds all of it.
        return format_html('<span class="bb-truncate" title="{}">{}</span>', obj.error,
                           Truncator(text).chars(90))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A job that failed on stale CRM data offers "Refresh CRM data" (then retry) to the
        # account's administrators (``apps.connectors.errors.suggests_refresh``).
        # The page's summary, attempts and plan: ``job_page``.
        job = self.get_object(request, object_id)
        if job is None:
            return super().change_view(request, object_id, form_url, extra_context)
        refresh = None
        if (suggests_refresh(job.connector.kind, job.error_code)
                and is_administrator_of(request.user, job.connector.account_id)):
            refresh = job.connector
        context = {**job_page.page_context(job), "refresh_connector": refresh, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="Event")
    def event_link(self, obj):
        url = reverse("admin:intake_bookingevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{} ({})</a>', url, obj.event.envelope_id, obj.event.event_type)

    @admin.display(description="Booking")
    def booking_link(self, obj):
        if not obj.booking_id:
            return "—"
        url = reverse("admin:intake_booking_changelist") + f"?q={obj.booking_id}"
        jobs = reverse("admin:sync_syncjob_changelist") + f"?q={obj.booking_id}"
        return format_html('<a href="{}">{}</a> · <a href="{}">all sync jobs of this booking</a> · {}',
                           url, obj.booking_id, jobs, obj.event.customer_email or "no email")

    @admin.display(description="CRM records of this booking")
    def record_links(self, obj):
        links = CrmRecordLink.objects.filter(connector_id=obj.connector_id, booking_id=obj.booking_id)
        rows = [f"{link.record_type}: {link.crm_id}" for link in links.order_by("record_type")]
        return format_html("<br>".join(["{}"] * len(rows)), *rows) if rows else "—"


@admin.register(CrmCall)
class CrmCallAdmin(ConsoleSearchMixin, FastChangeListMixin, ReadOnlyScopedAdmin):
    crm_search_booking_path = "sync_job__booking_id"
    list_display = ["created_at", "method", "short_url", "status_code", "duration_ms", "crm_error_code",
                    "connector", "job_link", "attempt_number"]
    list_filter = [HttpStatusFilter, HasErrorFilter, CrmKindFilter, ScopedConnectorFilter,
                   recent_filter("created_at", "when"), ScopedAccountFilter]
    search_fields = ["crm_error_code__exact", "sync_job__booking_id__exact", "url__contains"]
    search_help_text = "Booking id, CRM error code, or a CRM record id / path in the URL."
    list_select_related = ["connector", "attempt"]

    def get_search_results(self, request, queryset, search_term):
        """Booking ids go through the jobs' index (a subquery); anything else also scans URLs."""
        terms = search_term.split()
        if terms and all(looks_like_oncehub_id(t) for t in terms):
            jobs = SyncJob.objects.filter(booking_id__in=[t.upper() for t in terms]).values("pk")
            return queryset.filter(sync_job_id__in=jobs), False
        return super().get_search_results(request, queryset, search_term)
    fields = ["account", "connector", "sync_job", "attempt_number", "method", "url", "status_code",
              "duration_ms", "crm_error_code", "created_at", "request_pretty", "response_pretty"]
    readonly_fields = fields

    @admin.display(description="URL")
    def short_url(self, obj):
        return Truncator(obj.url).chars(80)

    @admin.display(description="job")
    def job_link(self, obj):
        return change_link("admin:sync_syncjob_change", obj.sync_job_id)

    @admin.display(description="attempt", ordering="attempt__number")
    def attempt_number(self, obj):
        return obj.attempt.number if obj.attempt_id else "—"

    @admin.display(description="Request")
    def request_pretty(self, obj):
        return pretty_json(obj.request_body)

    @admin.display(description="Response")
    def response_pretty(self, obj):
        return pretty_json(obj.response_body)


@admin.register(CrmRecordLink)
class CrmRecordLinkAdmin(ConsoleSearchMixin, FastChangeListMixin, ReadOnlyScopedAdmin):
    list_display = ["booking_id", "record_type", "crm_id", "connector", "created_at", "updated_at"]
    list_filter = ["record_type", CrmKindFilter, ScopedConnectorFilter,
                   recent_filter("updated_at", "updated"), ScopedAccountFilter]
    search_fields = ["booking_id__exact", "crm_id__exact"]
    search_help_text = "Booking id or CRM record id."
    list_select_related = ["connector"]
    readonly_fields = ["account", "connector", "booking_id", "record_type", "crm_id", "created_at",
                       "updated_at"]
