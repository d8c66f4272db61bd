"""After an event is stored: the hand-off to the workers, its relay, and the re-queue sweep."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from apps.demo.samples import BookingStory
from apps.intake.models import BookingEvent
from apps.intake.relay import BatchRelay
from apps.intake.services import accept_delivery, requeue_stalled
from tests.factories import AccountFactory
from tests.fixtures.processes import wait_until
from tests.intake.helpers import post_event


def store(account, **fields) -> BookingEvent:
    event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    BookingEvent.objects.filter(pk=event.pk).update(**fields)
    return event


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    handed_off: list[int] = []
    monkeypatch.setattr("apps.intake.services.hand_off",
                        lambda event_id: handed_off.append(event_id) or True)
    return handed_off


@pytest.mark.django_db
@override_settings(INTAKE_REQUEUE_MAX_BACKOFF_SECONDS=3600)
def test_requeue_waits_twice_as_long_after_each_hand_off(sent):
    account = AccountFactory()
    now = timezone.now()
    received = now - timedelta(days=1)

    def queued(hand_offs: int, seconds_ago: int) -> BookingEvent:
        return store(account, hand_offs=hand_offs, received_at=received,
                     queued_at=now - timedelta(seconds=seconds_ago))

    due = [queued(1, 61), queued(2, 121), queued(3, 241), queued(30, 3601),
           store(account, hand_offs=7, received_at=received, queued_at=None)]  # hand-off failed
    waiting = [queued(1, 30), queued(2, 119), queued(3, 239), queued(6, 1900), queued(30, 3500),
               store(account, hand_offs=9, received_at=received, queued_at=now - timedelta(hours=2),
                     processed_at=now)]

    assert requeue_stalled(older_than=timedelta(seconds=60)) == len(due)
    assert sorted(sent) == sorted(event.pk for event in due)
    again = BookingEvent.objects.filter(pk__in=[event.pk for event in due])
    assert sorted(again.values_list("hand_offs", flat=True)) == [2, 3, 4, 8, 31]
    assert all(moment > now for moment in again.values_list("queued_at", flat=True))
    assert not set(sent) & {event.pk for event in waiting}
    assert requeue_stalled(older_than=timedelta(seconds=60)) == 0  # just queued: not due again


@pytest.mark.django_db
def test_a_fresh_event_is_not_requeued_even_if_its_hand_off_failed(sent):
    account = AccountFactory()
    store(account, queued_at=None)
    assert requeue_stalled(older_than=timedelta(seconds=60)) == 0
    assert sent == []


def test_relay_delivers_everything_in_batches_and_survives_a_failure():
    batches: list[list[int]] = []
    delivering, release = threading.Event(), threading.Event()

    def deliver(batch: list[int]) -> None:
        delivering.set()
        release.wait(5)
        batches.append(batch)
        if batch == [0]:
            raise RuntimeError("broker down")

    relay = BatchRelay(deliver, name="test-relay", max_batch=4)
    relay.submit(0)
    assert delivering.wait(5)
    for item in range(1, 10):
        relay.submit(item)  # submitted while the first batch is still being delivered
    release.set()
    relay.stop()
    assert batches[0] == [0]
    assert [item for batch in batches for item in batch] == list(range(10))
    assert max(len(batch) for batch in batches) == 4


@pytest.mark.django_db(transaction=True)
def test_webhook_is_committed_before_the_answer_and_handed_off_after(client, monkeypatch):
    published: list[list[int]] = []
    monkeypatch.setattr("apps.intake.services._publish_from_relay", published.append)
    AccountFactory(slug="acme")
    response = post_event(client, "acme", BookingStory().scheduled())
    assert response.status_code == 202
    other = connections.create_connection("default")  # sees only committed rows
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM intake_bookingevent")
            stored = [row[0] for row in cursor.fetchall()]
    finally:
        other.close()
    assert len(stored) == 1
    wait_until(lambda: published, timeout=5, message="the relay did not publish the hand-off")
    assert published == [stored]


class _BrokerDown:
    def producer_or_acquire(self):
        raise ConnectionError("broker down")


@pytest.mark.django_db
def test_failed_publish_leaves_the_event_to_the_sweep(monkeypatch):
    from apps.intake import services

    event = store(AccountFactory())
    monkeypatch.setattr(services, "current_app", _BrokerDown())
    services._publish_hand_offs([event.pk])
    assert BookingEvent.objects.get(pk=event.pk).queued_at is None


@pytest.mark.django_db
def test_cached_secrets_spare_the_query_but_a_rotation_elsewhere_is_seen(client, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import WebhookSecret

    account = AccountFactory(slug="acme")
    assert post_event(client, "acme", BookingStory().scheduled()).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        assert post_event(client, "acme", BookingStory().scheduled()).status_code == 202
    assert not [q for q in queries if "accounts_webhooksecret" in q["sql"]]

    # Another process rotates the secret: no signal reaches this one's cache. The failed signature
    # re-reads the secrets once WEBHOOK_SECRET_REFRESH_SECONDS have passed since the last read.
    from apps.accounts import selectors

    WebhookSecret.objects.filter(account=account).update(expires_at=timezone.now())
    WebhookSecret.objects.bulk_create([WebhookSecret(account=account, secret="whsec-rotated-elsewhere")])
    later = selectors._clock() + settings.WEBHOOK_SECRET_REFRESH_SECONDS
    monkeypatch.setattr(selectors, "_clock", lambda: later)
    story = BookingStory()
    assert post_event(client, "acme", story.scheduled(), secret="whsec-rotated-elsewhere").status_code == 202
