"""A new booking end to end over real HTTP: contact, owner, classification, lead source, appointment, tags."""

import pytest

from apps.demo.samples import BookingStory
from apps.sync.models import JobStatus

from .helpers import appointments, by_email, calls_of, deliver, tag_names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("appointment_tags_on")]


def test_new_booking_creates_contact_appointment_and_tags(account, connector, keap):
    story = BookingStory(
        email="jane@customer.com",
        name="Jane Doe",
        master_page="MP-GROUP00001",
        owner_email="sam@example.com",
        event_type="ET-DISCOVERY1",
    )
    [job] = deliver(account, story.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = by_email(keap, "jane@customer.com")
    assert contact["given_name"] == "Jane" and contact["family_name"] == "Doe"
    assert contact["owner_id"] == 3  # Sam Sales, matched by email
    assert contact["contact_type"] == "Prospect"
    sources = {s["id"]: s for s in keap.state()["lead_sources"]}
    source = sources[contact["lead_source_id"]]
    assert source["name"] == "Professional Services Group > Initial Discovery Session > John Smith"
    categories = {c["id"]: c["name"] for c in keap.state()["lead_source_categories"]}
    assert categories[source["lead_source_category_id"]] == "OnceHub"
    assert tag_names(keap, contact) == {"Scheduled", f"Scheduled (Booking ID: {story.booking_id})"}
    [appointment] = appointments(keap)
    assert appointment["ContactId"] == contact["id"]
    assert appointment["IsAppointment"] == 1 and appointment["ActionType"] == "Call"
    assert appointment["Priority"] == 3 and appointment["UserID"] == 3
    assert appointment["ActionDescription"] == "Discovery call"
    assert appointment["ActionDate"] == "2030-01-20T16:45:00"
    assert appointment["EndDate"] == "2030-01-20T17:15:00"
    assert calls_of(job)
