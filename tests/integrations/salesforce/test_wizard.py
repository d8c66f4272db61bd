"""The five steps through HTTP views (Django test client), OAuth, permissions, settings as code."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors import settings_io, wizard
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.salesforce.models import (
    CreationRules,
    FieldMapping,
    RequiredFieldRule,
    SalesforceConnection,
)
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.integrations.salesforce.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    deploy_fields,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def admin_client(client, insecure_ok, salesforce):
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    client.account = account
    return client


def connect_form(salesforce, **extra):
    return {"name": "Salesforce", "auth_method": "password", "environment": "custom",
            "custom_login_url": salesforce.url, "username": USERNAME, "password": PASSWORD,
            "security_token": SECURITY_TOKEN, "client_id": "", "api_version": "62.0", **extra}


def step_url(connector, key):
    return reverse("salesforce:wizard-step", args=[connector.account.slug, connector.pk, key])


def test_the_five_steps(admin_client, salesforce):
    account = admin_client.account
    new_url = reverse("salesforce:new", args=[account.slug])
    assert admin_client.get(new_url).status_code == 200
    refused = admin_client.post(new_url, connect_form(salesforce, password="wrong"))
    assert refused.status_code == 200
    assert "when checking the connection" in refused.content.decode()
    response = admin_client.post(new_url, connect_form(salesforce))
    connector = Connector.objects.get(account=account, kind="salesforce")
    assert response.status_code == 302 and response["Location"] == step_url(connector, "installation")
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.live_since is None  # a new connector is a draft until it goes live
    assert PASSWORD not in str(SalesforceConnection.objects.filter(connector=connector).values())
    connection = SalesforceConnection.objects.get(connector=connector)
    assert connection.instance_url == salesforce.url and connection.missing_permissions == []

    # Step 2: the installation check before and after the fields are deployed.
    page = admin_client.post(step_url(connector, "installation"), {"action": "save"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "missing the custom fields Booking_Status__c, Cancel_Reschedule_Reason__c" in text
    assert text.count('data-testid="field-missing"') == 2
    package = admin_client.get(reverse("salesforce:package", args=[account.slug, connector.pk]))
    assert package["Content-Type"] == "application/zip"
    deploy_fields(salesforce)
    done = admin_client.post(step_url(connector, "installation"), {"action": "save"})
    assert done.status_code == 302 and done["Location"] == step_url(connector, "validation")

    # Step 3: required fields from describe; an over-long static value is refused.
    page = admin_client.get(step_url(connector, "validation"))
    assert "Lead · Company (string)" in page.content.decode()
    bad = admin_client.post(step_url(connector, "validation"), {
        "action": "save", "Lead__Company__source": "static", "Lead__Company__static": "x" * 300})
    assert "accepts at most 255" in bad.content.decode()
    ok = admin_client.post(step_url(connector, "validation"), {
        "action": "save", "Lead__Company__source": "static", "Lead__Company__static": "Prospects",
        "Lead__LastName__source": "booking_field:customer_last_name",
        "Contact__LastName__source": "booking_field:customer_last_name",
        "Account__Name__source": "booking_field:customer_company"})
    assert ok.status_code == 302
    assert RequiredFieldRule.objects.get(connector=connector, object_name="Lead",
                                         field_name="Company").value == "Prospects"

    # Step 4: field mapping.
    bad = admin_client.post(step_url(connector, "mapping"), {
        "action": "save", "m0_target": "Event.StartDateTime", "m0_source": "starting_time"})
    assert "cannot be mapped" in bad.content.decode()
    ok = admin_client.post(step_url(connector, "mapping"), {
        "action": "save", "m0_target": "Lead.Email", "m0_source": "customer_email", "m0_mode": "overwrite",
        "m1_target": "Lead.Description", "m1_source": "customer_note", "m1_mode": "fill_empty"})
    assert ok.status_code == 302, ok.context["form"].errors
    assert FieldMapping.objects.filter(connector=connector).count() == 2

    # Step 5: creation rules.
    ok = admin_client.post(step_url(connector, "creation"), {
        "action": "save", "existing_lead_update": "fill_empty", "existing_lead_owner": "assignment_rules",
        "new_lead_owner": "assignment_rules", "existing_contact_update": "override",
        "existing_contact_owner": "page_owner", "existing_case_update": "override",
        "existing_case_owner": "keep", "new_case_owner": "page_owner",
        "general_link_creates": "contact", "event_creation": "always"})
    assert ok.status_code == 302
    rules = CreationRules.objects.get(connector=connector)
    assert (rules.new_lead_owner, rules.general_link_creates) == ("assignment_rules", "contact")

    # The preview runs the planner on a sample booking: reads only.
    preview = admin_client.post(step_url(connector, "creation"), {"action": "preview",
                                                                  "sample": "sample:scheduled"})
    text = preview.content.decode()
    assert 'data-testid="preview-plan"' in text and "create Contact" in text and "create Event" in text
    assert "preview-error" not in text


def test_an_api_user_without_create_permission_is_told_what_to_grant(admin_client, salesforce, connector):
    from apps.integrations.salesforce.client import SalesforceClient
    from apps.integrations.salesforce.connection import verify_connection

    from .conftest import operator

    operator(salesforce, "POST", "object-permissions", json={"object": "Lead", "create": False})
    refused = admin_client.post(reverse("salesforce:new", args=[admin_client.account.slug]),
                                connect_form(salesforce))
    text = refused.content.decode()
    assert refused.status_code == 200
    assert "lacks permissions the connector needs" in text
    assert "The API user cannot create Lead records." in text
    assert not Connector.objects.filter(account=admin_client.account, kind="salesforce").exists()

    missing = verify_connection(SalesforceClient(connector))  # an existing connection
    assert missing == ["The API user cannot create Lead records (give its profile or permission set "
                       "“Create” on Lead)."]
    assert SalesforceConnection.objects.get(connector=connector).missing_permissions == missing


def test_staff_cannot_open_the_wizard(client, connector):
    staff = UserFactory()
    MembershipFactory(account=connector.account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    assert client.get(step_url(connector, "installation")).status_code == 403
    connect_url = reverse("salesforce:connect", args=[connector.account.slug, connector.pk])
    assert client.get(connect_url).status_code == 403
    outsider = UserFactory()
    MembershipFactory(user=outsider, role=Role.ADMINISTRATOR)
    client.force_login(outsider)
    assert client.get(step_url(connector, "installation")).status_code == 404


def test_oauth_web_server_flow(admin_client, salesforce):
    account = admin_client.account
    response = admin_client.post(reverse("salesforce:new", args=[account.slug]), connect_form(
        salesforce, auth_method="oauth", username="", password="", security_token="",
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith(f"{salesforce.url}/services/oauth2/authorize?")
    back = requests.get(authorize, allow_redirects=False, timeout=10)  # Salesforce's consent page
    callback = urlsplit(back.headers["Location"])
    done = admin_client.get(f"{callback.path}?{callback.query}")
    connector = Connector.objects.get(account=account, kind="salesforce")
    assert done.status_code == 302 and done["Location"] == step_url(connector, "installation")
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["refresh_token"] and connector.credentials["client_secret"] == CLIENT_SECRET


def test_https_is_required_unless_the_development_setting_allows_http(admin_client, salesforce, settings):
    settings.ALLOW_INSECURE_CRM_URLS = False
    page = admin_client.post(reverse("salesforce:new", args=[admin_client.account.slug]),
                             connect_form(salesforce))
    assert "must start with https://" in page.content.decode()
    assert not Connector.objects.filter(account=admin_client.account).exists()


def test_settings_round_trip_through_yaml(salesforce, make_connector):
    source = make_connector(existing_lead_owner="page_owner", general_link_creates="case")
    FieldMapping.objects.create(connector=source, object_name="Lead", field_name="Title",
                                booking_field="customer_company")
    text = settings_io.to_yaml(settings_io.export_connector(source))
    assert CLIENT_SECRET not in text and "client_credentials" in text
    assert "custom_login_url" in text
    target_account = AccountFactory()
    broken = text.replace("existing_lead_owner: page_owner", "existing_lead_owner: whoever")
    result = settings_io.import_connector(target_account, broken,
                                          secrets={"client_secret": CLIENT_SECRET})
    assert not result.report.ok
    assert any(p.path == "steps.creation.existing_lead_owner" for p in result.report.problems)
    no_secrets = settings_io.import_connector(target_account, text, secrets={})
    assert any(p.path == "connection" for p in no_secrets.report.problems)
    result = settings_io.import_connector(target_account, text,
                                          secrets={"client_secret": CLIENT_SECRET})
    assert result.report.ok, [str(p) for p in result.report.problems]
    copy = result.connector
    assert copy.status == ConnectorStatus.CONNECTED
    assert CreationRules.objects.get(connector=copy).existing_lead_owner == "page_owner"
    assert CreationRules.objects.get(connector=copy).general_link_creates == "case"
    assert FieldMapping.objects.filter(connector=copy, field_name="Title").exists()


def test_owner_mapping_matches_salesforce_users_by_email(client, connector):
    from apps.connectors.models import OwnerMapping
    from apps.directory.models import SchedulingUser

    SchedulingUser.objects.create(account=connector.account, external_id="USR-RILEY00001",
                                  email="Riley.Rep@bookbridge.example")
    SchedulingUser.objects.create(account=connector.account, external_id="USR-NOBODY0001",
                                  email="nobody@example.com")
    admin = UserFactory()
    MembershipFactory(account=connector.account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    page = client.get(reverse("salesforce:wizard-owners", args=[connector.account.slug, connector.pk]))
    assert page.status_code == 200
    assert "Riley Rep" in page.content.decode()
    mapped = dict(OwnerMapping.objects.filter(connector=connector)
                  .values_list("scheduling_user__external_id", "crm_user_id"))
    assert mapped == {"USR-RILEY00001": "0055g0000000003AAA", "USR-NOBODY0001": ""}


def test_navigation_numbers_the_connection_once_and_the_review_last(client, make_connector):
    connector = make_connector()
    account = connector.account
    nav = wizard.navigation(None, connector)
    assert [item["key"] for item in nav] == [
        "connection", "installation", "validation", "mapping", "creation", "owners", "review"]
    assert [item["number"] for item in nav] == list(range(1, 8))
    assert nav[0]["title"] == "API connection"
    assert nav[0]["url"] == reverse("salesforce:connect", args=[account.slug, connector.pk])
    admin = UserFactory()
    MembershipFactory(account=account, user=admin, role=Role.ADMINISTRATOR)
    client.force_login(admin)
    page = client.get(reverse("salesforce:connect", args=[account.slug, connector.pk])).content.decode()
    assert "Step 1 of 7" in page and "Step 1 of 5" not in page
    page = client.get(step_url(connector, "installation")).content.decode()
    assert "Step 2 of 7" in page
