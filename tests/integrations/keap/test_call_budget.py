"""SPEC §10 call budget, asserted from CrmCall rows, with the wizard's default settings.

With warm caches a new booking of a customer Keap knows costs 3 Keap calls (PUT /contacts
upsert, XML-RPC DataService.add, POST /contacts/{id}/tags), and of a new customer 4: the upsert
cannot say beforehand whether it will create the contact, and Person Type and lead source are
written on create only (SPEC §5 Step 2), so a contact the upsert created (it has no Person Type)
gets them in a PATCH. A lifecycle update costs 2 (DELETE the previous generic tag, POST the new
one). A reschedule or reassignment also moves the appointment
(XML-RPC DataService.update): 3 calls, the floor for Keap, whose API has no call that swaps a
tag or moves an appointment and tags a contact at once.

An appointment-specific tag names its booking, so it can never be in a warm cache: switching
that kind on costs one more call per event (POST /tags).
"""

import pytest

from apps.demo.samples import BookingStory
from apps.integrations.keap.models import TaggingSettings
from apps.sync.models import JobStatus

from .helpers import by_email, calls_of, deliver, set_step

pytestmark = pytest.mark.django_db(transaction=True)


def _calls(account, envelope):
    [job] = deliver(account, envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return [(c.method, c.url.split("/crm/")[-1].split("?")[0]) for c in calls_of(job)]


def _warm_up(account):
    warm = BookingStory(email="warm@customer.com", owner_email="sam@example.com")
    _calls(account, warm.scheduled())  # cold: users, categories, lead source, tags created once
    _calls(account, warm.canceled())


def test_budget_with_default_settings(account, connector, keap):
    assert not TaggingSettings.for_connector(connector).appointment_tags
    _warm_up(account)
    story = BookingStory(email="budget@customer.com", owner_email="sam@example.com")
    new_booking = _calls(account, story.scheduled())
    contact_id = by_email(keap, "budget@customer.com")[0]["id"]
    assert new_booking == [
        ("PUT", "rest/v1/contacts"),
        ("PATCH", f"rest/v1/contacts/{contact_id}"),  # a new contact: its Person Type, lead source
        ("POST", "xmlrpc/v1"),
        ("POST", f"rest/v1/contacts/{contact_id}/tags"),
    ]
    returning = BookingStory(email="budget@customer.com", owner_email="sam@example.com")
    assert _calls(account, returning.scheduled()) == [  # a known customer: 3, nothing demoted
        ("PUT", "rest/v1/contacts"),
        ("POST", "xmlrpc/v1"),
        ("POST", f"rest/v1/contacts/{contact_id}/tags"),
    ]
    for envelope in (story.canceled(), story.no_show()):  # every generic tag was created once
        update = _calls(account, envelope)
        assert update == [
            ("DELETE", f"rest/v1/contacts/{contact_id}/tags"),
            ("POST", f"rest/v1/contacts/{contact_id}/tags"),
        ]


def test_reschedule_moves_the_appointment_and_swaps_the_tag(account, connector, keap):
    _warm_up(account)
    story = BookingStory(email="moved@customer.com", owner_email="sam@example.com")
    _calls(account, story.scheduled())
    moved = _calls(account, story.rescheduled())
    assert [m for m, _ in moved] == ["POST", "DELETE", "POST"]  # DataService.update, tag swap
    assert moved[0] == ("POST", "xmlrpc/v1")


def test_budget_with_appointment_specific_tags(account, connector, keap):
    set_step(connector, TaggingSettings, appointment_tags=True)
    _warm_up(account)
    story = BookingStory(email="budget2@customer.com", owner_email="sam@example.com")
    new_booking = _calls(account, story.scheduled())
    # + PATCH (a new contact's classification) + POST /tags for "Scheduled (Booking ID: …)"
    assert len(new_booking) == 5, new_booking
    assert ("POST", "rest/v1/tags") in new_booking
    update = _calls(account, story.canceled())
    assert len(update) == 3, update
