"""The whole pipeline with real processes: HTTP webhook → stored → real broker → worker → SyncJob."""

from __future__ import annotations

import pytest
import requests
from django.db import connection

from apps.demo.samples import BookingStory, sign
from apps.intake.models import Booking, BookingEvent
from apps.intake.services import accept_delivery
from apps.sync.models import JobStatus, SyncJob
from tests.factories import TEST_SECRET, AccountFactory, ConnectorFactory
from tests.fixtures.processes import wait_until
from tests.fixtures.services import require

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def deliver(live_server, slug: str, envelope: dict) -> requests.Response:
    body, headers = sign(envelope, TEST_SECRET)
    return requests.post(f"{live_server.url}/webhooks/oncehub/{slug}/", data=body,
                         headers=headers, timeout=10)


def test_posted_webhook_is_synced_by_a_real_worker(live_server, celery_worker_process):
    account = AccountFactory(slug="live")
    connector = ConnectorFactory(account=account)
    story = BookingStory()
    response = deliver(live_server, "live", story.scheduled())
    assert response.status_code == 202, response.text

    job = wait_until(
        lambda: SyncJob.objects.filter(connector=connector, status=JobStatus.SUCCEEDED).first(),
        timeout=30, message="the worker did not record a succeeded SyncJob:\n"
        + celery_worker_process.recent_output(),
    )
    assert job.booking_id == story.booking_id
    assert job.plan == [{"op": "record", "booking_id": story.booking_id,
                         "lifecycle_action": "Scheduled", "customer_email": story.email}]
    assert Booking.objects.get(booking_id=story.booking_id).lifecycle_action == "Scheduled"


def test_duplicate_deliveries_are_processed_once_by_the_worker(live_server, celery_worker_process):
    account = AccountFactory(slug="dupes")
    ConnectorFactory(account=account)
    story = BookingStory()
    envelope = story.scheduled()
    statuses = [deliver(live_server, "dupes", envelope).status_code for _ in range(3)]
    assert statuses == [202, 200, 200]
    wait_until(lambda: BookingEvent.objects.filter(account=account, processed_at__isnull=False).exists(),
               timeout=30, message=celery_worker_process.recent_output())
    later = story.rescheduled()
    deliver(live_server, "dupes", later)
    wait_until(lambda: SyncJob.objects.filter(account=account, status=JobStatus.SUCCEEDED).count() == 2,
               timeout=30, message=celery_worker_process.recent_output())
    assert BookingEvent.objects.filter(account=account).count() == 2
    assert SyncJob.objects.filter(account=account).count() == 2



def test_the_worker_keeps_its_database_connection_from_task_to_task(celery_worker_process):
    """Celery's Django fixup would close the connection after every task: a new PostgreSQL
    backend (a fork and a cold catalog cache) per task. Connections follow CONN_MAX_AGE instead."""
    require(connection.vendor == "postgresql", "needs PostgreSQL's pg_stat_activity")
    account = AccountFactory(slug="reuse")
    ConnectorFactory(account=account)

    def deliver_and_wait(count: int) -> None:
        for _ in range(count):
            accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None)
        wait_until(lambda: SyncJob.objects.filter(account=account, status=JobStatus.SUCCEEDED).count()
                   == BookingEvent.objects.filter(account=account).count(),
                   timeout=30, message=celery_worker_process.recent_output())

    def worker_backends() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, backend_start FROM pg_stat_activity "
                           "WHERE application_name = %s AND datname = current_database()",
                           [celery_worker_process.db_application_name])
            return cursor.fetchall()

    deliver_and_wait(1)  # the worker has a connection open from here on
    opened = worker_backends()
    deliver_and_wait(10)
    assert len(opened) == 1, opened
    assert worker_backends() == opened  # the same backend served the next ten tasks
