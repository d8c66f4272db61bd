"""The sync engine's write entry points: fold an event and run its jobs, make a job run again.

The engine's parts, by action: ``context`` (what a connector kind sees, record links),
``claims`` (one attempt at a time: the lease and the claim), ``running`` (plan, apply and the
fenced outcome of an attempt), ``dispatch`` (``run_job`` messages and the due jobs),
``ordering`` (in order per booking). Their reliability rules are in their docstrings.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.connectors.models import Connector
from apps.connectors.selectors import active_connectors
from apps.intake import selectors as intake_selectors
from apps.intake import services as intake_services
from apps.intake.models import BookingEvent

from . import dispatch, ordering, running
from .context import single_statement
from .models import FINISHED_STATUSES, JobStatus, SyncJob


class EventWaiting(Exception):
    """An earlier event of the same booking is still being retried: this one waits its turn."""

    def __init__(self, blocker: BookingEvent) -> None:
        super().__init__(
            f"Waiting for the earlier event {blocker.envelope_id} of this booking, which failed and is "
            f"being retried (attempt {blocker.processing_attempts} of "
            f"{intake_services.max_processing_attempts()}).")
        self.retry_after = settings.INTAKE_PROCESSING_RETRY_SECONDS


def process_event(*, event_id: int) -> list[SyncJob]:
    """Everything that happens to one stored event; safe to run twice.

    Raises ``EventWaiting`` while an earlier event of the booking fails and is retried, and
    whatever a bug raises (the task counts it towards the event's quarantine).
    """
    event = BookingEvent.objects.select_related("account").get(pk=event_id)
    if event.quarantined_at is not None:
        return []  # an operator replays it (``release_from_quarantine``)
    if event.processed_at is None and (blocker := intake_selectors.earlier_failing_event(event)):
        raise EventWaiting(blocker)
    known: dict[int, SyncJob] | None = None
    if event.processed_at is not None:
        # A duplicate hand-off (re-queued while the first was still in a backlog): nothing to
        # fold again; only jobs that are still unfinished may need a push.
        jobs = list(SyncJob.objects.filter(event=event).select_related("connector"))
        if all(job.status in FINISHED_STATUSES for job in jobs):
            return jobs
        known = {job.connector_id: job for job in jobs}
    booking = intake_services.apply_event(event=event)
    jobs: list[SyncJob] = []
    # A test booking syncs to the one connector that sent it (``test_bookings``), never to
    # the account's live connectors; a hand-off that reaches here anyway only folds it. An
    # event without a lifecycle action (a Cal.com request, a Calendly reschedule's cancel
    # half) is folded and not synced.
    if booking is not None and event.lifecycle_action and not event.is_test:
        chain = ordering.booking_chain(booking) if booking is not None else None
        for connector in active_connectors(event.account_id):
            job = (known or {}).get(connector.pk)
            if dispatch.queues_per_crm():
                # Each CRM's workers run its jobs: one slow CRM cannot hold the others'.
                job = job or ensure_job(event=event, connector=connector, likely_new=known is None)
                if job.status not in FINISHED_STATUSES and not connector.is_paused:
                    dispatch.queue_run(job.pk, kind=connector.kind)
                jobs.append(job)
                continue
            if job is None and known is None and not connector.is_paused:
                # A first processing: the job is created already claimed (one transaction).
                job = running.start_new_job(event=event, connector=connector, chain=chain)
                if job is not None:
                    jobs.append(job)
                    continue
            if job is None:
                # A first processing has no jobs yet: insert straight away (a re-processing
                # after a crash finds them through the unique constraint).
                job = ensure_job(event=event, connector=connector, likely_new=known is None)
            job.connector, job.event = connector, event
            if job.status not in FINISHED_STATUSES and not connector.is_paused:
                job = running.run_job(job=job, booking=booking, chain=chain)
            jobs.append(job)
    intake_services.mark_processed(event)
    return jobs


def ensure_job(*, event: BookingEvent, connector: Connector, likely_new: bool = False) -> SyncJob:
    defaults = {
        "account_id": event.account_id,
        "booking_id": event.booking_id,
        "lifecycle_action": event.lifecycle_action or "",
    }
    if likely_new:
        try:
            with single_statement():
                return SyncJob.objects.create(event=event, connector=connector, **defaults)
        except IntegrityError:
            pass
    job, _ = SyncJob.objects.get_or_create(event=event, connector=connector, defaults=defaults)
    return job


@transaction.atomic
def reset_for_retry(*, job: SyncJob) -> SyncJob:
    """Make a failed or dead job run again (admin action, after the settings are fixed)."""
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.PENDING, next_attempt_at=None, error="", error_code="", attempts=0,
        lease_expires_at=None,
    )
    job.refresh_from_db()
    return job
