"""Thin Celery wrappers around intake services."""

from celery import shared_task
from django.conf import settings

from . import backfill, services


@shared_task(name="bookbridge.intake.requeue_stalled_events")
def requeue_stalled_events() -> int:
    return services.requeue_stalled()


@shared_task(name="bookbridge.intake.reconcile_oncehub")
def reconcile_oncehub() -> int:
    """The periodic reconcile (``ONCEHUB_RECONCILE_HOURS``, 0 = off): missed events added."""
    hours = settings.ONCEHUB_RECONCILE_HOURS
    if hours <= 0:
        return 0
    return sum(report.events_added for report in backfill.reconcile(hours=hours))
