"""OAuth2 for Keap: authorize URL with ``state``, code exchange, refresh with rotation.

Refresh is safe under concurrency (``apps.connectors.tokens.renew``): one worker claims the
renewal, asks Keap with no transaction open, and stores the rotated tokens with an update fenced
on the credentials version it read; the others adopt them. A rotation is never lost.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from apps.connectors import staging, tokens
from apps.connectors.models import Connector

from . import connection
from .errors import CATALOGUE, keap_message, retry_after_from
from .models import KeapConnection

if TYPE_CHECKING:
    from .client import KeapClient  # the client imports this module (it refreshes tokens)


def authorize_url(row: KeapConnection, *, redirect_uri: str, state: str) -> str:
    """Where the administrator signs in to Keap for the connection ``row`` describes."""
    query = urlencode(
        {
            "client_id": row.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "full",
            "state": state,
        }
    )
    return f"{connection.endpoints(row)['authorize']}?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def token_request(connector: Connector, form: dict[str, str], client: KeapClient) -> dict[str, Any]:
    """POST to the token URL of the client's connection (recorded like every exchange)."""
    secret = (connector.credentials or {}).get("client_secret", "")
    response = client._send(
        "POST",
        client.endpoints["token"],
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        auth=(client.connection.client_id, secret),
        log_body={k: v for k, v in form.items()},
    )
    return tokens.token_answer(response, catalogue=CATALOGUE, message_of=keap_message,
                               retry_after=lambda answer, code: retry_after_from(answer.headers))


def exchange_code(connector: Connector, *, code: str, redirect_uri: str, client: KeapClient) -> None:
    """Trade the authorization code for tokens, set on ``connector.credentials`` (not saved:
    the caller stores the connection once it is proven). ``client``: the connector's
    ``KeapClient``, which sends (and records) the token request."""
    body = token_request(
        connector,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client.connection.client_id,
            "client_secret": (connector.credentials or {}).get("client_secret", ""),
        },
        client,
    )
    connector.credentials = tokens.credentials_from(body, connector.credentials or {},
                                                    scope=body.get("scope", ""))


def refresh(connector: Connector, *, stale_access_token: str, client: KeapClient) -> dict[str, Any]:
    """Refresh once for all workers (or adopt another worker's refresh); updates
    ``connector.credentials``. No transaction is open while Keap answers (``tokens.renew``)."""

    def fetch(creds: dict[str, Any]) -> dict[str, Any]:
        if not creds.get("refresh_token"):
            raise CATALOGUE.error("no_refresh_token")
        body = token_request(
            connector, {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]}, client)
        return tokens.credentials_from(body, creds, scope=body.get("scope", ""))

    if staging.renews_in_memory(connector):
        # An import being checked, with tokens of its own: they stay in memory until it is saved.
        connector.credentials = fetch(dict(connector.credentials or {}))
        return dict(connector.credentials)
    return tokens.renew(connector, stale_token=stale_access_token, fetch=fetch)
