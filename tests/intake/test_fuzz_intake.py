"""Schema-driven fuzzing of the whole intake: OnceHub payloads drawn from OnceHub's own schemas,
some with hostile values put in, signed and POSTed over HTTP to the running app, processed by a
real Celery worker process on PostgreSQL.

The contract (SPEC §3, §13): never a 500; a 400 stores nothing; every 202 ends, within a
deadline, as a finished (succeeded or skipped) SyncJob for every active connector of the account
— or, for an event that is not a booking event, simply processed. The boundary's promise is
stronger than "never stuck": valid-looking input must never reach the quarantine, so an accepted
event whose processing fails even once fails this test (with the worker's error), rather than
being waited for through its bounded attempts.

Where the schemas come from, and why they are not copied here: ``tests/intake/oncehub_schemas.py``.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import time

import pytest
import requests
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from apps.demo.samples import official_example
from apps.intake.lifecycle import is_booking_event
from apps.intake.models import Booking, BookingEvent
from apps.intake.signatures import signature_header
from apps.integrations.keap.facts import booking_values, personalized_contact_id
from apps.integrations.salesforce.facts import booking_facts
from apps.sync.models import FINISHED_STATUSES, SyncJob
from tests.factories import TEST_SECRET, AccountFactory, ConnectorFactory
from tests.fixtures.processes import wait_until
from tests.intake import oncehub_schemas
from tests.intake.oncehub_schemas import DEEP_MARKER, HOSTILE_VALUES, event_bodies, paths_of, replace_at

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOURCE, SCHEMAS = oncehub_schemas.webhook_schemas()
#: Enough to meet every kind of hostile value several times; ~20 s on a 2-core machine.
EXAMPLES = int(os.environ.get("BOOKBRIDGE_FUZZ_EXAMPLES", "60"))
_envelope_ids = itertools.count(1)

MUTATIONS = st.lists(st.tuples(st.integers(0, 10**6), HOSTILE_VALUES), max_size=3)
#: The mutation index of each path of the official example (for the explicit examples below).
MUTATED = {".".join(map(str, path)): index for index, path in enumerate(paths_of(official_example()))}


def hostile(envelope: dict, mutations: list[tuple[int, object]]) -> dict:
    """``envelope`` with each mutation's value put at one of its paths (picked by the index)."""
    for index, value in mutations:
        paths = paths_of(envelope)
        replace_at(envelope, paths[index % len(paths)], copy.deepcopy(value))  # never shared
    return envelope


def raw_body(envelope: dict) -> bytes:
    body = json.dumps(envelope, separators=(",", ":")).encode()  # lone surrogates JSON-escaped
    deep = json.dumps(DEEP_MARKER).encode()
    return body.replace(deep, b"[" * 100_000 + b"]" * 100_000)


@pytest.fixture
def http():
    """One keep-alive connection: the live server serves it from one thread (one database
    connection), where a fresh connection per request would leave a thread and a database
    connection behind until the client's socket is collected."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def account():
    account = AccountFactory(slug="fuzz")
    connectors = [ConnectorFactory(account=account), ConnectorFactory(account=account)]
    return account, connectors


def the_outcome(event_id: int, connectors) -> str | None:
    """"synced", "failed: <why>", or None while the event is still on its way."""
    event = BookingEvent.objects.get(pk=event_id)
    if event.quarantined_at is not None or event.processing_attempts:
        return f"failed: {event.processing_error}"
    if event.processed_at is None:
        return None
    if not is_booking_event(event.event_type):
        return "synced"
    finished = SyncJob.objects.filter(event_id=event_id, status__in=FINISHED_STATUSES,
                                      connector__in=connectors).count()
    return "synced" if finished == len(connectors) else None


def assert_stored_faithfully(envelope: dict, event: BookingEvent) -> None:
    """What was accepted is stored whole, and the planners read it without failing."""
    data = envelope["data"]
    booking = Booking.objects.get(account_id=event.account_id, booking_id=data["id"])
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    if booking.latest_event_id == event.pk:
        assert booking.status == (data.get("status") or "")
        assert booking.subject == (data.get("subject") or "")
        assert booking.customer_name == (form.get("name") or "")
        assert booking.customer_email == (form.get("email") or "")
    booking_facts(data, lifecycle_action=booking.lifecycle_action, booking_id=booking.booking_id)
    booking_values(data, booking)
    personalized_contact_id(data)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(envelope=event_bodies(SCHEMAS), mutations=MUTATIONS)
# The findings of the hostile-input review, each met on every run whatever is drawn:
@example(envelope=official_example(), mutations=[(MUTATED["data.form_submission.name"], "\ud800")])
@example(envelope=official_example(), mutations=[(MUTATED["creation_time"], "9999-12-31T23:59:59-23:59")])
@example(envelope=official_example(),
         mutations=[(MUTATED["data.form_submission.custom_fields"], DEEP_MARKER)])
@example(envelope=official_example(), mutations=[(MUTATED["data.duration_minutes"], 10**20)])
@example(envelope=official_example(), mutations=[(MUTATED["data.owner.first_name"], "F" * 180)])
def test_every_accepted_event_ends_synced_and_nothing_else_is_stored(
        account, http, live_server, celery_worker_process, envelope, mutations):
    account, connectors = account
    note(f"schemas: {SOURCE}")
    envelope = copy.deepcopy(envelope)  # explicit examples are shared objects
    envelope["id"] = f"EVNT-FUZZ{next(_envelope_ids):08d}"  # unique, unless a mutation replaces it
    envelope = hostile(envelope, mutations)
    body = raw_body(envelope)
    headers = {"Content-Type": "application/json",
               "Oncehub-Signature": signature_header(TEST_SECRET, int(time.time()), body)}
    stored_before = BookingEvent.objects.filter(account=account).count()
    response = http.post(f"{live_server.url}/webhooks/oncehub/fuzz/", data=body, headers=headers, timeout=30)
    note(f"{response.status_code} {response.text[:500]}")
    tally(f"{response.status_code} {response.json().get('error', '') if response.status_code >= 400 else ''}")
    assert response.status_code != 500
    assert response.headers["Content-Type"] == "application/json"
    answer = response.json()
    if response.status_code == 200:  # a mutation gave the envelope an id already accepted
        assert answer["status"] == "duplicate"
        assert BookingEvent.objects.filter(account=account).count() == stored_before
        return
    if response.status_code != 202:
        assert response.status_code in (400, 413), response.text
        assert answer["error"] and answer["detail"]
        assert BookingEvent.objects.filter(account=account).count() == stored_before  # nothing stored
        return
    event = BookingEvent.objects.get(account=account, envelope_id=envelope["id"])
    outcome = wait_until(lambda: the_outcome(event.pk, connectors), timeout=60, interval=0.02,
                         message=f"event {event.pk} never finished:\n{celery_worker_process.recent_output()}")
    assert outcome == "synced", f"accepted at the boundary, then processing failed: {outcome}"
    assert event.raw_body.encode() == body
    if is_booking_event(envelope["type"]):
        assert_stored_faithfully(envelope, event)
