""""Refresh CRM data" for HubSpot (``CrmIntegration.refresh_metadata``): drop what was read from
the portal (owners and property definitions in the shared cache; the saved ids of companies and
contacts), read it again, re-check the Meeting step's properties and say in words what changed.
"""

from __future__ import annotations

from apps.connectors.contract import MetadataRefresh, list_changes
from apps.connectors.models import Connector

from . import metadata, services
from .client import HubSpotClient
from .models import ObjectType


def _diff(what: str, before: list[str] | None, after: list[str]) -> list[str]:
    return list_changes(what, before, after, crm="HubSpot")


def _labels(definitions: list[dict] | None) -> list[str] | None:
    if definitions is None:
        return None
    return [str(p.get("label") or p.get("name")) for p in definitions]


def _user_names(users: list[dict[str, str]] | None) -> list[str] | None:
    if users is None:
        return None
    return [u["name"] or u["email"] or u["id"] for u in users]


def refresh(connector: Connector) -> MetadataRefresh:
    old_users = metadata.cached(connector, "owners")
    old_properties = {t: metadata.cached(connector, f"properties:{t}") for t in ObjectType.values}
    metadata.forget(connector)
    client = HubSpotClient(connector)
    users = metadata.crm_users(connector, client)
    changes = _diff("Owners", _user_names(old_users), _user_names(users) or [])
    for object_type in ObjectType:
        after = metadata.properties(connector, object_type.value, client)
        changes += _diff(f"{object_type.label} properties", _labels(old_properties[object_type.value]),
                         _labels(after) or [])
    present, missing = metadata.meeting_property_check(connector, client)
    services.save_meeting_check(connector=connector, present=present, missing=missing)
    if missing:
        changes.append("The Bookbridge meeting properties are missing in HubSpot: the lifecycle "
                       "action and reason are not written until they are created again on the "
                       "wizard's Meeting step.")
    dropped = services.forget_saved_ids(connector=connector)
    if dropped:
        changes.append(f"Saved HubSpot ids of companies and contacts forgotten: {dropped}. "
                       "Bookbridge finds them again at the next booking.")
    return MetadataRefresh(crm="HubSpot", changes=tuple(changes))
