"""``SYNC_QUEUE_PER_CRM``: each CRM's jobs go to a queue of their own, run by that queue's workers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import dispatch, services
from apps.sync.models import JobStatus, SyncJob
from tests.factories import AccountFactory, ConnectorFactory
from tests.fixtures.processes import start_process, wait_until
from tests.fixtures.services import child_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _prefix() -> str:
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.sync"  # private to this test run


def test_queue_names_follow_the_connector_kind():
    assert dispatch.crm_queue("keap") is None  # off by default: jobs run inline
    with override_settings(SYNC_QUEUE_PER_CRM=True, SYNC_QUEUE_PREFIX="sync"):
        assert dispatch.crm_queue("keap") == "sync.keap"
        assert dispatch.crm_queue("salesforce") == "sync.salesforce"


def test_a_crm_queue_worker_runs_the_jobs_of_its_crm(monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)  # processed below
    account = AccountFactory(slug="per-crm")
    connector = ConnectorFactory(account=account)
    envelope = BookingStory().scheduled()
    event = accept_delivery(account=account, raw_body="{}", envelope=envelope, signature_timestamp=None).event
    with override_settings(SYNC_QUEUE_PER_CRM=True, SYNC_QUEUE_PREFIX=_prefix()):
        [job] = services.process_event(event_id=event.pk)
    assert job.status == JobStatus.PENDING  # not run inline: sent to the CRM's queue

    queue = f"{_prefix()}.{connector.kind}"
    worker = start_process(
        ["python", "-m", "celery", "-A", "config.celery_app", "worker", "--loglevel=INFO", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue],
        ready_pattern=r"celery@\S+ ready",
        env=child_env(SYNC_QUEUE_PER_CRM="1", SYNC_QUEUE_PREFIX=_prefix()),
        timeout=60,
    )
    try:
        done = wait_until(
            lambda: SyncJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).first(),
            timeout=30, message="the CRM queue's worker did not run the job:\n" + worker.recent_output(),
        )
        assert "bookbridge.sync.run_job[" in worker.recent_output()
        assert done.result
    finally:
        worker.stop()
