"""Writes of the Salesforce connector outside a sync: connect, verify, check, remember limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.connectors import staging
from apps.connectors.models import Connector, ConnectorStatus
from apps.connectors.services import mark_disconnected

from . import metadata
from .client import SalesforceClient
from .fields import LOOKUP_TYPE, required_on_create
from .models import (
    REQUIRED_EVENT_FIELDS,
    SETUP_OBJECTS,
    RequiredFieldRule,
    SalesforceConnection,
    SalesforceInstallation,
    ValueSource,
)
from .planner import DEFAULT_REQUIRED

#: The default mapping of the well-known required fields, by (object, field).
DEFAULT_REQUIRED_BY_FIELD = {(obj, rule["field"]): rule for obj, rules in DEFAULT_REQUIRED.items()
                             for rule in rules}

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


@dataclass
class RequiredRulesChange:
    """The Step 3 rules after reading the org, and what changed since the last read."""

    rows: list[RequiredFieldRule]
    #: Rules of fields the org newly requires (in the rows' order).
    added: list[RequiredFieldRule] = field(default_factory=list)
    #: "Object.Field" of the rules that went: fields no longer required, or deleted.
    removed: list[str] = field(default_factory=list)


def sync_required_rules(client: SalesforceClient, *, fresh: bool = False) -> list[RequiredFieldRule]:
    """One RequiredFieldRule row per required field (defaults for the well-known ones), ordered
    like the rows. For a staged connector the rows are only made in memory
    (``save_required_rules`` stores them when the import is saved)."""
    return refresh_required_rules(client, fresh=fresh).rows


def reread_required_rules(client: SalesforceClient) -> RequiredRulesChange:
    """The wizard's "Re-read from Salesforce": forget the cached describes (fields added,
    changed or deleted in the org since they were read), read them again, re-sync the rules."""
    metadata.forget(client)
    return refresh_required_rules(client, fresh=True)


def refresh_required_rules(client: SalesforceClient, *, fresh: bool = False) -> RequiredRulesChange:
    """Read the required fields (describe calls, before any transaction), then store the rules."""
    connector = client.connector
    required = required_fields(client, fresh=fresh)
    if staging.is_staged(connector):
        return _staged_rules(connector, required)
    return store_required_rules(connector=connector, required=required)


def _initial(obj: str, described: dict[str, Any]) -> dict[str, Any]:
    default = DEFAULT_REQUIRED_BY_FIELD.get((obj, described["name"]), {})
    return {"field_label": described.get("label") or described["name"],
            "field_type": described.get("type", ""),
            "source": default.get("source", ""), "value": default.get("value", "")}


def _staged_rules(connector: Connector, required: dict[str, list[dict[str, Any]]]) -> RequiredRulesChange:
    stored = RequiredFieldRule.objects.filter(connector_id=connector.pk) if connector.pk else []
    existing = {(row.object_name, row.field_name): row for row in stored}
    rows = []
    for obj, fields in required.items():
        for described in fields:
            initial = _initial(obj, described)
            row = existing.get((obj, described["name"])) or RequiredFieldRule(
                connector=connector, object_name=obj, field_name=described["name"], **initial)
            row.field_type, row.field_label = initial["field_type"], initial["field_label"]
            rows.append(row)
    return RequiredRulesChange(rows=sorted(rows, key=_order))


def _order(row: RequiredFieldRule) -> tuple[str, str]:
    return (row.object_name, row.field_name)


@transaction.atomic
def store_required_rules(*, connector: Connector,
                         required: dict[str, list[dict[str, Any]]]) -> RequiredRulesChange:
    """Make the connector's rules those of ``required`` (from ``required_fields``): new fields
    get a rule (their default mapping, if any), changed labels and types are updated, the rules
    of fields no longer required (or deleted) go. A field that became a lookup loses its old
    mapping: only a record id will do for it."""
    existing = {(row.object_name, row.field_name): row
                for row in RequiredFieldRule.objects.select_for_update().filter(connector=connector)}
    change = RequiredRulesChange(rows=[])
    for obj, fields in required.items():
        for described in fields:
            initial = _initial(obj, described)
            row = existing.pop((obj, described["name"]), None)
            if row is None:  # (get_or_create: another request may be adding the same rule)
                row, created = RequiredFieldRule.objects.get_or_create(
                    connector=connector, object_name=obj, field_name=described["name"], defaults=initial)
                if created:
                    change.added.append(row)
            elif (row.field_type, row.field_label) != (initial["field_type"], initial["field_label"]):
                if initial["field_type"] == LOOKUP_TYPE and row.source != ValueSource.RECORD_ID:
                    row.source, row.value = "", ""
                row.field_type, row.field_label = initial["field_type"], initial["field_label"]
                row.save(update_fields=["field_type", "field_label", "source", "value"])
            change.rows.append(row)
    for row in existing.values():
        change.removed.append(f"{row.object_name}.{row.field_name}")
        row.delete()
    change.rows.sort(key=_order)
    change.added.sort(key=_order)
    change.removed.sort()
    return change


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
