"""Writes of the Salesforce package outside a sync: the Step 2 check and the Step 3 rules.

Reading the org (describe calls) happens before, with no transaction open
(``metadata.check_installation``, ``metadata.refresh_required_rules``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.connectors.models import Connector

from .fields import LOOKUP_TYPE
from .models import RequiredFieldRule, SalesforceInstallation, ValueSource
from .planner import DEFAULT_REQUIRED

#: The default mapping of the well-known required fields, by (object, field).
DEFAULT_REQUIRED_BY_FIELD = {(obj, rule["field"]): rule for obj, rules in DEFAULT_REQUIRED.items()
                             for rule in rules}


@dataclass
class RequiredRulesChange:
    """The Step 3 rules after reading the org, and what changed since the last read."""

    rows: list[RequiredFieldRule]
    #: Rules of fields the org newly requires (in the rows' order).
    added: list[RequiredFieldRule] = field(default_factory=list)
    #: "Object.Field" of the rules that went: fields no longer required, or deleted.
    removed: list[str] = field(default_factory=list)


def initial_rule(obj: str, described: dict[str, Any]) -> dict[str, Any]:
    """A new rule's values: the field's label and type, and its default mapping (if any)."""
    default = DEFAULT_REQUIRED_BY_FIELD.get((obj, described["name"]), {})
    return {"field_label": described.get("label") or described["name"],
            "field_type": described.get("type", ""),
            "source": default.get("source", ""), "value": default.get("value", "")}


def rule_order(row: RequiredFieldRule) -> tuple[str, str]:
    """The order rules are listed and exported in."""
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
            initial = initial_rule(obj, described)
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
    change.rows.sort(key=rule_order)
    change.added.sort(key=rule_order)
    change.removed.sort()
    return change


@transaction.atomic
def save_installation_check(*, check: SalesforceInstallation) -> None:
    """Store Step 2's check (``metadata.check_installation`` made it)."""
    check.save()


@transaction.atomic
def save_required_rules(*, connector: Connector, rows: list[RequiredFieldRule]) -> None:
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
