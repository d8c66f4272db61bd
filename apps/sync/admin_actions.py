"""Admin actions of the operations console (on sync jobs, booking events and connectors). Each
one that changes something is offered to administrators only (``permissions=["administer"]``,
``apps.accounts.admin_scope``), runs only for administrators of every selected row's account
(anyone else gets an error message and nothing happens) and reports what it did.

They live with the sync engine whose operations they run (retry, replay, pause, resume), so
that the admin of every layer that may import sync can offer them.
"""

from __future__ import annotations

import csv
from collections import Counter

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponse

from apps.accounts.admin_tools import administrators_only

from . import pausing
from .models import JobStatus
from .replay import ReplayReport, replay_event, retry_job

RETRYABLE = (JobStatus.FAILED, JobStatus.DEAD)


@admin.action(permissions=["administer"],
              description="Retry selected failed/dead sync jobs")
@administrators_only("retry sync jobs")
def retry_jobs(modeladmin, request, queryset):
    outcomes: Counter = Counter()
    with transaction.atomic():
        for job in queryset.select_related("connector").order_by("created_at"):
            if job.status not in RETRYABLE:
                outcomes[f"skipped ({job.get_status_display().lower()})"] += 1
            elif retry_job(job):
                outcomes["paused connector, will run on resume" if job.connector.is_paused
                         else "queued for retry"] += 1
    if not outcomes:
        modeladmin.message_user(request, "No jobs selected.", messages.WARNING)
        return
    level = messages.SUCCESS if any(k.startswith(("queued", "paused")) for k in outcomes) \
        else messages.WARNING
    summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
    modeladmin.message_user(request, f"Retry: {summary}. Only failed and dead jobs are retried.", level)


@admin.action(permissions=["administer"],
              description="Replay selected booking events (all connectors, idempotent)")
@administrators_only("replay booking events")
def replay_events(modeladmin, request, queryset):
    report = ReplayReport()
    count = 0
    with transaction.atomic():
        for event in queryset.select_related("account").order_by("received_at", "pk"):
            report.merge(replay_event(event))
            count += 1
    modeladmin.message_user(
        request,
        f"Replayed {count} event(s): {report.summary()}. Connectors that already synced an event "
        "were not called again.",
        messages.SUCCESS,
    )


@admin.action(permissions=["administer"],
              description="Pause selected connectors (work queues up until resumed)")
@administrators_only("pause connectors")
def pause_connectors(modeladmin, request, queryset):
    paused = [c.name for c in queryset if pausing.pause(c)]
    if paused:
        modeladmin.message_user(request, f"Paused {', '.join(paused)}. New bookings wait as pending "
                                "jobs until the connector is resumed.", messages.SUCCESS)
    else:
        modeladmin.message_user(request, "The selected connectors were already paused.", messages.WARNING)


@admin.action(permissions=["administer"],
              description="Resume selected connectors (catch up on queued work in order)")
@administrators_only("resume connectors")
def resume_connectors(modeladmin, request, queryset):
    parts = []
    for connector in queryset:
        was_paused = connector.is_paused
        queued = pausing.resume(connector)
        state = "resumed" if was_paused else "was not paused"
        parts.append(f"{connector.name} {state}, {queued} waiting job(s) queued in order")
    modeladmin.message_user(request, "; ".join(parts) + ".", messages.SUCCESS)


EXPORT_LIMIT = 50_000


@admin.action(description="Export selected sync jobs as CSV")
def export_jobs_csv(modeladmin, request, queryset):
    """Staff may export what they may read: the queryset is already limited to their accounts."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sync-jobs.csv"'
    writer = csv.writer(response)
    writer.writerow(["job", "account", "booking_id", "customer_email", "lifecycle_action", "connector",
                     "crm", "status", "attempts", "error_code", "error", "created_at", "finished_at"])
    rows = queryset.select_related("account", "connector", "event").order_by("-created_at")
    for job in rows[:EXPORT_LIMIT]:
        writer.writerow([job.pk, job.account.slug, job.booking_id, job.event.customer_email,
                         job.lifecycle_action, job.connector.name, job.connector.kind, job.status,
                         job.attempts, job.error_code, job.error[:1000],
                         job.created_at.isoformat(), job.finished_at.isoformat() if job.finished_at else ""])
    return response
