"""What the HubSpot wizard tests share: an administrator's client and a connector signed in to
the sandbox with one of its static tokens (sandbox/hubspot/auth.py ``AuthSettings``)."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import Role
from apps.connectors.models import Connector, ConnectorStatus
from apps.integrations.hubspot.models import AuthMethod, HubSpotConnection
from tests.factories import AccountFactory, MembershipFactory, UserFactory

CLIENT_ID = "bookbridge-sandbox-client-id"
CLIENT_SECRET = "bookbridge-sandbox-client-secret"
STATIC_TOKEN = "pat-na1-bookbridge-sandbox-private-app"


def administrator_client(client) -> Any:
    """``client`` signed in as an administrator of a new account (``client.account``)."""
    account = AccountFactory()
    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    client.account = account
    return client


def connect_form(hubspot, **extra: str) -> dict[str, str]:
    """The connect page's fields pointed at the sandbox (its Advanced addresses)."""
    return {"api_base": hubspot.url, "authorize_url": f"{hubspot.url}/oauth/authorize",
            "api_version": "2026-03", "client_id": "", **extra}


def connected_connector(account, hubspot, name: str = "HubSpot") -> Connector:
    """A draft connector connected to the sandbox with a static token."""
    connector = Connector.objects.create(account=account, kind="hubspot", name=name, live_since=None,
                                         status=ConnectorStatus.CONNECTED,
                                         credentials={"static_token": STATIC_TOKEN})
    HubSpotConnection.objects.create(connector=connector, auth_method=AuthMethod.STATIC_TOKEN,
                                     api_base=hubspot.url, authorize_url=f"{hubspot.url}/oauth/authorize")
    return connector
