"""SPEC §4: every webhook type maps to the right lifecycle action; booking state converges."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.demo.samples import BookingStory
from apps.intake.lifecycle import LifecycleAction as A
from apps.intake.lifecycle import derive_action
from apps.intake.models import Booking, BookingEvent
from apps.intake.services import accept_delivery, apply_event
from tests.factories import AccountFactory


def action_of(envelope, previous=None):
    return derive_action(envelope["type"], envelope["data"], previous_booking_action=previous)


# --- the pure mapping --------------------------------------------------------------------------

def test_every_booking_webhook_type_maps_to_its_action():
    story = BookingStory()
    assert action_of(story.scheduled()) == A.SCHEDULED
    assert action_of(story.rescheduled()) == A.RESCHEDULED_BY_CUSTOMER
    assert action_of(story.canceled_then_rescheduled()) == A.RESCHEDULED_BY_CUSTOMER
    assert action_of(story.reschedule_requested()) == A.CANCELED_RESCHEDULE_REQUESTED
    assert action_of(story.completed()) == A.COMPLETED
    assert action_of(story.canceled(by="customer")) == A.CANCELED_BY_CUSTOMER
    assert action_of(story.canceled(by="user")) == A.CANCELED_BY_OWNER
    assert action_of(story.no_show()) == A.NO_SHOW


def test_both_reassigned_variants():
    scheduled = BookingStory()
    scheduled.scheduled()
    assert action_of(scheduled.reassigned()) == A.SCHEDULED_REASSIGNED
    rescheduled = BookingStory()
    rescheduled.rescheduled()
    assert action_of(rescheduled.reassigned()) == A.RESCHEDULED_REASSIGNED


def test_owner_requested_reschedule_chain():
    original = BookingStory()
    original.scheduled()
    original.reschedule_requested()
    follow_up, rebooked = original.rebooked_after_request()
    assert rebooked["data"]["rescheduled_booking_id"] == original.booking_id
    assert action_of(rebooked, previous=A.CANCELED_RESCHEDULE_REQUESTED) == A.RESCHEDULED_BY_OWNER
    assert action_of(rebooked, previous=A.SCHEDULED) == A.RESCHEDULED_BY_CUSTOMER


def test_api_cancellation_without_actioned_by_is_the_owners():
    story = BookingStory()
    event = story.canceled(by="")
    event["data"]["cancel_reschedule_information"]["user_id"] = "USR-ACCOUNTOWNER"
    assert action_of(event) == A.CANCELED_BY_OWNER


def test_conversation_events_have_no_action():
    assert derive_action("conversation.started", {}) is None


# --- convergence in the database ----------------------------------------------------------------

def _store(account, envelope):
    return accept_delivery(account=account, raw_body="{}", envelope=envelope,
                           signature_timestamp=None).event


def _final_state(account, booking_id):
    booking = Booking.objects.get(account=account, booking_id=booking_id)
    return (booking.lifecycle_action, booking.status, booking.starting_time,
            booking.latest_event.payload["id"])


LIFECYCLES = {
    "reschedule then cancel": lambda s: [s.scheduled(), s.rescheduled(), s.rescheduled(),
                                         s.canceled(by="user")],
    "complete then no-show": lambda s: [s.scheduled(), s.completed(), s.no_show()],
    "reassign after reschedule": lambda s: [s.scheduled(), s.rescheduled(), s.reassigned()],
}


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(LIFECYCLES)), seed=st.integers(0, 10_000),
       duplicates=st.integers(0, 3))
def test_shuffled_and_duplicated_deliveries_converge(name, seed, duplicates):
    account = AccountFactory(slug=f"conv-{seed}-{duplicates}-{name[:4]}")
    story = BookingStory()
    events = LIFECYCLES[name](story)
    in_order = [_store(account, e) for e in events]
    for event in in_order:
        apply_event(event=event)
    expected = _final_state(account, story.booking_id)

    other = AccountFactory(slug=f"conv2-{seed}-{duplicates}-{name[:4]}")
    rng = random.Random(seed)
    deliveries = events + [rng.choice(events) for _ in range(duplicates)]
    rng.shuffle(deliveries)
    for envelope in deliveries:
        event = _store(other, envelope)
        apply_event(event=event)
    assert _final_state(other, story.booking_id) == expected
    assert BookingEvent.objects.filter(account=other).count() == len(events)


@pytest.mark.django_db
def test_owner_reschedule_recognised_when_rebooking_arrives_first():
    account = AccountFactory(slug="chain")
    original = BookingStory()
    first = original.scheduled()
    requested = original.reschedule_requested()
    follow_up, rebooked = original.rebooked_after_request()
    for envelope in (rebooked, first, requested):  # the rebooking overtakes the request
        apply_event(event=_store(account, envelope))
    booking = Booking.objects.get(account=account, booking_id=follow_up.booking_id)
    assert booking.lifecycle_action == A.RESCHEDULED_BY_OWNER
    assert BookingEvent.objects.get(payload__id=rebooked["id"]).lifecycle_action == A.RESCHEDULED_BY_OWNER


@pytest.mark.django_db
def test_directory_is_learned_from_expanded_objects():
    from apps.demo.samples import official_example
    from apps.directory.models import BookingPage, SchedulingUser

    account = AccountFactory(slug="dir")
    apply_event(event=_store(account, official_example()))
    owner = SchedulingUser.objects.get(account=account, external_id="USR-YX0J4ANZTV")
    assert owner.email == "michael@example.com" and owner.first_name == "Michael"
    page = BookingPage.objects.get(account=account, external_id="BKC-LDJ878496X")
    assert page.label == "Andrea Hartie booking calendar"
    assert page.owner == owner


@pytest.mark.django_db
def test_collapsed_ids_create_editable_entries_and_keep_labels():
    from apps.directory.models import BookingPage

    account = AccountFactory(slug="dir2")
    story = BookingStory(booking_page="BP-COLLAPSED01")
    apply_event(event=_store(account, story.scheduled()))
    page = BookingPage.objects.get(account=account, external_id="BP-COLLAPSED01")
    assert page.label == ""
    page.label = "Sales demo"  # typed by an administrator in admin
    page.save()
    apply_event(event=_store(account, story.rescheduled()))
    page.refresh_from_db()
    assert page.label == "Sales demo"
