"""Thin Celery wrappers around sync services."""

from celery import shared_task

from . import services
from .models import SyncJob


@shared_task(name="bookbridge.sync.process_event", acks_late=True)
def process_event(event_id: int) -> int:
    return len(services.process_event(event_id=event_id))


@shared_task(name="bookbridge.sync.run_job", acks_late=True)
def run_job(job_id: int) -> str:
    job = SyncJob.objects.get(pk=job_id)
    return services.run_job(job=job).status


@shared_task(name="bookbridge.sync.run_due_jobs")
def run_due_jobs() -> int:
    job_ids = services.due_job_ids()
    for job_id in job_ids:
        run_job.delay(job_id)
    return len(job_ids)
