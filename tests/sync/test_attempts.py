"""Attempt history: each run of a claimed job is a ``SyncAttempt`` row with its outcome, error,
plan, re-plans and CRM calls (deferred runs included, though they are not counted attempts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from apps.connectors import registry
from apps.connectors.errors import PermanentCrmError, TransientCrmError, WaitCrmError
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync import running, services
from apps.sync.models import AttemptOutcome, CrmCall, JobStatus, SyncAttempt, SyncJob
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

#: What the probe's next applies do, in order (set by each test).
SCRIPT: list[str] = []
PLAN = [{"op": "upsert", "record": "contact"}]
REPLAN = [{"op": "update", "record": "contact", "id": "C-merged"}]


def _apply(context, plan):
    step = SCRIPT.pop(0)
    context.record_call(method="POST", url=f"https://crm.example/{step}", status_code=200, duration_ms=3)
    if step == "transient":
        raise TransientCrmError("The CRM timed out.", code="timeout", status=503)
    if step == "wait":
        raise WaitCrmError("Another worker renews the token.", code="waiting", retry_after=1)
    if step.startswith("replan"):
        context.record_replan(REPLAN, reason="contact merged in the CRM")
        if step == "replan_then_fail":
            raise PermanentCrmError("The CRM rejected the phone number.", code="invalid_phone")
    if step == "taken_over":
        # The lease expired meanwhile and a newer attempt took the job over.
        SyncJob.objects.filter(pk=context.job.pk).update(attempts=F("attempts") + 1)
    return {"ok": True}


registry.register(registry.SimpleKind(
    key="attempt_probe", label="attempt probe", plan_fn=lambda context: PLAN, apply_fn=_apply))


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)
    SCRIPT.clear()


def _first_run(*steps: str) -> SyncJob:
    SCRIPT.extend(steps)
    account = AccountFactory()
    ConnectorFactory(account=account, kind="attempt_probe")
    event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    [job] = services.process_event(event_id=event.pk)
    return job


def _run_again(job: SyncJob) -> SyncJob:
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    return running.run_job(job=SyncJob.objects.get(pk=job.pk))


def _rows(job: SyncJob) -> list[SyncAttempt]:
    return list(SyncAttempt.objects.filter(job=job).order_by("number"))


def test_a_transient_failure_then_a_success_are_two_attempt_rows():
    job = _first_run("transient", "ok")
    assert job.status == JobStatus.RETRYING
    job = _run_again(job)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    first, second = _rows(job)
    assert (first.number, first.outcome, first.error_code) == (1, AttemptOutcome.RETRYING, "timeout")
    # The sentence, then the details line every CRM error carries (apps.connectors.errors).
    assert first.error == "The CRM timed out.\nDetails: code timeout, HTTP 503"
    assert first.finished_at is not None
    assert (second.number, second.outcome, second.error, second.error_code) == (
        2, AttemptOutcome.SUCCEEDED, "", "")
    assert first.plan == second.plan == PLAN and first.replans == second.replans == []
    assert first.account_id == job.account_id
    assert [c.url for c in CrmCall.objects.filter(attempt=first)] == ["https://crm.example/transient"]
    assert [c.url for c in CrmCall.objects.filter(attempt=second)] == ["https://crm.example/ok"]
    assert CrmCall.objects.filter(sync_job=job, attempt__isnull=True).count() == 0


def test_a_replan_is_recorded_on_the_attempt_and_on_the_job():
    job = _first_run("replan")
    assert job.status == JobStatus.SUCCEEDED
    assert SyncJob.objects.get(pk=job.pk).plan == REPLAN
    [row] = _rows(job)
    assert row.outcome == AttemptOutcome.SUCCEEDED
    assert row.plan == PLAN
    assert row.replans == [{"reason": "contact merged in the CRM", "plan": REPLAN}]


def test_the_replanned_plan_is_stored_when_apply_fails_after_the_replan():
    job = _first_run("replan_then_fail")
    stored = SyncJob.objects.get(pk=job.pk)
    assert (stored.status, stored.error_code) == (JobStatus.FAILED, "invalid_phone")
    assert stored.plan == REPLAN  # what ran, not the first plan
    [row] = _rows(job)
    assert (row.outcome, row.error_code) == (AttemptOutcome.FAILED, "invalid_phone")
    assert row.error == "The CRM rejected the phone number.\nDetails: code invalid_phone"
    assert row.replans == [{"reason": "contact merged in the CRM", "plan": REPLAN}]


def test_a_deferred_attempt_is_a_row_but_not_a_counted_attempt():
    job = _first_run("wait", "ok")
    stored = SyncJob.objects.get(pk=job.pk)
    assert (stored.status, stored.attempts) == (JobStatus.RETRYING, 0)
    [row] = _rows(job)
    assert (row.number, row.outcome, row.error_code) == (1, AttemptOutcome.DEFERRED, "waiting")
    job = _run_again(job)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert [(r.number, r.outcome) for r in _rows(job)] == [
        (1, AttemptOutcome.DEFERRED), (2, AttemptOutcome.SUCCEEDED)]


def test_an_attempt_that_lost_its_lease_records_it():
    job = _first_run("taken_over")
    stored = SyncJob.objects.get(pk=job.pk)
    assert stored.status == JobStatus.RUNNING  # the newer attempt's: the stale outcome is dropped
    [row] = _rows(job)
    assert row.outcome == AttemptOutcome.LOST_LEASE and row.finished_at is not None


def test_job_admin_shows_the_attempts_and_call_admin_their_number(client, django_user_model):
    job = _first_run("transient", "replan")
    job = _run_again(job)
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    response = client.get(reverse("admin:sync_syncjob_change", args=[job.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Attempts, newest first" in content
    assert "The CRM timed out." in content and "Planned again: contact merged in the CRM" in content
    assert content.index('class="bb-outcome">succeeded<') < content.index('class="bb-outcome">will retry at ')
    call = CrmCall.objects.get(sync_job=job, url="https://crm.example/replan")
    call_page = client.get(reverse("admin:sync_crmcall_change", args=[call.pk])).content.decode()
    assert '<div class="readonly">2</div>' in call_page
