"""Reads of the Salesforce connector's settings, as the plain dict the planner consumes."""

from __future__ import annotations

import json
from typing import Any

from apps.connectors.models import Connector, OwnerMapping
from apps.core import textunion
from apps.directory.models import SchedulingUser

from .fields import LOOKUP_TYPE, needs_record_id
from .models import (
    BookingPageRule,
    CreationRules,
    FieldMapping,
    RequiredFieldRule,
    SalesforceInstallation,
    ValueSource,
)
from .planner import DEFAULT_MAPPINGS, DEFAULT_REQUIRED, DEFAULT_RULES

RULE_FIELDS = tuple(DEFAULT_RULES)


def unmapped_required_lookups(connector: Connector) -> list[RequiredFieldRule]:
    """Required lookups of Step 3 without a record id: the org refuses every new record of
    their object until one is entered, so the step is not done (``wizard_steps``)."""
    if not connector.pk:
        return []
    rows = RequiredFieldRule.objects.filter(connector_id=connector.pk, field_type=LOOKUP_TYPE)
    return [row for row in rows
            if needs_record_id({"name": row.field_name, "type": row.field_type})
            and not (row.source == ValueSource.RECORD_ID and row.value)]


def mappings(connector: Connector) -> dict[str, list[dict[str, Any]]]:
    rows = list(FieldMapping.objects.filter(connector_id=connector.pk)) if connector.pk else []
    if not rows and not (connector.settings or {}).get("salesforce_mappings_saved"):
        return {obj: [dict(m) for m in items] for obj, items in DEFAULT_MAPPINGS.items()}
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.object_name, []).append(
            {"field": row.field_name, "booking_field": row.booking_field, "mode": row.write_mode})
    return result


# ------------------------------------------------------------------ one query for a sync job
#: The wizard's steps in the query below: (part, model, fields read as text).
_STEPS = (
    ("rules", CreationRules, RULE_FIELDS),
    ("installation", SalesforceInstallation, ("checked_at", "missing_fields")),
    ("page", BookingPageRule, ("booking_page_id", "general_link_creates", "event_creation")),
    ("required", RequiredFieldRule, ("object_name", "field_name", "field_type", "source", "value")),
    ("mapping", FieldMapping, ("object_name", "field_name", "booking_field", "write_mode")),
)
#: The widest part of the query (the creation rules).
_WIDTH = len(RULE_FIELDS)


def _planning_sql(with_owner: bool) -> str:
    """The ``UNION ALL`` of the wizard's steps (and the owner's mapping), built once per process
    (``apps.core.textunion``); its parameters are the connector id (and the owner)."""
    column = textunion.column

    def build() -> list[str]:
        parts = [textunion.part(name, model, [column(model, f) for f in fields],
                                f"{column(model, 'connector')} = %s", width=_WIDTH)
                 for name, model, fields in _STEPS]
        if with_owner:
            person = (f"SELECT {column(SchedulingUser, 'id')} FROM {textunion.table(SchedulingUser)}"
                      f" WHERE {column(SchedulingUser, 'external_id')} = %s")
            owner = (f"{column(OwnerMapping, 'connector')} = %s"
                     f" AND {column(OwnerMapping, 'crm_user_id')} <> ''"
                     f" AND {column(OwnerMapping, 'scheduling_user')} IN ({person})")
            parts.append(textunion.part("owner", OwnerMapping, [column(OwnerMapping, "crm_user_id")],
                                        owner, width=_WIDTH))
        return parts

    return textunion.sql(("salesforce.planning", with_owner), build, suffix=" ORDER BY 1, 2, 3")


def planning_settings(connector: Connector, owner_external_id: str = "") -> tuple[dict[str, Any], str | None]:
    """(everything the planner needs from the wizard's steps, JSON-serialisable; the owner's
    mapped Salesforce user id or None), read in one query.

    The wizard's rows are all text (the installation check's JSON list cast to text), so the
    five steps and the owner mapping are one ``UNION ALL``, ordered like the separate reads.
    (``apps.core.textunion``: the ORM would spend more compiling this query than the five
    separate reads cost.)
    """
    params: list[Any] = [connector.pk] * len(_STEPS)
    if owner_external_id:
        params += [connector.pk, owner_external_id]
    rows = textunion.fetch(_planning_sql(bool(owner_external_id)), params)
    rules, is_installed, owner = dict(DEFAULT_RULES), False, None
    pages: dict[str, dict[str, str]] = {}
    required: dict[str, list[dict[str, Any]]] = {}
    found_mappings: dict[str, list[dict[str, Any]]] = {}
    for part, *values in rows:
        if part == "rules":
            rules = dict(zip(RULE_FIELDS, values, strict=True))
        elif part == "installation":
            is_installed = values[0] is not None and not json.loads(values[1] or "[]")
        elif part == "page":
            pages[values[0]] = {"general_link_creates": values[1], "event_creation": values[2]}
        elif part == "required":
            required.setdefault(values[0], []).append(
                {"field": values[1], "type": values[2], "source": values[3], "value": values[4]})
        elif part == "mapping":
            found_mappings.setdefault(values[0], []).append(
                {"field": values[1], "booking_field": values[2], "mode": values[3]})
        elif part == "owner":
            owner = values[0]  # one row per (connector, scheduling user)
    if not required:
        required = {obj: [dict(r) for r in items] for obj, items in DEFAULT_REQUIRED.items()}
    if not found_mappings and not connector.settings.get("salesforce_mappings_saved"):
        found_mappings = {obj: [dict(m) for m in items] for obj, items in DEFAULT_MAPPINGS.items()}
    settings = {"installed": is_installed, "rules": rules, "pages": pages, "required": required,
                "mappings": found_mappings}
    return settings, owner
