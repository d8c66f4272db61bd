"""Thin Celery wrappers around intake services."""

from celery import shared_task
from django.conf import settings

from apps.accounts.selectors import accounts_with_source_api_key

from . import backfill, services


@shared_task(name="bookbridge.intake.requeue_stalled_events")
def requeue_stalled_events() -> int:
    return services.requeue_stalled()


@shared_task(name="bookbridge.intake.reconcile_oncehub")
def reconcile_oncehub() -> int:
    """The periodic reconcile (``ONCEHUB_RECONCILE_HOURS``, 0 = off): one task per account with
    a stored OnceHub API key, so one account's long listing never holds up (or times out) the
    others. Answers how many accounts were queued."""
    hours = settings.ONCEHUB_RECONCILE_HOURS
    if hours <= 0:
        return 0
    account_ids = list(accounts_with_source_api_key().values_list("pk", flat=True))
    for account_id in account_ids:
        reconcile_oncehub_account.delay(account_id, hours)
    return len(account_ids)


@shared_task(name="bookbridge.intake.reconcile_oncehub_account")
def reconcile_oncehub_account(account_id: int, hours: int) -> int:
    """Backfill one account's last ``hours``; answers the missed events added."""
    report = backfill.reconcile_account(account_id, hours=hours)
    return report.events_added if report is not None else 0
