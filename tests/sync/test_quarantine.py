"""Poison events: bounded attempts, then quarantine — visible, replayable, never blocking others.

Before the quarantine, an event whose processing crashed (an overflow, a value too long for a
column) was handed to the workers again and again by ``requeue_stalled`` and never reached an
operator.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.urls import reverse
from django.utils import timezone

from apps.demo.samples import BookingStory
from apps.intake import services as intake_services
from apps.intake.models import BookingEvent
from apps.sync import services, tasks
from apps.sync.replay import RELEASED, replay_event
from tests.factories import AccountFactory, ConnectorFactory, UserFactory
from tests.fixtures.processes import wait_until
from tests.fixtures.services import start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def store(account, envelope: dict, *, hand_off: bool = False) -> BookingEvent:
    return intake_services.accept_delivery(account=account, raw_body=json.dumps(envelope),
                                           envelope=envelope, signature_timestamp=None).event


def poison_story(**kwargs) -> BookingStory:
    return BookingStory(booking_id="BKNG-POISON0001", email="p@customer.test", **kwargs)


@pytest.fixture
def planted_bug(monkeypatch):
    """The same planted bug as the worker of ``tests.fixtures.poison_settings``, in process."""
    real = intake_services.apply_event

    def apply_event(*, event):
        if event.booking_id.startswith("BKNG-POISON"):
            raise OverflowError("int too large to convert (planted by the test)")
        return real(event=event)

    monkeypatch.setattr(intake_services, "apply_event", apply_event)
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)


def run_task(event: BookingEvent) -> None:
    with contextlib.suppress(Retry, OverflowError):  # a real worker would send the retry
        tasks.process_event.run(event.pk)


def test_attempts_are_bounded_and_the_event_is_quarantined_with_its_error(planted_bug, settings):
    settings.INTAKE_MAX_PROCESSING_ATTEMPTS = 3
    account = AccountFactory()
    ConnectorFactory(account=account)
    event = store(account, poison_story().scheduled())
    for _ in range(3):
        run_task(event)
    event.refresh_from_db()
    assert event.quarantined_at is not None and event.processing_attempts == 3
    assert event.processing_error.startswith("OverflowError: int too large to convert")
    assert "in apply_event" in event.processing_error  # where it failed
    run_task(event)  # a stray delivery of the message changes nothing
    event.refresh_from_db()
    assert event.processing_attempts == 3
    later = timezone.now() + timedelta(days=1)
    BookingEvent.objects.filter(pk=event.pk).update(queued_at=None, received_at=later - timedelta(hours=2))
    assert intake_services.requeue_stalled(older_than=timedelta(seconds=1)) == 0  # never re-queued


def test_the_booking_waits_visibly_while_an_earlier_event_is_retried_then_goes_on(planted_bug, settings):
    settings.INTAKE_MAX_PROCESSING_ATTEMPTS = 2
    account = AccountFactory()
    ConnectorFactory(account=account)
    story = poison_story()
    first = store(account, story.scheduled())
    run_task(first)  # attempt 1 failed: retried later
    second = store(account, story.canceled())
    with pytest.raises(services.EventWaiting):
        services.process_event(event_id=second.pk)
    run_task(second)
    second.refresh_from_db()
    assert second.processed_at is None and "Waiting for the earlier event" in second.processing_error
    assert second.processing_attempts == 0  # waiting is not a failed attempt
    run_task(first)  # attempt 2: quarantined
    first.refresh_from_db()
    assert first.quarantined_at is not None
    with pytest.raises(OverflowError):  # goes ahead now (and meets the same planted bug)
        services.process_event(event_id=second.pk)


def test_other_bookings_are_not_blocked(planted_bug):
    account = AccountFactory()
    ConnectorFactory(account=account)
    run_task(store(account, poison_story().scheduled()))
    healthy = store(account, BookingStory(email="h@customer.test").scheduled())
    [job] = services.process_event(event_id=healthy.pk)
    assert job.status == "succeeded"


def test_replay_releases_a_quarantined_event_to_the_workers(planted_bug, settings, client):
    settings.INTAKE_MAX_PROCESSING_ATTEMPTS = 1
    account = AccountFactory()
    ConnectorFactory(account=account)
    event = store(account, poison_story().scheduled())
    run_task(event)
    event.refresh_from_db()
    assert event.quarantined_at is not None
    report = replay_event(event)
    assert report.outcomes == {RELEASED: 1}
    event.refresh_from_db()
    assert event.quarantined_at is None and event.processing_attempts == 0


def test_the_console_and_healthz_show_quarantined_events(planted_bug, settings, client):
    settings.INTAKE_MAX_PROCESSING_ATTEMPTS = 1
    account = AccountFactory()
    event = store(account, poison_story().scheduled())
    run_task(event)
    client.force_login(UserFactory(is_superuser=True))
    health = client.get("/healthz").json()
    assert health["checks"]["quarantine"] == {
        "status": "degraded", "quarantined_events": 1,
        "detail": "events are quarantined; replay them from the console once fixed"}
    listing = client.get(reverse("admin:intake_bookingevent_changelist") + "?processed=quarantined")
    assert event.envelope_id in listing.content.decode()
    assert "Quarantined (1 attempts)" in listing.content.decode()
    page = client.get(reverse("admin:intake_bookingevent_change", args=[event.pk])).content.decode()
    assert "OverflowError: int too large to convert" in page
    dashboard = client.get(reverse("admin:console-dashboard")).content.decode()
    assert 'data-testid="quarantined-events"' in dashboard and ">1</a>" in dashboard


@pytest.mark.integration
def test_a_real_worker_quarantines_a_poison_event_and_keeps_working(monkeypatch):
    """A real worker process with the planted bug: the poison event ends quarantined within a
    deadline, after bounded attempts; another booking sent after it is synced meanwhile.

    The worker has a queue of its own (the session's ordinary worker must not take the events).
    """
    import uuid

    from celery import current_app

    run_id = f"poison-{uuid.uuid4().hex[:8]}"
    queue = f"bookbridge-test-{run_id}"
    worker = start_worker(env={"DJANGO_SETTINGS_MODULE": "tests.fixtures.poison_settings",
                               "BOOKBRIDGE_TEST_RUN_ID": run_id})
    monkeypatch.setattr(intake_services, "hand_off", lambda event_id: bool(
        current_app.send_task(intake_services.PROCESS_EVENT_TASK, args=[event_id], queue=queue)))
    try:
        account = AccountFactory()
        ConnectorFactory(account=account)
        poison = store(account, poison_story().scheduled())
        healthy = store(account, BookingStory(email="after@customer.test").scheduled())

        def quarantined():
            poison.refresh_from_db()
            return poison.quarantined_at is not None

        wait_until(quarantined, timeout=60,
                   message=f"the poison event was never quarantined:\n{worker.recent_output()[-3000:]}")
        assert poison.processing_attempts == 5
        wait_until(lambda: BookingEvent.objects.filter(pk=healthy.pk, processed_at__isnull=False).exists(),
                   timeout=30, message="the healthy event behind it was not processed")
    finally:
        worker.stop()
