"""Sending jobs to the workers: ``run_job`` messages, the per-CRM queues, the due jobs.

**Long waits are persisted** in ``next_attempt_at``; a run_job countdown is sent only for waits
up to ``max_countdown_seconds`` (well below the broker's visibility timeout), and the periodic
``run_due_jobs`` (``dispatch_due_jobs``) queues whatever is due — including messages that were
lost and jobs of dead workers (``docs/scale-out.md``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .claims import lease_seconds
from .models import JobStatus, SyncJob

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "bookbridge.sync.run_job"


def max_countdown_seconds() -> float:
    visibility = float((settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("visibility_timeout", 3600))
    return min(float(settings.SYNC_MAX_COUNTDOWN_SECONDS), visibility / 4)


def queues_per_crm() -> bool:
    return bool(settings.SYNC_QUEUE_PER_CRM)


def crm_queue(kind: str) -> str | None:
    """The queue of a connector kind's jobs (``sync.keap``, …), or None for the default queue."""
    if not queues_per_crm():
        return None
    return f"{settings.SYNC_QUEUE_PREFIX}.{kind}"


def _kind_of(job_id: int) -> str:
    return SyncJob.objects.filter(pk=job_id).values_list("connector__kind", flat=True).first() or ""


def queue_run(job_id: int, *, countdown: float | None = None, kind: str | None = None) -> None:
    """Send ``run_job`` after commit; a lost send is caught up by ``run_due_jobs``.

    With ``SYNC_QUEUE_PER_CRM`` the message goes to the queue of the job's connector kind.
    """
    if countdown is not None and countdown > max_countdown_seconds():
        return  # persisted in next_attempt_at; the periodic task picks it up
    queue = crm_queue(kind if kind is not None else _kind_of(job_id)) if queues_per_crm() else None

    def send() -> None:
        try:
            current_app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue,
                                  countdown=max(0.0, countdown) if countdown else None)
        except Exception:  # noqa: BLE001 - broker down: the job is safe in the database
            logger.warning("Could not queue sync job %s; run_due_jobs will", job_id, exc_info=True)

    transaction.on_commit(send)


def due_job_ids(*, limit: int = 500) -> list[int]:
    return [pk for pk, _ in due_jobs(limit=limit)]


def due_jobs(*, limit: int = 500) -> list[tuple[int, str]]:
    """(id, connector kind) of the jobs to (re)start now.

    * retrying jobs whose time has come;
    * pending jobs of connectors that are not paused, waiting their turn (``next_attempt_at``)
      or never started although created over 30 s ago (a lost hand-off);
    * running jobs whose lease has expired: their worker died (SIGKILL, OOM, lost machine).
    """
    now = timezone.now()
    lease = timedelta(seconds=lease_seconds())
    due = SyncJob.objects.filter(
        Q(status=JobStatus.RETRYING, next_attempt_at__lte=now)
        | Q(status=JobStatus.PENDING, connector__is_paused=False, next_attempt_at__lte=now)
        | Q(status=JobStatus.PENDING, connector__is_paused=False, next_attempt_at__isnull=True,
            created_at__lt=now - timedelta(seconds=30))
        | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now)
        | Q(status=JobStatus.RUNNING, lease_expires_at__isnull=True, started_at__lt=now - lease)
    )
    return list(due.order_by("created_at").values_list("pk", "connector__kind")[:limit])


def dispatch_due_jobs(*, limit: int = 500) -> int:
    """Queue ``run_job`` for every due job, once per ``SYNC_DISPATCH_GRACE_SECONDS`` per job."""
    grace = int(settings.SYNC_DISPATCH_GRACE_SECONDS)
    sent = 0
    for job_id, kind in due_jobs(limit=limit):
        if cache.add(f"bookbridge:sync:dispatched:{job_id}", 1, timeout=grace):
            try:
                current_app.send_task(RUN_JOB_TASK, args=[job_id], queue=crm_queue(kind))
            except Exception:  # noqa: BLE001
                cache.delete(f"bookbridge:sync:dispatched:{job_id}")
                logger.warning("Could not queue due sync job %s", job_id, exc_info=True)
                break
            sent += 1
    return sent
