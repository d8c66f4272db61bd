"""In a browser, the pages written for the people who run Keap and Salesforce: the Keap
connect page shows one sign-in method's fields at a time, folds its URLs under Advanced and
copies the redirect URI; an extra-tag rule is added by picking names; the Salesforce
field-mapping step is a compact table (under 1,500 px at 1280 px width) that grows by "Add row".
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.directory.models import BookingPage
from apps.integrations.keap.models import TaggingSettings
from apps.integrations.keap.row_editors import EMPTY_ROWS
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.keap.helpers import make_connector as make_keap_connector
from tests.integrations.salesforce.conftest import insecure_ok, make_connector  # noqa: F401  (fixtures)

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _administrator(account):
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    return admin


def test_keap_connect_page_shows_one_method_folds_urls_and_copies_the_redirect_uri(
        page, login_as, live_server):
    account = AccountFactory(slug="keap-connect")
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login_as(page, _administrator(account))
    page.goto(f"{live_server.url}{reverse('keap:connect', args=[account.slug, connector.pk])}")
    page.check("input[name=auth_method][value=oauth]")
    assert page.is_visible("#id_client_id") and page.is_visible("#id_client_secret")
    assert not page.is_visible("#id_service_account_key")
    page.check("input[name=auth_method][value=service_key]")
    assert page.is_visible("#id_service_account_key")
    assert not page.is_visible("#id_client_id") and not page.is_visible("#id_client_secret")
    assert not page.is_visible("[data-testid=redirect-uri]")  # only OAuth needs it

    assert not page.is_visible("#id_api_base")  # Advanced starts closed
    page.click("[data-testid=advanced] summary")
    assert page.is_visible("#id_api_base")
    assert page.input_value("#id_api_base") == "https://api.infusionsoft.com/crm"

    page.check("input[name=auth_method][value=oauth]")
    callback = f"{live_server.url}{reverse('keap:oauth-callback')}"
    assert page.input_value("[data-testid=redirect-uri-value]") == callback
    page.click("[data-testid=copy-redirect-uri]")
    page.wait_for_selector("[data-testid=copy-redirect-uri]:has-text('Cop')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == callback
    screenshot(page, "keap-connect-oauth")


def test_an_extra_tag_rule_is_added_by_picking_names(page, login_as, live_server, keap):
    account = AccountFactory(slug="keap-tags")
    connector = make_keap_connector(account, keap.url)
    BookingPage.objects.create(account=account, external_id="BP-VIP", label="VIP consultations")
    login_as(page, _administrator(account))
    page.goto(f"{live_server.url}{reverse('keap:wizard-step', args=[account.slug, connector.pk, 'tagging'])}")
    page.select_option("select[name=extra_tags-0-target]", label="VIP consultations")
    page.select_option("select[name=extra_tags-0-action]", "Scheduled")
    page.fill("input[name=extra_tags-0-tags]", "VIP, Priority")
    page.click("button:has-text('Save and continue')")
    page.wait_for_selector("[data-testid=step-title]:has-text('Mapping')")
    assert TaggingSettings.objects.get(connector=connector).extra_tags == [
        {"scope": "booking_page", "id": "BP-VIP", "action": "Scheduled", "tags": ["VIP", "Priority"]}]
    page.goto(f"{live_server.url}{reverse('keap:wizard-step', args=[account.slug, connector.pk, 'tagging'])}")
    assert page.input_value("input[name=extra_tags-0-tags]") == "VIP, Priority"
    # the rule + the empty rows
    assert page.locator("[data-testid=extra-tags-rows] tbody tr").count() == 1 + EMPTY_ROWS


def test_salesforce_field_mapping_is_a_compact_table(page, login_as, live_server, make_connector):  # noqa: F811
    connector = make_connector()
    page.set_viewport_size({"width": 1280, "height": 900})
    login_as(page, _administrator(connector.account))
    page.goto(f"{live_server.url}"
              f"{reverse('salesforce:wizard-step', args=[connector.account.slug, connector.pk, 'mapping'])}")
    table = "[data-testid=mapping-table] tbody tr"
    rows = page.locator(table).count()
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, "salesforce-field-mapping")
    assert height < 1500, f"the field-mapping page is {height} px tall"
    page.click("[data-testid=add-mapping-row]")
    assert page.locator(table).count() == rows + 1
    last = page.locator(table).last
    target = last.locator("select").first
    assert target.get_attribute("name") == f"m{rows}_target" and target.input_value() == ""
