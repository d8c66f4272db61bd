"""HubSpot's own limits in a sandbox that enforces small ones (reference §10): the rolling ten
seconds (``TEN_SECONDLY_ROLLING``) and the account's day (``DAILY``). A refused call defers the
job — never a failure, no attempt counted — for as long as the policy says, and the job then
finishes."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.integrations.hubspot import metadata
from apps.integrations.hubspot.models import CompanyMode, CreationSettings
from apps.sync import running as sync_running
from apps.sync.circuit import CircuitBreaker
from apps.sync.models import CrmCall, JobStatus, SyncJob
from tests.fixtures.processes import wait_until
from tests.fixtures.sandboxes import Sandbox, run_sandbox

from .helpers import contacts_by_email, deliver, make_connector, records, set_step, story

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = 4
DAY = 5


def _sandbox(*args: str) -> Iterator[Sandbox]:
    sandbox = run_sandbox("hubspot", *args)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def window_sandbox() -> Iterator[Sandbox]:
    yield from _sandbox("--ten-second-limit", str(WINDOW))


@pytest.fixture(scope="module")
def day_sandbox() -> Iterator[Sandbox]:
    yield from _sandbox("--daily-limit", str(DAY))


def _connected(account, sandbox: Sandbox):
    """A connector (sign-in and check count no CRM call) writing 2 calls a booking, owners read."""
    sandbox.reset()
    connector = make_connector(account, sandbox.url)
    set_step(connector, CreationSettings, company_mode=CompanyMode.NONE)
    metadata.crm_users(connector)  # the day's or the window's first call
    return connector


def _spend_the_window(sandbox, connector) -> None:
    """Another client of the same app (HubSpot counts an OAuth app's calls together) uses the
    rest of the window."""
    headers = {"Authorization": f"Bearer {connector.credentials['access_token']}"}
    statuses = [
        requests.get(f"{sandbox.url}/crm/owners/2026-03", headers=headers, timeout=10).status_code
        for _ in range(WINDOW)
    ]
    assert statuses == [200] * (WINDOW - 1) + [429]


def _run_again(job) -> SyncJob:
    CircuitBreaker(job.connector_id).reset()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    return sync_running.run_job(job=SyncJob.objects.get(pk=job.pk))


def test_the_rolling_window_defers_then_the_job_finishes(account, window_sandbox):
    connector = _connected(account, window_sandbox)
    _spend_the_window(window_sandbox, connector)
    [job] = deliver(account, story(email="window@customer.test").scheduled())
    assert (job.status, job.attempts, job.error_code) == (JobStatus.RETRYING, 0, "TEN_SECONDLY_ROLLING")
    assert timedelta(seconds=1) <= job.next_attempt_at - timezone.now() <= timedelta(seconds=12)
    assert CrmCall.objects.filter(sync_job=job, status_code=429).count() == 1
    wait_until(
        lambda: _run_again(job).status == JobStatus.SUCCEEDED,
        timeout=60,
        interval=1.0,
        message="the deferred job did not finish once the window had room",
    )
    job.refresh_from_db()
    assert not job.error and job.attempts == 1
    assert len(contacts_by_email(window_sandbox, "window@customer.test")) == 1
    assert len(records(window_sandbox, "meetings")) == 1


def test_the_daily_allowance_defers_until_midnight(account, day_sandbox):
    _connected(account, day_sandbox)
    booking = story(email="day@customer.test")
    for envelope in (booking.scheduled(), booking.rescheduled(), booking.canceled()):
        [job] = deliver(account, envelope)  # 2 + 1 + 1 of the day's calls
        assert job.status == JobStatus.SUCCEEDED, job.error
    [job] = deliver(account, booking.completed())
    assert (job.status, job.attempts, job.error_code) == (JobStatus.RETRYING, 0, "DAILY")
    midnight = (timezone.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs((job.next_attempt_at - midnight).total_seconds()) < 10
    assert "after midnight" in job.error
