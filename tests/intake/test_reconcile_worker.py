"""The periodic reconcile with real processes: the beat task queues one task per account on the
real broker, a real worker reads the OnceHub API sandbox, stores the missed events and syncs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from apps.demo.samples import BookingStory
from apps.intake import tasks
from apps.intake.oncehub_api import store_api_key
from apps.sync.models import JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_switched_on_reconcile_repairs_each_account_through_the_workers(
        celery_worker_process, oncehub_api, monkeypatch):
    monkeypatch.setattr(settings, "ONCEHUB_RECONCILE_HOURS", 3)
    account = AccountFactory(slug="reconciled")
    connector = ConnectorFactory(account=account)
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    story = BookingStory(clock=datetime.now(UTC) - timedelta(hours=1))
    made = story.scheduled()
    done = story.completed()
    oncehub_api.load_bookings({**done["data"], "creation_time": made["data"]["creation_time"]})

    assert tasks.reconcile_oncehub() == 1  # one account with a key: one task queued

    def both_synced() -> list[SyncJob] | None:
        jobs = list(SyncJob.objects.filter(connector=connector, status=JobStatus.SUCCEEDED))
        return jobs if len(jobs) == 2 else None

    jobs = wait_until(both_synced, timeout=30, message="the worker did not sync the missed events:\n"
                      + celery_worker_process.recent_output())
    assert sorted(job.plan[0]["lifecycle_action"] for job in jobs) == ["Completed", "Scheduled"]
    assert {job.booking_id for job in jobs} == {story.booking_id}
