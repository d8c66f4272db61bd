"""A new booking end to end over real HTTP: contact, owner, classification, company, meeting."""

import pytest

from apps.sync.models import CrmRecordLink, JobStatus

from .helpers import calls_of, contacts_by_email, deliver, links_of, make_connector, records, story

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_booking_creates_contact_company_and_meeting(account, connector, hubspot):
    booking = story(email="jane@acme-widgets.test", name="Jane Roe")
    [job] = deliver(account, booking.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [contact] = contacts_by_email(hubspot, "jane@acme-widgets.test")
    props = contact["properties"]
    assert (props["firstname"], props["lastname"]) == ("Jane", "Roe")
    assert props["hubspot_owner_id"] == "6166861"  # Ada Host, matched by email
    assert (props["lifecyclestage"], props["hs_lead_status"]) == ("lead", "NEW")
    [company] = [
        c for c in records(hubspot, "companies") if c["properties"].get("domain") == "acme-widgets.test"
    ]
    [meeting] = records(hubspot, "meetings")
    meeting_props = meeting["properties"]
    assert meeting_props["hs_meeting_outcome"] == "SCHEDULED"
    assert meeting_props["hs_meeting_title"] == "Discovery call"
    assert meeting_props["hs_meeting_start_time"].startswith("2030-01-20T16:45:00")
    assert meeting_props["hs_meeting_end_time"].startswith("2030-01-20T17:15:00")
    assert meeting_props["hubspot_owner_id"] == "6166861"
    assert links_of(hubspot, "meetings", meeting["id"], "contacts") == {contact["id"]}
    assert links_of(hubspot, "meetings", meeting["id"], "companies") == {company["id"]}
    assert links_of(hubspot, "contacts", contact["id"], "companies") == {company["id"]}
    saved = dict(
        CrmRecordLink.objects.filter(booking_id=booking.booking_id).values_list("record_type", "crm_id")
    )
    assert saved == {"contact": contact["id"], "company": company["id"], "meeting": meeting["id"]}
    assert [c.status_code for c in calls_of(job)][-2:] == [201, 201]


def test_the_v3_paths_sync_the_same(account, hubspot):
    make_connector(account, hubspot.url, api_version="v3", name="HubSpot v3")
    booking = story(email="jane@example.com")  # the seeded contact, at the seeded company's domain
    [job] = deliver(account, booking.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    paths = [c.url.removeprefix(hubspot.url).split("?")[0] for c in calls_of(job)]
    assert "/crm/v4/objects/contacts/51/associations/default/companies/9001" in paths
    assert all(p.startswith(("/crm/v3/", "/crm/v4/")) for p in paths)
    [meeting] = records(hubspot, "meetings")
    assert links_of(hubspot, "meetings", meeting["id"], "contacts") == {"51"}
