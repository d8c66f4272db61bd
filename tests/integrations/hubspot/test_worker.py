"""A HubSpot sync through the real pipeline: webhook over HTTP → stored → real broker → a real
Celery worker → the HubSpot sandbox over HTTP."""

import pytest
import requests

from apps.demo.samples import sign
from apps.sync.models import JobStatus, SyncJob
from tests.factories import TEST_SECRET
from tests.fixtures.processes import wait_until

from .helpers import contacts_by_email, records, story

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _synchronous_pipeline():
    """Here the worker runs the jobs: the package's conftest stops hand-offs, not this module."""


def _post(live_server, slug, envelope):
    body, headers = sign(envelope, TEST_SECRET)
    return requests.post(
        f"{live_server.url}/webhooks/oncehub/{slug}/", data=body, headers=headers, timeout=10
    )


def test_booking_synced_by_a_real_worker(live_server, celery_worker_process, account, connector, hubspot):
    booking = story(email="worker@customer.test")
    assert _post(live_server, account.slug, booking.scheduled()).status_code == 202
    wait_until(
        lambda: SyncJob.objects.filter(connector=connector, status=JobStatus.SUCCEEDED).exists(),
        timeout=60,
        message=celery_worker_process.recent_output(),
    )
    assert _post(live_server, account.slug, booking.canceled()).status_code == 202
    wait_until(
        lambda: SyncJob.objects.filter(connector=connector, status=JobStatus.SUCCEEDED).count() == 2,
        timeout=60,
        message=celery_worker_process.recent_output(),
    )
    [contact] = contacts_by_email(hubspot, "worker@customer.test")
    [meeting] = records(hubspot, "meetings")
    assert meeting["properties"]["hs_meeting_outcome"] == "CANCELED"
    assert contact["properties"]["hubspot_owner_id"] == "6166861"
