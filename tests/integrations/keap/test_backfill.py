"""Backfill after an outage (SPEC §15): bookings OnceHub knows (the OnceHub API sandbox) whose
webhooks never reached the portal are repaired through the intake, and a live Keap connector
(the Keap sandbox) ends in the state the bookings imply. Real PostgreSQL, both sandboxes over HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from apps.demo.samples import BookingStory
from apps.intake.backfill import BackfillError, backfill
from apps.intake.models import Booking, BookingEvent
from apps.intake.oncehub_api import OnceHubApiError, store_api_key
from apps.sync import services as sync_services
from apps.sync.models import JobStatus, SyncJob

from .helpers import appointments, by_email, deliver, tag_names

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("appointment_tags_on")]

START, END = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC)


def as_oncehub_holds_it(first: dict, latest: dict) -> dict:
    """The booking as OnceHub's API shows it: the latest state, created when it was first made."""
    return {**latest["data"], "creation_time": first["data"]["creation_time"]}


def run_added_events() -> list[SyncJob]:
    """What the workers would do with the events the backfill stored, oldest first."""
    jobs = []
    for event in BookingEvent.objects.filter(envelope_id__startswith="EVNT-BF").order_by("event_created_at"):
        jobs += sync_services.process_event(event_id=event.pk)
    return jobs


@pytest.fixture
def outage(account, connector, oncehub_api):
    """Three bookings: one whose cancellation was lost, one never seen at all (scheduled and
    completed during the outage), one with nothing lost."""
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    canceled = BookingStory(email="ann@customer.test", name="Ann Lost", owner_email="sam@example.com")
    scheduled = canceled.scheduled()
    [job] = deliver(account, scheduled)
    assert job.status == JobStatus.SUCCEEDED, job.error
    lost_cancel = canceled.canceled()

    unseen = BookingStory(email="bob@customer.test", name="Bob Unseen", owner_email="sam@example.com")
    unseen_first, unseen_last = unseen.scheduled(), unseen.completed()

    kept = BookingStory(email="cy@customer.test", name="Cy Kept", owner_email="sam@example.com")
    kept_event = kept.scheduled()
    [job] = deliver(account, kept_event)
    assert job.status == JobStatus.SUCCEEDED, job.error

    oncehub_api.load_bookings(as_oncehub_holds_it(scheduled, lost_cancel),
                              as_oncehub_holds_it(unseen_first, unseen_last),
                              as_oncehub_holds_it(kept_event, kept_event))
    return canceled, unseen, kept


def test_missed_events_are_repaired_and_synced_to_keap(account, outage, keap):
    canceled, unseen, kept = outage
    report = backfill(account, START, END)

    assert report.bookings_seen == 3
    assert sorted(report.added) == sorted([
        f"{canceled.booking_id} booking.canceled",
        f"{unseen.booking_id} booking.scheduled",
        f"{unseen.booking_id} booking.completed",
    ])
    assert report.already_present == 2 and report.refused == []
    jobs = run_added_events()
    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 3, [job.error for job in jobs]

    states = dict(Booking.objects.filter(account=account).values_list("booking_id", "lifecycle_action"))
    assert states == {canceled.booking_id: "Canceled by Customer", unseen.booking_id: "Completed",
                      kept.booking_id: "Scheduled"}
    [ann] = by_email(keap, "ann@customer.test")
    assert tag_names(keap, ann) >= {"Canceled by Customer",
                                    f"Canceled by Customer (Booking ID: {canceled.booking_id})"}
    assert "Scheduled" not in tag_names(keap, ann)  # generic tags show the latest status only
    [bob] = by_email(keap, "bob@customer.test")
    assert tag_names(keap, bob) >= {"Completed", f"Scheduled (Booking ID: {unseen.booking_id})"}
    assert sorted(a["ContactId"] for a in appointments(keap)) == sorted(
        [ann["id"], bob["id"], by_email(keap, "cy@customer.test")[0]["id"]])


def test_a_second_backfill_of_the_range_writes_nothing(account, outage, keap):
    backfill(account, START, END)
    events, jobs = BookingEvent.objects.count(), SyncJob.objects.count()

    again = backfill(account, START, END)

    assert again.added == [] and again.already_present == 5
    assert (BookingEvent.objects.count(), SyncJob.objects.count()) == (events, jobs)


def test_a_refused_key_or_a_bad_range_writes_nothing(account, outage, oncehub_api):
    events = BookingEvent.objects.count()
    store_api_key(account=account, api_key="not-the-key", api_base=f"{oncehub_api.url}/v2")
    with pytest.raises(OnceHubApiError) as refused:
        backfill(account, START, END)
    assert refused.value.code == "auth"
    assert str(refused.value).startswith("OnceHub refused the API key. Copy the account's current key")
    assert "OnceHub said: Invalid API key." in str(refused.value)

    with pytest.raises(BackfillError, match="The range must end after it starts"):
        backfill(account, END, START)
    with pytest.raises(BackfillError, match="longer than 92 days"):
        backfill(account, START, datetime(2030, 6, 1, tzinfo=UTC))
    assert BookingEvent.objects.count() == events


def test_the_command_reports_and_refuses_in_words(account, outage, oncehub_api, capsys):
    canceled, unseen, _ = outage
    call_command("backfill", account.slug, "--from", "2030-01-01", "--to", "2030-01-02",
                 "--api-key", oncehub_api.api_key, "--api-base", f"{oncehub_api.url}/v2")
    out = capsys.readouterr().out
    assert "Stored the account's OnceHub API key (encrypted)." in out
    assert f"added {unseen.booking_id} booking.completed" in out
    assert "3 booking(s) seen, 3 missed event(s) added, 2 already present." in out

    call_command("backfill", account.slug, "--check", "--api-key", "-", "--api-base", f"{oncehub_api.url}/v2",
                 stdin=io.StringIO(f"{oncehub_api.api_key}\n"))  # the key from standard input
    assert "The API key is valid for account: admin@bookbridge.sandbox" in capsys.readouterr().out

    refusals = {
        ("nobody", "--from", "2030-01-01"): "There is no account 'nobody'.",
        (account.slug, "--from", "soon"): "Not a date, datetime or age (30m, 6h, 2d): 'soon'",
        (account.slug,): "Give the start of the range: --from",
        (account.slug, "--from", "2030-01-02", "--to", "2030-01-01"): "The range must end after it starts.",
        (account.slug, "--from", "2h", "--api-key", "k", "--api-base", "https://example.com/v2"):
            "Bookbridge does not send requests to this OnceHub address",
    }
    for args, message in refusals.items():
        with pytest.raises(CommandError) as refused:
            call_command("backfill", *args)
        assert message in str(refused.value), (args, str(refused.value))
