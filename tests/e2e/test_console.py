"""In a browser: staff find a failed booking by email and read the CRM error; an administrator
retries it and sees it succeed (a real Celery worker runs the retry); the dashboard is saved as
a screenshot in test-artifacts/dashboard.png."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from apps.accounts.models import Role
from apps.connectors.models import ConnectorStatus
from apps.console.alerts import check_all
from apps.demo.samples import BookingStory
from apps.intake.services import accept_delivery
from apps.sync.models import JobStatus, SyncJob
from apps.sync.recorder import CallRecorder
from tests.factories import AccountFactory, ConnectorFactory, MembershipFactory
from tests.fixtures.processes import wait_until

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _failed_booking(account, connector, email):
    story = BookingStory(email=email, name="Dana Failing")
    event = accept_delivery(account=account, raw_body="{}", envelope=story.scheduled(),
                            signature_timestamp=None).event
    job = wait_until(lambda: SyncJob.objects.filter(event=event, status=JobStatus.SUCCEEDED).first(),
                     timeout=30, message="the worker did not sync the booking")
    # What a CRM refusal leaves behind: a failed job and the call with the CRM's answer.
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, error="Contact rejected: field 'Lead Source' is not valid",
        error_code="INVALID_FIELD", finished_at=timezone.now())
    CallRecorder(connector, job)(
        method="POST", url="https://crm.example/v1/contacts", status_code=400, duration_ms=84,
        request_body={"email": email, "lead_source": "Web"},
        response_body={"message": "Contact rejected: field 'Lead Source' is not valid",
                       "error_code": "INVALID_FIELD"},
        crm_error_code="INVALID_FIELD")
    return story, job


def test_staff_find_failed_booking_and_administrator_retries_it(live_server, celery_worker_process,
                                                                page, login_as):
    account = AccountFactory(slug="browser")
    connector = ConnectorFactory(account=account, name="Browser CRM")
    staff = MembershipFactory(account=account, role=Role.STAFF).user
    admin_user = MembershipFactory(account=account, role=Role.ADMINISTRATOR).user
    other_story = BookingStory(email="someone.else@customer.test")
    accept_delivery(account=account, raw_body="{}", envelope=other_story.scheduled(),
                    signature_timestamp=None)
    story, job = _failed_booking(account, connector, "dana@customer.test")

    # Staff: search the sync jobs by the customer's email, open the failed one, read the error.
    login_as(page, staff)
    page.goto(f"{live_server.url}/admin/sync/syncjob/")
    page.fill("#searchbar", "dana@customer.test")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    assert "Failed" in rows.first.inner_text()
    rows.first.get_by_role("link", name=story.booking_id).click()
    page.wait_for_selector("text=Contact rejected: field 'Lead Source' is not valid")
    assert "INVALID_FIELD" in page.content()
    call = page.locator(".bb-call", has_text="POST /v1/contacts")
    call.locator("summary").click()  # the call's bodies open in place
    assert call.locator("pre.bb-json", has_text='"error_code": "INVALID_FIELD"').is_visible()

    # Administrator: select it and run "Retry" on the job list; the worker syncs it.
    login_as(page, admin_user)
    page.goto(f"{live_server.url}/admin/sync/syncjob/?q=dana%40customer.test")
    page.check(f"input[name=_selected_action][value='{job.pk}']")
    page.select_option("select[name=action]", "retry_jobs")
    page.click("button[name=index]")
    page.wait_for_selector("text=1 queued for retry")
    wait_until(lambda: SyncJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED, timeout=30,
               message="the retried job did not succeed")
    page.goto(f"{live_server.url}/admin/sync/syncjob/{job.pk}/change/")
    assert re.search(r"Status:?\s*Succeeded", page.locator("#content").inner_text())

    # The dashboard, refreshed without a reload, as an artifact — with a problem to show.
    other_job = wait_until(lambda: SyncJob.objects.filter(booking_id=other_story.booking_id).first(),
                           timeout=30, message="the other booking was not synced")
    SyncJob.objects.filter(pk=other_job.pk).update(
        status=JobStatus.DEAD, error="Rate limit exceeded (429) after 8 attempts", error_code="HTTP_429")
    ConnectorFactory(account=account, name="Keap (production)", status=ConnectorStatus.DISCONNECTED,
                     status_detail="Keap refused the refresh token (401).")
    check_all()
    page.goto(f"{live_server.url}/admin/dashboard/")
    assert page.locator(".bb-incident-banner", has_text="Keap (production)").count() == 1
    page.wait_for_selector("#bb-connector-health")
    page.evaluate("window.bookbridgeRefreshDashboard()")
    page.wait_for_function("() => document.getElementById('bb-dashboard').dataset.refreshed")
    assert "Browser CRM" in page.locator("#bb-connector-health").inner_text()
    assert screenshot(page, "dashboard").stat().st_size > 10_000
