"""Cal.com intake: its signature, its 4xx answers, and its triggers as lifecycle actions."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.demo.source_samples import CalcomStory, sign_calcom
from apps.intake.lifecycle import LifecycleAction
from apps.intake.models import BookingEvent
from apps.intake.services import accept_delivery
from apps.intake.sources.calcom.signature import HEADER, sign
from apps.sync import services as sync_services
from apps.sync.models import JobStatus
from apps.sync.replay import NOT_SYNCED, replay_event
from tests.factories import AccountFactory, ConnectorFactory

from .helpers import CALCOM_SECRET, booking, connect, fold, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(slug="acme")
    connect(account, "calcom", CALCOM_SECRET)
    return account


def rejected(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["error"] == error and document["detail"]
    assert BookingEvent.objects.count() == 0
    return document


def test_a_signed_booking_is_stored_raw_with_its_booking_in_oncehubs_shape(account, client):
    story = CalcomStory()
    body, headers = sign_calcom(story.created(), CALCOM_SECRET)
    response = post(client, "calcom", "acme", body, headers)
    assert response.status_code == 202, response.content
    event = BookingEvent.objects.get()
    assert event.source == "calcom" and event.raw_body.encode() == body
    assert event.booking_id == story.uid and event.customer_email == "jane.doe@example.com"
    data = event.booking_data
    assert data["owner"] == {"id": "42", "object": "user", "first_name": "Sam", "last_name": "Host",
                             "email": "sam.host@example.org", "status": "active"}
    assert data["form_submission"]["custom_fields"] == [
        {"name": "company-size", "label": "Company size", "value": "50-200"}]
    assert data["location_description"] == f"https://app.cal.com/video/{story.uid}"
    assert data["duration_minutes"] == 30


def test_a_replayed_body_is_a_duplicate(account, client):
    """No timestamp is signed: a replay is stopped by idempotency (uid + trigger + content)."""
    body, headers = sign_calcom(CalcomStory().created(), CALCOM_SECRET)
    assert post(client, "calcom", "acme", body, headers).status_code == 202
    again = post(client, "calcom", "acme", body, headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert BookingEvent.objects.count() == 1


def test_wrong_secret(account, client):
    body = json.dumps(CalcomStory().created()).encode()
    answer = post(client, "calcom", "acme", body, {HEADER: sign("not-the-secret", body)})
    rejected(answer, 401, "invalid_signature")


def test_tampered_body(account, client):
    body = json.dumps(CalcomStory().created()).encode()
    signature = {HEADER: sign(CALCOM_SECRET, body)}
    answer = post(client, "calcom", "acme", body.replace(b"Jane", b"John"), signature)
    rejected(answer, 401, "invalid_signature")


def test_missing_header(account, client):
    body = json.dumps(CalcomStory().created()).encode()
    assert HEADER in rejected(post(client, "calcom", "acme", body, {}), 401, "invalid_signature")["detail"]


@pytest.mark.parametrize("header", ["sha256=abc", "xyz", "0" * 63, "g" * 64])
def test_malformed_header(account, client, header):
    body = json.dumps(CalcomStory().created()).encode()
    rejected(post(client, "calcom", "acme", body, {HEADER: header}), 401, "invalid_signature")


def test_a_webhook_without_a_secret_is_refused_in_words(account, client):
    body = json.dumps(CalcomStory().created()).encode()
    response = post(client, "calcom", "acme", body, {HEADER: "no-secret-provided"})
    answer = rejected(response, 401, "invalid_signature")
    assert "has no secret" in answer["detail"]


def test_a_booking_without_its_uid_is_refused_by_path(account, client):
    document = CalcomStory().created()
    del document["payload"]["uid"]
    body, headers = sign_calcom(document, CALCOM_SECRET)
    answer = rejected(post(client, "calcom", "acme", body, headers), 400, "invalid_envelope")
    assert answer["detail"] == ["payload.uid: required (a non-empty string)"]


def test_a_non_json_content_type(account, client):
    body, headers = sign_calcom(CalcomStory().created(), CALCOM_SECRET)
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    answer = post(client, "calcom", "acme", body, form)
    rejected(answer, 415, "unsupported_media_type")


def test_a_ping_is_stored_and_not_folded(account, client):
    body, headers = sign_calcom({"triggerEvent": "PING", "createdAt": "2026-10-01T09:15:42.118Z",
                                 "payload": {"type": "Test", "title": "Test trigger event"}}, CALCOM_SECRET)
    assert post(client, "calcom", "acme", body, headers).status_code == 202
    event = BookingEvent.objects.get()
    assert event.booking_id == "" and fold(account, "calcom", event.payload).lifecycle_action == ""


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)
_FIELDS = ["triggerEvent", "createdAt", "payload", "payload.uid", "payload.attendees", "payload.organizer",
           "payload.startTime", "payload.length", "payload.responses", "payload.userFieldsResponses",
           "payload.eventTypeId", "payload.rescheduleUid", "payload.metadata", "payload.requestReschedule"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_FIELDS), value=_json)
def test_any_value_in_a_read_field_gets_202_or_a_clear_400(account, client, path, value):
    """Property: whatever a signed delivery carries where the product reads, never a 500."""
    document = CalcomStory().created()
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    body, headers = sign_calcom(document, CALCOM_SECRET)
    response = post(client, "calcom", "acme", body, headers)
    assert response.status_code in (200, 202, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"] in ("invalid_envelope", "invalid_characters")
        assert response.json()["detail"]
    else:
        event = BookingEvent.objects.get(envelope_id=response.json()["id"])
        fold(account, "calcom", event.payload)  # what is accepted can be folded


# --- lifecycle ----------------------------------------------------------------------------

def test_a_requested_booking_is_not_synced_until_accepted(account):
    story = CalcomStory()
    requested = fold(account, "calcom", story.requested())
    assert requested.lifecycle_action == ""
    state = booking(account, story.uid)
    assert state.status == "requested" and state.lifecycle_action == ""
    accepted = fold(account, "calcom", story.created())
    assert accepted.lifecycle_action == LifecycleAction.SCHEDULED
    assert booking(account, story.uid).status == "scheduled"


def test_a_rejected_request_is_never_synced(account):
    story = CalcomStory()
    fold(account, "calcom", story.requested())
    assert fold(account, "calcom", story.rejected()).lifecycle_action == ""
    assert booking(account, story.uid).status == "rejected"


def test_a_reschedule_names_the_old_booking(account):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    old_uid = story.uid
    event = fold(account, "calcom", story.rescheduled())
    assert event.lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER
    assert booking(account, story.uid).rescheduled_booking_id == old_uid


def test_an_owners_reschedule_request_makes_the_rebooking_the_owners(account):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    request = fold(account, "calcom", story.cancelled(by=story.host_email, request_reschedule=True))
    assert request.lifecycle_action == LifecycleAction.CANCELED_RESCHEDULE_REQUESTED
    rebooking = fold(account, "calcom", story.rescheduled())
    assert rebooking.lifecycle_action == LifecycleAction.RESCHEDULED_BY_OWNER


@pytest.mark.parametrize(("by", "action"), [
    ("sam.host@example.org", LifecycleAction.CANCELED_BY_OWNER),
    ("jane.doe@example.com", LifecycleAction.CANCELED_BY_CUSTOMER)])
def test_who_cancelled(account, by, action):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    assert fold(account, "calcom", story.cancelled(by=by)).lifecycle_action == action


def test_a_no_show_can_be_undone_and_a_guest_changes_nothing(account):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    guest = fold(account, "calcom", story.no_show(email="guest@example.com"))
    assert guest.lifecycle_action == ""
    marked = fold(account, "calcom", story.no_show())
    assert marked.lifecycle_action == LifecycleAction.NO_SHOW
    assert marked.booking_data["form_submission"]["email"] == "jane.doe@example.com"  # completed
    assert booking(account, story.uid).status == "no_show"
    unmarked = fold(account, "calcom", story.no_show(marked=False))
    assert unmarked.lifecycle_action == LifecycleAction.SCHEDULED
    state = booking(account, story.uid)
    assert state.lifecycle_action == LifecycleAction.SCHEDULED and state.status == "scheduled"


def test_a_meeting_that_ended_is_completed(account):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    ended = fold(account, "calcom", story.meeting_ended())
    assert ended.lifecycle_action == LifecycleAction.COMPLETED
    assert booking(account, story.uid).status == "completed"


def test_duplicates_are_folded_once(account):
    story = CalcomStory()
    created = story.created()
    assert fold(account, "calcom", created).pk == fold(account, "calcom", created).pk
    assert booking(account, story.uid).events_seen == 1


def test_a_replay_of_a_request_syncs_nothing(account):
    ConnectorFactory(account=account)  # a live connector it would otherwise sync to
    story = CalcomStory()
    requested = fold(account, "calcom", story.requested())
    report = replay_event(requested)
    assert report.outcomes == {NOT_SYNCED: 1} and report.jobs == []


def test_the_workers_sync_a_request_only_once_accepted(account):
    connector = ConnectorFactory(account=account)
    story = CalcomStory()
    requested = accept_delivery(account=account, raw_body="{}", envelope=story.requested(),
                                signature_timestamp=None, source="calcom").event
    assert sync_services.process_event(event_id=requested.pk) == []
    requested.refresh_from_db()
    assert requested.processed_at is not None  # folded and done with
    accepted = accept_delivery(account=account, raw_body="{}", envelope=story.created(),
                               signature_timestamp=None, source="calcom").event
    [job] = sync_services.process_event(event_id=accepted.pk)
    assert job.connector_id == connector.pk and job.status == JobStatus.SUCCEEDED
    assert job.lifecycle_action == LifecycleAction.SCHEDULED


def test_a_rebooking_that_arrives_before_the_owners_request_is_the_owners(account):
    story = CalcomStory()
    created = story.created()
    request = story.cancelled(by=story.host_email, request_reschedule=True)
    rebooking = story.rescheduled()
    fold(account, "calcom", created)
    early = fold(account, "calcom", rebooking)
    assert early.lifecycle_action == LifecycleAction.RESCHEDULED_BY_CUSTOMER
    fold(account, "calcom", request)
    early.refresh_from_db()
    assert early.lifecycle_action == LifecycleAction.RESCHEDULED_BY_OWNER
    assert booking(account, story.uid).lifecycle_action == LifecycleAction.RESCHEDULED_BY_OWNER


def test_a_rebookings_cancel_keeps_the_booking_it_replaced(account):
    story = CalcomStory()
    fold(account, "calcom", story.created())
    old_uid = story.uid
    fold(account, "calcom", story.rescheduled())
    canceled = fold(account, "calcom", story.cancelled())
    assert canceled.lifecycle_action == LifecycleAction.CANCELED_BY_CUSTOMER
    assert booking(account, story.uid).rescheduled_booking_id == old_uid
