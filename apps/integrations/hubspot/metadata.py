"""What is read from HubSpot and cached: property definitions per object, owners (CRM users), and
the ids of companies and contacts found or created once (``CrmCacheEntry`` rows).

Definitions and owners are kept ``METADATA_TTL`` seconds in the cache every worker shares (a
staged connector, ``apps.connectors.staging``, keeps what it read to itself); ``forget`` drops
them (``CrmIntegration.refresh_metadata``). The Meeting step's two custom meeting properties
(``models.MEETING_PROPERTIES``) are checked and deployed here (reference §8.2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.connectors import staging
from apps.connectors.errors import PermanentCrmError
from apps.connectors.models import Connector
from apps.intake.lifecycle import LifecycleAction

from .client import HubSpotClient
from .models import (
    LIFECYCLE_PROPERTY,
    MEETING_PROPERTIES,
    PROPERTY_GROUP,
    REASON_PROPERTY,
    CrmCacheEntry,
    ObjectType,
)

METADATA_TTL = 3600
#: ``CrmCacheEntry.kind`` values: a company by ``company_key``, a contact by lower-cased email,
#: and a personalized link's record id HubSpot said it does not have.
COMPANY = "company"
CONTACT = "contact"
UNKNOWN_CONTACT_ID = "unknown_contact_id"
CACHE_KINDS = (COMPANY, CONTACT, UNKNOWN_CONTACT_ID)
OBJECT_TYPES = tuple(ObjectType.values)
#: The Meeting step's custom properties (``PropertyCreate``, reference §8.2).
MEETING_PROPERTY_DEFINITIONS = {
    LIFECYCLE_PROPERTY: {
        "name": LIFECYCLE_PROPERTY, "label": "Bookbridge lifecycle action", "type": "enumeration",
        "fieldType": "select", "groupName": PROPERTY_GROUP,
        "description": "The exact booking lifecycle action Bookbridge last synced to this meeting.",
        "options": [{"label": a.value, "value": a.value, "displayOrder": i}
                    for i, a in enumerate(LifecycleAction)],
    },
    REASON_PROPERTY: {
        "name": REASON_PROPERTY, "label": "Bookbridge cancel or reschedule reason", "type": "string",
        "fieldType": "textarea", "groupName": PROPERTY_GROUP,
        "description": "The reason the customer or the owner gave when canceling or rescheduling.",
    },
}
PROPERTY_GROUP_LABEL = "Bookbridge"


def _key(connector: Connector, name: str) -> str:
    return f"hubspot:{connector.pk}:{name}"


def _names() -> list[str]:
    return ["owners", *(f"properties:{t}" for t in OBJECT_TYPES)]


def cached(connector: Connector, name: str) -> Any:
    """What is cached under ``name`` ("owners", "properties:<object type>"), None when nothing is."""
    return staging.cache_for(connector).get(_key(connector, name))


def _cached(connector: Connector, name: str, fetch: Callable[[], Any]) -> Any:
    store = staging.cache_for(connector)
    key = _key(connector, name)
    value = store.get(key)
    if value is None:
        value = fetch()
        store.set(key, value, METADATA_TTL)
    return value


def forget(connector: Connector) -> None:
    """Drop what was cached of the portal (owners, property definitions)."""
    staging.cache_for(connector).delete_many([_key(connector, n) for n in _names()])


def properties(connector: Connector, object_type: str, client: HubSpotClient | None = None) -> list[dict]:
    """The object's property definitions as HubSpot gives them (name, label, type, fieldType,
    options [{label, value}], modificationMetadata, …), cached."""
    return _cached(connector, f"properties:{object_type}",
                   lambda: (client or HubSpotClient(connector)).properties(object_type))


def property_named(connector: Connector, object_type: str, name: str,
                   client: HubSpotClient | None = None) -> dict[str, Any] | None:
    return next((p for p in properties(connector, object_type, client) if p.get("name") == name), None)


def options(connector: Connector, object_type: str, property_name: str,
            client: HubSpotClient | None = None) -> list[tuple[str, str]]:
    """(value, label) of an enumeration property's options, hidden ones left out."""
    prop = property_named(connector, object_type, property_name, client) or {}
    return [(str(o.get("value", "")), str(o.get("label") or o.get("value") or ""))
            for o in prop.get("options") or [] if not o.get("hidden")]


def crm_users(connector: Connector, client: HubSpotClient | None = None) -> list[dict[str, str]]:
    """``[{"id", "email", "name"}]``: the portal's owners (the id is what ``hubspot_owner_id``
    takes, not the user id: reference §8.1)."""

    def fetch() -> list[dict[str, str]]:
        return [{"id": str(o["id"]), "email": o.get("email") or "",
                 "name": " ".join(p for p in (o.get("firstName"), o.get("lastName")) if p)}
                for o in (client or HubSpotClient(connector)).owners() if o.get("id")]

    return _cached(connector, "owners", fetch)


def meeting_property_check(connector: Connector,
                           client: HubSpotClient | None = None) -> tuple[list[str], list[str]]:
    """(present, missing) of the Meeting step's properties, read from HubSpot again."""
    staging.cache_for(connector).delete(_key(connector, f"properties:{ObjectType.MEETINGS}"))
    names = {p.get("name") for p in properties(connector, ObjectType.MEETINGS, client)}
    present = [n for n in MEETING_PROPERTIES if n in names]
    return present, [n for n in MEETING_PROPERTIES if n not in names]


def _ignore_existing(create: Callable[[], Any]) -> None:
    """Create, or accept that it exists already (409: another administrator or worker was first)."""
    try:
        create()
    except PermanentCrmError as exc:
        if exc.status != 409:
            raise


def install_meeting_properties(connector: Connector, client: HubSpotClient | None = None) -> None:
    """Create the property group and the missing meeting properties (with the administrator's
    consent, on the Meeting step); the cached meeting definitions are dropped."""
    client = client or HubSpotClient(connector)
    _present, missing = meeting_property_check(connector, client)
    if not missing:
        return
    _ignore_existing(lambda: client.create_property_group(ObjectType.MEETINGS, PROPERTY_GROUP,
                                                          PROPERTY_GROUP_LABEL))
    for name in missing:
        _ignore_existing(lambda name=name: client.create_property(ObjectType.MEETINGS,
                                                                   MEETING_PROPERTY_DEFINITIONS[name]))
    staging.cache_for(connector).delete(_key(connector, f"properties:{ObjectType.MEETINGS}"))


def cache_entries(connector: Connector, names: set[str]) -> dict[tuple[str, str], str]:
    """{(kind, name): HubSpot id} of the cached names a booking may use, in one query."""
    names.discard("")
    if not names:
        return {}
    return {
        (kind, name): crm_id
        for kind, name, crm_id in CrmCacheEntry.objects.filter(
            connector=connector, kind__in=CACHE_KINDS, name__in=names)
        .order_by().values_list("kind", "name", "crm_id")
    }
