"""All ten lifecycle actions: generic tag (only the latest), appointment-specific tags
(accumulating, with the booking id), and the appointment after reschedule and reassignment."""

from datetime import UTC, datetime

import pytest

from apps.demo.samples import BookingStory
from apps.directory.models import SchedulingUser
from apps.integrations.keap.planner import GENERIC_TAGS
from apps.sync.models import JobStatus

from .helpers import appointments, by_email, deliver, tag_names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("appointment_tags_on")]


def _step(account, keap, story, envelope, email):
    jobs = deliver(account, envelope)
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED], [j.error for j in jobs]
    [contact] = by_email(keap, email)
    names = tag_names(keap, contact)
    return contact, {n for n in names if n in GENERIC_TAGS}, {n for n in names if "(Booking ID:" in n}


def _specific(action, story):
    return f"{action} (Booking ID: {story.booking_id})"


def test_reschedule_reassign_complete_no_show(account, connector, keap):
    SchedulingUser.objects.create(account=account, external_id="USR-CASEY00001", email="casey@example.com")
    email = "a@customer.com"
    story = BookingStory(email=email, owner_email="sam@example.com")
    _, generic, specific = _step(account, keap, story, story.scheduled(), email)
    assert generic == {"Scheduled"} and specific == {_specific("Scheduled", story)}
    [appointment] = appointments(keap)

    new_start = datetime(2030, 2, 3, 10, 0, tzinfo=UTC)
    _, generic, specific = _step(account, keap, story, story.rescheduled(to=new_start), email)
    assert generic == {"Rescheduled by Customer"}
    assert specific == {_specific("Scheduled", story), _specific("Rescheduled by Customer", story)}
    [moved] = appointments(keap)
    assert moved["Id"] == appointment["Id"]
    assert (moved["ActionDate"], moved["EndDate"]) == ("2030-02-03T10:00:00", "2030-02-03T10:30:00")

    story.owner_email = "casey@example.com"
    _, generic, specific = _step(account, keap, story, story.reassigned(new_owner_id="USR-CASEY00001"), email)
    assert generic == {"Rescheduled (Reassigned by User)"}
    assert _specific("Rescheduled (Reassigned by User)", story) in specific
    [reassigned] = appointments(keap)
    assert reassigned["Id"] == appointment["Id"] and reassigned["UserID"] == 5

    _, generic, specific = _step(account, keap, story, story.completed(), email)
    assert generic == {"Completed"}
    _, generic, specific = _step(account, keap, story, story.no_show(), email)
    assert generic == {"No-show"}
    assert specific == {
        _specific(a, story)
        for a in (
            "Scheduled",
            "Rescheduled by Customer",
            "Rescheduled (Reassigned by User)",
            "Completed",
            "No-show",
        )
    }
    assert len(appointments(keap)) == 1


def test_scheduled_reassigned_then_canceled_by_owner(account, connector, keap):
    SchedulingUser.objects.create(account=account, external_id="USR-CASEY00001", email="casey@example.com")
    email = "b@customer.com"
    story = BookingStory(email=email, owner_email="sam@example.com")
    _step(account, keap, story, story.scheduled(), email)
    story.owner_email = "casey@example.com"
    _, generic, _ = _step(account, keap, story, story.reassigned(new_owner_id="USR-CASEY00001"), email)
    assert generic == {"Scheduled (Reassigned by User)"}
    assert appointments(keap)[0]["UserID"] == 5
    _, generic, specific = _step(account, keap, story, story.canceled(by="user"), email)
    assert generic == {"Canceled by Owner"}
    assert _specific("Canceled by Owner", story) in specific


def test_canceled_by_customer(account, connector, keap):
    email = "c@customer.com"
    story = BookingStory(email=email, owner_email="sam@example.com")
    _step(account, keap, story, story.scheduled(), email)
    _, generic, specific = _step(account, keap, story, story.canceled(by="customer"), email)
    assert generic == {"Canceled by Customer"}
    assert specific == {_specific("Scheduled", story), _specific("Canceled by Customer", story)}


def test_owner_requests_reschedule_and_customer_rebooks(account, connector, keap):
    email = "d@customer.com"
    story = BookingStory(email=email, owner_email="sam@example.com")
    _step(account, keap, story, story.scheduled(), email)
    [appointment] = appointments(keap)
    _, generic, _ = _step(account, keap, story, story.reschedule_requested(), email)
    assert generic == {"Canceled (reschedule requested by Owner)"}
    follow_up, envelope = story.rebooked_after_request()
    _, generic, specific = _step(account, keap, follow_up, envelope, email)
    assert generic == {"Rescheduled by Owner"}
    assert _specific("Rescheduled by Owner", follow_up) in specific
    assert _specific("Canceled (reschedule requested by Owner)", story) in specific
    [moved] = appointments(keap)  # the original appointment moved, never duplicated
    assert moved["Id"] == appointment["Id"]
    assert moved["ActionDate"].startswith(follow_up.start.strftime("%Y-%m-%dT%H:%M"))


def test_canceled_then_rescheduled_and_switching_tag_kinds(account, connector, keap):
    from apps.integrations.keap.models import TaggingSettings

    email = "e@customer.com"
    story = BookingStory(email=email, owner_email="sam@example.com")
    _step(account, keap, story, story.scheduled(), email)
    _, generic, _ = _step(account, keap, story, story.canceled_then_rescheduled(), email)
    assert generic == {"Rescheduled by Customer"}
    TaggingSettings.objects.filter(connector=connector).update(appointment_tags=False)
    _, generic, specific = _step(account, keap, story, story.completed(), email)
    assert generic == {"Completed"}
    assert _specific("Completed", story) not in specific
    TaggingSettings.objects.filter(connector=connector).update(appointment_tags=True, generic_tags=False)
    _, generic, specific = _step(account, keap, story, story.no_show(), email)
    assert generic == {"Completed"}  # generic tags switched off: left alone
    assert _specific("No-show", story) in specific
