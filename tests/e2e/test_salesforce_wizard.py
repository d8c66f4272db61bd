"""In a browser, as an administrator: the five Salesforce setup steps against the sandbox,
including the installation check before and after "deploying" the two Event fields."""

from __future__ import annotations

import re

import pytest
import requests

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.salesforce.models import CreationRules, FieldMapping, RequiredFieldRule
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

try:  # the shared browser fixtures, when the e2e package provides them
    from tests.e2e.conftest import login_as  # noqa: F401
except ImportError:  # pragma: no cover - fall back to the console test's fixtures
    from tests.e2e.console_browser import admin_login, console_browser, console_page  # noqa: F401

PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's
SF_USERNAME = "integration@bookbridge.sandbox"
EVENT_FIELDS = [
    {"name": "Booking_Status__c", "label": "Booking Status", "type": "string", "length": 255},
    {"name": "Cancel_Reschedule_Reason__c", "label": "Cancel/Reschedule Reason", "type": "textarea",
     "length": 32768},
]


@pytest.fixture
def browser_page(request):
    """The shared ``page`` fixture when it exists, else the console test's page."""
    try:
        return request.getfixturevalue("page")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("console_page")


def test_administrator_walks_the_five_steps(browser_page, live_server, salesforce, settings):
    settings.ALLOW_INSECURE_CRM_URLS = True
    page = browser_page
    account = AccountFactory(slug="sf-wizard")
    admin = UserFactory(username="sf-admin@example.test")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    base = live_server.url
    from tests.e2e.console_browser import admin_login

    admin_login(page, base, admin, PASSWORD)

    # Step 1 — API connection: client credentials (the default) at the org's My Domain, whose
    # app runs as the integration user.
    requests.patch(f"{salesforce.url}/_sandbox/salesforce/apps/bookbridge-sandbox-client-id", timeout=10,
                   json={"run_as": SF_USERNAME}).raise_for_status()
    page.goto(f"{base}/a/{account.slug}/salesforce/new/")
    assert page.is_checked("input[name=auth_method][value=client_credentials]")
    assert page.is_checked("input[name=environment][value=custom]")  # where that method works
    page.fill("#id_custom_login_url", salesforce.url)
    page.fill("#id_client_id", "bookbridge-sandbox-client-id")
    page.fill("#id_client_secret", "bookbridge-sandbox-client-secret")
    page.click("[data-testid=connect-form] button[type=submit]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Installation')")
    connector = Connector.objects.get(account=account, kind="salesforce")
    assert connector.status == ConnectorStatus.CONNECTED

    # Step 2 — Installation: missing before the fields are deployed …
    page.click("button[value=save]")
    page.wait_for_selector("[data-testid=field-missing]")
    assert page.locator("[data-testid=field-missing]").count() == 2
    assert "missing the custom fields" in page.content()
    assert page.locator("[data-testid=download-package]").get_attribute("href").endswith("package.zip")
    requests.post(f"{salesforce.url}/_sandbox/salesforce/custom-fields", timeout=10,
                  json={"object": "Event", "fields": EVENT_FIELDS}).raise_for_status()
    # … and found after: "Check again" moves on to Field validation.
    page.click("button[value=save]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Field validation')")

    # Step 3 — Field validation: an over-long static value is caught here, not at sync time.
    page.select_option("#id_Lead__Company__source", "static")
    page.fill("#id_Lead__Company__static", "x" * 300)
    page.click("button[value=save]")
    page.wait_for_selector("text=accepts at most 255")
    page.fill("#id_Lead__Company__static", "Prospect Co")
    page.click("button[value=save]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Field mapping')")
    assert RequiredFieldRule.objects.get(connector=connector, field_name="Company").value == "Prospect Co"

    # Step 4 — Field mapping: Event start is refused; a long-text field is accepted.
    free = page.locator("select[name$=_target]").count() - 1
    page.select_option(f"#id_m{free}_target", "Event.StartDateTime")
    page.select_option(f"#id_m{free}_source", "starting_time")
    page.click("button[value=save]")
    page.wait_for_selector("text=cannot be mapped")
    page.select_option(f"#id_m{free}_target", "Lead.Description")
    page.select_option(f"#id_m{free}_source", "customer_note")
    page.select_option(f"#id_m{free}_mode", "fill_empty")
    page.click("button[value=save]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Creation rules')")
    assert FieldMapping.objects.filter(connector=connector, field_name="Description",
                                       write_mode="fill_empty").exists()

    # Step 5 — Creation rules.
    page.select_option("#id_general_link_creates", "contact")
    page.select_option("#id_new_lead_owner", "assignment_rules")
    page.click("button[value=save]")
    # The last step of the kind leads on to owner mapping (the review says what is still open).
    page.wait_for_selector("[data-testid=step-title]:has-text('Owner mapping')")
    assert page.locator("text=The setup is complete").count() == 0
    rules = CreationRules.objects.get(connector=connector)
    assert (rules.general_link_creates, rules.new_lead_owner) == ("contact", "assignment_rules")
    nav = page.locator("[data-testid=wizard-nav] a[data-done=true]")
    done = {nav.nth(i).get_attribute("data-step") for i in range(nav.count())}
    assert {"connection", "installation", "validation", "mapping", "creation"} <= done
    page.click("[data-testid=wizard-nav] a[data-step=creation]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Creation rules')")

    # The preview: what a booking would do with these settings (reads only).
    page.select_option("#id_sample", "sample:scheduled")
    page.click("button[name=preview_button]")
    plan = page.wait_for_selector("[data-testid=preview-plan]")
    assert re.search(r"create\s+Contact", plan.inner_text())
    assert re.search(r"create\s+Event", plan.inner_text())


