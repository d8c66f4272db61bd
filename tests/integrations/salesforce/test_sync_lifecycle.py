"""One Event per booking, updated in place through all ten lifecycle actions (real HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.intake.lifecycle import LifecycleAction
from apps.sync.models import JobStatus

from .conftest import REP, calls_of, records, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def only_event(salesforce) -> dict:
    events = records(salesforce, "Event")
    assert len(events) == 1, events
    return events[0]


def test_new_booking_creates_lead_and_event_in_one_composite(salesforce, deliver):
    customer = story(email="o'brien+test@example.com", name="Siobhan O'Brien")
    job = deliver(customer.scheduled())
    assert job.status == JobStatus.SUCCEEDED, job.error
    leads = records(salesforce, "Lead")
    assert [(lead["Email"], lead["LastName"], lead["FirstName"]) for lead in leads] == [
        ("o'brien+test@example.com", "O'Brien", "Siobhan")]
    assert leads[0]["Company"] == "Unspecified"  # required, unmapped value empty → typed fallback
    event = only_event(salesforce)
    assert event["WhoId"] == leads[0]["Id"] and event["WhatId"] is None
    assert event["Booking_Status__c"] == "Scheduled"
    assert event["StartDateTime"].startswith("2030-01-20T16:45:00")
    assert event["DurationInMinutes"] == 30
    assert event["OwnerId"] == REP  # the booking owner, matched by email
    calls = calls_of(job)
    composite = [c for c in calls if c.url.endswith("/composite")]
    assert len(composite) == 1 and '"allOrNone": true' in composite[0].request_body
    assert all("o'brien" not in c.url for c in calls)  # the email is never pasted raw in SOQL


def test_all_ten_lifecycle_actions_update_the_same_event(salesforce, deliver):
    first = story()
    deliver(first.scheduled())
    event_id = only_event(salesforce)["Id"]
    expectations = []

    def step(envelope, action, **fields):
        job = deliver(envelope)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.lifecycle_action == action
        event = only_event(salesforce)
        assert event["Id"] == event_id
        assert event["Booking_Status__c"] == action
        for name, value in fields.items():
            assert event[name] == value, (action, name, event[name])
        expectations.append(action)
        assert len(records(salesforce, "Lead")) == 1

    step(first.rescheduled(to=datetime(2030, 2, 1, 10, 0, tzinfo=UTC)),
         LifecycleAction.RESCHEDULED_BY_CUSTOMER, Cancel_Reschedule_Reason__c="Conflict",
         StartDateTime="2030-02-01T10:00:00.000+0000")
    step(first.reassigned(new_owner_id="USR-MORGAN0001"), LifecycleAction.RESCHEDULED_REASSIGNED)
    step(first.completed(), LifecycleAction.COMPLETED)
    step(first.no_show(), LifecycleAction.NO_SHOW)
    step(first.canceled(by="customer"), LifecycleAction.CANCELED_BY_CUSTOMER,
         Cancel_Reschedule_Reason__c="Plans changed")
    step(first.canceled(by="user"), LifecycleAction.CANCELED_BY_OWNER)
    step(first.canceled_then_rescheduled(), LifecycleAction.RESCHEDULED_BY_CUSTOMER)
    step(first.reschedule_requested(), LifecycleAction.CANCELED_RESCHEDULE_REQUESTED,
         Cancel_Reschedule_Reason__c="Please pick another time")
    follow_up, envelope = first.rebooked_after_request()
    step(envelope, LifecycleAction.RESCHEDULED_BY_OWNER,
         StartDateTime=follow_up.start.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
    step(follow_up.reassigned(), LifecycleAction.RESCHEDULED_REASSIGNED)

    second = story(email="second@example.com")
    deliver(second.scheduled())
    step_two = deliver(second.reassigned())
    assert step_two.lifecycle_action == LifecycleAction.SCHEDULED_REASSIGNED
    events = {e["WhoId"]: e for e in records(salesforce, "Event")}
    assert len(events) == 2
    assert {e["Booking_Status__c"] for e in events.values()} == {
        LifecycleAction.RESCHEDULED_REASSIGNED, LifecycleAction.SCHEDULED_REASSIGNED}
    seen = set(expectations) | {LifecycleAction.SCHEDULED, LifecycleAction.SCHEDULED_REASSIGNED}
    assert seen == set(LifecycleAction)


def test_reassignment_moves_the_event_owner(salesforce, deliver, connector):
    from apps.connectors.owner_mapping import set_mapping

    set_mapping(connector, "USR-MORGAN0001", "0055g0000000002AAA", "Morgan Owner")
    booking = story()
    deliver(booking.scheduled())
    assert only_event(salesforce)["OwnerId"] == REP
    deliver(booking.reassigned(new_owner_id="USR-MORGAN0001"))
    assert only_event(salesforce)["OwnerId"] == "0055g0000000002AAA"


def test_duplicate_and_reordered_deliveries_converge(salesforce, deliver):
    booking = story(email="reorder@example.com")
    scheduled = booking.scheduled()
    rescheduled = booking.rescheduled()
    completed = booking.completed()
    for envelope in (completed, scheduled, rescheduled, scheduled, completed):
        job = deliver(envelope)
        assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(records(salesforce, "Lead")) == 1
    event = only_event(salesforce)
    assert event["Booking_Status__c"] == LifecycleAction.COMPLETED


def test_call_budgets_with_warm_caches(salesforce, deliver):
    deliver(story(email="warmup@example.com").scheduled())  # warms describe and user caches
    booking = story(email="budget@example.com")
    new_job = deliver(booking.scheduled())
    update_job = deliver(booking.rescheduled())
    new_calls, update_calls = calls_of(new_job), calls_of(update_job)
    assert len(new_calls) <= 2, [c.url for c in new_calls]
    assert len(update_calls) <= 2, [c.url for c in update_calls]
    print(f"\nSalesforce calls: new booking {len(new_calls)}, lifecycle update {len(update_calls)}")


def test_the_next_job_on_a_thread_reuses_the_open_connection(salesforce, deliver):
    """A client per job, but the thread's pools: no new TCP (in production TLS) connection."""
    from apps.connectors.http import thread_adapter
    from apps.integrations.salesforce.client import PlainHttpAdapter
    from apps.integrations.salesforce.connection import normalize_base_url

    assert deliver(story().scheduled()).status == JobStatus.SUCCEEDED
    base = normalize_base_url(salesforce.url)
    adapter = thread_adapter(("plain-http", base), lambda: PlainHttpAdapter(base))
    pools = list(adapter.poolmanager.pools._container.values())
    opened = sum(pool.num_connections for pool in pools)
    assert opened >= 1
    assert deliver(story().scheduled()).status == JobStatus.SUCCEEDED
    assert sum(pool.num_connections for pool in adapter.poolmanager.pools._container.values()) == opened
