"""Thin Celery wrappers around intake services."""

from celery import shared_task

from . import services


@shared_task(name="bookbridge.intake.requeue_stalled_events")
def requeue_stalled_events() -> int:
    return services.requeue_stalled()
