"""The pipeline before any CRM: a job per (event, connector), processed once, errors typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors import registry
from apps.connectors.errors import AuthCrmError, PermanentCrmError, TransientCrmError
from apps.connectors.models import ConnectorStatus
from apps.demo.samples import BookingStory
from apps.intake.models import BookingEvent
from apps.intake.services import accept_delivery, requeue_stalled
from apps.sync import dispatch, running, services
from apps.sync.models import CrmCall, JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

APPLIED: list[str] = []


def _failing_kind(key, error):
    def apply(context, plan):
        APPLIED.append(context.booking.booking_id)
        context.recorder(method="POST", url="https://crm.example/api?access_token=abc",
                         status_code=400, duration_ms=12.3,
                         request_body={"email": "x@y.z", "access_token": "abc"},
                         response_body={"message": "nope"}, crm_error_code="BAD")
        if error:
            raise error
        return {"ok": True}

    return registry.register(registry.SimpleKind(key=key, label=key, plan_fn=lambda c: [{"op": "x"}],
                                                    apply_fn=apply))


@pytest.fixture(autouse=True)
def _clear():
    APPLIED.clear()


def store(account, envelope):
    return accept_delivery(account=account, raw_body="{}", envelope=envelope,
                           signature_timestamp=None).event


def test_a_job_per_active_connector_and_processing_twice_changes_nothing():
    account = AccountFactory()
    active = ConnectorFactory(account=account)
    ConnectorFactory(account=account, is_active=False)
    ConnectorFactory()  # another account's
    event = store(account, BookingStory().scheduled())
    jobs = services.process_event(event_id=event.pk)
    assert [(j.connector_id, j.status) for j in jobs] == [(active.pk, JobStatus.SUCCEEDED)]
    assert jobs[0].plan[0]["lifecycle_action"] == "Scheduled"
    services.process_event(event_id=event.pk)
    assert SyncJob.objects.count() == 1
    event.refresh_from_db()
    assert event.processed_at is not None


def test_apply_runs_once_under_duplicate_processing():
    _failing_kind("count_only", None)
    account = AccountFactory()
    ConnectorFactory(account=account, kind="count_only")
    event = store(account, BookingStory().scheduled())
    services.process_event(event_id=event.pk)
    services.process_event(event_id=event.pk)
    assert len(APPLIED) == 1


def test_paused_connector_queues_and_catches_up():
    account = AccountFactory()
    connector = ConnectorFactory(account=account, is_paused=True)
    event = store(account, BookingStory().scheduled())
    services.process_event(event_id=event.pk)
    job = SyncJob.objects.get()
    assert job.status == JobStatus.PENDING
    connector.is_paused = False
    connector.save()
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert dispatch.due_job_ids() == [job.pk]
    assert running.run_job(job=job).status == JobStatus.SUCCEEDED


def test_transient_error_schedules_a_retry_honouring_retry_after():
    _failing_kind("flaky", TransientCrmError("503 from CRM", retry_after=120, code="503"))
    account = AccountFactory()
    ConnectorFactory(account=account, kind="flaky")
    [job] = services.process_event(event_id=store(account, BookingStory().scheduled()).pk)
    assert job.status == JobStatus.RETRYING
    assert job.next_attempt_at >= timezone.now() + timedelta(seconds=119)


def test_auth_error_disconnects_the_connector():
    _failing_kind("revoked", AuthCrmError("refresh token revoked", code="invalid_grant"))
    account = AccountFactory()
    connector = ConnectorFactory(account=account, kind="revoked")
    [job] = services.process_event(event_id=store(account, BookingStory().scheduled()).pk)
    connector.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert connector.status == ConnectorStatus.DISCONNECTED


def test_permanent_error_fails_with_the_crm_message_and_can_be_retried():
    _failing_kind("strict", PermanentCrmError("Email is invalid", code="INVALID_EMAIL"))
    account = AccountFactory()
    ConnectorFactory(account=account, kind="strict")
    [job] = services.process_event(event_id=store(account, BookingStory().scheduled()).pk)
    assert (job.status, job.error, job.error_code) == (
        JobStatus.FAILED, "Email is invalid\nDetails: code INVALID_EMAIL", "INVALID_EMAIL")
    job = services.reset_for_retry(job=job)
    assert job.status == JobStatus.PENDING and job.attempts == 0


def test_crm_calls_are_recorded_with_secrets_redacted():
    _failing_kind("logged", None)
    account = AccountFactory()
    ConnectorFactory(account=account, kind="logged")
    services.process_event(event_id=store(account, BookingStory().scheduled()).pk)
    call = CrmCall.objects.get()
    assert "abc" not in call.url and "abc" not in call.request_body
    assert '"email": "x@y.z"' in call.request_body
    assert call.duration_ms == 12 and call.crm_error_code == "BAD"


def test_conversation_events_are_processed_without_jobs():
    account = AccountFactory()
    ConnectorFactory(account=account)
    event = store(account, {"id": "EVNT-C1", "object": "event", "type": "conversation.closed",
                            "creation_time": "2024-01-01T00:00:00Z", "api_version": "v2",
                            "data": {"object": "conversation"}})
    assert services.process_event(event_id=event.pk) == []
    assert SyncJob.objects.count() == 0


def test_lost_hand_offs_are_requeued(monkeypatch):
    sent = []
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: sent.append(event_id) or True)
    account = AccountFactory()
    fresh = store(account, BookingStory().scheduled())
    lost = store(account, BookingStory().scheduled())
    done = store(account, BookingStory().scheduled())
    long_ago = timezone.now() - timedelta(minutes=5)
    BookingEvent.objects.filter(pk=lost.pk).update(queued_at=None, received_at=long_ago)
    BookingEvent.objects.filter(pk=done.pk).update(received_at=long_ago, processed_at=timezone.now())
    assert requeue_stalled(older_than=timedelta(seconds=60)) == 1
    assert sent == [lost.pk]
    assert fresh.pk not in sent


def test_links_follow_the_reschedule_chain():
    from apps.sync.context import JobContext

    account = AccountFactory()
    connector = ConnectorFactory(account=account)
    original = BookingStory()
    first = store(account, original.scheduled())
    [first_job] = services.process_event(event_id=first.pk)
    context = JobContext(connector, first, None, first_job, None)
    context.save_link("appointment", "APPT-1")
    original.reschedule_requested()
    follow_up, rebooked = original.rebooked_after_request()
    second = store(account, rebooked)
    [second_job] = services.process_event(event_id=second.pk)
    from apps.intake.models import Booking

    booking = Booking.objects.get(booking_id=follow_up.booking_id)
    later = JobContext(connector, second, booking, second_job, None)
    assert later.booking_chain() == [follow_up.booking_id, original.booking_id]
    assert later.find_link("appointment") == "APPT-1"
    assert later.find_link("contact") is None
