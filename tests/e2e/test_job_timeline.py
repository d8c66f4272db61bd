"""In a browser: a failed job's page reads as a timeline of attempts, newest first, whose calls
open in place, at desktop and phone width.

Its own module because no Celery worker may run here: ``celery_worker_process`` is
module-scoped, and a worker would take the hand-off of the job built below and add an attempt
of its own to the three the page is checked for."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.factories import AccountFactory, MembershipFactory
from tests.sync.test_job_page import keap_job_with_attempts

from .conftest import screenshot
from .test_responsive import JOB_COLUMNS, header_cells_outside

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_job_page_timeline_fits_and_its_details_expand(width, live_server, page, login_as):
    account = AccountFactory(slug=f"timeline-{width}", name="Acme")
    job = keap_job_with_attempts(account)
    staff = MembershipFactory(account=account, role=Role.STAFF).user
    login_as(page, staff)
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(f"{live_server.url}/admin/sync/syncjob/")
    page.locator("#result_list").wait_for()
    if width >= 1280:  # the list's key columns on screen, without scrolling sideways
        assert header_cells_outside(page, JOB_COLUMNS) == []

    page.goto(f"{live_server.url}/admin/sync/syncjob/{job.pk}/change/")
    page.locator("#bb-timeline").wait_for()
    assert page.locator("h1").inner_text().startswith(f"Booking {job.booking_id} · Scheduled →")
    heads = page.locator(".bb-attempt-head").all_inner_texts()
    assert [h.split(" · ")[0] for h in heads] == ["Attempt 3", "Attempt 2", "Attempt 1"]
    assert "Find the contact by email ann@example.com" in page.locator("#bb-plan").inner_text()

    response = page.locator(".bb-call", has_text="503").locator("pre.bb-json").last
    assert not response.is_visible()
    page.locator(".bb-call summary", has_text="503").click()
    response.wait_for(state="visible")
    assert '"message": "answer 1"' in response.inner_text()
    raw = page.locator("#bb-raw-plan pre.bb-json").first
    assert not raw.is_visible()
    page.locator("#bb-raw-plan summary").click()
    raw.wait_for(state="visible")
    assert '"op": "upsert_contact"' in raw.inner_text()

    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"the job page is {scroll_width} px wide at {inner_width} px"
    screenshot(page, f"job-timeline-{width}")
