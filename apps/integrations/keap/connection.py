"""Where and how a Keap connector connects: ``Connector.settings["keap"]`` + encrypted credentials.

``settings["keap"]`` = {"auth_method": "oauth"|"service_key", "client_id": "...",
"api_base": "https://api.infusionsoft.com/crm", "token_url": ..., "authorize_url": ...}.
``credentials`` (encrypted) = {"access_token", "refresh_token", "expires_at", "client_secret"}
for OAuth, or {"service_account_key"}. Defaults are Keap's real hosts (reference §2, §5);
the ``KEAP_CLIENT_ID`` / ``KEAP_API_BASE`` / ``KEAP_TOKEN_URL`` / ``KEAP_AUTHORIZE_URL`` settings
(``config/settings/base.py``) are the defaults for new connectors; each connector can point
elsewhere (the sandbox).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

from apps.connectors.models import Connector, ConnectorStatus
from apps.core.outbound import HostFamily

#: Where Keap is reached (reference §2): its API, OAuth and app hosts. Operators extend it with
#: ``OUTBOUND_EXTRA_ALLOWED_HOSTS["keap"]``; every Keap URL goes through ``apps.core.outbound``.
HOSTS = HostFamily("keap", "Keap", ("*.infusionsoft.com", "*.keap.com", "*.infusionsoft.app", "*.keap.app"))

OAUTH = "oauth"
SERVICE_KEY = "service_key"


def defaults() -> dict[str, str]:
    return {
        "auth_method": OAUTH,
        "client_id": django_settings.KEAP_CLIENT_ID,
        "api_base": django_settings.KEAP_API_BASE,
        "token_url": django_settings.KEAP_TOKEN_URL,
        "authorize_url": django_settings.KEAP_AUTHORIZE_URL,
    }


def config(connector: Connector) -> dict[str, str]:
    return {**defaults(), **((connector.settings or {}).get("keap") or {})}


def auth_method(connector: Connector) -> str:
    return config(connector)["auth_method"]


def endpoints(connector: Connector) -> dict[str, str]:
    cfg = config(connector)
    base = cfg["api_base"].rstrip("/")
    return {
        "rest_v1": f"{base}/rest/v1",
        "rest_v2": f"{base}/rest/v2",
        "xmlrpc": f"{base}/xmlrpc/v1",
        "token": cfg["token_url"],
        "authorize": cfg["authorize_url"],
    }


def set_config(connector: Connector, **values: Any) -> None:
    current = dict((connector.settings or {}).get("keap") or {})
    current.update({k: v for k, v in values.items() if v is not None})
    connector.settings = {**(connector.settings or {}), "keap": current}


def has_credentials(connector: Connector) -> bool:
    creds = connector.credentials or {}
    if auth_method(connector) == SERVICE_KEY:
        return bool(creds.get("service_account_key"))
    return bool(creds.get("refresh_token"))


def is_connected(connector: Connector) -> bool:
    return connector.status == ConnectorStatus.CONNECTED and has_credentials(connector)
