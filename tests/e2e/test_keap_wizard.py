"""In a browser: an administrator connects Keap (the sandbox, OAuth), walks the five steps, sees
a validation error and fixes it, previews a booking and saves; a staff user cannot open the
wizard. Screenshots land in test-artifacts/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.wizard import done_steps
from apps.directory.models import BookingPage, EventType
from apps.integrations.keap.models import (
    ClassificationSettings,
    CreationSettings,
    MappingSettings,
    TaggingSettings,
)
from apps.integrations.keap.row_editors import EMPTY_ROWS
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector as make_keap_connector

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_administrator_sets_up_keap_in_the_browser(page, login_as, live_server, keap):
    account = AccountFactory(slug="acme")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)

    # "Add connector" leads straight to the connection, step 1 (no locked wizard page).
    page.goto(f"{live_server.url}{reverse('connectors:account', args=[account.slug])}")
    page.click("a:text-is('Add connector')")
    page.fill("input[name=name]", "Keap")
    page.select_option("select[name=kind]", "keap")
    page.click("input[type=submit][name=save]")
    page.wait_for_selector("[data-testid=wizard-step-of]:has-text('Step 1 of')")
    connector = Connector.objects.get(account=account, name="Keap")
    assert connector.live_since is None  # a draft
    assert page.locator("[data-testid=wizard-locked]").count() == 0
    page.check("input[name=auth_method][value=oauth]")
    page.fill("input[name=client_id]", "sandbox-client")
    page.fill("input[name=client_secret]", "sandbox-secret")
    page.click("[data-testid=advanced] summary")  # the URLs are folded under Advanced
    page.fill("input[name=api_base]", f"{keap.url}/crm")
    page.fill("input[name=token_url]", f"{keap.url}/token")
    page.fill("input[name=authorize_url]", f"{keap.url}/app/oauth/authorize")
    page.click("button[type=submit]:has-text('Connect')")
    page.wait_for_selector("[data-testid=step-title]:has-text('Creation')")
    assert Connector.objects.get(pk=connector.pk).status == ConnectorStatus.CONNECTED
    screenshot(page, "keap-wizard-creation")

    page.check("input[name=email_update_mode][value=fill_empty]")
    page.check("input[name=email_ownership][value=keep]")
    page.click("button:has-text('Save and continue')")
    page.wait_for_selector("[data-testid=step-title]:has-text('Classification')")
    assert page.locator("[data-step=creation][data-done=true]").count() == 1
    page.select_option("select[name=contact_type]", "Customer")
    page.select_option("select[name=action_type]", "Consultation")
    page.click("button:has-text('Save and continue')")

    page.wait_for_selector("[data-testid=step-title]:has-text('Tagging')")
    page.click("button:has-text('Skip (keep defaults)')")

    page.wait_for_selector("[data-testid=step-title]:has-text('Mapping')")
    page.select_option("select[name=map_last_name]", "FirstName")
    page.click("button:has-text('Save and continue')")
    page.wait_for_selector("text=is mapped twice")
    screenshot(page, "keap-wizard-mapping-error")
    page.select_option("select[name=map_last_name]", "LastName")
    page.click("button:has-text('Save and continue')")

    page.wait_for_selector("[data-testid=step-title]:has-text('Tracking')")
    page.select_option("select[name=sample]", "sample:scheduled")
    page.click("button[name=preview_button]")
    page.wait_for_selector("[data-testid=preview-plan]")
    plan_text = page.inner_text("[data-testid=preview-plan]")
    assert "create_appointment" in plan_text and "apply_tags" in plan_text
    screenshot(page, "keap-wizard-preview")
    assert keap.state().get("contacts") == []  # the preview wrote nothing
    page.click("button:has-text('Save')")
    page.wait_for_selector("[data-testid=step-title]:has-text('Owner mapping')")
    assert page.locator("text=The setup is complete").count() == 0

    # Review and go live: the summary, a test booking to this draft only, then live.
    page.click("[data-testid=wizard-nav] a[data-step=review]")
    page.wait_for_selector("[data-testid=review-summary]")
    assert "Consultation" in page.inner_text("[data-testid=review-summary]")
    page.click("[data-testid=send-test-booking]")
    page.wait_for_selector("[data-testid=test-result][data-outcome=succeeded]")
    assert page.locator("[data-testid=test-records] li").count() >= 1
    assert len(keap.state()["contacts"]) == 1  # the test booking's contact
    screenshot(page, "keap-wizard-review")
    assert Connector.objects.get(pk=connector.pk).live_since is None
    page.click("[data-testid=go-live]")
    page.wait_for_selector("[data-testid=live-since]")
    screenshot(page, "keap-wizard-done")

    connector.refresh_from_db()
    assert connector.is_live
    assert sorted(done_steps(connector)) == ["classification", "creation", "mapping", "tagging", "tracking"]
    assert CreationSettings.objects.get(connector=connector).email_update_mode == "fill_empty"
    assert ClassificationSettings.objects.get(connector=connector).action_type == "Consultation"
    assert MappingSettings.objects.get(connector=connector).mapping["last_name"] == "LastName"


def test_staff_cannot_open_the_wizard(page, login_as, live_server):
    account = AccountFactory(slug="acme-staff")
    staff = UserFactory()
    MembershipFactory(account=account, user=staff, role=Role.STAFF)
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    login_as(page, staff)
    answer = page.goto(
        f"{live_server.url}{reverse('keap:wizard-step', args=[account.slug, connector.pk, 'creation'])}"
    )
    assert answer.status == 403
    page.goto(f"{live_server.url}{reverse('connectors:account', args=[account.slug])}")
    assert page.locator("a:text-is('Set up')").count() == 0


def _tagging(page, login_as, live_server, keap, **context):
    account = AccountFactory(slug="rows")
    connector = make_keap_connector(account, keap.url)
    BookingPage.objects.create(account=account, external_id="BP-VIP", label="VIP consultations")
    EventType.objects.create(account=account, external_id="ET-DISC", name="Discovery")
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    login_as(page, admin)
    url = f"{live_server.url}{reverse('keap:wizard-step', args=[account.slug, connector.pk, 'tagging'])}"
    page.goto(url)
    return connector, url


def test_row_editors_add_and_remove_rows_with_buttons_and_the_keyboard(page, login_as, live_server, keap):
    connector, url = _tagging(page, login_as, live_server, keap)
    rows = page.locator("[data-testid=extra-tags-rows] tbody tr")
    assert rows.count() == EMPTY_ROWS
    add = page.locator("button[data-add-row]:has-text('Add rule')")
    add.focus()
    page.keyboard.press("Enter")  # a button: Enter and Space both work
    add.focus()
    page.keyboard.press(" ")
    assert rows.count() == EMPTY_ROWS + 2
    new = EMPTY_ROWS + 1  # the second added row: numbered after the highest
    assert page.evaluate("document.activeElement.name") == f"extra_tags-{new}-target"
    page.select_option(f"select[name=extra_tags-{new}-target]", label="VIP consultations")
    page.fill(f"input[name=extra_tags-{new}-tags]", "VIP")
    page.select_option("select[name=extra_tags-0-target]", label="Discovery")
    page.fill("input[name=extra_tags-0-tags]", "Dropped")
    remove = page.locator("tr[data-row='0'] button[data-remove-row]")
    assert remove.inner_text().strip().startswith("Remove")
    remove.focus()
    page.keyboard.press("Enter")
    assert rows.count() == EMPTY_ROWS + 1
    assert page.evaluate("document.activeElement.tagName") == "SELECT"  # focus stays in the table
    screenshot(page, "keap-row-editor-added")
    page.click("button:has-text('Save and continue')")
    page.wait_for_selector("[data-testid=step-title]:has-text('Mapping')")
    assert TaggingSettings.objects.get(connector=connector).extra_tags == [
        {"scope": "booking_page", "id": "BP-VIP", "action": "*", "tags": ["VIP"]}]

    # The mapping step's per-event-type overrides have the same buttons.
    overrides = page.locator("[data-testid=override-rows] tbody tr")
    assert overrides.count() == EMPTY_ROWS
    page.click("button[data-add-row]:has-text('Add row')")
    assert overrides.count() == EMPTY_ROWS + 1
    page.locator(f"tr[data-row='{EMPTY_ROWS}'] button[data-remove-row]").click()
    assert overrides.count() == EMPTY_ROWS


def test_row_editors_work_without_script(browser, login_as, live_server, keap):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        connector, url = _tagging(page, login_as, live_server, keap)
        assert page.locator("button[data-add-row]").is_hidden()
        assert page.locator("button[data-remove-row]").first.is_hidden()
        page.select_option("select[name=extra_tags-0-target]", label="VIP consultations")
        page.fill("input[name=extra_tags-0-tags]", "VIP")
        page.select_option("select[name=extra_tags-2-target]", label="Discovery")
        page.fill("input[name=extra_tags-2-tags]", "Intro")
        page.click("button:has-text('Save and continue')")
        page.wait_for_selector("[data-testid=step-title]:has-text('Mapping')")
        assert [rule["tags"] for rule in TaggingSettings.objects.get(connector=connector).extra_tags] == [
            ["VIP"], ["Intro"]]
    finally:
        context.close()
