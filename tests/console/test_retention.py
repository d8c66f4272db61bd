"""Data retention: bodies and old events go, what a retry still needs stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.console.retention import apply_retention
from apps.console.tasks import apply_retention as retention_task
from apps.intake.models import Booking, BookingEvent
from apps.sync.models import CrmCall, CrmRecordLink, JobStatus, SyncJob
from apps.sync.services import process_event
from tests.console.conftest import deliver

pytestmark = pytest.mark.django_db


def _age(days: int):
    then = timezone.now() - timedelta(days=days)
    BookingEvent.objects.update(received_at=then)
    CrmCall.objects.update(created_at=then)
    SyncJob.objects.update(created_at=then)


def test_retention_keeps_what_a_retry_needs(world, settings):
    settings.RETENTION_CRM_CALL_BODY_DAYS = 30
    settings.RETENTION_EVENT_DAYS = 90
    alpha = world["alpha"]
    # A second, successful event of alpha's booking, then a newer one so it is no longer "latest".
    later = deliver(alpha["account"], alpha["story"].rescheduled())
    process_event(event_id=later.pk)
    newest = deliver(alpha["account"], alpha["story"].rescheduled())
    process_event(event_id=newest.pk)
    SyncJob.objects.filter(event__in=[later, newest]).update(status=JobStatus.SUCCEEDED)
    CrmCall.objects.create(account=alpha["account"], connector=alpha["connector"],
                           sync_job=SyncJob.objects.get(event=later), method="POST", url="https://x/1",
                           status_code=200, request_body='{"a": 1}', response_body='{"id": 1}')
    _age(100)

    report = apply_retention()
    assert report.events_deleted == 1  # `later`: processed, synced, not a booking's latest event
    assert not BookingEvent.objects.filter(pk=later.pk).exists()
    # The failed jobs' events and calls stay whole (a retry reads them) ...
    for side in ("alpha", "beta"):
        assert BookingEvent.objects.filter(pk=world[side]["event"].pk).exists()
        calls = CrmCall.objects.filter(sync_job=world[side]["job"])
        assert calls.count() == 2 and all(c.response_body for c in calls)
    # ... so does the event a booking's state points at, and every CRM record link.
    assert Booking.objects.get(booking_id=alpha["booking_id"]).latest_event_id == newest.pk
    assert BookingEvent.objects.filter(pk=newest.pk).exists()
    assert CrmRecordLink.objects.count() == 2


def test_retention_clears_old_bodies_of_finished_jobs(world, settings):
    settings.RETENTION_CRM_CALL_BODY_DAYS = 30
    settings.RETENTION_EVENT_DAYS = 0  # keep events forever
    SyncJob.objects.filter(pk=world["beta"]["job"].pk).update(status=JobStatus.SUCCEEDED)
    _age(31)
    assert "CRM call bodies cleared" in retention_task()
    beta_calls = CrmCall.objects.filter(sync_job=world["beta"]["job"])
    assert all(c.request_body == "" and c.response_body == "" for c in beta_calls)
    assert all(c.url and c.status_code for c in beta_calls)  # the call itself stays in the log
    alpha_calls = CrmCall.objects.filter(sync_job=world["alpha"]["job"])
    assert all(c.response_body for c in alpha_calls)  # failed job: kept for the retry
    assert BookingEvent.objects.count() == 2


def test_recent_data_is_untouched(world, settings):
    settings.RETENTION_CRM_CALL_BODY_DAYS = 30
    settings.RETENTION_EVENT_DAYS = 90
    SyncJob.objects.update(status=JobStatus.SUCCEEDED)
    report = apply_retention()
    assert (report.call_bodies_cleared, report.events_deleted, report.calls_deleted) == (0, 0, 0)
