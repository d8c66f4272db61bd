"""Where and how a Keap connector connects: its ``KeapConnection`` row + encrypted credentials.

The row holds the auth method, the OAuth client id and the API, token and authorize URLs
(``models.KeapConnection``; new rows take the ``KEAP_*`` settings, Keap's real hosts).
``connector.credentials`` (encrypted) = {"access_token", "refresh_token", "expires_at",
"client_secret"} for OAuth, or {"service_account_key"}. For a staged connector (an import being
checked, a connection being tried: ``apps.connectors.staging``) the row is an unsaved copy kept
on it, so nothing is written until the attempt is proven.
"""

from __future__ import annotations

import re
from typing import Any

from apps.connectors.models import Connector, ConnectorStatus
from apps.core.outbound import HostFamily

from .models import AuthMethod, KeapConnection

#: Where Keap is reached (reference §2): its API, OAuth and app hosts. Operators extend it with
#: ``OUTBOUND_EXTRA_ALLOWED_HOSTS["keap"]``; every Keap URL goes through ``apps.core.outbound``.
HOSTS = HostFamily("keap", "Keap", ("*.infusionsoft.com", "*.keap.com", "*.infusionsoft.app", "*.keap.app"))

OAUTH = AuthMethod.OAUTH.value
SERVICE_KEY = AuthMethod.SERVICE_KEY.value
#: The row's settings (what the settings file's ``connection`` section holds).
FIELDS = ("auth_method", "client_id", "api_base", "token_url", "authorize_url")
URL_FIELDS = ("api_base", "token_url", "authorize_url")


#: Keap's token answer names the app it was granted for: ``scope`` is "full|<app>.infusionsoft.com"
#: (the sandbox's ``sandbox/keap/auth.py`` answers the same).
APP_HOST = re.compile(r"[a-z0-9][a-z0-9-]*\.infusionsoft\.com")


def record_url(connector: Connector, record_type: str, crm_id: str) -> str:
    """A contact's page in the Keap app it was written to (Max Classic's contact page); ""
    for other records (appointments have no page of their own) or an unknown app."""
    scope = str((connector.credentials or {}).get("scope", ""))
    host = scope.rpartition("|")[2].lower()
    if record_type != "contact" or not crm_id.isdigit() or not APP_HOST.fullmatch(host):
        return ""
    return f"https://{host}/Contact/manageContact.jsp?view=edit&ID={crm_id}"


def for_connector(connector: Connector) -> KeapConnection:
    return KeapConnection.for_connector(connector)


def values(row: KeapConnection) -> dict[str, str]:
    return {name: getattr(row, name) for name in FIELDS}


def endpoints(row: KeapConnection) -> dict[str, str]:
    base = row.api_base.rstrip("/")
    return {
        "rest_v1": f"{base}/rest/v1",
        "rest_v2": f"{base}/rest/v2",
        "xmlrpc": f"{base}/xmlrpc/v1",
        "token": row.token_url,
        "authorize": row.authorize_url,
    }


def repointed(row: KeapConnection, new: dict[str, Any]) -> bool:
    """Whether ``new`` points the connection at other URLs than ``row``'s: secrets stored for
    the old ones are then never sent to the new ones (SPEC §13)."""
    return any(new.get(name) and str(new[name]).rstrip("/") != (getattr(row, name) or "").rstrip("/")
               for name in URL_FIELDS)


def has_credentials(connector: Connector, row: KeapConnection | None = None) -> bool:
    creds = connector.credentials or {}
    row = row if row is not None else for_connector(connector)
    if row.auth_method == SERVICE_KEY:
        return bool(creds.get("service_account_key"))
    return bool(creds.get("refresh_token"))


def is_connected(connector: Connector) -> bool:
    return connector.status == ConnectorStatus.CONNECTED and has_credentials(connector)
