"""Writes of the Salesforce connector outside a sync: connect, verify, check, remember limits."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from apps.connectors import staging
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
    if not staging.is_staged(client.connector):  # a staged one is saved by the import
        connection.save(update_fields=["verified_at", "missing_permissions", "instance_url"])
    return missing


def mark_connected(connector: Connector) -> None:
    if not staging.is_staged(connector):
        Connector.objects.filter(pk=connector.pk).update(status=ConnectorStatus.CONNECTED, status_detail="")
    connector.status = ConnectorStatus.CONNECTED
    connector.status_detail = ""


def check_installation(client: SalesforceClient) -> SalesforceInstallation:
    """Step 2: are the two custom Event fields there? (fresh describe; kept in memory for a
    staged connector until the import saves the step)."""
    described = metadata.describe(client, "Event", fresh=True)
    names = {f["name"] for f in described.get("fields", [])}
    check = staging.row_for(SalesforceInstallation, client.connector)
    check.present_fields = [n for n in REQUIRED_EVENT_FIELDS if n in names]
    check.missing_fields = [n for n in REQUIRED_EVENT_FIELDS if n not in names]
    check.checked_at = timezone.now()
    if not staging.is_staged(client.connector):
        check.save()
    return check


def required_fields(client: SalesforceClient, *, fresh: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Step 3: the fields each object requires on create, from describe."""
    return {name: required_on_create(metadata.describe(client, name, fresh=fresh))
            for name in SETUP_OBJECTS}


def sync_required_rules(client: SalesforceClient, *, fresh: bool = False) -> list[RequiredFieldRule]:
    """One RequiredFieldRule row per required field (defaults for the well-known ones), ordered
    like the rows. For a staged connector the rows are only made in memory
    (``save_required_rules`` stores them when the import is saved)."""
    connector = client.connector
    staged = staging.is_staged(connector)
    defaults = {(obj, r["field"]): r for obj, rules in DEFAULT_REQUIRED.items() for r in rules}
    stored = RequiredFieldRule.objects.filter(connector_id=connector.pk) if connector.pk else []
    existing = {(row.object_name, row.field_name): row for row in stored}
    rows = []
    for obj, fields in required_fields(client, fresh=fresh).items():
        for f in fields:
            label, kind = f.get("label") or f["name"], f.get("type", "")
            default = defaults.get((obj, f["name"]), {})
            initial = {"field_label": label, "field_type": kind,
                       "source": default.get("source", ""), "value": default.get("value", "")}
            if staged:
                row = existing.get((obj, f["name"])) or RequiredFieldRule(
                    connector=connector, object_name=obj, field_name=f["name"], **initial)
                row.field_type, row.field_label = kind, label
            else:
                row, _ = RequiredFieldRule.objects.get_or_create(
                    connector=connector, object_name=obj, field_name=f["name"], defaults=initial)
                if row.field_type != kind or row.field_label != label:
                    row.field_type, row.field_label = kind, label
                    row.save(update_fields=["field_type", "field_label"])
            rows.append(row)
    if not staged:
        wanted = {(row.object_name, row.field_name) for row in rows}
        for row in existing.values():
            if (row.object_name, row.field_name) not in wanted:
                row.delete()
    return sorted(rows, key=lambda row: (row.object_name, row.field_name))


def save_required_rules(connector: Connector, rows: list[RequiredFieldRule]) -> None:
    """Store exactly these rules for the connector (those of fields no longer required go)."""
    keep = {(row.object_name, row.field_name) for row in rows}
    for stale in RequiredFieldRule.objects.filter(connector=connector):
        if (stale.object_name, stale.field_name) not in keep:
            stale.delete()
    for row in rows:
        RequiredFieldRule.objects.update_or_create(
            connector=connector, object_name=row.object_name, field_name=row.field_name,
            defaults={"field_label": row.field_label, "field_type": row.field_type,
                      "source": row.source, "value": row.value})
