"""The same booking story from OnceHub, Calendly and Cal.com leaves the same state in Keap, in
Salesforce and in HubSpot (SPEC §15: the connectors never see a source's own shape). Real sandboxes over
HTTP, real PostgreSQL; the pipeline runs in this process (``process_event``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.demo.samples import BookingStory
from apps.demo.source_samples import CalcomStory, CalendlyStory
from apps.intake.services import accept_delivery
from apps.integrations.keap.planner import GENERIC_TAGS
from apps.sync import services as sync_services
from apps.sync.models import JobStatus
from tests.integrations.hubspot import helpers as hubspot_helpers
from tests.integrations.keap import helpers as keap_helpers
from tests.integrations.salesforce.conftest import insecure_ok, make_connector, records

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
__all__ = ["insecure_ok", "make_connector"]  # the Salesforce connector fixture and what it needs

OWNER = "riley.rep@bookbridge.example"  # a Salesforce user of the sandbox


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    """The test runs the pipeline itself; no worker of another test may run the same jobs."""
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)


def story_of(source: str, email: str, *, no_show: bool) -> list[dict[str, Any]]:
    """The documents of one booking's life: scheduled, then rescheduled and canceled (or a
    no-show), as the source reports it. Each story is built in order (its clock moves)."""
    if source == "oncehub":
        story = BookingStory(email=email, name="Jane Doe", owner_email=OWNER)
        first = story.scheduled()
        return [first, story.no_show()] if no_show else [first, story.rescheduled(), story.canceled()]
    if source == "calendly":
        story = CalendlyStory(email=email, name="Jane Doe", host_email=OWNER, event_name="Discovery call",
                              start=BookingStory().start)
        first = story.created()
        if no_show:
            return [first, story.marked_no_show()]
        cancel_half, created_half = story.rescheduled()
        return [first, created_half, cancel_half, story.canceled()]  # the new half first
    story = CalcomStory(email=email, name="Jane Doe", host_email=OWNER, title="Discovery call",
                        start=BookingStory().start)
    first = story.created()
    return [first, story.no_show()] if no_show else [first, story.rescheduled(), story.cancelled()]


def deliver(account, source: str, document: dict[str, Any]) -> None:
    event = accept_delivery(account=account, raw_body=json.dumps(document), envelope=document,
                            signature_timestamp=None, source=source).event
    for job in sync_services.process_event(event_id=event.pk):
        assert job.status == JobStatus.SUCCEEDED, (source, document, job.error)


def keap_state(keap, email: str) -> dict[str, Any]:
    [contact] = keap_helpers.by_email(keap, email)
    mine = [a for a in keap_helpers.appointments(keap) if a["ContactId"] == contact["id"]]
    return {
        "name": (contact.get("given_name"), contact.get("family_name")),
        "generic_tags": sorted(n for n in keap_helpers.tag_names(keap, contact) if n in GENERIC_TAGS),
        "appointments": [(a["ActionDate"], a["EndDate"], a["ActionDescription"]) for a in mine],
    }


def salesforce_state(salesforce, email: str) -> dict[str, Any]:
    [lead] = [lead for lead in records(salesforce, "Lead") if lead["Email"] == email]
    events = [e for e in records(salesforce, "Event") if e["WhoId"] == lead["Id"]]
    return {
        "lead": (lead["FirstName"], lead["LastName"]),
        "events": [(e["Booking_Status__c"], e["StartDateTime"][:16], e["DurationInMinutes"], e["Subject"])
                   for e in events],
    }


def hubspot_state(hubspot, email: str) -> dict[str, Any]:
    [contact] = hubspot_helpers.contacts_by_email(hubspot, email)
    linked = hubspot_helpers.links_of(hubspot, "contacts", contact["id"], "meetings")
    meetings = [m["properties"] for m in hubspot_helpers.records(hubspot, "meetings")
                if str(m["id"]) in linked]
    return {
        "contact": (contact["properties"].get("firstname"), contact["properties"].get("lastname")),
        "meetings": [(m.get("hs_meeting_title"), m.get("hs_meeting_start_time", "")[:16],
                      m.get("hs_meeting_outcome")) for m in meetings],
    }


def test_the_same_story_from_every_source_leaves_the_same_crm_state(keap, salesforce, hubspot,
                                                                    make_connector):
    states = {}
    for source in ("oncehub", "calendly", "calcom"):
        connector = make_connector()  # a Salesforce connector of a fresh account
        keap_helpers.make_connector(connector.account, keap.url)  # and Keap and HubSpot next to it
        hubspot_helpers.make_connector(connector.account, hubspot.url, auth="static")
        moved, missed = f"moved-{source}@customer.com", f"missed-{source}@customer.com"
        for email, no_show in ((moved, False), (missed, True)):
            for document in story_of(source, email, no_show=no_show):
                deliver(connector.account, source, document)
        states[source] = {
            "keap": (keap_state(keap, moved), keap_state(keap, missed)),
            "salesforce": (salesforce_state(salesforce, moved), salesforce_state(salesforce, missed)),
            "hubspot": (hubspot_state(hubspot, moved), hubspot_state(hubspot, missed)),
        }
    reference = states["oncehub"]
    keap_moved, keap_missed = reference["keap"]
    assert keap_moved["generic_tags"] == ["Canceled by Customer"]
    assert keap_missed["generic_tags"] == ["No-show"]
    assert [a[0][:16] for a in keap_moved["appointments"]] == ["2030-01-21T16:45"]  # one, moved a day
    sf_moved, sf_missed = reference["salesforce"]
    assert sf_moved["events"] == [("Canceled by Customer", "2030-01-21T16:45", 30, "Discovery call")]
    assert [e[0] for e in sf_missed["events"]] == ["No-show"]
    hs_moved, hs_missed = reference["hubspot"]
    assert hs_moved["meetings"] == [("Discovery call", "2030-01-21T16:45", "CANCELED")]
    assert [m[2] for m in hs_missed["meetings"]] == ["NO_SHOW"]
    assert states["calendly"] == reference
    assert states["calcom"] == reference
