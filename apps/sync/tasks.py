"""Thin Celery wrappers around sync services."""

from celery import shared_task

from . import services
from .models import SyncJob


@shared_task(name="bookbridge.sync.process_event", acks_late=True)
def process_event(event_id: int) -> int:
    return len(services.process_event(event_id=event_id))


@shared_task(name="bookbridge.sync.run_job", acks_late=True)
def run_job(job_id: int) -> str:
    job = SyncJob.objects.filter(pk=job_id).first()
    if job is None:  # removed (retention, or a purged test database): nothing to do
        return "missing"
    return services.run_job(job=job).status


@shared_task(name="bookbridge.sync.run_due_jobs")
def run_due_jobs() -> int:
    """Periodic: retries whose time has come, jobs waiting their turn, jobs of dead workers."""
    return services.dispatch_due_jobs()