def test_reread_from_salesforce_shows_a_required_lookup_added_in_the_org(
        browser_page, live_server, salesforce, settings, login_as):
    """Step 3 after set-up: the org makes a lookup required; the button re-reads it, the step
    shows it as blocking with a record-id input, and an id of the wrong object is refused."""
    from apps.integrations.salesforce import metadata
    from apps.integrations.salesforce.client import SalesforceClient
    from apps.integrations.salesforce.connection import mark_connected, verify_connection
    from apps.integrations.salesforce.models import SalesforceConnection
    from tests.factories import ConnectorFactory
    from tests.integrations.salesforce.conftest import CLIENT_ID, CLIENT_SECRET, deploy_fields, forget_caches

    settings.ALLOW_INSECURE_CRM_URLS = True
    page = browser_page
    account = AccountFactory(slug="sf-reread")
    admin = UserFactory(username="sf-reread-admin@example.test")
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    connector = ConnectorFactory(account=account, kind="salesforce", name="Salesforce",
                                 credentials={"client_secret": CLIENT_SECRET})
    SalesforceConnection.objects.create(connector=connector, auth_method="client_credentials",
                                        environment="custom", custom_login_url=salesforce.url,
                                        username=SF_USERNAME, client_id=CLIENT_ID)
    requests.patch(f"{salesforce.url}/_sandbox/salesforce/apps/{CLIENT_ID}", timeout=10,
                   json={"run_as": SF_USERNAME}).raise_for_status()
    forget_caches(connector)
    deploy_fields(salesforce)
    client = SalesforceClient(connector)
    verify_connection(client)
    metadata.check_installation(client)
    mark_connected(connector)
    lead_id = client.create("Lead", {"LastName": "Not", "Company": "An Account"})
    account_id = client.create("Account", {"Name": "Partner Co"})

    login_as(page, admin, PASSWORD)
    page.goto(f"{live_server.url}/a/{account.slug}/salesforce/{connector.pk}/wizard/validation/")
    page.wait_for_selector("[data-testid=step-title]:has-text('Field validation')")
    assert page.locator("[data-testid=blocking-lookups]").count() == 0
    requests.post(f"{salesforce.url}/_sandbox/salesforce/custom-fields", timeout=10, json={
        "object": "Lead", "fields": [{"name": "Partner_Account__c", "label": "Partner Account",
                                      "type": "reference", "referenceTo": ["Account"],
                                      "nillable": False}]}).raise_for_status()

    page.click("[data-testid=refresh]")
    page.wait_for_selector("text=1 new required field: Lead.Partner_Account__c.")
    blocking = page.locator("[data-testid=blocking-lookups] [data-field='Lead.Partner_Account__c']")
    assert "a lookup to Account" in blocking.inner_text()
    assert page.get_attribute("#id_Lead__Partner_Account__c__record_id", "data-lookup-to") == "Account"
    assert page.locator("[data-step=validation]").get_attribute("data-done") == "false"

    page.fill("#id_Lead__Partner_Account__c__record_id", lead_id)
    page.click("button[value=save]")
    page.wait_for_selector("text=is the id of a Lead record")
    page.fill("#id_Lead__Partner_Account__c__record_id", account_id)
    page.click("button[value=save]")
    page.wait_for_selector("[data-testid=step-title]:has-text('Field mapping')")
    assert page.locator("[data-step=validation]").get_attribute("data-done") == "true"
    assert page.locator("[data-testid=refresh]").inner_text() == "Re-read from Salesforce"
