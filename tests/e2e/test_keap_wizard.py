"""In a browser: an administrator connects Keap (the sandbox, OAuth), walks the five steps, sees
a validation error and fixes it, previews a booking and saves; a staff user cannot open the
wizard. Screenshots land in test-artifacts/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.wizard import done_steps
from apps.integrations.keap.models import ClassificationSettings, CreationSettings, MappingSettings
from tests.factories import AccountFactory, MembershipFactory, UserFactory

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
