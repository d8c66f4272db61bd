""""Refresh CRM data" for Salesforce (``CrmIntegration.refresh_metadata``): drop the cached
describes (fields, picklist values, record types) and users, read them again and say in words
what changed since they were cached."""

from __future__ import annotations

from typing import Any

from apps.connectors.contract import MetadataRefresh, list_changes, quoted_names
from apps.connectors.models import Connector

from . import metadata
from .client import SalesforceClient


def _gone_and_new(what: str, before: list[str], after: list[str]) -> list[str]:
    return list_changes(what, before, after, crm="Salesforce")


def _picklists(described: dict[str, Any]) -> dict[str, list[str]]:
    return {f["name"]: [v.get("value") for v in f.get("picklistValues") or [] if v.get("active", True)]
            for f in described.get("fields", []) if f.get("picklistValues")}


def _object_changes(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = _gone_and_new(f"{name} fields", [f["name"] for f in before.get("fields", [])],
                            [f["name"] for f in after.get("fields", [])])
    changes += _gone_and_new(f"{name} record types", before.get("recordTypes") or [],
                             after.get("recordTypes") or [])
    now = _picklists(after)
    for field, values in _picklists(before).items():
        if field in now:
            gone = [v for v in values if v not in now[field]]
            if gone:
                changes.append(f"Values of the {name} field {field} no longer in Salesforce: "
                               f"{quoted_names(gone)}.")
    return changes


def refresh(connector: Connector) -> MetadataRefresh:
    client = SalesforceClient(connector)
    before = metadata.cached_describes(client, list(metadata.DESCRIBED))
    old_users = metadata.cached_users(client)
    metadata.forget(client)
    changes: list[str] = []
    for name in metadata.DESCRIBED:
        after = metadata.describe(client, name, fresh=True)
        if name in before:
            changes += _object_changes(name, before[name], after)
    users = metadata.users(client, fresh=True)
    if old_users is not None:
        changes += _gone_and_new("Active users", [u.get("Name") or u["Id"] for u in old_users],
                                 [u.get("Name") or u["Id"] for u in users])
    return MetadataRefresh(crm="Salesforce", changes=tuple(changes))
