"""Pause and resume a connector.

A paused connector still gets a job per event (``process_event`` creates it and leaves it
pending). Resuming queues those pending jobs in order: the jobs of one booking as a Celery
chain (one after another, in the order the events were received), different bookings in
parallel — the same ordering rule as live traffic.
"""

from __future__ import annotations

from collections import OrderedDict

from celery import chain, current_app
from django.db import transaction

from apps.connectors.models import Connector
from apps.connectors.services import set_paused

from .models import JobStatus, SyncJob
from .replay import RUN_JOB_TASK


def pause(connector: Connector) -> bool:
    """Pause; False when it was already paused."""
    if connector.is_paused:
        return False
    set_paused(connector=connector, paused=True)
    return True


def pending_jobs_in_order(connector: Connector) -> OrderedDict[str, list[int]]:
    """Pending job ids of the connector grouped by booking, each group in event order."""
    rows = (
        SyncJob.objects.filter(connector=connector, status=JobStatus.PENDING)
        .order_by("event__received_at", "event_id")
        .values_list("booking_id", "pk")
    )
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for booking_id, job_id in rows:
        groups.setdefault(booking_id, []).append(job_id)
    return groups


def queue_in_order(groups: OrderedDict[str, list[int]]) -> int:
    """Send one chain of ``run_job`` per booking; answers the number of jobs queued."""
    queued = 0
    for job_ids in groups.values():
        signatures = [current_app.signature(RUN_JOB_TASK, args=[job_id], immutable=True)
                      for job_id in job_ids]
        (chain(*signatures) if len(signatures) > 1 else signatures[0]).apply_async()
        queued += len(job_ids)
    return queued


def resume(connector: Connector) -> int:
    """Un-pause and queue the work that waited, in order. Answers the number of jobs queued."""
    with transaction.atomic():
        locked = Connector.objects.select_for_update().get(pk=connector.pk)
        set_paused(connector=locked, paused=False)
        connector.is_paused = False
        groups = pending_jobs_in_order(locked)
        total = sum(len(ids) for ids in groups.values())
        transaction.on_commit(lambda: queue_in_order(groups))
    return total
