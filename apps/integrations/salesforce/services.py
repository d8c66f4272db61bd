"""Writes of the Salesforce connector outside a sync: connect, verify, check, remember limits."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.services import mark_disconnected

from . import metadata
from .client import SalesforceClient
from .fields import required_on_create
from .models import (
    REQUIRED_EVENT_FIELDS,
    SETUP_OBJECTS,
    RequiredFieldRule,
    SalesforceConnection,
    SalesforceInstallation,
)
from .planner import DEFAULT_REQUIRED

logger = logging.getLogger(__name__)

PERMISSION_OBJECTS = ("Lead", "Contact", "Account", "Case", "Event")


def remember_limits(connector: Connector, limit) -> None:
    """Keep the last ``Sforce-Limit-Info`` (api-usage=used/max) on the connection row."""
    if limit is None:
        return
    SalesforceConnection.objects.filter(connector=connector).update(
        api_usage_used=limit.used, api_usage_max=limit.max, api_usage_at=timezone.now())


def connection_lost(connector: Connector, reason: str) -> None:
    """Salesforce refused us after one refresh: the connector is disconnected (the console tells
    the administrators, once per disconnection)."""
    mark_disconnected(connector=connector, reason=reason)


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
    connection.save(update_fields=["verified_at", "missing_permissions", "instance_url"])
    return missing


def mark_connected(connector: Connector) -> None:
    Connector.objects.filter(pk=connector.pk).update(status=ConnectorStatus.CONNECTED, status_detail="")
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""


def check_installation(client: SalesforceClient) -> SalesforceInstallation:
    """Step 2: are the two custom Event fields there? (fresh describe)."""
    described = metadata.describe(client, "Event", fresh=True)
    names = {f["name"] for f in described.get("fields", [])}
    check, _ = SalesforceInstallation.objects.get_or_create(connector=client.connector)
    check.present_fields = [n for n in REQUIRED_EVENT_FIELDS if n in names]
    check.missing_fields = [n for n in REQUIRED_EVENT_FIELDS if n not in names]
    check.checked_at = timezone.now()
    check.save()
    return check


def required_fields(client: SalesforceClient, *, fresh: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Step 3: the fields each object requires on create, from describe."""
    return {name: required_on_create(metadata.describe(client, name, fresh=fresh))
            for name in SETUP_OBJECTS}


def sync_required_rules(client: SalesforceClient, *, fresh: bool = False) -> list[RequiredFieldRule]:
    """One RequiredFieldRule row per required field (defaults for the well-known ones)."""
    defaults = {(obj, r["field"]): r for obj, rules in DEFAULT_REQUIRED.items() for r in rules}
    rows = []
    wanted = set()
    for obj, fields in required_fields(client, fresh=fresh).items():
        for f in fields:
            wanted.add((obj, f["name"]))
            default = defaults.get((obj, f["name"]), {})
            row, _ = RequiredFieldRule.objects.get_or_create(
                connector=client.connector, object_name=obj, field_name=f["name"],
                defaults={"field_label": f.get("label") or f["name"], "field_type": f.get("type", ""),
                          "source": default.get("source", ""), "value": default.get("value", "")})
            if row.field_type != f.get("type") or row.field_label != f.get("label"):
                row.field_type, row.field_label = f.get("type", ""), f.get("label") or f["name"]
                row.save(update_fields=["field_type", "field_label"])
            rows.append(row)
    for row in RequiredFieldRule.objects.filter(connector=client.connector):
        if (row.object_name, row.field_name) not in wanted:
            row.delete()
    return rows
