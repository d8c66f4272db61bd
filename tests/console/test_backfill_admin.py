"""The admin page of OnceHub API keys: administrators store a key (write-only, checked against the
outbound policy) and run "Backfill the last 24 hours" against the OnceHub API sandbox; staff
never reach the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.accounts.models import Role, SourceApiKey
from apps.demo.samples import BookingStory, iso
from apps.intake.models import BookingEvent
from tests.factories import AccountFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "oncehub-key-through-the-admin"


@pytest.fixture
def people(db):
    account = AccountFactory(slug="acme")
    return {"account": account,
            "admin": MembershipFactory(account=account, role=Role.ADMINISTRATOR).user,
            "staff": MembershipFactory(account=account, role=Role.STAFF).user}


def add_key(client, account, api_base: str, api_key: str = KEY):
    return client.post(reverse("admin:accounts_sourceapikey_add"), {
        "account": account.pk, "source": "oncehub", "api_base": api_base, "api_key": api_key})


def test_staff_never_reach_the_keys(client, people):
    client.force_login(people["staff"])
    assert client.get(reverse("admin:accounts_sourceapikey_changelist")).status_code == 403


def test_an_administrator_stores_a_key_that_is_never_shown_again(client, people, oncehub_api):
    client.force_login(people["admin"])
    refused = add_key(client, people["account"], "https://api.example.com/v2")
    assert refused.status_code == 200 and not SourceApiKey.objects.exists()
    assert "is not a OnceHub address" in refused.content.decode()

    assert add_key(client, people["account"], f"{oncehub_api.url}/v2").status_code == 302
    row = SourceApiKey.objects.get()
    assert row.api_key == KEY
    page = client.get(reverse("admin:accounts_sourceapikey_change", args=[row.pk])).content.decode()
    assert KEY not in page

    kept = client.post(reverse("admin:accounts_sourceapikey_change", args=[row.pk]), {
        "account": people["account"].pk, "source": "oncehub", "api_base": f"{oncehub_api.url}/v2",
        "api_key": ""})
    assert kept.status_code == 302 and SourceApiKey.objects.get().api_key == KEY


def test_the_backfill_action_repairs_the_last_day(client, people, oncehub_api, monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # no worker here
    client.force_login(people["admin"])
    add_key(client, people["account"], f"{oncehub_api.url}/v2", api_key=oncehub_api.api_key)
    story = BookingStory(clock=datetime.now(UTC) - timedelta(hours=3))
    oncehub_api.load_bookings({**story.scheduled()["data"], "last_updated_time": iso(story.clock)})

    answer = client.post(reverse("admin:accounts_sourceapikey_changelist"), {
        "action": "backfill_last_day", "_selected_action": [SourceApiKey.objects.get().pk]}, follow=True)

    text = [str(message) for message in answer.context["messages"]]
    assert any("1 booking(s) seen, 1 missed event(s) added, 0 already present." in t for t in text), text
    assert list(BookingEvent.objects.values_list("booking_id", "event_type")) == [
        (story.booking_id, "booking.scheduled")]
