"""The HubSpot connect page never renders a secret back: not the stored client secret, access
and refresh tokens or static token, and not a secret just posted with a form that is shown
again with its problems. A secret stays with the addresses it was entered for (SPEC §13)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.hubspot.models import AuthMethod, HubSpotConnection
from tests.integrations.hubspot.wizard_helpers import administrator_client, connect_form

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

STORED = {"client_secret": "hs-secret-never-shown-1", "access_token": "hs-access-never-shown-2",
          "refresh_token": "hs-refresh-never-shown-3", "expires_at": 1}
STATIC = "pat-na1-static-never-shown-4"


@pytest.fixture
def admin_client(client, settings, hubspot):
    settings.ALLOW_INSECURE_CRM_URLS = True
    return administrator_client(client)


@pytest.fixture
def connector(admin_client, hubspot):
    connector = Connector.objects.create(account=admin_client.account, kind="hubspot", name="HubSpot",
                                         status=ConnectorStatus.CONNECTED, credentials=dict(STORED))
    HubSpotConnection.objects.create(connector=connector, auth_method=AuthMethod.OAUTH, client_id="app-1",
                                     api_base=hubspot.url, authorize_url=f"{hubspot.url}/oauth/authorize")
    return connector


def connect_url(connector) -> str:
    return reverse("hubspot:connect", args=[connector.account.slug, connector.pk])


def test_stored_secrets_are_never_rendered(admin_client, connector):
    page = admin_client.get(connect_url(connector)).content.decode()
    shown = [value for value in STORED.values() if isinstance(value, str) and value in page]
    assert not shown, shown
    assert page.count("A value is stored: leave empty to keep it") == 1  # the client secret's field


def test_a_posted_secret_is_not_echoed_with_the_forms_problems(admin_client, connector, hubspot):
    refused = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token=STATIC, api_base="https://not-hubspot.example"))
    page = refused.content.decode()
    assert refused.status_code == 200 and "not-hubspot.example" in page  # the address is refused …
    assert STATIC not in page  # … and the token typed with it is not sent back to the browser
    wrong = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token=STATIC))
    text = wrong.content.decode()
    assert "when checking the connection" in text and STATIC not in text


def test_a_new_address_does_not_take_the_stored_secret_along(admin_client, connector, hubspot):
    moved = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="oauth", client_id="app-1", api_base="http://127.0.0.1:9"))
    assert moved.status_code == 200
    assert "The addresses changed, so the stored one is not used." in moved.content.decode()
    connector.refresh_from_db()
    assert connector.credentials == STORED  # nothing was stored or sent
