"""Thin Celery wrappers around sync services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from apps.intake import services as intake_services

from . import dispatch, running, services
from .models import SyncJob

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="bookbridge.sync.process_event", acks_late=True, max_retries=None)
def process_event(self, event_id: int) -> int:
    """Process a stored event. A failure is retried a bounded number of times, then the event is
    quarantined (``apps.intake.services.record_processing_failure``): never re-queued forever.
    Errors of our own services (database, broker, cache) are not the event's fault: they are
    left to ``requeue_stalled`` and never count towards the quarantine. (``max_retries=None``:
    the bound is the quarantine's, not Celery's.)"""
    try:
        return len(services.process_event(event_id=event_id))
    except services.EventWaiting as waiting:
        intake_services.note_waiting(event_id=event_id, reason=str(waiting))
        raise self.retry(countdown=waiting.retry_after) from None
    except running.INFRASTRUCTURE_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug or an unhandled payload: counted, then quarantined
        logger.exception("Processing event %s failed", event_id)
        if intake_services.record_processing_failure(event_id=event_id, error=exc):
            return 0
        attempts = max(1, (self.request.retries or 0) + 1)
        delay = min(settings.INTAKE_PROCESSING_RETRY_SECONDS * 2 ** (attempts - 1),
                    dispatch.max_countdown_seconds())
        raise self.retry(countdown=delay) from None


@shared_task(name="bookbridge.sync.run_job", acks_late=True)
def run_job(job_id: int) -> str:
    job = SyncJob.objects.filter(pk=job_id).first()
    if job is None:  # removed (retention, or a purged test database): nothing to do
        return "missing"
    return running.run_job(job=job).status


@shared_task(name="bookbridge.sync.run_due_jobs")
def run_due_jobs() -> int:
    """Periodic: retries whose time has come, jobs waiting their turn, jobs of dead workers."""
    return dispatch.dispatch_due_jobs()
