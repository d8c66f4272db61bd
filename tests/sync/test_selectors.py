"""``connector_job_stats``: the per-connector numbers the dashboard and ``sync_status`` show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync.models import JobStatus, SyncJob
from apps.sync.selectors import BACKLOG_STATUSES, ConnectorJobStats, connector_job_stats
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


def _job(connector, status, *, age_hours: float = 0, finished_hours_ago: float | None = None) -> SyncJob:
    event = accept_delivery(account=connector.account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    now = timezone.now()
    job = SyncJob.objects.create(account=connector.account, event=event, connector=connector,
                                 booking_id=event.booking_id, status=status)
    SyncJob.objects.filter(pk=job.pk).update(
        created_at=now - timedelta(hours=age_hours),
        finished_at=None if finished_hours_ago is None else now - timedelta(hours=finished_hours_ago))
    return SyncJob.objects.get(pk=job.pk)


def test_stats_count_open_jobs_the_window_and_the_last_success(monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    account = AccountFactory()
    connector, idle = ConnectorFactory(account=account), ConnectorFactory(account=account)
    old_pending = _job(connector, JobStatus.PENDING, age_hours=30)
    running = _job(connector, JobStatus.RUNNING, age_hours=40)
    _job(connector, JobStatus.RETRYING, age_hours=1)
    _job(connector, JobStatus.DEAD, age_hours=2)
    _job(connector, JobStatus.SUCCEEDED, age_hours=50, finished_hours_ago=49)
    newest = _job(connector, JobStatus.SUCCEEDED, age_hours=3, finished_hours_ago=2)
    stats = connector_job_stats([connector.pk, idle.pk], since=timezone.now() - timedelta(hours=24))
    assert idle.pk not in stats and ConnectorJobStats().count(*BACKLOG_STATUSES) == 0
    mine = stats[connector.pk]
    assert mine.count(*BACKLOG_STATUSES) == 3 and mine.count(JobStatus.DEAD) == 1
    assert mine.oldest_of(*BACKLOG_STATUSES) == running.created_at
    assert mine.oldest_of(JobStatus.PENDING, JobStatus.RETRYING) == old_pending.created_at
    assert mine.last_success == newest.finished_at
    assert (mine.created_since, mine.succeeded_since, mine.failed_since) == (3, 1, 1)
