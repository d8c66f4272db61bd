"""Orchestration: fold an event into its booking, then run a job per active connector.

Job outcomes by error type: transient → retrying with backoff (re-queued by a periodic task,
never a countdown longer than the broker's visibility timeout), auth → connector disconnected,
permanent → failed (retryable from admin once settings are fixed).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.connectors import registry
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.selectors import active_connectors
from apps.intake import services as intake_services
from apps.intake.lifecycle import is_booking_event
from apps.intake.models import Booking, BookingEvent

from .models import FINISHED_STATUSES, CrmRecordLink, JobStatus, SyncJob
from .recorder import CallRecorder

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 15 * 60


@dataclass
class JobContext:
    """What an integration's planner and applier see for one job.

    Integrations never import this app: they use these attributes and methods only.
    """

    connector: Connector
    event: BookingEvent
    booking: Booking | None
    job: SyncJob
    recorder: CallRecorder

    def booking_chain(self) -> list[str]:
        """This booking's id, then the bookings it rescheduled (``rescheduled_booking_id``)."""
        return booking_chain(self.booking) if self.booking else [self.job.booking_id]

    def find_link(self, record_type: str) -> str | None:
        """The CRM id linked to this booking (or the booking it rescheduled) for a record type."""
        return find_link(connector=self.connector, booking_ids=self.booking_chain(),
                         record_type=record_type)

    def save_link(self, record_type: str, crm_id: str) -> None:
        save_link(connector=self.connector, booking_id=self.job.booking_id,
                  record_type=record_type, crm_id=crm_id)


def booking_chain(booking: Booking, *, max_depth: int = 20) -> list[str]:
    chain = [booking.booking_id]
    previous = booking.rescheduled_booking_id
    while previous and previous not in chain and len(chain) < max_depth:
        chain.append(previous)
        previous = (
            Booking.objects.filter(account_id=booking.account_id, booking_id=previous)
            .values_list("rescheduled_booking_id", flat=True)
            .first()
        )
    return chain


def find_link(*, connector: Connector, booking_ids: list[str], record_type: str) -> str | None:
    links = dict(
        CrmRecordLink.objects.filter(
            connector=connector, booking_id__in=booking_ids, record_type=record_type
        ).values_list("booking_id", "crm_id")
    )
    return next((links[b] for b in booking_ids if b in links), None)


def save_link(*, connector: Connector, booking_id: str, record_type: str, crm_id: str) -> None:
    CrmRecordLink.objects.update_or_create(
        connector=connector, booking_id=booking_id, record_type=record_type,
        defaults={"crm_id": crm_id, "account_id": connector.account_id},
    )


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the CRM's own Retry-After."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * (2 ** max(0, attempt - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def process_event(*, event_id: int) -> list[SyncJob]:
    """Everything that happens to one stored event; safe to run twice."""
    event = BookingEvent.objects.select_related("account").get(pk=event_id)
    booking = intake_services.apply_event(event=event)
    jobs: list[SyncJob] = []
    if is_booking_event(event.event_type):
        for connector in active_connectors(event.account_id):
            job = ensure_job(event=event, connector=connector)
            if job.status not in FINISHED_STATUSES and not connector.is_paused:
                job = run_job(job=job, booking=booking)
            jobs.append(job)
    intake_services.mark_processed(event)
    return jobs


def ensure_job(*, event: BookingEvent, connector: Connector) -> SyncJob:
    job, _ = SyncJob.objects.get_or_create(
        event=event,
        connector=connector,
        defaults={
            "account_id": event.account_id,
            "booking_id": event.booking_id,
            "lifecycle_action": event.lifecycle_action or "",
        },
    )
    return job


def _claim(job: SyncJob) -> SyncJob | None:
    """Mark the job running unless another worker finished it; returns the fresh row."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().select_related("connector", "event").get(pk=job.pk)
        if job.status in FINISHED_STATUSES or job.status == JobStatus.DEAD:
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = timezone.now()
        job.next_attempt_at = None
        job.save(update_fields=["status", "attempts", "started_at", "next_attempt_at"])
        return job


def _finish(job: SyncJob, **fields: Any) -> SyncJob:
    fields.setdefault("finished_at", timezone.now())
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    return job


def run_job(*, job: SyncJob, booking: Booking | None = None) -> SyncJob:
    claimed = _claim(job)
    if claimed is None:
        return SyncJob.objects.get(pk=job.pk)
    job = claimed
    connector = job.connector
    kind = registry.get(connector.kind)
    if kind is None:
        return _finish(job, status=JobStatus.SKIPPED, error=f"Unknown connector kind '{connector.kind}'.")
    if booking is None and job.booking_id:
        booking = Booking.objects.filter(account_id=job.account_id, booking_id=job.booking_id).first()
    context = JobContext(connector, job.event, booking, job, CallRecorder(connector, job))
    try:
        plan = kind.plan(context)
        SyncJob.objects.filter(pk=job.pk).update(plan=plan)
        job.plan = plan
        result = kind.apply(context, plan)
    except TransientCrmError as exc:
        return _retry_later(job, exc)
    except AuthCrmError as exc:
        mark_disconnected(connector=connector, reason=str(exc))
        return _finish(job, status=JobStatus.FAILED, error=str(exc), error_code=exc.code or "auth")
    except PermanentCrmError as exc:
        return _finish(job, status=JobStatus.FAILED, error=str(exc), error_code=exc.code[:64])
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the job: keep it retryable
        logger.exception("Sync job %s crashed", job.pk)
        return _finish(job, status=JobStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}",
                       error_code="internal_error")
    return _finish(job, status=JobStatus.SUCCEEDED, result=result or {}, error="", error_code="")


def _retry_later(job: SyncJob, exc: TransientCrmError) -> SyncJob:
    if job.attempts >= MAX_ATTEMPTS:
        return _finish(job, status=JobStatus.DEAD, error=str(exc), error_code=exc.code[:64])
    delay = backoff_seconds(job.attempts, exc.retry_after)
    return _finish(
        job,
        status=JobStatus.RETRYING,
        error=str(exc),
        error_code=exc.code[:64],
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        finished_at=None,
    )


@transaction.atomic
def mark_disconnected(*, connector: Connector, reason: str) -> None:
    Connector.objects.filter(pk=connector.pk).update(
        status=ConnectorStatus.DISCONNECTED, status_detail=reason[:2000]
    )


def due_job_ids(*, limit: int = 200) -> list[int]:
    """Jobs whose retry time has come, and pending jobs of connectors that are not paused."""
    now = timezone.now()
    retrying = SyncJob.objects.filter(status=JobStatus.RETRYING, next_attempt_at__lte=now)
    pending = SyncJob.objects.filter(
        status=JobStatus.PENDING, connector__is_paused=False,
        created_at__lt=now - timedelta(seconds=30),
    )
    return list((retrying | pending).order_by("created_at").values_list("pk", flat=True)[:limit])


@transaction.atomic
def reset_for_retry(*, job: SyncJob) -> SyncJob:
    """Make a failed or dead job run again (admin action, after the settings are fixed)."""
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.PENDING, next_attempt_at=None, error="", error_code="", attempts=0
    )
    job.refresh_from_db()
    return job
