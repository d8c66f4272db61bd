"""Periodic tasks of the operations console (scheduled in CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from . import alerts, heartbeat, retention

logger = logging.getLogger(__name__)


@shared_task(name="bookbridge.console.heartbeat", ignore_result=True)
def heartbeat_task() -> float:
    return heartbeat.beat()["at"]


@worker_ready.connect
def _beat_on_start(**kwargs) -> None:
    """A fresh worker is healthy at once, before the first scheduled heartbeat."""
    try:
        heartbeat.beat()
    except Exception:  # noqa: BLE001 - the cache may be down; /healthz will say so
        logger.exception("Could not write the worker heartbeat")


@shared_task(name="bookbridge.console.check_alerts", ignore_result=True)
def check_alerts() -> int:
    return alerts.check_all()


@shared_task(name="bookbridge.console.apply_retention", ignore_result=True)
def apply_retention() -> str:
    report = retention.apply_retention()
    logger.info("Data retention: %s", report)
    return str(report)
