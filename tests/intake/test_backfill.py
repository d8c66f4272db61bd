"""Backfill's parts: what a booking's state implies (pure), the API client's paging and bounds
against the OnceHub API sandbox, the outbound policy, and the periodic reconcile's switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from apps.demo.samples import BookingStory, iso
from apps.intake import tasks
from apps.intake.backfill import backfill, envelope_for, envelope_id, implied_events, is_present
from apps.intake.envelope import validate_envelope
from apps.intake.models import Booking, BookingEvent
from apps.intake.oncehub_api import OnceHubApi, OnceHubApiError, store_api_key
from apps.sync import services as sync_services
from tests.factories import AccountFactory


def booking(status: str, **fields) -> dict:
    story = BookingStory()
    data = story.scheduled()["data"]
    return {**data, "status": status, "creation_time": "2030-01-01T09:00:00.000Z",
            "last_updated_time": "2030-01-25T10:00:00.000Z", **fields}


def types(events) -> list[str]:
    return [event.event_type for event in events]


@pytest.mark.parametrize(("status", "fields", "replaced", "expected"), [
    ("requested", {}, False, []),
    ("scheduled", {}, False, ["booking.scheduled"]),
    ("rescheduled", {"rescheduled_booking_id": "BKNG-OLD000000001"}, False, ["booking.rescheduled"]),
    ("completed", {}, False, ["booking.scheduled", "booking.completed"]),
    ("no_show", {}, False, ["booking.scheduled", "booking.completed", "booking.no_show"]),
    ("canceled", {}, False, ["booking.scheduled", "booking.canceled"]),
    ("canceled", {"cancel_reschedule_information": {"actioned_by": "user", "user_id": "USR-1", "reason": ""}},
     True, ["booking.scheduled", "booking.canceled_reschedule_requested"]),
    ("canceled", {"cancel_reschedule_information": {"actioned_by": "customer", "user_id": "", "reason": ""}},
     True, ["booking.scheduled"]),
])
def test_what_a_state_implies(status, fields, replaced, expected) -> None:
    assert types(implied_events(booking(status, **fields), replaced=replaced)) == expected


def test_implied_events_carry_the_state_they_had_then() -> None:
    state = booking("no_show", starting_time="2030-01-20T16:45:00.000Z", duration_minutes=30,
                    contact="CTC-262WER5NR9CG38", utm_params=None)
    made, completed, no_show = implied_events(state, replaced=False)
    assert made.data["status"] == "scheduled" and made.at == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert made.data["last_updated_time"] == "2030-01-01T09:00:00.000Z"
    assert completed.at == datetime(2030, 1, 20, 17, 15, tzinfo=UTC)  # when the meeting ended
    assert completed.data["status"] == "completed"
    assert no_show.data["status"] == "no_show" and no_show.at == datetime(2030, 1, 25, 10, tzinfo=UTC)
    assert "contact" not in no_show.data and "utm_params" not in no_show.data  # REST-only fields


def test_envelopes_are_deterministic_and_pass_the_webhook_checks() -> None:
    state = booking("completed")
    first = [envelope_for(state["id"], event) for event in implied_events(state, replaced=False)]
    again = [envelope_for(state["id"], event) for event in implied_events(state, replaced=False)]
    assert first == again
    assert first[0]["id"] == envelope_id(state["id"], "booking.scheduled") != first[1]["id"]
    assert all(validate_envelope(envelope) is envelope for envelope in first)
    assert is_present("booking.scheduled", {"booking.canceled_then_rescheduled"})
    assert is_present("booking.canceled", {"booking.scheduled", "booking.canceled_reschedule_requested"})
    assert not is_present("booking.completed", {"booking.scheduled"})
    assert not is_present("booking.no_show", {"booking.completed"})


def test_the_client_pages_and_keeps_the_exact_range(oncehub_api) -> None:
    start, end = datetime(2030, 2, 1, 12, tzinfo=UTC), datetime(2030, 2, 3, 12, tzinfo=UTC)
    inside = [booking("scheduled", id=f"BKNG-IN{n:010d}", last_updated_time=iso(start + timedelta(minutes=n)))
              for n in range(150)]
    same_day_outside = booking("scheduled", id="BKNG-OUT00000001",
                               last_updated_time=iso(start - timedelta(hours=1)))
    oncehub_api.load_bookings(*inside, same_day_outside)
    api = OnceHubApi(api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")

    found = [b["id"] for b in api.bookings(start=start, end=end)]

    assert sorted(found) == sorted(b["id"] for b in inside)  # two pages of at most 100
    assert api.check() == "The API key is valid for account: admin@bookbridge.sandbox"


def test_the_client_refuses_in_words(oncehub_api) -> None:
    wrong = OnceHubApi(api_key="wrong", api_base=f"{oncehub_api.url}/v2")
    with pytest.raises(OnceHubApiError) as refused:
        wrong.check()
    assert refused.value.code == "auth" and "OnceHub refused the API key" in str(refused.value)
    private = OnceHubApi(api_key="k", api_base="http://10.1.2.3/v2")
    with pytest.raises(OnceHubApiError) as blocked:
        private.check()
    assert blocked.value.code == "address_refused"
    assert "Bookbridge does not send requests to this OnceHub address" in str(blocked.value)
    oncehub_api.set_faults(error_rate=1.0)  # OnceHub failing (the shared fault injection)
    with pytest.raises(OnceHubApiError) as failing:
        OnceHubApi(api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2").check()
    assert failing.value.code == "server_error"
    assert str(failing.value).startswith("OnceHub had a problem answering. Run the backfill again later.")


def test_reconcile_is_off_by_default() -> None:
    assert settings.ONCEHUB_RECONCILE_HOURS == 0
    assert all(entry["task"] != "bookbridge.intake.reconcile_oncehub"
               for entry in settings.CELERY_BEAT_SCHEDULE.values())


@pytest.mark.django_db(transaction=True)
def test_the_reconcile_task_of_an_account_adds_its_last_hours(oncehub_api, monkeypatch) -> None:
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # no worker here
    account = AccountFactory()
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    recent = iso(datetime.now(UTC) - timedelta(minutes=30))
    oncehub_api.load_bookings(booking("completed", id="BKNG-RECENT00001", creation_time=recent,
                                      last_updated_time=recent))

    assert tasks.reconcile_oncehub() == 0  # off: nothing queued, read or written
    assert not BookingEvent.objects.exists()

    assert tasks.reconcile_oncehub_account(account.pk, 2) == 2  # what each queued task does
    assert set(BookingEvent.objects.values_list("event_type", flat=True)) == {
        "booking.scheduled", "booking.completed"}
    assert tasks.reconcile_oncehub_account(account.pk, 2) == 0  # the same hours again: already there
    store_api_key(account=account, api_key="revoked", api_base=f"{oncehub_api.url}/v2")
    assert tasks.reconcile_oncehub_account(account.pk, 2) == 0  # logged; the next run tries again


@pytest.mark.django_db(transaction=True)
def test_an_owners_reschedule_is_rebuilt_as_one(oncehub_api, monkeypatch) -> None:
    """The old booking (canceled by its owner) and the rebooking that names it: the owner's
    request and the rebooking, so the rebooking reads "Rescheduled by Owner" (SPEC §4)."""
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # no worker here
    account = AccountFactory()
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    old = BookingStory()
    made = old.scheduled()
    request = old.reschedule_requested()
    new, rebooked = old.rebooked_after_request()
    oncehub_api.load_bookings({**request["data"], "creation_time": made["data"]["creation_time"]},
                              rebooked["data"])

    report = backfill(account, datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))

    assert report.added == [f"{old.booking_id} booking.scheduled",
                            f"{old.booking_id} booking.canceled_reschedule_requested",
                            f"{new.booking_id} booking.rescheduled"]
    for event in BookingEvent.objects.order_by("event_created_at"):
        sync_services.process_event(event_id=event.pk)
    states = dict(Booking.objects.values_list("booking_id", "lifecycle_action"))
    assert states == {old.booking_id: "Canceled (reschedule requested by Owner)",
                      new.booking_id: "Rescheduled by Owner"}


@pytest.mark.django_db(transaction=True)
def test_a_booking_the_webhook_checks_refuse_is_reported_not_stored(oncehub_api, monkeypatch) -> None:
    """The synthesised envelopes pass the webhook endpoint's own checks (``schema``): what would
    be a 400 there is listed as refused here, and the other bookings still get their events."""
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # no worker here
    account = AccountFactory()
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    too_long = "x" * 300 + "@customer.test"
    fine = booking("scheduled", id="BKNG-FINE00000001")
    oncehub_api.load_bookings(fine, booking("scheduled", id="BKNG-LONG00000001",
                                            form_submission={"name": "Long", "email": too_long}))

    report = backfill(account, datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 31, tzinfo=UTC))

    assert report.added == ["BKNG-FINE00000001 booking.scheduled"]
    [refused] = report.refused
    assert refused.startswith("BKNG-LONG00000001 booking.scheduled: data.form_submission.email")
    assert report.summary().endswith("1 missed event(s) added, 0 already present, 1 refused.")
    assert list(BookingEvent.objects.values_list("booking_id", flat=True)) == ["BKNG-FINE00000001"]
