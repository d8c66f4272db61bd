"""Two jobs of one customer at once: the second is deferred, not spinning nor failed, and later
finds the first one's Lead instead of creating another (real HTTP to the sandbox)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.integrations.salesforce import planning
from apps.sync import running as sync_running
from apps.sync.models import JobStatus, SyncJob

from .conftest import calls_of, records, story

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

EMAIL = "pat.same@example.com"


def _run_again(job: SyncJob) -> SyncJob:
    """What the engine's re-queue does once the deferral is due."""
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
    return sync_running.run_job(job=SyncJob.objects.get(pk=job.pk))


def test_the_second_job_of_a_customer_waits_for_the_first_and_reuses_its_lead(
        salesforce, connector, deliver, monkeypatch):
    lookups = planning.run_lookups
    second: list[SyncJob] = []

    def first_job_looking_up(context, client, wanted):
        if not second:  # the first job holds the customer's lease: the second booking comes in
            second.append(deliver(story(email=EMAIL, name="Pat Same").scheduled()))
        return lookups(context, client, wanted)

    monkeypatch.setattr(planning, "run_lookups", first_job_looking_up)
    first = deliver(story(email=EMAIL, name="Pat Same").scheduled())
    assert first.status == JobStatus.SUCCEEDED, first.error
    [waiting] = second
    assert (waiting.status, waiting.error_code, waiting.attempts) == (JobStatus.RETRYING, "waiting", 0)
    assert "same customer" in waiting.error
    assert calls_of(waiting) == []  # deferred before any call to Salesforce
    due_in = (waiting.next_attempt_at - waiting.started_at).total_seconds()
    assert planning.LEASE_RETRY_SECONDS <= due_in < planning.LEASE_RETRY_SECONDS + 5  # soon, not backoff
    key = f"salesforce:lock:{connector.pk}:{EMAIL}"
    assert cache.get(key) is None  # the first job gave its lease back

    done = _run_again(waiting)
    assert done.status == JobStatus.SUCCEEDED, done.error
    leads = [lead for lead in records(salesforce, "Lead") if lead["Email"] == EMAIL]
    assert len(leads) == 1, leads  # found by the second job's lookup, not created again
    events = records(salesforce, "Event")
    assert len(events) == 2 and {event["WhoId"] for event in events} == {leads[0]["Id"]}


def test_a_lease_left_by_the_same_job_is_taken_back_another_jobs_is_waited_for(
        salesforce, connector, deliver):
    key = f"salesforce:lock:{connector.pk}:{EMAIL}"
    cache.set(key, "job:0", planning.lease_seconds())  # another job's, running elsewhere
    job = deliver(story(email=EMAIL).scheduled())
    assert (job.status, job.error_code, job.attempts) == (JobStatus.RETRYING, "waiting", 0)
    assert cache.get(key) == "job:0"  # left to its holder
    cache.set(key, f"job:{job.pk}", planning.lease_seconds())  # an earlier attempt of it died holding it
    done = _run_again(job)
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert cache.get(key) is None
    assert len(records(salesforce, "Lead")) == 1


def test_the_lease_outlives_the_task_that_holds_it():
    assert planning.lease_seconds() > settings.CELERY_TASK_TIME_LIMIT
