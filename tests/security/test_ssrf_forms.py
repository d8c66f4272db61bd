"""SSRF through the URLs an administrator can set: every URL field of the CRMs, in the wizard,
in Django admin and in an import file, with production's outbound policy.

On the code before the policy each of these was accepted: the Keap URLs were plain
``URLField``s, the Salesforce login URL any ``https`` host, and admin edited it unchecked.
"""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors import settings_io
from apps.connectors.models import Connector
from apps.integrations.keap import connection as keap_connection
from apps.integrations.salesforce.models import SalesforceConnection
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ATTACKS = [
    "http://127.0.0.1:6379/",
    "https://127.0.0.1:6379",
    "http://localhost:6379/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/",
    "https://[::1]:8080/",
    "https://[::ffff:169.254.169.254]/",
    "https://user:pw@internal.corp/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://metadata.google.internal/",
    "https://evil.example?.keap.com/",
    "-1",
]
KEAP_URL_FIELDS = ("api_base", "token_url", "authorize_url")


@pytest.fixture
def admin(client):
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    client.account = account
    return client


def keap_form(**overrides):
    return {"auth_method": "service_key", "service_account_key": "a-key",
            "api_base": "https://api.infusionsoft.com/crm", "token_url": "https://api.infusionsoft.com/token",
            "authorize_url": "https://accounts.infusionsoft.com/app/oauth/authorize", **overrides}


@pytest.mark.parametrize("field", KEAP_URL_FIELDS)
@pytest.mark.parametrize("url", ATTACKS)
def test_keap_connect_form_refuses_internal_urls(production, admin, field, url):
    connector = Connector.objects.create(account=admin.account, kind="keap", name="Keap")
    page = admin.post(reverse("keap:connect", args=[admin.account.slug, connector.pk]),
                      keap_form(**{field: url}))
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert field in errors, errors
    connector.refresh_from_db()
    assert connector.settings == {} and connector.credentials == {}


@pytest.mark.parametrize("field", ("api_base", "authorize_url"))
@pytest.mark.parametrize("url", ATTACKS)
def test_hubspot_connect_form_refuses_internal_urls(production, admin, field, url):
    connector = Connector.objects.create(account=admin.account, kind="hubspot", name="HubSpot")
    page = admin.post(reverse("hubspot:connect", args=[admin.account.slug, connector.pk]), {
        "auth_method": "static_token", "static_token": "pat-na1-a-token", "api_version": "2026-03",
        "api_base": "https://api.hubapi.com", "authorize_url": "https://app.hubspot.com/oauth/authorize",
        field: url})
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert field in errors, errors
    connector.refresh_from_db()
    assert connector.settings == {} and connector.credentials == {}


@pytest.mark.parametrize("url", ATTACKS)
def test_salesforce_connect_form_refuses_internal_login_urls(production, admin, url):
    page = admin.post(reverse("salesforce:new", args=[admin.account.slug]), {
        "name": "Salesforce", "auth_method": "password", "environment": "custom",
        "custom_login_url": url, "username": "api@acme.test", "password": "pw", "security_token": "t",
        "client_id": "", "api_version": "62.0"})
    assert page.status_code == 200
    assert "custom_login_url" in page.context["form"].errors
    assert not SalesforceConnection.objects.filter(connector__account=admin.account).exists()


def test_salesforce_password_login_is_never_sent_to_another_host(production):
    """The SOAP login used to fall back to login.salesforce.com for hosts outside *.salesforce.com."""
    from apps.connectors.errors import PermanentCrmError
    from apps.integrations.salesforce.client import SalesforceClient

    connector = Connector.objects.create(account=AccountFactory(), kind="salesforce", name="SF",
                                         credentials={"password": "pw"})
    SalesforceConnection.objects.create(connector=connector, auth_method="password", environment="custom",
                                        custom_login_url="https://acme.lightning.force.com", username="u")
    with pytest.raises(PermanentCrmError, match=r"only with a \*\.salesforce\.com login URL"):
        SalesforceClient(connector).login()


def test_salesforce_connection_urls_are_read_only_in_admin(production, admin):
    connector = Connector.objects.create(account=admin.account, kind="salesforce", name="SF")
    row = SalesforceConnection.objects.create(connector=connector, environment="custom",
                                              custom_login_url="https://acme.my.salesforce.com")
    url = reverse("admin:salesforce_salesforceconnection_change", args=[row.pk])
    page = admin.get(url)
    assert page.status_code == 200
    assert 'name="custom_login_url"' not in page.content.decode()
    admin.post(url, {"custom_login_url": "-1", "environment": "custom", "auth_method": "oauth",
                     "api_version": "62.0"})
    row.refresh_from_db()
    assert row.custom_login_url == "https://acme.my.salesforce.com"


def _import(account, kind: str, connection: dict, secrets: dict):
    data = {"version": 1, "connector": {"name": f"Imported {kind}", "kind": kind}, "connection": connection}
    return settings_io.import_connector(account, yaml.safe_dump(data), secrets=secrets)


@pytest.mark.parametrize("field", KEAP_URL_FIELDS)
@pytest.mark.parametrize("url", ATTACKS[:8])
def test_keap_import_applies_the_same_policy(production, field, url):
    account = AccountFactory()
    result = _import(account, "keap", {"auth_method": "service_key", field: url},
                     {"service_account_key": "k"})
    assert f"connection.{field}" in {p.path for p in result.report.problems}
    assert not Connector.objects.filter(account=account).exists()


@pytest.mark.parametrize("url", ATTACKS[:8])
def test_salesforce_import_applies_the_same_policy(production, url):
    account = AccountFactory()
    result = _import(account, "salesforce", {"auth_method": "password", "environment": "custom",
                                             "custom_login_url": url, "username": "api@acme.test"},
                     {"password": "pw"})
    assert "connection.custom_login_url" in {p.path for p in result.report.problems}
    assert not Connector.objects.filter(account=account).exists()


def test_keap_import_never_marks_a_connector_connected_without_trying_it(settings, keap):
    settings.ALLOW_INSECURE_CRM_URLS = True
    account = AccountFactory()
    base = {"auth_method": "service_key", "api_base": f"{keap.url}/crm", "token_url": f"{keap.url}/token",
            "authorize_url": f"{keap.url}/app/oauth/authorize"}
    refused = _import(account, "keap", base, {"service_account_key": "not-the-key"})
    assert "connection" in {p.path for p in refused.report.problems}
    assert not Connector.objects.filter(account=account).exists()
    accepted = _import(account, "keap", base, {"service_account_key": "sandbox-service-account-key"})
    assert accepted.report.ok, accepted.report.problems
    assert accepted.connector.status == "connected"
    assert keap_connection.for_connector(accepted.connector).api_base == f"{keap.url}/crm"
