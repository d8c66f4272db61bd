"""Faults from the sandbox: expired tokens mid-job, a revoked refresh token (the app
uninstalled), 429 bursts (deferred, never failed), record locks, migrations and 5xx."""

import pytest
import requests
from django.core import mail
from django.utils import timezone

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.hubspot.models import ClassificationSettings
from apps.sync import running as sync_running
from apps.sync.circuit import CircuitBreaker
from apps.sync.models import CrmCall, JobStatus, SyncJob
from apps.sync.ratelimit import RateLimiter
from tests.factories import MembershipFactory, UserFactory

from .helpers import contacts_by_email, deliver, make_connector, records, story

pytestmark = pytest.mark.django_db(transaction=True)


def _time_passes(job):
    """What the periodic re-queue sees once the wait and the circuit's pause are over."""
    CircuitBreaker(job.connector_id).reset()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())


def _retry_until_done(job, *, attempts=10):
    for _ in range(attempts):
        _time_passes(job)
        job = sync_running.run_job(job=SyncJob.objects.get(pk=job.pk))
        if job.status == JobStatus.SUCCEEDED:
            return job
    return job


def _operator(hubspot, path, **body):
    requests.post(f"{hubspot.url}/_sandbox/hubspot/{path}", json=body, timeout=10).raise_for_status()


def test_expired_token_mid_job_is_refreshed_once(account, connector, hubspot):
    booking = story(email="t@customer.test")
    deliver(account, booking.scheduled())
    old = dict(Connector.objects.get(pk=connector.pk).credentials)
    hubspot.expire_tokens()  # HubSpot says expired though the stored expiry is still ahead
    [job] = deliver(account, booking.canceled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    new = Connector.objects.get(pk=connector.pk).credentials
    assert new["access_token"] != old["access_token"] and new["expires_at"] > old["expires_at"]
    statuses = list(CrmCall.objects.filter(sync_job=job).order_by("pk").values_list("status_code", flat=True))
    assert statuses == [401, 200, 200]  # the PATCH, the token, the PATCH again
    [meeting] = records(hubspot, "meetings")
    assert meeting["properties"]["hs_meeting_outcome"] == "CANCELED"


def test_token_renewed_before_its_stored_expiry(account, connector, hubspot):
    Connector.objects.filter(pk=connector.pk).update(credentials={**connector.credentials, "expires_at": 0})
    [job] = deliver(account, story(email="early@customer.test").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    first = CrmCall.objects.filter(sync_job=job).order_by("pk").first()
    assert first.url.endswith("/oauth/2026-03/token") and first.status_code == 200
    assert not CrmCall.objects.filter(sync_job=job, status_code=401).exists()


def test_uninstalled_app_disconnects_and_tells_administrators(account, connector, hubspot):
    admin = UserFactory(email="boss@example.com")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    _operator(hubspot, "uninstall")
    hubspot.expire_tokens()
    [job] = deliver(account, story(email="r@customer.test").scheduled())
    assert job.status == JobStatus.FAILED and job.error_code == "invalid_grant"
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.DISCONNECTED
    assert "refresh token is invalid, expired or revoked" in connector.status_detail
    assert "Reconnect HubSpot" in connector.status_detail
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert "disconnected" in mail.outbox[0].subject


def test_429_burst_is_deferred_then_finished(account, connector, hubspot):
    hubspot.set_faults(quota_rps=0.01)
    [job] = deliver(account, story(email="q@customer.test").scheduled())
    assert job.status == JobStatus.RETRYING and job.attempts <= 1
    assert job.error_code == "TEN_SECONDLY_ROLLING" and job.next_attempt_at is not None
    assert CrmCall.objects.filter(sync_job=job, status_code=429).exists()
    hubspot.set_faults(quota_rps=None)
    job = _retry_until_done(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(contacts_by_email(hubspot, "q@customer.test")) == 1 and len(records(hubspot, "meetings")) == 1


def test_the_portals_real_limit_is_learned_from_the_headers(account, connector, hubspot):
    [job] = deliver(account, story(email="h@customer.test").scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    windows = {w.name: w.limit for w in RateLimiter(connector).windows}
    assert windows["ten_seconds"] == 190  # the sandbox's Professional-tier window, not the default 100


@pytest.mark.parametrize("status", [423, 477, 502])
def test_locked_migrating_or_failing_hubspot_is_retried_without_duplicates(
    account, connector, hubspot, status
):
    _operator(hubspot, "next-statuses", statuses=[status, status])
    [job] = deliver(account, story(email=f"s{status}@customer.test").scheduled())
    assert job.status == JobStatus.RETRYING, job.error
    job = _retry_until_done(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(contacts_by_email(hubspot, f"s{status}@customer.test")) == 1
    assert len(records(hubspot, "meetings")) == 1


def test_a_lost_answer_after_the_contact_write_does_not_duplicate(account, connector, hubspot):
    _operator(hubspot, "drop-after-write", count=1)
    [job] = deliver(account, story(email="drop@customer.test").scheduled())
    job = _retry_until_done(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(contacts_by_email(hubspot, "drop@customer.test")) == 1
    assert len(records(hubspot, "meetings")) == 1


def test_refused_data_fails_the_job_with_hubspots_words(account, connector, hubspot):
    ClassificationSettings.for_connector(connector)
    ClassificationSettings.objects.filter(connector=connector).update(lifecycle_stage="martian")
    [job] = deliver(account, story(email="p@customer.test").scheduled())
    assert job.status == JobStatus.FAILED and job.error_code == "INVALID_OPTION"
    assert "martian was not one of the allowed options" in job.error and "Refresh CRM data" in job.error


def test_connectors_of_one_portal_share_its_limits(account, connector, hubspot):
    other = make_connector(account, hubspot.url, name="HubSpot again")  # the same sandbox portal
    static = make_connector(account, hubspot.url, auth="static", name="not checked")
    Connector.objects.filter(pk__in=[connector.pk, other.pk]).update(
        settings={"rate_limits": {"ten_seconds": 2}}
    )
    first, second = (RateLimiter(Connector.objects.get(pk=c.pk)) for c in (connector, other))
    assert first.key == second.key == "hubspot-portal-62515"
    assert RateLimiter(static).key == str(static.pk)  # a static token's check reads no portal
    first.reset()
    assert first.try_acquire() == 0 and second.try_acquire() == 0
    assert first.try_acquire() > 0 and second.try_acquire() > 0  # the two calls used the portal's window
    first.reset()
