"""The sync job page reads as a timeline (apps/sync/job_page.py): a title in words, a summary,
attempts newest first with their outcome, error and CRM calls, and the plan in sentences with
the raw JSON behind a toggle."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.connectors.models import Connector
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync.models import AttemptOutcome, JobStatus, SyncAttempt, SyncJob
from apps.sync.recorder import CallRecorder
from apps.sync.services import process_event
from tests.factories import AccountFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

PLAN = [{"op": "upsert_contact", "duplicate_option": "Email", "summary": "x",
         "body": {"email_addresses": [{"email": "ann@example.com", "field": "EMAIL1"}]}},
        {"op": "create_appointment", "summary": "x",
         "values": {"ActionDescription": "Intro call", "ActionDate": "2030-01-01T09:00:00"}}]


@pytest.fixture
def job():
    return keap_job_with_attempts()


def keap_job_with_attempts(account=None) -> SyncJob:
    """A Keap job with three attempts: retried after a 503, deferred by the rate limit, failed
    (also the browser test's, tests/e2e/test_console.py)."""
    account = account or AccountFactory(name="Acme")
    connector = ConnectorFactory(account=account, name="Acme")
    event = accept_delivery(account=account, raw_body="{}", envelope=BookingStory().scheduled(),
                            signature_timestamp=None).event
    process_event(event_id=event.pk)
    Connector.objects.filter(pk=connector.pk).update(kind="keap")  # shown as Keap's, never run
    job = SyncJob.objects.get(event=event)
    job.attempt_rows.all().delete()
    start = timezone.now().replace(microsecond=123456) - timedelta(hours=1)
    rows = [(1, AttemptOutcome.RETRYING, "Keap did not answer in time.", "timeout"),
            (2, AttemptOutcome.DEFERRED, "", "throttled"),
            (3, AttemptOutcome.FAILED, "Keap refused the contact's email address.", "INVALID_EMAIL")]
    for number, outcome, error, code in rows:
        attempt = SyncAttempt.objects.create(
            account=account, job=job, number=number, outcome=outcome, error=error, error_code=code,
            started_at=start + timedelta(minutes=number), plan=PLAN,
            finished_at=start + timedelta(minutes=number, milliseconds=850))
        recorder = CallRecorder(connector, job, attempt_id=attempt.pk)
        recorder(method="PUT", url=f"https://api.infusionsoft.com/crm/rest/v1/contacts?try={number}",
                 status_code=503 if number == 1 else 400, duration_ms=41 + number,
                 request_body={"email": "ann@example.com", "access_token": "sekrit"},
                 response_body={"message": f"answer {number}"})
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, attempts=2, plan=PLAN, error="Keap refused the contact's email address.",
        error_code="INVALID_EMAIL", finished_at=start + timedelta(minutes=4))
    return SyncJob.objects.get(pk=job.pk)


def _page(client, django_user_model, job) -> str:
    root = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    response = client.get(reverse("admin:sync_syncjob_change", args=[job.pk]))
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_the_title_says_which_booking_event_and_crm(client, django_user_model, job):
    content = _page(client, django_user_model, job)
    title = f"Booking {job.booking_id} · Scheduled → Keap (Infusionsoft): Acme"
    assert f"<h1>{title}</h1>" in content
    assert "Job " + str(job.pk) not in content


def test_attempts_newest_first_with_outcomes_in_words(client, django_user_model, job):
    content = _page(client, django_user_model, job)
    heads = re.findall(r'<p class="bb-attempt-head">(.*?)</p>', content, re.S)
    assert [re.search(r"Attempt (\d+)", h).group(1) for h in heads] == ["3", "2", "1"]
    assert "failed" in heads[0] and "deferred (rate limit)" in heads[1]
    second = job.attempt_rows.get(number=2).started_at
    assert f"will retry at {timezone.localtime(second):%Y-%m-%d %H:%M:%S}" in heads[2]
    assert all("took 850 ms" in h for h in heads)
    assert "Keap did not answer in time." in content


def test_each_call_is_one_line_with_its_bodies_behind_details(client, django_user_model, job):
    content = _page(client, django_user_model, job)
    summaries = re.findall(r"<summary>(.*?)</summary>", content, re.S)
    assert "<code>PUT /crm/rest/v1/contacts</code> · 503 · 42 ms" in summaries
    assert "try=" not in " ".join(summaries)  # no query noise on the line
    assert '"message": "answer 3"' in content  # the response, inside its <details>
    assert "sekrit" not in content


def test_the_plan_in_sentences_and_the_raw_json_behind_a_toggle(client, django_user_model, job):
    content = _page(client, django_user_model, job)
    plan = re.search(r'<ol class="bb-plan" id="bb-plan">(.*?)</ol>', content, re.S).group(1)
    assert "Find the contact by email ann@example.com, create it if missing" in plan
    assert "Create the appointment “Intro call” from 2030-01-01 09:00:00" in plan
    assert "upsert_contact" not in plan
    raw = re.search(r'<details class="bb-raw" id="bb-raw-plan">(.*?)</details>', content, re.S).group(1)
    assert '"op": "upsert_contact"' in raw


def test_the_summary_gives_status_reason_and_next_retry(client, django_user_model, job):
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RETRYING,
                                             next_attempt_at=timezone.now() + timedelta(minutes=5))
    job.refresh_from_db()
    content = _page(client, django_user_model, job)
    summary = re.search(r'<table class="bb-job-summary".*?</table>', content, re.S).group(0)
    assert "<th scope=\"row\">Status</th><td>Retrying</td>" in summary
    assert "<th scope=\"row\">Reason</th><td>" in summary
    retry = f"{timezone.localtime(job.next_attempt_at):%Y-%m-%d %H:%M:%S}"
    assert f'<th scope="row">Next retry</th><td>{retry}' in summary
    newest = re.findall(r'<p class="bb-attempt-head">(.*?)</p>', content, re.S)[0]
    assert "failed" in newest
