"""Reads of the Salesforce connector's settings, as the plain dict the planner consumes."""

from __future__ import annotations

from typing import Any

from apps.connectors.models import Connector

from .models import (
    BookingPageRule,
    CreationRules,
    FieldMapping,
    RequiredFieldRule,
    SalesforceInstallation,
)
from .planner import DEFAULT_MAPPINGS, DEFAULT_REQUIRED, DEFAULT_RULES

RULE_FIELDS = tuple(DEFAULT_RULES)


def creation_rules(connector: Connector) -> dict[str, Any]:
    rules = CreationRules.objects.filter(connector=connector).first()
    if rules is None:
        return dict(DEFAULT_RULES)
    return {name: getattr(rules, name) for name in RULE_FIELDS}


def required_rules(connector: Connector) -> dict[str, list[dict[str, Any]]]:
    rows = list(RequiredFieldRule.objects.filter(connector=connector))
    if not rows:
        return {obj: [dict(r) for r in rules] for obj, rules in DEFAULT_REQUIRED.items()}
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.object_name, []).append(
            {"field": row.field_name, "type": row.field_type, "source": row.source, "value": row.value})
    return result


def mappings(connector: Connector) -> dict[str, list[dict[str, Any]]]:
    rows = list(FieldMapping.objects.filter(connector=connector))
    if not rows and not connector.settings.get("salesforce_mappings_saved"):
        return {obj: [dict(m) for m in items] for obj, items in DEFAULT_MAPPINGS.items()}
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.object_name, []).append(
            {"field": row.field_name, "booking_field": row.booking_field, "mode": row.write_mode})
    return result


def page_rules(connector: Connector) -> dict[str, dict[str, str]]:
    return {
        rule.booking_page_id: {"general_link_creates": rule.general_link_creates,
                               "event_creation": rule.event_creation}
        for rule in BookingPageRule.objects.filter(connector=connector)
    }


def installed(connector: Connector) -> bool:
    check = SalesforceInstallation.objects.filter(connector=connector).first()
    return bool(check and check.installed)


def snapshot(connector: Connector) -> dict[str, Any]:
    """Everything the planner needs from the wizard's steps (JSON-serialisable)."""
    return {
        "installed": installed(connector),
        "rules": creation_rules(connector),
        "pages": page_rules(connector),
        "required": required_rules(connector),
        "mappings": mappings(connector),
    }
