"""Admin actions: retry, replay, pause/resume — administrators only, idempotent, reported."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.demo.samples import BookingStory
from apps.sync import tasks
from apps.sync.models import CrmCall, JobStatus, SyncJob
from apps.sync.services import process_event
from tests.console.conftest import deliver
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory

from . import crm_store

pytestmark = pytest.mark.django_db

REFUSED = "Only administrators of the account can run this action. Nothing was done."


class InlineBroker:
    """Stands in for the broker: records each task sent and runs ``run_job`` in-process."""

    def __init__(self):
        self.sent: list[tuple[str, list]] = []

    def send_task(self, name, args=None, **kwargs):
        self.sent.append((name, list(args or [])))
        assert name == "bookbridge.sync.run_job"
        tasks.run_job(*args)


@pytest.fixture
def broker(monkeypatch):
    fake = InlineBroker()
    monkeypatch.setattr("apps.sync.dispatch.current_app", fake)
    return fake


@pytest.fixture
def shop(db, tmp_path):
    kind = crm_store.register()
    account = AccountFactory(slug="shop")
    store = crm_store.Store(tmp_path / "crm.sqlite3")
    connector = ConnectorFactory(account=account, kind=kind.key, name="Store CRM",
                                 settings={"store_path": str(store.path)})
    log = ConnectorFactory(account=account, name="Audit log")
    other = AccountFactory(slug="other")
    other_connector = ConnectorFactory(account=other, name="Other log")
    yield {
        "account": account, "store": store, "connector": connector, "log": log,
        "admin": MembershipFactory(account=account, role=Role.ADMINISTRATOR).user,
        "staff": MembershipFactory(account=account, role=Role.STAFF).user,
        "other_admin": MembershipFactory(account=other, role=Role.ADMINISTRATOR).user,
        "other_connector": other_connector,
    }
    crm_store.registry.unregister(kind.key)


def _failed_booking(shop):
    """A booking whose CRM write failed after the contact was created."""
    shop["store"].fail_next("appointment")
    story = BookingStory(email="pat@customer.test")
    event = deliver(shop["account"], story.scheduled())
    process_event(event_id=event.pk)
    job = SyncJob.objects.get(event=event, connector=shop["connector"])
    assert job.status == JobStatus.FAILED and job.error_code == "VALIDATION"
    assert shop["store"].count("contacts") == 1 and shop["store"].count("appointments") == 0
    return event, job


def _act(client, url_name, action, ids):
    return client.post(reverse(url_name), {"action": action, "_selected_action": ids}, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_retry_reruns_failed_job_without_duplicating_crm_records(client, shop, broker,
                                                                  django_capture_on_commit_callbacks):
    event, job = _failed_booking(shop)
    client.force_login(shop["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:sync_syncjob_changelist", "retry_jobs", [job.pk])
    assert _messages(response) == ["Retry: 1 queued for retry. Only failed and dead jobs are retried."]
    assert broker.sent == [("bookbridge.sync.run_job", [job.pk])]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert shop["store"].count("contacts") == 1  # the contact made before the failure is reused
    assert shop["store"].count("appointments") == 1

    # Retrying a job that succeeded does nothing at all.
    calls = CrmCall.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:sync_syncjob_changelist", "retry_jobs", [job.pk])
    assert "1 skipped (succeeded)" in _messages(response)[0]
    assert len(broker.sent) == 1 and CrmCall.objects.count() == calls
    assert shop["store"].count("contacts") == 1 and shop["store"].count("appointments") == 1


def test_staff_cannot_retry(client, shop, broker, django_capture_on_commit_callbacks):
    _, job = _failed_booking(shop)
    client.force_login(shop["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:sync_syncjob_changelist", "retry_jobs", [job.pk])
    assert _messages(response) == [REFUSED]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and broker.sent == []


def test_staff_of_the_rows_account_cannot_retry_as_administrator_of_another(
        client, shop, broker, django_capture_on_commit_callbacks):
    """Offered the action (they administer an account), refused on rows they only staff."""
    _, job = _failed_booking(shop)
    MembershipFactory(account=AccountFactory(slug="elsewhere"), user=shop["staff"],
                      role=Role.ADMINISTRATOR)
    client.force_login(shop["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:sync_syncjob_changelist", "retry_jobs", [job.pk])
    assert _messages(response) == [
        "Only administrators of Shop may retry sync jobs. Nothing was done."]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and broker.sent == []


def test_replay_runs_only_what_did_not_sync(client, shop, broker, django_capture_on_commit_callbacks):
    event, job = _failed_booking(shop)
    log_job = SyncJob.objects.get(event=event, connector=shop["log"])
    assert log_job.status == JobStatus.SUCCEEDED
    client.force_login(shop["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:intake_bookingevent_changelist", "replay_events", [event.pk])
    message = _messages(response)[0]
    assert message.startswith("Replayed 1 event(s): 1 already synced, 1 queued.")
    assert broker.sent == [("bookbridge.sync.run_job", [job.pk])]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    log_job.refresh_from_db()
    assert log_job.attempts == 1  # the connector that had synced was not called again

    # Replaying again: everything synced, nothing is written.
    calls = CrmCall.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:intake_bookingevent_changelist", "replay_events", [event.pk])
    assert _messages(response)[0].startswith("Replayed 1 event(s): 2 already synced.")
    assert CrmCall.objects.count() == calls and len(broker.sent) == 1
    assert shop["store"].rows("contacts") == [(1, "pat@customer.test")]
    assert shop["store"].count("appointments") == 1


def test_replay_of_a_later_event_updates_the_same_records(client, shop, broker,
                                                          django_capture_on_commit_callbacks):
    story = BookingStory(email="lee@customer.test")
    first = deliver(shop["account"], story.scheduled())
    process_event(event_id=first.pk)
    second = deliver(shop["account"], story.rescheduled())
    process_event(event_id=second.pk)
    client.force_login(shop["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        _act(client, "admin:intake_bookingevent_changelist", "replay_events", [first.pk, second.pk])
    assert broker.sent == []
    assert shop["store"].count("contacts") == 1 and shop["store"].count("appointments") == 1


def test_staff_cannot_replay(client, shop, broker, django_capture_on_commit_callbacks):
    event, job = _failed_booking(shop)
    client.force_login(shop["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:intake_bookingevent_changelist", "replay_events", [event.pk])
    assert _messages(response) == [REFUSED]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and broker.sent == []


def test_actions_on_other_accounts_rows_do_nothing(client, shop, broker,
                                                   django_capture_on_commit_callbacks):
    _, job = _failed_booking(shop)
    client.force_login(shop["other_admin"])  # administrator, but of another account
    with django_capture_on_commit_callbacks(execute=True):
        _act(client, "admin:sync_syncjob_changelist", "retry_jobs", [job.pk])
        _act(client, "admin:connectors_connector_changelist", "pause_connectors",
             [shop["connector"].pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and broker.sent == []
    assert not Connector.objects.get(pk=shop["connector"].pk).is_paused


def test_pause_and_resume_are_for_administrators(client, shop, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    queued: list[dict] = []
    monkeypatch.setattr("apps.sync.pausing.queue_in_order", lambda groups: queued.append(dict(groups)))
    connector = shop["connector"]
    client.force_login(shop["staff"])
    response = _act(client, "admin:connectors_connector_changelist", "pause_connectors", [connector.pk])
    assert _messages(response) == [REFUSED]
    connector.refresh_from_db()
    assert not connector.is_paused

    client.force_login(shop["admin"])
    response = _act(client, "admin:connectors_connector_changelist", "pause_connectors", [connector.pk])
    assert _messages(response)[0].startswith("Paused Store CRM.")
    connector.refresh_from_db()
    assert connector.is_paused

    story = BookingStory()
    events = [deliver(shop["account"], story.scheduled()), deliver(shop["account"], story.canceled())]
    for event in events:
        process_event(event_id=event.pk)
    waiting = list(SyncJob.objects.filter(connector=connector).order_by("event__received_at")
                   .values_list("pk", "status"))
    assert [status for _, status in waiting] == [JobStatus.PENDING, JobStatus.PENDING]
    assert shop["store"].count("contacts") == 0  # nothing written while paused

    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "admin:connectors_connector_changelist", "resume_connectors",
                        [connector.pk])
    assert _messages(response) == ["Store CRM resumed, 2 waiting job(s) queued in order."]
    assert queued == [{story.booking_id: [pk for pk, _ in waiting]}]
    connector.refresh_from_db()
    assert not connector.is_paused


def test_paused_connector_change_form_cannot_unpause_silently(client, shop):
    connector = shop["connector"]
    Connector.objects.filter(pk=connector.pk).update(is_paused=True)
    client.force_login(shop["admin"])
    url = reverse("admin:connectors_connector_change", args=[connector.pk])
    client.post(url, {"name": "Store CRM", "is_active": "on"})
    connector.refresh_from_db()
    assert connector.is_paused  # only the resume action unpauses (it catches up on the backlog)
    assert connector.status == ConnectorStatus.CONNECTED
