"""OAuth 2.0 for HubSpot: authorize URL with ``state``, code exchange, token refresh.

The token endpoint is the date-versioned ``/oauth/2026-03/token`` (``/oauth/v3/token`` on the
``v3`` paths), form-encoded with the client credentials in the body (reference §2.1; the v1
endpoint is deprecated). Access tokens live ``expires_in`` seconds (30 minutes): the client
renews one a little before ``expires_at``, and once on a 401. Refresh is safe under concurrency
(``apps.connectors.tokens.renew``): one worker asks HubSpot, with no transaction open, and the
others adopt its tokens; the refresh token in every answer is stored (HubSpot may rotate it).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from apps.connectors import staging, tokens
from apps.connectors.models import Connector

from .errors import CATALOGUE, hubspot_message, wait_for
from .models import HubSpotConnection
from .transport import Transport

#: What the connector needs (reference §2.3): contacts (meetings use the contacts scopes too),
#: companies, owners; the meeting property definitions (read: the Meeting step's check and the
#: meeting type's options; write: deploying the two Bookbridge meeting properties).
SCOPES = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.owners.read",
    "crm.schemas.meetings.read",
    "crm.schemas.meetings.write",
)
#: Renew this long before the stored expiry (reference §2.1: "refresh a little early").
EARLY_SECONDS = 300


def authorize_url(row: HubSpotConnection, *, redirect_uri: str, state: str) -> str:
    """Where the administrator signs in to HubSpot and installs the app (reference §2.1:
    ``client_id``, ``redirect_uri``, space-separated ``scope``, ``state``)."""
    query = urlencode({"client_id": row.client_id, "redirect_uri": redirect_uri,
                       "scope": " ".join(SCOPES), "state": state})
    return f"{row.authorize_url}?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def token_request(transport: Transport, form: dict[str, str]) -> dict[str, Any]:
    """POST the form to the token endpoint (recorded like every exchange); the token answer."""
    full = {**form, "client_id": transport.connection.client_id,
            "client_secret": (transport.connector.credentials or {}).get("client_secret", "")}
    response = transport.send("POST", transport.paths.token, data=full, log_body=full,
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Accept": "application/json"})
    return tokens.token_answer(
        response, catalogue=CATALOGUE, message_of=hubspot_message,
        retry_after=lambda answer, code: wait_for(answer.status_code, code, answer.headers))


def exchange_code(connector: Connector, *, code: str, redirect_uri: str) -> None:
    """Trade the authorization code for tokens, set on ``connector.credentials`` (not saved:
    the caller stores the connection once it is proven, e.g. by ``connection.check``)."""
    body = token_request(Transport(connector),
                         {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
    connector.credentials = tokens.credentials_from(body, connector.credentials or {})


def expiring(connector: Connector) -> bool:
    """The stored access token is missing or expires within ``EARLY_SECONDS``."""
    creds = connector.credentials or {}
    return not creds.get("access_token") or float(creds.get("expires_at") or 0) < time.time() + EARLY_SECONDS


def refresh(connector: Connector, *, stale_access_token: str, transport: Transport) -> dict[str, Any]:
    """Renew once for all workers (or adopt another worker's renewal); updates
    ``connector.credentials``. No transaction is open while HubSpot answers (``tokens.renew``)."""

    def fetch(creds: dict[str, Any]) -> dict[str, Any]:
        if not creds.get("refresh_token"):
            raise CATALOGUE.error("no_refresh_token")
        body = token_request(transport, {"grant_type": "refresh_token",
                                         "refresh_token": creds["refresh_token"]})
        return tokens.credentials_from(body, creds)

    if staging.renews_in_memory(connector):
        # An import being checked, with tokens of its own: they stay in memory until it is saved.
        connector.credentials = fetch(dict(connector.credentials or {}))
        return dict(connector.credentials)
    return tokens.renew(connector, stale_token=stale_access_token, fetch=fetch)
