"""Where and how a HubSpot connector connects: its ``HubSpotConnection`` row + encrypted credentials.

The row holds the sign-in method, the OAuth client id, the API and authorize URLs and the API
version the paths are built from (``paths``); ``check`` reads the portal id and scopes into it.
``connector.credentials`` (encrypted) = {"client_secret", "access_token", "refresh_token",
"expires_at"} for OAuth, or {"static_token"} (a Service Key, a static-auth app's or a legacy
private app's token: all sent as a Bearer token, ../shared/reference/hubspot-api.md §2.2). For a
staged connector (``apps.connectors.staging``) the row is an unsaved copy kept on it.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.connectors import staging
from apps.connectors.models import Connector, ConnectorStatus

from .client import HubSpotClient
from .endpoints import HOSTS, Paths, paths
from .models import AuthMethod, HubSpotConnection

__all__ = ["HOSTS", "Paths", "check", "for_connector", "has_credentials", "is_connected", "paths",
           "rate_limit_key", "record_url", "repointed", "values"]

OAUTH = AuthMethod.OAUTH.value
STATIC_TOKEN = AuthMethod.STATIC_TOKEN.value
#: The row's settings (what the settings file's ``connection`` section holds).
FIELDS = ("auth_method", "client_id", "api_base", "authorize_url", "api_version")
URL_FIELDS = ("api_base", "authorize_url")
#: HubSpot's record pages: ``/contacts/<portal>/record/<objectTypeId>/<id>`` (object type ids of
#: contacts, companies and meetings, reference §7 / the sandbox's schema.py).
RECORD_TYPES = {"contact": "0-1", "company": "0-2", "meeting": "0-47"}
APP_URL = "https://app.hubspot.com"


def for_connector(connector: Connector) -> HubSpotConnection:
    return HubSpotConnection.for_connector(connector)


def values(row: HubSpotConnection) -> dict[str, str]:
    return {name: getattr(row, name) for name in FIELDS}


def repointed(row: HubSpotConnection, new: dict[str, Any]) -> bool:
    """Whether ``new`` points the connection at other URLs than ``row``'s: secrets stored for
    the old ones are then never sent to the new ones (SPEC §13)."""
    return any(new.get(name) and str(new[name]).rstrip("/") != (getattr(row, name) or "").rstrip("/")
               for name in URL_FIELDS)


def has_credentials(connector: Connector, row: HubSpotConnection | None = None) -> bool:
    creds = connector.credentials or {}
    row = row if row is not None else for_connector(connector)
    if row.auth_method == STATIC_TOKEN:
        return bool(creds.get("static_token"))
    return bool(creds.get("refresh_token"))


def is_connected(connector: Connector) -> bool:
    return connector.status == ConnectorStatus.CONNECTED and has_credentials(connector)


def record_url(connector: Connector, record_type: str, crm_id: str) -> str:
    """A record's page in the HubSpot app (contacts, companies, meetings); "" when the portal is
    not known yet (``check`` reads it) or the record has no page."""
    row = HubSpotConnection.objects.filter(connector=connector).only("portal_id").first()
    portal = row.portal_id if row is not None else ""
    type_id = RECORD_TYPES.get(record_type)
    if not portal.isdigit() or type_id is None or not crm_id.isdigit():
        return ""
    return f"{APP_URL}/contacts/{portal}/record/{type_id}/{crm_id}"


def rate_limit_key(connector: Connector) -> str:
    """Connectors of one HubSpot account share its limits (reference §10: the daily allowance is
    per account, the ten-second window per app installed there): one bucket name per portal,
    once ``check`` has read it; the connector's own before that."""
    portal = (HubSpotConnection.objects.filter(connector_id=connector.pk)
              .values_list("portal_id", flat=True).first())
    return f"hubspot-portal-{portal}" if portal else str(connector.pk)


def check(connector: Connector, client: HubSpotClient | None = None) -> None:
    """Prove the stored connection works and read what HubSpot says of it: the portal (hub) id
    and the granted scopes (OAuth: the token introspection; a static token: one owners read,
    the portal id staying as it was). Sets ``portal_id``, ``scopes``, ``verified_at`` (saved,
    unless the connector is staged); raises a ``CrmError`` from ``errors.CATALOGUE``."""
    client = client or HubSpotClient(connector)
    row = client.connection
    info = client.token_info()
    if info:
        row.portal_id = str(info.get("hub_id") or row.portal_id or "")
        row.scopes = list(info.get("scopes") or [])
    row.verified_at = timezone.now()
    if not staging.is_staged(connector) and row.pk is not None:
        row.save(update_fields=["portal_id", "scopes", "verified_at"])
