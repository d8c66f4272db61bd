"""All ten lifecycle actions on the one meeting of a booking: ``hs_meeting_outcome``, times,
owner, and (installed) the exact action and reason in the Bookbridge meeting properties."""

from datetime import UTC, datetime

import pytest

from apps.directory.models import SchedulingUser
from apps.integrations.hubspot import metadata, services
from apps.integrations.hubspot.models import LIFECYCLE_PROPERTY, REASON_PROPERTY
from apps.sync.models import CrmRecordLink, JobStatus

from .helpers import deliver, links_of, records, story

pytestmark = pytest.mark.django_db(transaction=True)

SAM = "6166862"


@pytest.fixture
def installed(connector):
    metadata.install_meeting_properties(connector)
    present, missing = metadata.meeting_property_check(connector)
    services.save_meeting_check(connector=connector, present=present, missing=missing)


@pytest.fixture
def sam(account):
    return SchedulingUser.objects.create(
        account=account, external_id="USR-SAMSALES01", email="sam.sales@bookbridge.sandbox"
    )


def _step(account, hubspot, envelope):
    jobs = deliver(account, envelope)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED], [j.error for j in jobs]
    [meeting] = records(hubspot, "meetings")
    return meeting["id"], meeting["properties"]


def _state(props):
    return props["hs_meeting_outcome"], props[LIFECYCLE_PROPERTY]


@pytest.mark.usefixtures("installed", "sam")
def test_reschedule_reassign_complete_no_show(account, connector, hubspot):
    booking = story(email="a@customer.test")
    first, props = _step(account, hubspot, booking.scheduled())
    assert _state(props) == ("SCHEDULED", "Scheduled") and not props.get(REASON_PROPERTY)
    same, props = _step(account, hubspot, booking.rescheduled(to=datetime(2030, 2, 3, 10, 0, tzinfo=UTC)))
    assert same == first and _state(props) == ("RESCHEDULED", "Rescheduled by Customer")
    assert props[REASON_PROPERTY] == "Conflict"
    assert props["hs_meeting_start_time"].startswith("2030-02-03T10:00:00")
    assert props["hs_meeting_end_time"].startswith("2030-02-03T10:30:00")
    booking.owner_email = "sam.sales@bookbridge.sandbox"
    _, props = _step(account, hubspot, booking.reassigned(new_owner_id="USR-SAMSALES01"))
    assert _state(props) == ("RESCHEDULED", "Rescheduled (Reassigned by User)")
    assert props["hubspot_owner_id"] == SAM
    _, props = _step(account, hubspot, booking.completed())
    assert _state(props) == ("COMPLETED", "Completed")
    _, props = _step(account, hubspot, booking.no_show())
    assert _state(props) == ("NO_SHOW", "No-show")


@pytest.mark.usefixtures("installed", "sam")
def test_scheduled_reassigned_then_canceled_by_owner(account, connector, hubspot):
    booking = story(email="b@customer.test")
    _step(account, hubspot, booking.scheduled())
    booking.owner_email = "sam.sales@bookbridge.sandbox"
    _, props = _step(account, hubspot, booking.reassigned(new_owner_id="USR-SAMSALES01"))
    assert (
        _state(props) == ("SCHEDULED", "Scheduled (Reassigned by User)") and props["hubspot_owner_id"] == SAM
    )
    _, props = _step(account, hubspot, booking.canceled(by="user"))
    assert _state(props) == ("CANCELED", "Canceled by Owner") and props[REASON_PROPERTY] == "Plans changed"


@pytest.mark.usefixtures("installed")
def test_canceled_by_customer_and_canceled_then_rescheduled(account, connector, hubspot):
    booking = story(email="c@customer.test")
    _step(account, hubspot, booking.scheduled())
    _, props = _step(account, hubspot, booking.canceled(by="customer"))
    assert _state(props) == ("CANCELED", "Canceled by Customer")
    _, props = _step(account, hubspot, booking.canceled_then_rescheduled())
    assert _state(props) == ("RESCHEDULED", "Rescheduled by Customer")


@pytest.mark.usefixtures("installed")
def test_reschedule_requested_then_rebooked_moves_the_same_meeting(account, connector, hubspot):
    booking = story(email="d@customer.test")
    first, _ = _step(account, hubspot, booking.scheduled())
    _, props = _step(account, hubspot, booking.reschedule_requested())
    assert _state(props) == ("CANCELED", "Canceled (reschedule requested by Owner)")
    assert props[REASON_PROPERTY] == "Please pick another time"
    follow_up, envelope = booking.rebooked_after_request()
    moved, props = _step(account, hubspot, envelope)
    assert moved == first and _state(props) == ("RESCHEDULED", "Rescheduled by Owner")
    assert props["hs_meeting_start_time"].startswith(follow_up.start.strftime("%Y-%m-%dT%H:%M"))


def test_without_the_meeting_properties_the_outcome_still_follows(account, connector, hubspot):
    booking = story(email="e@customer.test")
    _step(account, hubspot, booking.scheduled())
    _, props = _step(account, hubspot, booking.no_show())
    assert props["hs_meeting_outcome"] == "NO_SHOW" and LIFECYCLE_PROPERTY not in props


def test_a_meeting_deleted_in_hubspot_is_made_again(account, connector, hubspot):
    booking = story(email="f@customer.test")
    gone, _ = _step(account, hubspot, booking.scheduled())
    hubspot.delete_record("meetings", gone)
    [job] = deliver(account, booking.canceled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    [meeting] = records(hubspot, "meetings")
    assert meeting["id"] != gone and meeting["properties"]["hs_meeting_outcome"] == "CANCELED"
    assert job.result["meeting_id_gone"] == gone
    assert [s["op"] for s in job.plan] == ["use_contact", "create_meeting"]
    assert (
        CrmRecordLink.objects.get(booking_id=booking.booking_id, record_type="meeting").crm_id
        == meeting["id"]
    )
    [contact_id] = links_of(hubspot, "meetings", meeting["id"], "contacts")
    assert (
        contact_id == CrmRecordLink.objects.get(booking_id=booking.booking_id, record_type="contact").crm_id
    )
