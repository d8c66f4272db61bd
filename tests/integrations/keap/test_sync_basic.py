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


def test_company_is_found_or_created_once_and_linked(account, connector, keap):
    """SPEC §5 default mapping Company → Company: REST v1 links the contact to a company record."""
    acme = {"company": "Acme"}
    first = BookingStory(email="ann@acme.test", owner_email="sam@example.com", extra_form=acme)
    [job] = deliver(account, first.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [company] = [c for c in keap.state()["companies"] if c["company_name"] == "Acme"]
    [ann] = by_email(keap, "ann@acme.test")
    assert ann["company"]["id"] == company["id"]
    company_calls = [c.method for c in calls_of(job) if c.url.split("?")[0].endswith("/companies")]
    assert company_calls == ["GET", "POST"]  # found nowhere, so created

    second = BookingStory(email="bob@acme.test", owner_email="sam@example.com", extra_form=dict(acme))
    [job] = deliver(account, second.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not [c for c in calls_of(job) if "/companies" in c.url]  # cached by name
    [bob] = by_email(keap, "bob@acme.test")
    assert bob["company"]["id"] == company["id"]
    assert len([c for c in keap.state()["companies"] if c["company_name"] == "Acme"]) == 1
