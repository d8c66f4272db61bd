"""Calendly intake: its signature, its 4xx answers, and its events as lifecycle actions."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.demo.source_samples import CalendlyStory, sign_calendly
from apps.intake.lifecycle import LifecycleAction
from apps.intake.models import BookingEvent
from apps.intake.sources.calendly.signature import HEADER, signature_header
from tests.factories import AccountFactory

from .helpers import CALENDLY_KEY, booking, connect, fold, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(slug="acme")
    connect(account, "calendly", CALENDLY_KEY)
    return account


def rejected(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["error"] == error and document["detail"]
    assert BookingEvent.objects.count() == 0
    return document


def signed(body: bytes, *, key: str = CALENDLY_KEY, timestamp: int | None = None) -> dict[str, str]:
    return {HEADER: signature_header(key, timestamp or int(time.time()), body)}


def test_a_signed_invitee_is_stored_raw_with_its_booking_in_oncehubs_shape(account, client):
    story = CalendlyStory()
    body, headers = sign_calendly(story.created(), CALENDLY_KEY)
    response = post(client, "calendly", "acme", body, headers)
    assert response.status_code == 202, response.content
    event = BookingEvent.objects.get()
    assert response.json() == {"status": "accepted", "id": event.envelope_id}
    assert event.source == "calendly" and event.raw_body.encode() == body
    assert event.booking_id == story.invitee_uuid and event.customer_email == "jane.doe@example.com"
    data = event.booking_data
    assert data["form_submission"]["name"] == "Jane Doe"
    assert data["owner"]["email"] == "sam.host@example.org"
    assert data["subject"] == "30 Minute Discovery Call" and data["duration_minutes"] == 30
    fields = {f["name"]: f["value"] for f in data["form_submission"]["custom_fields"]}
    assert fields == {"Company name": "Example GmbH", "Team size": "50-200", "utm_campaign": "autumn-webinar",
                      "utm_source": "newsletter", "utm_medium": "email"}
    assert data["utm_params"]["campaign"] == "autumn-webinar"


def test_the_same_delivery_again_is_a_duplicate(account, client):
    body, headers = sign_calendly(CalendlyStory().created(), CALENDLY_KEY)
    assert post(client, "calendly", "acme", body, headers).status_code == 202
    again = post(client, "calendly", "acme", body, signed(body))  # a retry, signed anew
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert BookingEvent.objects.count() == 1


def test_wrong_key(account, client):
    body = json.dumps(CalendlyStory().created()).encode()
    answer = post(client, "calendly", "acme", body, signed(body, key="not-the-key"))
    rejected(answer, 401, "invalid_signature")


def test_stale_timestamp(account, client):
    body = json.dumps(CalendlyStory().created()).encode()
    answer = post(client, "calendly", "acme", body, signed(body, timestamp=int(time.time()) - 301))
    document = rejected(answer, 401, "invalid_signature")
    assert "seconds away from now" in document["detail"]


def test_tampered_body(account, client):
    body = json.dumps(CalendlyStory().created()).encode()
    headers = signed(body)
    answer = post(client, "calendly", "acme", body.replace(b"Jane", b"John"), headers)
    rejected(answer, 401, "invalid_signature")


def test_missing_header(account, client):
    body = json.dumps(CalendlyStory().created()).encode()
    document = rejected(post(client, "calendly", "acme", body, {}), 401, "invalid_signature")
    assert HEADER in document["detail"]


@pytest.mark.parametrize("header", ["v1=abc", "t=now,v1=abc", "t=1700000000", "s=abc"])
def test_malformed_header(account, client, header):
    body = json.dumps(CalendlyStory().created()).encode()
    rejected(post(client, "calendly", "acme", body, {HEADER: header}), 401, "invalid_signature")


@pytest.mark.parametrize("slug", ["other", "no-such-account"])
def test_an_account_without_a_calendly_connection_answers_like_a_bad_signature(account, client, slug):
    AccountFactory(slug="other")
    body, headers = sign_calendly(CalendlyStory().created(), CALENDLY_KEY)
    unknown = post(client, "calendly", slug, body, headers)
    forged = post(client, "calendly", "acme", body, signed(body, key="not-the-key"))
    assert (unknown.status_code, unknown.content) == (forged.status_code, forged.content)
    rejected(unknown, 401, "invalid_signature")


def test_an_invitee_without_its_uri_is_refused_by_path(account, client):
    document = CalendlyStory().created()
    del document["payload"]["uri"]
    body, headers = sign_calendly(document, CALENDLY_KEY)
    answer = rejected(post(client, "calendly", "acme", body, headers), 400, "invalid_envelope")
    assert answer["detail"] == ["payload.uri: required (the invitee's URI)"]


def test_malformed_json(account, client):
    body = b'{"event": "invitee.created",'
    rejected(post(client, "calendly", "acme", body, signed(body)), 400, "malformed_json")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)
_FIELDS = ["event", "created_at", "payload", "payload.uri", "payload.email", "payload.scheduled_event",
           "payload.scheduled_event.start_time", "payload.scheduled_event.event_memberships",
           "payload.old_invitee", "payload.rescheduled", "payload.tracking", "payload.questions_and_answers"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_FIELDS), value=_json)
def test_any_value_in_a_read_field_gets_202_or_a_clear_400(account, client, path, value):
    """Property: whatever a signed delivery carries where the product reads, never a 500."""
    document = CalendlyStory().created()
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    body, headers = sign_calendly(document, CALENDLY_KEY)
    response = post(client, "calendly", "acme", body, headers)
    assert response.status_code in (200, 202, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"] in ("invalid_envelope", "invalid_characters")
        assert response.json()["detail"]
    else:
        event = BookingEvent.objects.get(envelope_id=response.json()["id"])
        fold(account, "calendly", event.payload)  # what is accepted can be folded


# --- lifecycle ----------------------------------------------------------------------------

def test_created_then_canceled_by_the_host(account):
    story = CalendlyStory()
    assert fold(account, "calendly", story.created()).lifecycle_action == LifecycleAction.SCHEDULED
    canceled = fold(account, "calendly", story.canceled(by="host"))
    assert canceled.lifecycle_action == LifecycleAction.CANCELED_BY_OWNER
    assert booking(account, story.invitee_uuid).status == "canceled"


@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-first", "created-first"])
def test_a_reschedule_is_one_rescheduled_of_the_same_chain_in_either_order(account, cancel_first):
    story = CalendlyStory()
    fold(account, "calendly", story.created())
    old_id = story.invitee_uuid
    cancel_half, created_half = story.rescheduled()
    order = [cancel_half, created_half] if cancel_first else [created_half, cancel_half]
    events = {e.event_type: e for e in (fold(account, "calendly", d) for d in order)}
    assert events["invitee.canceled"].lifecycle_action == ""  # folded, never synced as a cancel
    assert events["invitee.created"].lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER
    new = booking(account, story.invitee_uuid)
    assert new.rescheduled_booking_id == old_id
    assert new.lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER
    assert booking(account, old_id).lifecycle_action == LifecycleAction.SCHEDULED  # not canceled
    synced = BookingEvent.objects.exclude(lifecycle_action="").values_list("lifecycle_action", flat=True)
    assert sorted(synced) == [LifecycleAction.RESCHEDULED_BY_CUSTOMER, LifecycleAction.SCHEDULED]


def test_an_undone_no_show_returns_the_booking_to_its_previous_action(account):
    story = CalendlyStory()
    fold(account, "calendly", story.created())
    _, created_half = story.rescheduled()
    fold(account, "calendly", created_half)
    assert fold(account, "calendly", story.marked_no_show()).lifecycle_action == LifecycleAction.NO_SHOW
    assert booking(account, story.invitee_uuid).status == "no_show"
    undone = fold(account, "calendly", story.no_show_removed())
    assert undone.lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER
    state = booking(account, story.invitee_uuid)
    assert state.lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER and state.status == "rescheduled"


def test_duplicates_are_folded_once(account):
    story = CalendlyStory()
    created = story.created()
    first, second = fold(account, "calendly", created), fold(account, "calendly", created)
    assert first.pk == second.pk
    assert booking(account, story.invitee_uuid).events_seen == 1


def test_tracking_and_routing_answers_reach_the_booking_fields(account):
    story = CalendlyStory(tracking={"utm_source": "ads", "salesforce_uuid": "00Q5g00000ABCDEAAA"})
    fold(account, "calendly", story.routing_submission([{"question": "Budget", "answer": "10k"}]))
    event = fold(account, "calendly", story.created())
    fields = {f["name"]: f["value"] for f in event.booking_data["form_submission"]["custom_fields"]}
    assert fields["Budget"] == "10k" and fields["utm_source"] == "ads"
    assert fields["sosfLeadId"] == "00Q5g00000ABCDEAAA"  # Salesforce's personalized-link id
    assert event.lifecycle_action == LifecycleAction.SCHEDULED
