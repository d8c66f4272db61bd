"""Pause → events arrive → resume → all synced, each booking's events in order (real worker)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.demo.samples import BookingStory
from apps.intake.models import BookingEvent
from apps.sync.models import JobStatus, SyncJob
from tests.console.conftest import deliver
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, *, timeout: float, worker) -> None:
    try:
        wait_until(predicate, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; worker output:\n{worker.recent_output()}") from None


def test_paused_connector_queues_work_and_catches_up_in_order(client, celery_worker_process):
    account = AccountFactory(slug="pausing")
    connector = ConnectorFactory(account=account, name="Paused log")
    admin_user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    client.force_login(admin_user)
    changelist = reverse("admin:connectors_connector_changelist")
    client.post(changelist, {"action": "pause_connectors", "_selected_action": [connector.pk]})
    connector.refresh_from_db()
    assert connector.is_paused

    first, second = BookingStory(email="one@customer.test"), BookingStory(email="two@customer.test")
    envelopes = [first.scheduled(), second.scheduled(), first.rescheduled(), first.canceled(),
                 second.completed()]
    events = [deliver(account, envelope) for envelope in envelopes]  # handed to the worker on commit
    worker = celery_worker_process
    wait_for(lambda: BookingEvent.objects.filter(account=account, processed_at__isnull=False).count()
             == len(events), timeout=30, worker=worker)
    assert list(SyncJob.objects.filter(connector=connector).values_list("status", flat=True)) == [
        JobStatus.PENDING] * len(events)

    response = client.post(changelist, {"action": "resume_connectors",
                                        "_selected_action": [connector.pk]}, follow=True)
    assert "5 waiting job(s) queued in order" in response.content.decode()
    wait_for(lambda: SyncJob.objects.filter(connector=connector, status=JobStatus.SUCCEEDED).count()
             == len(events), timeout=60, worker=worker)

    for story in (first, second):
        jobs = list(SyncJob.objects.filter(connector=connector, booking_id=story.booking_id)
                    .select_related("event").order_by("started_at"))
        received = sorted(jobs, key=lambda job: (job.event.received_at, job.event_id))
        assert [j.pk for j in jobs] == [j.pk for j in received]
        assert all(a.finished_at <= b.started_at for a, b in zip(jobs, jobs[1:], strict=False))
