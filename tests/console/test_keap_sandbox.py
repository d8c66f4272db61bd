"""Retry and replay from admin write nothing twice to a real CRM (the Keap sandbox)."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Role
from apps.demo.samples import BookingStory
from apps.directory.models import BookingPage, SchedulingUser
from apps.intake.services import accept_delivery
from apps.sync import services as sync_services
from apps.sync import tasks
from apps.sync.models import CrmCall, JobStatus, SyncJob
from tests.factories import AccountFactory, MembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class InlineBroker:
    """Stands in for the broker: records each run_job sent and runs it in this process."""

    def __init__(self):
        self.sent: list[int] = []

    def send_task(self, name, args=None, **kwargs):
        assert name == "bookbridge.sync.run_job"
        self.sent.append(args[0])
        tasks.run_job(*args)


@pytest.fixture
def broker(monkeypatch):
    fake = InlineBroker()
    monkeypatch.setattr("apps.sync.dispatch.current_app", fake)
    return fake


@pytest.fixture
def keap_account(keap):
    from apps.integrations.keap.demo import connect_demo_keap

    cache.clear()
    account = AccountFactory(slug="keap-console")
    owner = SchedulingUser.objects.create(account=account, external_id="USR-YX0J4ANZTV",
                                          first_name="Sam", email="sam@example.com")
    BookingPage.objects.create(account=account, external_id="BP-DEMO000001", label="John Smith",
                               owner=owner)
    connector = connect_demo_keap(account=account, sandbox_url=keap.url)
    admin_user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    yield {"account": account, "connector": connector, "admin": admin_user}
    cache.clear()


def _deliver(account, envelope):
    event = accept_delivery(account=account, raw_body=json.dumps(envelope), envelope=envelope,
                            signature_timestamp=None).event
    sync_services.process_event(event_id=event.pk)
    return event


def _crm_records(keap, email):
    state = keap.state()
    contacts = [c for c in state.get("contacts", [])
                if any(e.get("email", "").lower() == email for e in c.get("email_addresses") or [])]
    return contacts, state.get("contact_actions", [])


def test_retry_and_replay_write_nothing_twice_to_keap(client, keap, keap_account, broker):
    account, connector = keap_account["account"], keap_account["connector"]
    story = BookingStory(email="casey@customer.test", owner_email="sam@example.com")
    first = _deliver(account, story.scheduled())
    second = _deliver(account, story.rescheduled())
    jobs = list(SyncJob.objects.filter(connector=connector).order_by("event__received_at"))
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED], [j.error for j in jobs]
    contacts, appointments = _crm_records(keap, story.email)
    assert len(contacts) == 1
    appointments_before = len(appointments)
    assert appointments_before >= 1

    # A worker that died after its CRM writes leaves a job that looks failed: retry it.
    SyncJob.objects.filter(pk=jobs[0].pk).update(status=JobStatus.DEAD, error="worker lost",
                                                 error_code="internal_error")
    client.force_login(keap_account["admin"])
    response = client.post(reverse("admin:sync_syncjob_changelist"),
                           {"action": "retry_jobs", "_selected_action": [jobs[0].pk]}, follow=True)
    assert "1 queued for retry" in response.content.decode()
    assert broker.sent == [jobs[0].pk]
    assert SyncJob.objects.get(pk=jobs[0].pk).status == JobStatus.SUCCEEDED
    contacts, appointments = _crm_records(keap, story.email)
    assert len(contacts) == 1 and len(appointments) == appointments_before


    # Replaying both events: they synced, so nothing is sent to Keap at all.
    calls = CrmCall.objects.filter(connector=connector).count()
    response = client.post(reverse("admin:intake_bookingevent_changelist"),
                           {"action": "replay_events", "_selected_action": [first.pk, second.pk]},
                           follow=True)
    assert "2 already synced" in response.content.decode()
    assert CrmCall.objects.filter(connector=connector).count() == calls
    assert broker.sent == [jobs[0].pk]

    # A job the CRM failed (5xx burst) is replayed once the CRM is back: no duplicates either.
    keap.set_faults(error_rate=1.0)
    third = _deliver(account, story.canceled())
    job = SyncJob.objects.get(event=third, connector=connector)
    assert job.status in (JobStatus.RETRYING, JobStatus.FAILED, JobStatus.DEAD), job.status
    keap.set_faults(error_rate=0.0)
    from apps.sync.circuit import CircuitBreaker

    CircuitBreaker(connector.pk).reset()
    response = client.post(reverse("admin:intake_bookingevent_changelist"),
                           {"action": "replay_events", "_selected_action": [third.pk]}, follow=True)
    assert "1 queued" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    contacts, appointments = _crm_records(keap, story.email)
    assert len(contacts) == 1 and len(appointments) == appointments_before


def test_keap_connector_page_offers_reconnect_and_hides_secrets(client, keap_account):
    connector = keap_account["connector"]
    client.force_login(keap_account["admin"])
    page = client.get(reverse("admin:connectors_connector_change", args=[connector.pk])).content.decode()
    assert "Reconnect" in page and "Stored encrypted; never shown." in page
    for secret in connector.credentials.values():
        assert str(secret) not in page
