"""What the boundary accepts is stored whole and processed: nothing cut, nothing crashing.

Before: ``_booking_fields`` cut the subject to 500 characters and the directory cut labels to
200 (into 150-character name columns: a DataError on PostgreSQL); date-times were stored with
the offset they came with, which PostgreSQL refuses beyond ±15:59 (a 500 at intake for the
envelope's ``creation_time``, a crash in processing for the booking's).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.demo.samples import official_example
from apps.directory.models import BookingPage, EventType, MasterPage, SchedulingUser
from apps.intake.models import Booking, BookingEvent
from apps.sync import services
from apps.sync.models import JobStatus
from tests.factories import AccountFactory, ConnectorFactory
from tests.intake.helpers import body_of, post_raw

pytestmark = pytest.mark.django_db

RTL_NAME = "\u202eremmarG nimajneB \u05e9\u05e8\u05d4"  # legitimate Unicode: stored as it is


@pytest.fixture
def account():
    account = AccountFactory(slug="acme")
    ConnectorFactory(account=account)
    return account


def deliver_and_process(client, envelope: dict) -> BookingEvent:
    response = post_raw(client, "acme", body_of(envelope))
    assert response.status_code == 202, response.content
    event = BookingEvent.objects.get(envelope_id=envelope["id"])
    [job] = services.process_event(event_id=event.pk)
    assert job.status == JobStatus.SUCCEEDED
    return event


def test_the_longest_accepted_values_are_stored_whole(account, client):
    envelope = official_example()
    data = envelope["data"]
    data.update(
        id="BKNG-" + "B" * 59, status="s" * 32, subject="A subject OnceHub does not limit. " * 100,
        duration_minutes=10080, rescheduled_booking_id="BKNG-" + "R" * 59,
        owner={"id": "USR-" + "U" * 60, "first_name": "F" * 180 + RTL_NAME, "last_name": "L" * 255,
               "email": "e" * 240 + "@example.com", "status": "a" * 32},
        booking_page={"id": "BP-" + "P" * 61, "label": "l" * 255, "name": "n" * 255,
                      "url": "https://go.oncehub.com/" + "u" * 2000},
        master_page={"id": "MP-1", "label": "m" * 255, "name": "M" * 255},
        event_type={"id": "ET-1", "name": "e" * 255, "description": "D" * 5000},
    )
    data["form_submission"].update(name="N" * 250 + RTL_NAME, email="c" * 240 + "@customer.com")
    deliver_and_process(client, envelope)

    booking = Booking.objects.get(booking_id=data["id"])
    assert booking.subject == data["subject"]
    assert booking.customer_name == data["form_submission"]["name"]
    assert booking.customer_email == data["form_submission"]["email"]
    assert (booking.status, booking.duration_minutes) == ("s" * 32, 10080)
    assert (booking.owner_id, booking.booking_page_id) == (data["owner"]["id"], data["booking_page"]["id"])
    assert booking.rescheduled_booking_id == data["rescheduled_booking_id"]
    owner = SchedulingUser.objects.get(external_id=data["owner"]["id"])
    assert (owner.first_name, owner.last_name, owner.email, owner.status) == (
        data["owner"]["first_name"], "L" * 255, data["owner"]["email"], "a" * 32)
    page = BookingPage.objects.get(external_id=data["booking_page"]["id"])
    assert (page.label, page.public_name, page.url) == ("l" * 255, "n" * 255, data["booking_page"]["url"])
    assert page.owner == owner
    master = MasterPage.objects.get(external_id="MP-1")
    assert (master.label, master.name) == ("m" * 255, "M" * 255)
    event_type = EventType.objects.get(external_id="ET-1")
    assert (event_type.name, event_type.description) == ("e" * 255, "D" * 5000)


def test_offsets_postgresql_cannot_store_are_stored_as_the_same_instant_in_utc(account, client):
    envelope = official_example()
    envelope["creation_time"] = "2048-08-22T13:10:26+23:59"
    envelope["data"].update(starting_time="2142-11-12T06:09:52-17:51",
                            last_updated_time="2200-12-31T23:59:59+20:00")
    event = deliver_and_process(client, envelope)
    event.refresh_from_db()
    assert event.event_created_at == datetime(2048, 8, 21, 13, 11, 26, tzinfo=UTC)
    booking = Booking.objects.get(booking_id=envelope["data"]["id"])
    assert booking.starting_time == datetime(2142, 11, 13, 0, 0, 52, tzinfo=UTC)
    assert booking.latest_updated_time == datetime(2200, 12, 31, 3, 59, 59, tzinfo=UTC)
