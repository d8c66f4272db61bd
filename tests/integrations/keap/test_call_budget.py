"""SPEC §10 call budget, asserted from CrmCall rows.

With warm caches a new booking costs ≤ 3 Keap calls (PUT /contacts upsert, XML-RPC
DataService.add, POST /contacts/{id}/tags) and a lifecycle update ≤ 2 (DELETE the previous
generic tag, POST the new one). An appointment-specific tag names its booking, so it can never
be in a warm cache: when that kind is on, each booking event costs one more call (POST /tags).
"""

import pytest

from apps.demo.samples import BookingStory
from apps.integrations.keap.models import TaggingSettings
from apps.sync.models import JobStatus

from .helpers import calls_of, deliver, set_step

pytestmark = pytest.mark.django_db(transaction=True)


def _calls(account, envelope):
    [job] = deliver(account, envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return [(c.method, c.url.split("/crm/")[-1].split("?")[0]) for c in calls_of(job)]


def _warm_up(account):
    warm = BookingStory(email="warm@customer.com", owner_email="sam@example.com")
    _calls(account, warm.scheduled())  # cold: users, categories, lead source, tags created once
    _calls(account, warm.canceled())


def test_budget_with_warm_caches(account, connector, keap):
    set_step(connector, TaggingSettings, appointment_tags=False)
    _warm_up(account)
    story = BookingStory(email="budget@customer.com", owner_email="sam@example.com")
    new_booking = _calls(account, story.scheduled())
    assert new_booking == [
        ("PUT", "rest/v1/contacts"),
        ("POST", "xmlrpc/v1"),
        ("POST", f"rest/v1/contacts/{new_booking and _contact_id(keap)}/tags"),
    ]
    assert len(new_booking) <= 3
    for envelope in (story.canceled(), story.no_show()):  # every generic tag was created once
        update = _calls(account, envelope)
        assert len(update) <= 2, update
        assert [m for m, _ in update] == ["DELETE", "POST"]


def test_budget_with_appointment_specific_tags(account, connector, keap):
    _warm_up(account)
    story = BookingStory(email="budget2@customer.com", owner_email="sam@example.com")
    new_booking = _calls(account, story.scheduled())
    assert len(new_booking) <= 4, new_booking  # + POST /tags for "Scheduled (Booking ID: …)"
    update = _calls(account, story.canceled())
    assert len(update) <= 3, update


def _contact_id(keap):
    from .helpers import by_email

    return by_email(keap, "budget@customer.com")[0]["id"]
