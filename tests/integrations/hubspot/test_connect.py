"""Connecting HubSpot: OAuth authorization code with ``state`` through the sandbox's authorize
page, or a static access token; refused tokens and callbacks are said in words."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.hubspot.models import HubSpotConnection
from tests.factories import MembershipFactory, UserFactory

from .helpers import CLIENT_ID, CLIENT_SECRET, STATIC_TOKEN
from .wizard_helpers import administrator_client, connect_form

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def admin_client(client, settings, hubspot):
    settings.ALLOW_INSECURE_CRM_URLS = True  # the sandbox listens on plain http, on loopback
    return administrator_client(client)


@pytest.fixture
def connector(admin_client):
    return Connector.objects.create(account=admin_client.account, kind="hubspot", name="HubSpot")


def connect_url(connector) -> str:
    return reverse("hubspot:connect", args=[connector.account.slug, connector.pk])


def consent(authorize_location: str) -> str:
    """The administrator clicks "Connect app" on HubSpot's (the sandbox's) consent page; answers
    where HubSpot sends the browser back to."""
    page = requests.get(authorize_location, timeout=10)
    assert page.status_code == 200 and "Connect app" in page.text
    hidden = dict(re.findall(r"name='([a-z_]+)' value='([^']*)'", page.text))
    back = requests.post(authorize_location.split("?")[0], data=hidden, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    return back.headers["Location"]


def test_oauth_sign_in_with_state(admin_client, connector, hubspot):
    answer = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="oauth", client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    assert answer.status_code == 302 and answer["Location"].startswith(f"{hubspot.url}/oauth/authorize?")
    asked = parse_qs(urlsplit(answer["Location"]).query)
    assert asked["client_id"] == [CLIENT_ID] and "crm.objects.contacts.write" in asked["scope"][0].split()
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED  # nothing stored before HubSpot said yes

    callback = urlsplit(consent(answer["Location"]))
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    assert callback.path == reverse("hubspot:oauth-callback")
    forged = admin_client.get(callback.path, {**query, "state": "forged"})
    assert forged.status_code == 400 and "was not started here" in forged.content.decode()
    done = admin_client.get(callback.path, query)
    assert done.status_code == 302 and done["Location"].endswith(f"/hubspot/{connector.pk}/wizard/")
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["access_token"] and connector.credentials["refresh_token"]
    assert connector.credentials["client_secret"] == CLIENT_SECRET
    row = HubSpotConnection.objects.get(connector=connector)
    assert row.portal_id == "62515" and row.verified_at is not None  # the sandbox's Hub ID
    assert admin_client.get(callback.path, query).status_code == 400  # a state is used once


def test_a_refused_consent_is_said_in_words(admin_client, connector, hubspot):
    answer = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="oauth", client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    state = parse_qs(urlsplit(answer["Location"]).query)["state"][0]
    refused = admin_client.get(reverse("hubspot:oauth-callback"), {
        "state": state, "error": "access_denied", "error_description": "User said no"})
    page = refused.content.decode()
    assert refused.status_code == 400 and "HubSpot did not authorize Bookbridge" in page
    assert connect_url(connector) in page  # the way back to the connection step
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials


def test_static_token_and_a_wrong_one(admin_client, connector, hubspot):
    wrong = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token="pat-na1-not-a-token"))
    page = wrong.content.decode()
    assert wrong.status_code == 200 and "when checking the connection" in page
    assert "pat-na1-not-a-token" not in page  # a secret is never rendered back
    assert not re.search(r"CrmError|\{[a-z_]+\}", page)  # words: no class names or placeholders
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials

    ok = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token=STATIC_TOKEN))
    assert ok.status_code == 302 and ok["Location"].endswith(f"/hubspot/{connector.pk}/wizard/")
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials == {"static_token": STATIC_TOKEN}
    again = admin_client.get(connect_url(connector)).content.decode()
    assert STATIC_TOKEN not in again and "A value is stored" in again


def test_missing_secrets_are_field_errors_and_new_hosts_ask_for_them(admin_client, connector, hubspot):
    empty = admin_client.post(connect_url(connector), connect_form(hubspot, auth_method="oauth"))
    page = empty.content.decode()
    assert "Enter the Client ID of your HubSpot app." in page
    assert "Enter the Client secret of your HubSpot app." not in page  # one problem at a time
    admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token=STATIC_TOKEN))
    moved = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", api_base="http://127.0.0.1:9/"))
    assert "The addresses changed, so the stored one is not used." in moved.content.decode()
    refused = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="static_token", static_token=STATIC_TOKEN, api_base="https://evil.example.com"))
    assert refused.status_code == 200 and "evil.example.com" in refused.content.decode()
    assert HubSpotConnection.objects.get(connector=connector).api_base == hubspot.url


def test_the_connect_page_shows_one_method_at_a_time_with_the_defaults(admin_client, connector):
    page = admin_client.get(connect_url(connector))
    text = page.content.decode()
    assert 'data-auth-methods="oauth"' in text and 'data-auth-methods="static_token"' in text
    assert 'data-testid="advanced"' in text and "https://api.hubapi.com" in text
    assert "https://app.hubspot.com/oauth/authorize" in text and "2026-03" in text
    assert f'{reverse("hubspot:oauth-callback")}" readonly' in text
    assert 'data-testid="copy-redirect-uri"' in text
    csp = page["Content-Security-Policy"]
    form_action = next(part for part in csp.split(";") if part.strip().startswith("form-action"))
    assert "'self'" in form_action and "hubspot.com" in form_action  # the OAuth form goes on to HubSpot


def test_a_code_hubspot_refuses_is_said_on_the_connect_page(admin_client, connector, hubspot):
    answer = admin_client.post(connect_url(connector), connect_form(
        hubspot, auth_method="oauth", client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
    state = parse_qs(urlsplit(answer["Location"]).query)["state"][0]
    back = admin_client.get(reverse("hubspot:oauth-callback"), {"state": state, "code": "not-a-code"},
                            follow=True)
    assert back.redirect_chain[-1][0] == connect_url(connector)
    page = back.content.decode()
    assert "when finishing the sign-in" in page and CLIENT_SECRET not in page
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials


def test_only_the_accounts_administrators_connect(client, connector):
    staff = UserFactory()
    MembershipFactory(account=connector.account, user=staff, role=Role.STAFF)
    client.force_login(staff)
    assert client.get(connect_url(connector)).status_code == 403
    stranger = administrator_client(client)  # an administrator of another account
    assert stranger.get(connect_url(connector)).status_code == 404
