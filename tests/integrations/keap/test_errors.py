"""Faults from the sandbox: expired tokens mid-job, 429 and 5xx bursts, a revoked refresh token."""

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.demo.samples import BookingStory
from apps.integrations.keap import oauth
from apps.integrations.keap.client import KeapClient
from apps.sync import running as sync_running
from apps.sync.circuit import CircuitBreaker
from apps.sync.models import CrmCall, JobStatus, SyncJob
from tests.factories import MembershipFactory, UserFactory

from .helpers import appointments, by_email, deliver

pytestmark = pytest.mark.django_db(transaction=True)


def _time_passes(job):
    """What the periodic re-queue sees once the backoff and the circuit's pause are over."""
    CircuitBreaker(job.connector_id).reset()
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())


def _retry_until_done(job, *, attempts=10):
    for _ in range(attempts):
        _time_passes(job)
        job = sync_running.run_job(job=SyncJob.objects.get(pk=job.pk))
        if job.status == JobStatus.SUCCEEDED:
            return job
    return job


def test_expired_token_mid_job_is_refreshed_once_and_rotation_saved(account, connector, keap):
    story = BookingStory(email="t@customer.com", owner_email="sam@example.com")
    deliver(account, story.scheduled())
    old = dict(Connector.objects.get(pk=connector.pk).credentials)
    keap.expire_tokens()
    [job] = deliver(account, story.canceled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    new = Connector.objects.get(pk=connector.pk).credentials
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]  # the rotated token was stored
    statuses = list(CrmCall.objects.filter(sync_job=job).values_list("status_code", flat=True))
    assert statuses.count(401) == 1
    # the stored refresh token is the live one: another expiry refreshes again
    keap.expire_tokens()
    [job] = deliver(account, story.completed())
    assert job.status == JobStatus.SUCCEEDED, job.error


def test_a_second_worker_adopts_the_first_workers_refresh(account, connector, keap):
    stale = connector.credentials["access_token"]
    first = oauth.refresh(
        Connector.objects.get(pk=connector.pk), stale_access_token=stale, client=KeapClient(connector)
    )
    other_worker = Connector.objects.get(pk=connector.pk)
    other_worker.credentials = {**other_worker.credentials, "access_token": stale}  # its stale view
    second = oauth.refresh(other_worker, stale_access_token=stale, client=KeapClient(other_worker))
    assert second["refresh_token"] == first["refresh_token"]  # no second refresh: token not lost
    assert Connector.objects.get(pk=connector.pk).credentials["refresh_token"] == first["refresh_token"]
    KeapClient(other_worker).get("/users")  # and the adopted token works


def test_429_burst_is_retried_and_finishes(account, connector, keap):
    keap.set_faults(quota_rps=0.01)
    story = BookingStory(email="q@customer.com", owner_email="sam@example.com")
    [job] = deliver(account, story.scheduled())
    assert job.status in (JobStatus.RETRYING, JobStatus.SUCCEEDED)
    if job.status == JobStatus.RETRYING:
        assert job.error_code == "429"
        assert CrmCall.objects.filter(sync_job=job, status_code=429).exists()
    keap.set_faults(quota_rps=None)
    job = _retry_until_done(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(by_email(keap, "q@customer.com")) == 1 and len(appointments(keap)) == 1


def test_5xx_burst_is_retried_and_finishes_without_duplicates(account, connector, keap):
    keap.set_faults(error_rate=1.0)
    story = BookingStory(email="x@customer.com", owner_email="sam@example.com")
    [job] = deliver(account, story.scheduled())
    assert job.status == JobStatus.RETRYING and job.next_attempt_at is not None
    job = _retry_until_done(job, attempts=2)  # the burst goes on
    assert job.status == JobStatus.RETRYING
    keap.set_faults(error_rate=0.0)
    job = _retry_until_done(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(by_email(keap, "x@customer.com")) == 1 and len(appointments(keap)) == 1


def test_revoked_refresh_token_disconnects_and_tells_administrators(account, connector, keap):
    admin = UserFactory(email="boss@example.com")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    Connector.objects.filter(pk=connector.pk).update(
        credentials={**connector.credentials, "refresh_token": "revoked-token"}
    )
    keap.expire_tokens()
    [job] = deliver(account, BookingStory(email="r@customer.com").scheduled())
    assert job.status == JobStatus.FAILED
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.DISCONNECTED
    assert "Invalid Refresh Token" in connector.status_detail
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert "disconnected" in mail.outbox[0].subject


def test_permanent_error_fails_the_job_with_keaps_message(account, connector, keap):
    from apps.integrations.keap.models import ClassificationSettings

    ClassificationSettings.objects.filter(connector=connector).update(contact_type="Martian")
    ClassificationSettings.for_connector(connector)
    ClassificationSettings.objects.filter(connector=connector).update(contact_type="Martian")
    [job] = deliver(account, BookingStory(email="p@customer.com").scheduled())
    assert job.status == JobStatus.FAILED
    assert "Invalid contact_type: Martian" in job.error


def test_two_workers_refreshing_at_once_keep_a_working_token(account, connector, keap):
    """Both see the expired token and refresh at the same moment: one refresh happens; the other
    finds it under way (a deferral, not a failure) or adopts its result, and on its retry uses
    the rotated tokens, which Keap still accepts. No lock is held while Keap answers."""
    import threading

    from django.db import connection as db_connection

    from apps.connectors.tokens import TokenRenewalInProgress

    keap.expire_tokens()
    stale = connector.credentials["access_token"]
    barrier = threading.Barrier(2)
    results, deferred, errors = [], [], []

    def worker():
        try:
            mine = Connector.objects.get(pk=connector.pk)
            barrier.wait(timeout=10)
            results.append(oauth.refresh(mine, stale_access_token=stale, client=KeapClient(mine)))
        except TokenRenewalInProgress:
            deferred.append(True)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(results) + len(deferred) == 2 and results
    retried = Connector.objects.get(pk=connector.pk)  # the deferred worker's next attempt
    adopted = oauth.refresh(retried, stale_access_token=stale, client=KeapClient(retried))
    assert {r["refresh_token"] for r in results} == {adopted["refresh_token"]}
    stored = Connector.objects.get(pk=connector.pk)
    assert stored.credentials["refresh_token"] == adopted["refresh_token"]
    assert stored.credentials_version == connector.credentials_version + 1  # one refresh in all
    keap.expire_tokens()
    fresh = oauth.refresh(
        stored, stale_access_token=stored.credentials["access_token"], client=KeapClient(stored)
    )  # the stored refresh token still works
    assert fresh["refresh_token"] != adopted["refresh_token"]
