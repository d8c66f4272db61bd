"""Stored secrets stay with the host they were issued for (SPEC §13).

On the code before the fix, re-pointing a connected connector at another host with the secret
fields left blank ("leave empty to keep the stored one") kept the secrets, and the next booking
sent the access token, refresh token and client secret to the new host.
"""

from __future__ import annotations

import pytest
import yaml
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors import settings_io
from apps.connectors.models import ConnectorStatus
from apps.demo.samples import BookingStory
from apps.integrations.keap import connection as keap_connection
from apps.integrations.salesforce.models import SalesforceConnection
from tests.factories import MembershipFactory, UserFactory
from tests.integrations.keap.helpers import CLIENT_ID, deliver
from tests.integrations.keap.helpers import make_connector as keap_connector
from tests.integrations.salesforce.conftest import PASSWORD, USERNAME

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SECRET_WORDS = ("access_token", "refresh_token", "client_secret", "sandbox-secret", "Bearer",
                "sandbox-service-account-key", PASSWORD)


@pytest.fixture(autouse=True)
def _development(settings):
    settings.ALLOW_INSECURE_CRM_URLS = True  # the sandboxes and the attacker's host are on loopback


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    monkeypatch.setattr("apps.intake.services.hand_off", lambda event_id: True)
    monkeypatch.setattr("apps.sync.dispatch.queue_run", lambda *args, **kwargs: None)


def login_admin(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)


def assert_nothing_secret_reached(server) -> None:
    text = server.all_text()
    for word in SECRET_WORDS:
        assert word not in text, f"{word} reached the attacker's host"


@pytest.mark.parametrize("auth", ["oauth", "service_key"])
@pytest.mark.parametrize("field", ["api_base", "token_url"])
def test_keap_secrets_do_not_follow_a_repointed_url(client, keap, internal_service, auth, field):
    from tests.factories import AccountFactory

    account = AccountFactory()
    connector = keap_connector(account, keap.url, auth=auth)
    stored = dict(connector.credentials)
    login_admin(client, account)
    target = f"{internal_service.url}/crm" if field == "api_base" else f"{internal_service.url}/token"
    form = {"auth_method": auth, "client_id": CLIENT_ID, "api_base": f"{keap.url}/crm",
            "token_url": f"{keap.url}/token", "authorize_url": f"{keap.url}/app/oauth/authorize",
            field: target}  # secrets left blank
    page = client.post(reverse("keap:connect", args=[account.slug, connector.pk]), form)
    assert page.status_code == 200
    assert "the stored one is not used" in str(page.context["form"].errors)
    connector.refresh_from_db()
    assert connector.credentials == stored
    assert getattr(keap_connection.for_connector(connector), field) != target
    deliver(account, BookingStory(email="r@customer.test", name="Re Point").scheduled())  # next booking
    assert internal_service.received == []


def test_a_new_keap_oauth_target_is_stored_only_once_keap_authorized_it(client, keap, internal_service):
    from tests.factories import AccountFactory

    account = AccountFactory()
    connector = keap_connector(account, keap.url, auth="oauth")
    stored = dict(connector.credentials)
    login_admin(client, account)
    answer = client.post(reverse("keap:connect", args=[account.slug, connector.pk]), {
        "auth_method": "oauth", "client_id": CLIENT_ID, "client_secret": "a-new-secret",
        "api_base": f"{internal_service.url}/crm", "token_url": f"{internal_service.url}/token",
        "authorize_url": f"{keap.url}/app/oauth/authorize"})
    assert answer.status_code == 302  # off to authorize
    connector.refresh_from_db()
    assert connector.credentials == stored  # the pending attempt waits in the session, encrypted
    assert "a-new-secret" not in str(client.session.items())
    deliver(account, BookingStory(email="o@customer.test", name="O Auth").scheduled())
    assert internal_service.received == []


def test_salesforce_secrets_do_not_follow_a_repointed_login_url(client, salesforce_connector,
                                                                internal_service):
    connector = salesforce_connector()
    stored = dict(connector.credentials)
    login_admin(client, connector.account)
    page = client.post(reverse("salesforce:connect", args=[connector.account.slug, connector.pk]), {
        "name": "Salesforce", "auth_method": "password", "environment": "custom",
        "custom_login_url": internal_service.url, "username": USERNAME, "password": "",
        "security_token": "", "client_id": "", "api_version": "62.0"})
    assert page.status_code == 200
    assert "the stored one is not used" in str(page.context["form"].errors)
    connector.refresh_from_db()
    assert connector.credentials == stored
    assert SalesforceConnection.objects.get(connector=connector).custom_login_url != internal_service.url
    assert internal_service.received == []


def test_an_import_that_repoints_drops_the_stored_secrets(keap, internal_service):
    from tests.factories import AccountFactory

    account = AccountFactory()
    connector = keap_connector(account, keap.url, auth="service_key")
    data = settings_io.export_connector(connector)
    data["connection"].update(api_base=f"{internal_service.url}/crm",
                              token_url=f"{internal_service.url}/token")
    result = settings_io.import_connector(account, yaml.safe_dump(data), secrets={})
    assert result.report.ok, result.report.problems
    connector.refresh_from_db()
    assert "service_account_key" not in connector.credentials
    assert connector.status == ConnectorStatus.NOT_CONNECTED
    deliver(account, BookingStory(email="i@customer.test", name="Im Port").scheduled())
    assert_nothing_secret_reached(internal_service)


def test_a_salesforce_import_that_repoints_asks_for_the_secrets(salesforce_connector, internal_service):
    connector = salesforce_connector()
    data = settings_io.export_connector(connector)
    data["connection"]["custom_login_url"] = internal_service.url
    result = settings_io.import_connector(connector.account, yaml.safe_dump(data), secrets={})
    assert not result.report.ok
    assert_nothing_secret_reached(internal_service)
    connector.refresh_from_db()
    assert SalesforceConnection.objects.get(connector=connector).custom_login_url != internal_service.url
