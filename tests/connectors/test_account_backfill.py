"""Backfill by date range from the account page (SPEC §15): the form's field errors, and a run
against the OnceHub API sandbox (over HTTP) that repairs the events the portal missed and
reports them in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.demo.samples import BookingStory
from apps.intake.models import Booking, BookingEvent
from apps.intake.oncehub_api import store_api_key
from tests.factories import AccountFactory, MembershipFactory
from tests.integrations.keap.test_backfill import as_oncehub_holds_it

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account():
    return AccountFactory(slug="repairs")


@pytest.fixture
def admin(client, account):
    user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    client.force_login(user)
    return user


def run(client, account, start: str, end: str):
    return client.post(reverse("connectors:source-backfill", args=[account.slug]),
                       {"start": start, "end": end})


def field_errors(answer) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in answer.context["backfill_form"].errors.items()}


@pytest.mark.parametrize(("start", "end", "errors"), [
    ("2026-03-10", "2026-03-01", {"end": ["The last day must be on or after the first day."]}),
    ("2026-01-01", "2026-03-01",
     {"end": ["Backfill at most 31 days at a time; split a longer range into months."]}),
    ("", "2026-03-01", {"start": ["Enter the first day to backfill."]}),
    ("yesterday", "2026-03-01", {"start": ["Enter the first day as a date, like 2026-03-01."]}),
    ("2999-01-01", "2999-01-02", {"start": ["The first day is in the future: no bookings to backfill yet."]}),
])
def test_the_range_is_checked_field_by_field(client, admin, account, start, end, errors):
    answer = run(client, account, start, end)
    assert answer.status_code == 400
    assert field_errors(answer) == errors
    body = answer.content.decode()
    assert 'data-testid="backfill-field-error"' in body and 'is-invalid' in body
    assert not BookingEvent.objects.exists()


def test_without_an_api_key_the_page_says_what_to_do(client, admin, account):
    today = timezone.now().date().isoformat()
    answer = run(client, account, today, today)
    assert answer.status_code == 400
    assert "no OnceHub API key" in answer.content.decode()


def test_a_range_is_repaired_from_the_oncehub_api_and_reported(client, admin, account, oncehub_api):
    store_api_key(account=account, api_key=oncehub_api.api_key, api_base=f"{oncehub_api.url}/v2")
    two_days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    story = BookingStory(email="lost@customer.test", clock=two_days_ago)
    scheduled = story.scheduled()
    canceled = story.canceled()
    oncehub_api.load_bookings(as_oncehub_holds_it(scheduled, canceled))

    start = (two_days_ago - timedelta(days=1)).date().isoformat()
    answer = run(client, account, start, timezone.now().date().isoformat())
    assert answer.status_code == 200, field_errors(answer)
    report = answer.context["backfill_report"]
    assert report.bookings_seen == 1 and report.events_added == 2 and report.refused == []
    text = answer.content.decode()
    assert "1 booking seen in OnceHub, 2 missed events added, 0 already present." in text
    stored = set(BookingEvent.objects.filter(account=account).values_list("event_type", flat=True))
    assert stored == {"booking.scheduled", "booking.canceled"}

    again = run(client, account, start, timezone.now().date().isoformat())
    assert again.context["backfill_report"].already_present == 2
    assert BookingEvent.objects.filter(account=account).count() == 2
    assert not Booking.objects.exclude(account=account).exists()
