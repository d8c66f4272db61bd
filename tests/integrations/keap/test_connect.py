"""Connecting: OAuth authorization code flow with ``state`` checked, or a Service Account Key."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from tests.factories import MembershipFactory, UserFactory

from .helpers import CLIENT_ID, CLIENT_SECRET, SERVICE_KEY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client, account):
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    return client


def _form(keap, **extra):
    return {
        "api_base": f"{keap.url}/crm",
        "token_url": f"{keap.url}/token",
        "authorize_url": f"{keap.url}/app/oauth/authorize",
        **extra,
    }


def test_oauth_connect_with_state(admin_client, account, keap):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    url = reverse("keap:connect", args=[account.slug, connector.pk])
    answer = admin_client.post(
        url, _form(keap, auth_method="oauth", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    )
    assert answer.status_code == 302 and answer["Location"].startswith(f"{keap.url}/app/oauth/authorize?")
    back = requests.get(answer["Location"], allow_redirects=False, timeout=10)  # Keap's consent page
    callback = urlsplit(back.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    assert callback.path == reverse("keap:oauth-callback")

    forged = admin_client.get(callback.path, {**query, "state": "forged"})
    assert forged.status_code == 400
    done = admin_client.get(callback.path, query)
    assert done.status_code == 302 and done["Location"].endswith(f"/keap/{connector.pk}/wizard/")
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert connector.credentials["access_token"] and connector.credentials["refresh_token"]
    assert admin_client.get(callback.path, query).status_code == 400  # a state is single-use


def test_service_account_key_connect_and_bad_key(admin_client, account, keap):
    connector = Connector.objects.create(account=account, kind="keap", name="Keap")
    url = reverse("keap:connect", args=[account.slug, connector.pk])
    bad = admin_client.post(url, _form(keap, auth_method="service_key", service_account_key="wrong"))
    page = bad.content.decode()
    assert "when checking the Service Account Key" in page and "Keap did not accept" not in page
    connector.refresh_from_db()  # a refused key is not stored, and raises no alarm
    assert connector.status == ConnectorStatus.NOT_CONNECTED and not connector.credentials
    ok = admin_client.post(url, _form(keap, auth_method="service_key", service_account_key=SERVICE_KEY))
    assert ok.status_code == 302
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CONNECTED
    assert SERVICE_KEY not in admin_client.get(url).content.decode()  # never shown again


def test_tracking_code_is_served_for_connected_owners(client, account, connector, keap):
    """JavaScript that loads the stored Keap script, only once tracking is on and the page's
    owner is mapped to a Keap user (tests/security/test_tracking_snippet.py has the headers)."""
    from apps.connectors.owner_mapping import auto_match
    from apps.integrations.keap.models import TrackingSettings

    script_url = "https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"
    url = reverse("keap:tracking", args=[account.slug, "BP-DEMO000001"])
    assert client.get(url).content == b""  # off by default
    TrackingSettings.objects.update_or_create(
        connector=connector, defaults={"enabled": True, "script_url": script_url}
    )
    assert client.get(url).content == b""  # the page's owner is not connected (mapped) yet
    auto_match(connector)
    answer = client.get(url)
    assert answer["Content-Type"] == "application/javascript; charset=utf-8"
    assert f'["{script_url}"].forEach' in answer.content.decode()
    connector.is_active = False
    connector.save(update_fields=["is_active"])
    assert client.get(url).content == b""  # an inactive connector serves nothing
