"""The stored Salesforce connection (``SalesforceConnection``, Step 1) and its checks.

* Where Salesforce is reached (``HOSTS``, ``normalize_base_url``) and the login URL of an
  environment (``login_url_for``: production, sandbox or the org's My Domain).
* ``is_connected``: connected, and the connection proven (``verified_at``).
* The connection checks every sign-in path ends with (the connect page, its OAuth callback,
  an import, the demo): ``verify_connection`` (API access and create permissions),
  ``mark_connected``; and what a sync reports: ``connection_lost``, ``remember_limits``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.utils import timezone

from apps.connectors import staging
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.services import mark_disconnected, reconnected
from apps.core import outbound
from apps.core.outbound import HostFamily

from . import metadata
from .models import SalesforceConnection

if TYPE_CHECKING:
    from .client import LimitInfo, SalesforceClient

LOGIN_URLS = {
    "production": "https://login.salesforce.com",
    "sandbox": "https://test.salesforce.com",
}
#: Where Salesforce is reached: login hosts, My Domain and instance hosts (``*.my.salesforce.com``,
#: ``*.sandbox.my.salesforce.com``, legacy ``naX.salesforce.com``), Lightning and site hosts.
#: Operators extend it with ``OUTBOUND_EXTRA_ALLOWED_HOSTS["salesforce"]``.
HOSTS = HostFamily("salesforce", "Salesforce", (
    "login.salesforce.com", "test.salesforce.com", "*.salesforce.com", "*.force.com",
    "*.cloudforce.com", "*.salesforce.mil", "*.force.mil"))
#: The objects the API user must be able to create (``verify_connection``).
PERMISSION_OBJECTS = ("Lead", "Contact", "Account", "Case", "Event")


# ------------------------------------------------------------------------------ URLs
def normalize_base_url(url: str) -> str:
    """``scheme://host[:port]`` of a login or instance URL; ValueError in plain words if the
    outbound-request policy (``apps.core.outbound``) refuses it."""
    text = (url or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    try:
        checked = outbound.parse(text, HOSTS, what="The Salesforce URL")
    except outbound.OutboundRefused as exc:
        raise ValueError(str(exc)) from None
    return checked.origin


def login_url_for(environment: str, custom_url: str = "") -> str:
    """Production, sandbox (test) or a custom My Domain login URL."""
    if environment in LOGIN_URLS:
        return LOGIN_URLS[environment]
    text = (custom_url or "").strip()
    if text and "://" not in text and "." not in text.split(":")[0]:
        text = f"https://{text}.my.salesforce.com"  # "acme" → the org's My Domain
    return normalize_base_url(text)


#: A record id: 15 characters, or 18 with the case-safe suffix (reference: record ids).
RECORD_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def record_url(connector: Connector, crm_id: str) -> str:
    """The record's page in the org: Salesforce opens ``<instance URL>/<record id>`` in
    Lightning and Classic alike. "" for an id that is not one or an org not signed in to."""
    saved = SalesforceConnection.objects.filter(connector=connector).first()
    if saved is None or not saved.instance_url or not RECORD_ID.fullmatch(crm_id):
        return ""
    try:
        return f"{normalize_base_url(saved.instance_url)}/{crm_id}"
    except ValueError:  # an instance URL the outbound policy no longer accepts: no link
        return ""


# ------------------------------------------------------------------------ the row
def is_connected(connector: Connector) -> bool:
    """Connected, and the connection proven (``SalesforceConnection.verified_at``)."""
    if connector.status != ConnectorStatus.CONNECTED:
        return False
    saved = SalesforceConnection.objects.filter(connector=connector).first()
    return bool(saved and saved.verified_at)


def verify_connection(client: SalesforceClient) -> list[str]:
    """Check API access and create permissions; returns what is missing, in plain words."""
    missing: list[str] = []
    for name in PERMISSION_OBJECTS:
        described = metadata.describe(client, name, fresh=True)
        if not described.get("createable"):
            missing.append(f"The API user cannot create {name} records "
                           f"(give its profile or permission set “Create” on {name}).")
    connection = client.connection
    connection.verified_at = timezone.now()
    connection.missing_permissions = missing
    if not staging.is_staged(client.connector):  # a staged one is saved by the import
        connection.save(update_fields=["verified_at", "missing_permissions", "instance_url"])
    return missing


def mark_connected(connector: Connector) -> None:
    if not staging.is_staged(connector):
        Connector.objects.filter(pk=connector.pk).update(status=ConnectorStatus.CONNECTED, status_detail="")
        reconnected(connector=connector)
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""


def connection_lost(connector: Connector, reason: str) -> None:
    """Salesforce refused us after one refresh: the connector is disconnected (the console tells
    the administrators, once per disconnection)."""
    mark_disconnected(connector=connector, reason=reason)


def remember_limits(connector: Connector, limit: LimitInfo | None) -> None:
    """Keep the last ``Sforce-Limit-Info`` (api-usage=used/max) on the connection row."""
    if limit is None:
        return
    SalesforceConnection.objects.filter(connector=connector).update(
        api_usage_used=limit.used, api_usage_max=limit.max, api_usage_at=timezone.now())
