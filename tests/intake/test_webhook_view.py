"""The intake endpoint: what is accepted is stored, everything else gets a clear 4xx."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.services import rotate_webhook_secret
from apps.demo.samples import official_example
from apps.intake.models import BookingEvent
from apps.intake.signatures import signature_header
from tests.factories import TEST_SECRET, AccountFactory
from tests.intake.helpers import body_of, post_event, post_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(slug="acme")


def assert_rejected(response, status: int, error: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["error"] == error
    assert document["detail"]
    assert BookingEvent.objects.count() == 0


def test_official_example_is_accepted_and_stored_raw(account, client):
    envelope = official_example()
    body = body_of(envelope)
    response = post_raw(client, "acme", body)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "id": "EVNT-2AB8RJY3LF"}
    event = BookingEvent.objects.get()
    assert event.raw_body.encode() == body  # byte for byte, as signed
    assert event.booking_id == "BKNG-YNMGHKQ24XV5"
    assert event.customer_email == "carrie@customer.com"
    assert event.event_type == "booking.scheduled"
    assert event.queued_at is not None and event.processed_at is None


def test_wrong_signature(account, client):
    body = body_of(official_example())
    wrong = signature_header("not-the-secret", int(time.time()), body)
    assert_rejected(post_raw(client, "acme", body, signature=wrong), 401, "invalid_signature")


def test_stale_timestamp(account, client):
    body = body_of(official_example())
    stale = signature_header(TEST_SECRET, int(time.time()) - 301, body)
    assert_rejected(post_raw(client, "acme", body, signature=stale), 401, "invalid_signature")


@override_settings(WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS=600)
def test_tolerance_is_configurable(account, client):
    body = body_of(official_example())
    older = signature_header(TEST_SECRET, int(time.time()) - 500, body)
    assert post_raw(client, "acme", body, signature=older).status_code == 202


def test_missing_header(account, client):
    body = body_of(official_example())
    assert_rejected(post_raw(client, "acme", body, signature=""), 401, "invalid_signature")


def test_garbled_header(account, client):
    body = body_of(official_example())
    assert_rejected(post_raw(client, "acme", body, signature="sha256=abc"), 401, "invalid_signature")


def test_tampered_byte(account, client):
    body = body_of(official_example())
    header = signature_header(TEST_SECRET, int(time.time()), body)
    tampered = body.replace(b"carrie@customer.com", b"carrie@customer.con")
    assert_rejected(post_raw(client, "acme", tampered, signature=header), 401, "invalid_signature")


def test_malformed_json(account, client):
    assert_rejected(post_raw(client, "acme", b'{"id": "EVNT-1",'), 400, "malformed_json")


def test_envelope_that_is_not_an_event(account, client):
    envelope = official_example()
    del envelope["type"]
    envelope["api_version"] = "v1"
    response = post_raw(client, "acme", body_of(envelope))
    assert_rejected(response, 400, "invalid_envelope")
    assert response.json()["detail"] == ["type: required (a non-empty string)",
                                          'api_version: must be "v2" (only v2 webhooks are signed)']


def test_booking_event_without_booking_id(account, client):
    envelope = official_example()
    envelope["data"]["id"] = ""
    assert_rejected(post_raw(client, "acme", body_of(envelope)), 400, "invalid_envelope")


def test_non_json_content_type(account, client):
    body = body_of(official_example())
    response = post_raw(client, "acme", body, content_type="application/x-www-form-urlencoded")
    assert_rejected(response, 415, "unsupported_media_type")


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_oversized_body(account, client):
    envelope = official_example()
    envelope["data"]["form_submission"]["note"] = "x" * 4096
    assert_rejected(post_raw(client, "acme", body_of(envelope)), 413, "payload_too_large")


def test_unknown_account_is_answered_like_a_bad_signature(account, client):
    # SPEC §13: an unknown account must not be told apart from a known one (no 404).
    body = body_of(official_example())
    response = post_raw(client, "nobody", body)
    assert_rejected(response, 401, "invalid_signature")
    assert response.json()["detail"] == "The signature does not match the body."


def test_get_is_not_allowed(account, client):
    assert client.get("/webhooks/oncehub/acme/").status_code == 405


def test_duplicate_delivery_is_stored_once(account, client):
    envelope = official_example()
    assert post_event(client, "acme", envelope).status_code == 202
    again = post_event(client, "acme", envelope)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert BookingEvent.objects.count() == 1


def test_same_envelope_id_in_two_accounts_is_two_events(account, client):
    AccountFactory(slug="other")
    envelope = official_example()
    assert post_event(client, "acme", envelope).status_code == 202
    assert post_event(client, "other", envelope).status_code == 202
    assert BookingEvent.objects.count() == 2


def test_conversation_events_are_stored_and_acknowledged(account, client):
    envelope = {"id": "EVNT-CONV000001", "object": "event", "type": "conversation.started",
                "creation_time": "2024-01-01T10:00:00Z", "api_version": "v2",
                "data": {"object": "conversation", "id": "CNV-1"}}
    assert post_event(client, "acme", envelope).status_code == 202
    event = BookingEvent.objects.get()
    assert event.booking_id == "" and event.event_type == "conversation.started"


def test_rotated_secret_old_one_valid_during_grace(account, client):
    new_secret = rotate_webhook_secret(account=account, grace=timedelta(hours=1))
    old = official_example()
    assert post_event(client, "acme", old, secret=TEST_SECRET).status_code == 202
    new = official_example()
    new["id"] = "EVNT-NEWSECRET01"
    assert post_event(client, "acme", new, secret=new_secret).status_code == 202


def test_rotated_secret_old_one_refused_after_grace(account, client):
    new_secret = rotate_webhook_secret(account=account, grace=timedelta(seconds=-1))
    response = post_event(client, "acme", official_example(), secret=TEST_SECRET)
    assert response.status_code == 401
    assert post_event(client, "acme", official_example(), secret=new_secret).status_code == 202


def test_secrets_are_encrypted_at_rest(account):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_webhooksecret")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and all(TEST_SECRET not in value for value in stored)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), JSON_VALUES.map(lambda d: json.dumps(d).encode())))
def test_signed_garbage_never_causes_a_500(account, client, body):
    response = post_raw(client, "acme", body)
    assert 400 <= response.status_code < 500 or response.status_code in (200, 202)
    assert response["Content-Type"] == "application/json"


def test_nul_characters_are_refused_not_a_500(account, client):
    envelope = official_example()
    envelope["data"]["subject"] = "bad\u0000subject"
    assert_rejected(post_raw(client, "acme", body_of(envelope)), 400, "invalid_characters")


# --- hostile input after a valid signature: a 400 naming the problem, never a 500 ------------

def compact_body(envelope: dict) -> bytes:
    return json.dumps(envelope, separators=(",", ":")).encode()


def test_a_lone_surrogate_is_a_400_not_a_500(account, client):
    envelope = official_example()
    envelope["data"]["form_submission"]["name"] = "Carrie \ud800"
    body = body_of(envelope)
    assert b"\\ud800" in body  # JSON-escaped, as a sender would write it
    response = post_raw(client, "acme", body)
    assert_rejected(response, 400, "invalid_characters")
    assert response.json()["detail"] == [
        "data.form_submission.name: contains a lone UTF-16 surrogate (\\ud800)"]


def test_a_creation_time_that_overflows_in_utc_is_a_400_not_a_500(account, client):
    envelope = official_example()
    envelope["creation_time"] = "9999-12-31T23:59:59-23:59"
    response = post_raw(client, "acme", body_of(envelope))
    assert_rejected(response, 400, "invalid_envelope")
    assert response.json()["detail"] == ["creation_time: must be between 1970 and 2200 (UTC)"]


def test_100000_levels_of_nesting_are_a_400_not_a_500(account, client):
    body = compact_body(official_example()).replace(
        b'"custom_fields":[]', b'"custom_fields":' + b"[" * 100_000 + b"]" * 100_000)
    assert len(body) < 1024 * 1024  # within the body limit: the depth is what is refused
    response = post_raw(client, "acme", body)
    assert_rejected(response, 400, "nesting_too_deep")
    assert response.json()["detail"] == ["The JSON is nested deeper than 64 levels."]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e400"])
def test_numbers_jsonb_cannot_hold_are_a_400_not_a_500(account, client, literal):
    body = compact_body(official_example()).replace(b'"in_trash":false', b'"in_trash":' + literal)
    assert literal in body
    assert_rejected(post_raw(client, "acme", body), 400, "malformed_json")


@pytest.mark.parametrize("change, problem", [
    ({"duration_minutes": 10**20}, "data.duration_minutes: must be between 0 and 10080"),
    ({"starting_time": "9999-12-31T23:59:59-23:59"},
     "data.starting_time: must be between 1970 and 2200 (UTC)"),
    ({"status": "x" * 33}, "data.status: longer than 32 characters"),
    ({"owner": {"id": "USR-1", "first_name": "F" * 10_000}},
     "data.owner.first_name: longer than 255 characters"),
    ({"owner": "USR-" + "X" * 61}, "data.owner: longer than 64 characters"),
    ({"booking_page": "BP-" + "X" * 62}, "data.booking_page: longer than 64 characters"),
    ({"attendees": [""] * 100_000}, "data.attendees: more than 500 entries"),
])
def test_poison_events_are_refused_at_the_boundary(account, client, change, problem):
    """Each was acknowledged with a 202 before, then crashed every processing attempt."""
    envelope = official_example()
    envelope["data"].update(change)
    response = post_raw(client, "acme", body_of(envelope))
    assert_rejected(response, 400, "invalid_envelope")
    assert response.json()["detail"] == [problem]
