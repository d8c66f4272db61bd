"""A worker SIGKILLed in the middle of a job: the job resumes and no CRM record is duplicated.

Real processes: the Keap sandbox (slowed down so that we can kill at a chosen point), a Celery
worker on the real broker running the harness's Keap kind (``chaos.kinds``), SIGKILL, a second
worker, and the periodic ``run_due_jobs`` logic once the dead worker's lease has expired.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery import current_app
from django.core.cache import cache

from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import dispatch
from apps.sync.models import CrmCall, CrmRecordLink, JobStatus, SyncJob
from chaos import kinds
from tests.factories import AccountFactory, ConnectorFactory
from tests.fixtures.processes import start_process, wait_until
from tests.fixtures.services import child_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = "bookbridge-exactly-once-test"
LEASE = 3


def start_worker():
    """A worker that knows the harness kinds, on a queue of its own (no other worker takes it)."""
    return start_process(
        ["python", "-m", "celery", "-A", "config.celery_app", "worker", "--loglevel=INFO", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", QUEUE,
         "--include", "chaos.kinds"],
        ready_pattern=r"celery@\S+ ready", env=child_env(SYNC_JOB_LEASE_SECONDS=str(LEASE)), timeout=60,
    )


def send(task: str, object_id: int) -> None:
    current_app.send_task(task, args=[object_id], queue=QUEUE)


@pytest.mark.parametrize("kill_point", ["after_create_before_update", "during_create"])
def test_killed_worker_resumes_without_duplicating_the_contact(kill_point, keap, settings, monkeypatch):
    settings.SYNC_JOB_LEASE_SECONDS = LEASE
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # we queue ourselves
    account = AccountFactory()
    connector = ConnectorFactory(account=account, kind="sandbox_keap", settings={"base_url": keap.url})
    # A fresh token before the sandbox slows down, so the slow call we kill is the create itself.
    cache.set(f"chaos:token:{connector.pk}:keap", kinds._keap_login(SimpleNamespace(connector=connector)))
    keap.set_faults(latency_ms=1500)
    story = BookingStory(email="killed@example.test")
    event = accept_delivery(account=account, raw_body="{}", envelope=story.scheduled(),
                            signature_timestamp=None).event

    worker = start_worker()
    replacement = None
    try:
        send("bookbridge.sync.process_event", event.pk)
        link_type = "contact" if kill_point == "after_create_before_update" else "contact_intent"
        wait_until(lambda: CrmRecordLink.objects.filter(connector=connector, record_type=link_type).exists(),
                   timeout=30, message=worker.recent_output())
        worker.kill()  # SIGKILL: no cleanup, the job stays "running"
        job = SyncJob.objects.get(event=event)
        assert job.status == JobStatus.RUNNING and job.attempts == 1

        replacement = start_worker()
        keap.set_faults(latency_ms=0)

        def resumed():
            # What beat's run_due_jobs does, sent to this test's queue.
            for job_id in dispatch.due_job_ids():
                send("bookbridge.sync.run_job", job_id)
            return SyncJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED

        wait_until(resumed, timeout=45, interval=0.5, message=replacement.recent_output())
    finally:
        worker.stop()
        if replacement is not None:
            replacement.stop()

    job.refresh_from_db()
    assert job.attempts == 2
    contacts = kinds.crm_state("sandbox_keap", keap.state()).get(story.booking_id, [])
    assert contacts == [("killed@example.test", "Scheduled")], contacts
    calls = list(CrmCall.objects.filter(connector=connector).values_list("method", "status_code"))
    creates = [c for c in calls if c[0] == "POST" and c[1] and c[1] < 300]
    # The resumed attempt updated (or found) the contact, never created another. (Killed during
    # the create, the dead attempt's POST is not in the log: the resumed attempt either found the
    # contact it made, or — killed before the request left — made it once itself.)
    if kill_point == "after_create_before_update":
        assert len(creates) == 1, calls
    else:
        assert len(creates) <= 1, calls
