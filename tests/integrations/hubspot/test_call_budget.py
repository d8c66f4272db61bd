"""Call budgets counted from the CRM call log (SPEC §14): a new booking with warm caches is 2
HubSpot calls, every lifecycle update 1."""

import pytest

from apps.integrations.hubspot import metadata
from apps.sync.models import CrmRecordLink, JobStatus

from .helpers import calls_of, deliver, story

pytestmark = pytest.mark.django_db(transaction=True)


def _job(account, envelope):
    [job] = deliver(account, envelope)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _paths(job, base):
    return [f"{c.method} {c.url.removeprefix(base).split('?')[0]}" for c in calls_of(job)]


def test_new_booking_two_calls_then_one_per_update(account, connector, hubspot):
    metadata.crm_users(connector)  # warm: the owners are read once an hour, not per booking
    _job(account, story(email="warm@acme-budget.test").scheduled())  # the company's id is saved

    booking = story(email="new@acme-budget.test")
    job = _job(account, booking.scheduled())
    assert _paths(job, hubspot.url) == [
        "POST /crm/objects/2026-03/contacts",
        "POST /crm/objects/2026-03/meetings",
    ]
    for envelope in (booking.rescheduled(), booking.canceled(), booking.no_show()):
        job = _job(account, envelope)
        assert [c.method for c in calls_of(job)] == ["PATCH"]


def test_repeat_booker_costs_two_calls_too(account, connector, hubspot):
    metadata.crm_users(connector)
    _job(account, story(email="again@acme-budget.test").scheduled())
    first_contact = CrmRecordLink.objects.get(record_type="contact").crm_id
    job = _job(account, story(email="again@acme-budget.test", name="Again Booker").scheduled())
    assert _paths(job, hubspot.url) == [
        f"PATCH /crm/objects/2026-03/contacts/{first_contact}",
        "POST /crm/objects/2026-03/meetings",
    ]
