"""Data retention: drop CRM call bodies and old events, never what a retry still needs.

Kept whatever their age:
- every row of a job that is pending, running, retrying, failed or dead (and that job's calls
  and event): a retry or a replay reads them;
- the event a booking's current state points at (``Booking.latest_event``): ordering of later
  events is decided against it;
- CRM record links: they are what keeps later syncs from duplicating CRM records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.intake.models import Booking, BookingEvent
from apps.sync.models import CrmCall, JobStatus, SyncJob

#: Jobs whose rows a retry (or a worker) may still need.
NEEDED_BY_RETRY = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.FAILED,
                   JobStatus.DEAD)
BATCH = 1000


@dataclass
class RetentionReport:
    call_bodies_cleared: int = 0
    calls_deleted: int = 0
    events_deleted: int = 0

    def __str__(self) -> str:
        return (f"{self.call_bodies_cleared} CRM call bodies cleared, {self.calls_deleted} CRM calls "
                f"and {self.events_deleted} booking events deleted")


def _in_batches(queryset, action) -> int:
    done = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return done
        done += action(ids)
        if len(ids) < BATCH:
            return done


def clear_call_bodies(*, older_than_days: int, now=None) -> int:
    if older_than_days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    calls = (
        CrmCall.objects.filter(created_at__lt=cutoff)
        .exclude(sync_job__status__in=NEEDED_BY_RETRY)
        .exclude(request_body="", response_body="")
    )
    return _in_batches(
        calls, lambda ids: CrmCall.objects.filter(pk__in=ids).update(request_body="", response_body="")
    )


def delete_old_events(*, older_than_days: int, now=None) -> tuple[int, int]:
    """Delete processed events older than the cutoff (their jobs cascade) and their calls."""
    if older_than_days <= 0:
        return 0, 0
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    events = (
        BookingEvent.objects.filter(received_at__lt=cutoff, processed_at__isnull=False)
        .exclude(Exists(SyncJob.objects.filter(event=OuterRef("pk"), status__in=NEEDED_BY_RETRY)))
        .exclude(Exists(Booking.objects.filter(latest_event=OuterRef("pk"))))
    )
    calls_deleted = 0

    def delete(ids: list[int]) -> int:
        nonlocal calls_deleted
        calls_deleted += CrmCall.objects.filter(sync_job__event_id__in=ids).delete()[0]
        deleted = BookingEvent.objects.filter(pk__in=ids).delete()[1]
        return deleted.get(BookingEvent._meta.label, 0)

    events_deleted = _in_batches(events, delete)
    # Calls of no job (token refreshes, metadata lookups) age out with the events.
    orphans = CrmCall.objects.filter(created_at__lt=cutoff, sync_job__isnull=True)
    calls_deleted += _in_batches(orphans, lambda ids: CrmCall.objects.filter(pk__in=ids).delete()[0])
    return events_deleted, calls_deleted


def apply_retention(*, now=None) -> RetentionReport:
    report = RetentionReport()
    report.call_bodies_cleared = clear_call_bodies(
        older_than_days=settings.RETENTION_CRM_CALL_BODY_DAYS, now=now)
    report.events_deleted, report.calls_deleted = delete_old_events(
        older_than_days=settings.RETENTION_EVENT_DAYS, now=now)
    return report
