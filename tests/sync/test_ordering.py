"""Events of one booking reach a CRM in order; different bookings do not wait for each other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors import registry
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import claims, dispatch, ordering, running, services
from apps.sync.models import JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

APPLIED: list[tuple[str, str]] = []

registry.register(registry.SimpleKind(
    key="order_probe", label="order probe", plan_fn=lambda c: [],
    apply_fn=lambda c, plan: APPLIED.append((c.job.booking_id, c.event.event_type)) or {},
))


@pytest.fixture(autouse=True)
def _clear():
    APPLIED.clear()


def store(account, envelope):
    return accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event


def jobs_for(account, *envelopes, paused=True):
    """Store events and create their jobs without running them (the connector is paused)."""
    connector = ConnectorFactory(account=account, kind="order_probe", is_paused=paused)
    events = [store(account, e) for e in envelopes]
    for event in events:
        services.process_event(event_id=event.pk)
    connector.is_paused = False
    connector.save()
    return [SyncJob.objects.get(event=e) for e in events]


def test_a_later_event_waits_for_the_earlier_one():
    account = AccountFactory()
    story = BookingStory()
    first, second = jobs_for(account, story.scheduled(), story.rescheduled())
    waiting = running.run_job(job=second)
    assert waiting.status == JobStatus.PENDING and waiting.next_attempt_at is not None
    assert APPLIED == []
    assert running.run_job(job=first).status == JobStatus.SUCCEEDED
    assert running.run_job(job=second).status == JobStatus.SUCCEEDED
    assert [t for _, t in APPLIED] == ["booking.scheduled", "booking.rescheduled"]


def test_order_is_the_events_order_not_the_delivery_order():
    account = AccountFactory()
    story = BookingStory()
    scheduled, canceled = story.scheduled(), story.canceled()
    late, early = jobs_for(account, canceled, scheduled)  # delivered the other way round
    assert running.run_job(job=late).status == JobStatus.PENDING
    running.run_job(job=early)
    running.run_job(job=late)
    assert [t for _, t in APPLIED] == ["booking.scheduled", "booking.canceled"]


def test_a_running_job_blocks_its_booking_until_its_lease_expires():
    account = AccountFactory()
    story = BookingStory()
    first, second = jobs_for(account, story.scheduled(), story.rescheduled())
    now = timezone.now()
    SyncJob.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING, attempts=1, started_at=now,
                                               lease_expires_at=now + timedelta(minutes=1))
    assert running.run_job(job=first).status == JobStatus.RUNNING  # a second delivery: left alone
    assert running.run_job(job=second).status == JobStatus.PENDING
    assert APPLIED == []
    # The worker died: once the lease has expired, the periodic task resumes the job first.
    SyncJob.objects.filter(pk=first.pk).update(lease_expires_at=now - timedelta(seconds=1))
    assert first.pk in dispatch.due_job_ids()
    assert running.run_job(job=SyncJob.objects.get(pk=first.pk)).status == JobStatus.SUCCEEDED
    assert SyncJob.objects.get(pk=first.pk).attempts == 2
    assert running.run_job(job=second).status == JobStatus.SUCCEEDED


def test_different_bookings_do_not_wait_for_each_other():
    account = AccountFactory()
    one, two = BookingStory(), BookingStory()
    first, other = jobs_for(account, one.scheduled(), two.scheduled())
    now = timezone.now()
    SyncJob.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING, attempts=1, started_at=now,
                                               lease_expires_at=now + timedelta(minutes=1))
    assert running.run_job(job=other).status == JobStatus.SUCCEEDED


def test_failed_jobs_do_not_block_the_booking():
    account = AccountFactory()
    story = BookingStory()
    first, second = jobs_for(account, story.scheduled(), story.completed())
    SyncJob.objects.filter(pk=first.pk).update(status=JobStatus.FAILED)
    assert running.run_job(job=second).status == JobStatus.SUCCEEDED


def test_a_stale_attempt_cannot_overwrite_a_newer_one():
    account = AccountFactory()
    [job] = jobs_for(account, BookingStory().scheduled())
    chain = ordering.chain_ids(job, None)
    claimed = claims.claim_in_chain(job, chain).job
    assert claimed.status == JobStatus.RUNNING
    # The lease expired and another worker took the job over (attempt 2) ...
    SyncJob.objects.filter(pk=job.pk).update(attempts=2)
    # ... so the first worker's late outcome is dropped.
    late = running._end(running.Attempt(claimed, None, chain), status=JobStatus.FAILED, error="late")
    assert late.status == JobStatus.RUNNING
    assert SyncJob.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_waiting_and_dead_worker_jobs_are_due():
    account = AccountFactory()
    story = BookingStory()
    first, second = jobs_for(account, story.scheduled(), story.rescheduled())
    running.run_job(job=second)  # waits for the first
    SyncJob.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert second.pk in dispatch.due_job_ids()
    SyncJob.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING, lease_expires_at=None,
                                               started_at=timezone.now() - timedelta(hours=1))
    assert first.pk in dispatch.due_job_ids()


def test_a_booking_replaced_by_a_later_one_writes_nothing_when_its_event_comes_late():
    """Reordered deliveries (or a backfill) across a reschedule: the later booking synced first,
    so the replaced booking's late first event must not make a second record."""
    account = AccountFactory()
    ConnectorFactory(account=account, kind="order_probe")
    old = BookingStory()
    scheduled = old.scheduled()
    new, rebooked = old.rebooked_after_request()
    services.process_event(event_id=store(account, rebooked).pk)
    services.process_event(event_id=store(account, scheduled).pk)
    late = SyncJob.objects.get(booking_id=old.booking_id)
    assert late.status == JobStatus.SKIPPED
    assert new.booking_id in late.error and "{" not in late.error
    assert SyncJob.objects.get(booking_id=new.booking_id).status == JobStatus.SUCCEEDED
    assert [(new.booking_id, "booking.rescheduled")] == APPLIED


def test_a_waiting_job_of_a_replaced_booking_gives_way_to_the_later_booking():
    account = AccountFactory()
    old = BookingStory()
    scheduled = old.scheduled()
    new, rebooked = old.rebooked_after_request()
    first, second = jobs_for(account, scheduled, rebooked)
    assert running.run_job(job=second).status == JobStatus.PENDING  # the earlier job first
    assert running.run_job(job=first).status == JobStatus.SKIPPED
    assert running.run_job(job=second).status == JobStatus.SUCCEEDED
    assert [(new.booking_id, "booking.rescheduled")] == APPLIED
