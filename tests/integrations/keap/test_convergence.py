"""Duplicate and reordered deliveries converge: one contact, one appointment, the right tags."""

import pytest

from apps.demo.samples import BookingStory
from apps.integrations.keap.planner import GENERIC_TAGS
from apps.sync.models import JobStatus

from .helpers import appointments, by_email, deliver, tag_names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("appointment_tags_on")]


def _state(keap, email):
    [contact] = by_email(keap, email)
    names = tag_names(keap, contact)
    return contact, {n for n in names if n in GENERIC_TAGS}, {n for n in names if "(Booking ID:" in n}


def test_duplicate_deliveries(account, connector, keap):
    story = BookingStory(email="dup@customer.com", owner_email="sam@example.com")
    scheduled, canceled = story.scheduled(), story.canceled()
    for envelope in (scheduled, scheduled, canceled, scheduled, canceled):
        for job in deliver(account, envelope):
            assert job.status == JobStatus.SUCCEEDED, job.error
    contact, generic, specific = _state(keap, "dup@customer.com")
    assert generic == {"Canceled by Customer"}
    assert specific == {
        f"Scheduled (Booking ID: {story.booking_id})",
        f"Canceled by Customer (Booking ID: {story.booking_id})",
    }
    [appointment] = appointments(keap)
    assert appointment["ContactId"] == contact["id"]


def test_reordered_deliveries(account, connector, keap):
    story = BookingStory(email="late@customer.com", owner_email="sam@example.com")
    scheduled = story.scheduled()
    rescheduled = story.rescheduled()
    canceled = story.canceled()
    for envelope in (canceled, scheduled, rescheduled):  # the newest first
        for job in deliver(account, envelope):
            assert job.status == JobStatus.SUCCEEDED, job.error
    contact, generic, specific = _state(keap, "late@customer.com")
    assert generic == {"Canceled by Customer"}  # the latest event's state wins
    assert {
        f"{a} (Booking ID: {story.booking_id})"
        for a in ("Scheduled", "Rescheduled by Customer", "Canceled by Customer")
    } == specific
    [appointment] = appointments(keap)
    assert appointment["ContactId"] == contact["id"]
    assert appointment["ActionDate"].startswith(story.start.strftime("%Y-%m-%dT%H:%M"))
