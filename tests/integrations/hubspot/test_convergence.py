"""Duplicate and reordered deliveries converge: one contact, one meeting, the final outcome."""

from datetime import UTC, datetime

import pytest

from apps.sync.models import JobStatus

from .helpers import contacts_by_email, deliver, records, story

pytestmark = pytest.mark.django_db(transaction=True)


def test_duplicates_make_one_contact_and_one_meeting(account, connector, hubspot):
    booking = story(email="dup@customer.test")
    envelope = booking.scheduled()
    for _ in range(3):
        for job in deliver(account, envelope):
            assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(contacts_by_email(hubspot, "dup@customer.test")) == 1
    assert len(records(hubspot, "meetings")) == 1


def test_reordered_events_end_on_the_latest_state(account, connector, hubspot):
    booking = story(email="late@customer.test")
    scheduled = booking.scheduled()
    moved = booking.rescheduled(to=datetime(2030, 3, 1, 9, 0, tzinfo=UTC))
    canceled = booking.canceled()
    for envelope in (canceled, scheduled, moved, scheduled):  # the latest event arrives first
        for job in deliver(account, envelope):
            assert job.status in (JobStatus.SUCCEEDED, JobStatus.SKIPPED), job.error
    [meeting] = records(hubspot, "meetings")
    assert meeting["properties"]["hs_meeting_outcome"] == "CANCELED"
    assert meeting["properties"]["hs_meeting_start_time"].startswith("2030-03-01T09:00:00")
    assert len(contacts_by_email(hubspot, "late@customer.test")) == 1
