"""Caches of Salesforce metadata (describe results, active users) and the metadata package.

Describe results and the user list change rarely; they are kept in the Django cache (Redis in
production, shared by every worker) so that a booking's steady-state sync costs no metadata
calls. The wizard's re-check buttons read them fresh. A staged connector (an import being
checked, ``apps.connectors.staging``) keeps what it read to itself: the stored connector of the
same id may point at another org.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from apps.connectors.staging import cache_for

from .client import SalesforceClient
from .models import REQUIRED_EVENT_FIELDS

DESCRIBE_TTL = 6 * 60 * 60
USERS_TTL = 60 * 60
DESCRIBE_KEEP = ("name", "label", "type", "length", "nillable", "createable", "updateable",
                 "defaultedOnCreate", "picklistValues", "restrictedPicklist", "custom", "referenceTo",
                 "relationshipName")


def _key(client: SalesforceClient, what: str) -> str:
    return f"salesforce:{client.connector.pk}:{client.version}:{what}"


def slim(describe: dict[str, Any]) -> dict[str, Any]:
    """The parts of a describe the connector uses (keeps the cache small)."""
    return {
        "name": describe.get("name"), "label": describe.get("label"),
        "keyPrefix": describe.get("keyPrefix"),
        "createable": describe.get("createable"), "updateable": describe.get("updateable"),
        "fields": [{k: f.get(k) for k in DESCRIBE_KEEP} for f in describe.get("fields", [])],
    }


def describe(client: SalesforceClient, object_name: str, *, fresh: bool = False) -> dict[str, Any]:
    key = _key(client, f"describe:{object_name}")
    store = cache_for(client.connector)
    if not fresh:
        cached = store.get(key)
        if cached is not None:
            return cached
    result = slim(client.describe(object_name))
    store.set(key, result, DESCRIBE_TTL)
    return result


def cached_describe(client: SalesforceClient, object_name: str) -> dict[str, Any] | None:
    return cache_for(client.connector).get(_key(client, f"describe:{object_name}"))


def cached_describes(client: SalesforceClient, object_names: list[str]) -> dict[str, dict[str, Any]]:
    """``cached_describe`` of several objects in one cache round trip (the ones cached)."""
    keys = {_key(client, f"describe:{name}"): name for name in object_names}
    found = cache_for(client.connector).get_many(list(keys))
    return {keys[key]: value for key, value in found.items() if value is not None}


def forget(client: SalesforceClient) -> None:
    store = cache_for(client.connector)
    for name in ("Lead", "Contact", "Account", "Event", "Case"):
        store.delete(_key(client, f"describe:{name}"))
    store.delete(_key(client, "users"))


def users(client: SalesforceClient, *, fresh: bool = False) -> list[dict[str, Any]]:
    """Active Salesforce users (Id, Name, Email) for owner matching by email."""
    key = _key(client, "users")
    store = cache_for(client.connector)
    if not fresh:
        cached = store.get(key)
        if cached is not None:
            return cached
    records = client.query_all("SELECT Id, Name, Email FROM User WHERE IsActive = true ORDER BY Name")
    result = [{"Id": r["Id"], "Name": r.get("Name"), "Email": r.get("Email")} for r in records]
    store.set(key, result, USERS_TTL)
    return result


# -------------------------------------------------------------- metadata package
EVENT_FIELDS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>Booking_Status__c</fullName>
        <description>The booking's lifecycle status, written by Bookbridge.</description>
        <externalId>false</externalId>
        <label>Booking Status</label>
        <length>255</length>
        <required>false</required>
        <trackHistory>false</trackHistory>
        <type>Text</type>
        <unique>false</unique>
    </fields>
    <fields>
        <fullName>Cancel_Reschedule_Reason__c</fullName>
        <description>Why the booking was canceled or rescheduled, written by Bookbridge.</description>
        <externalId>false</externalId>
        <label>Cancel/Reschedule Reason</label>
        <length>32768</length>
        <trackHistory>false</trackHistory>
        <type>LongTextArea</type>
        <visibleLines>3</visibleLines>
    </fields>
</CustomObject>
"""


def package_xml(api_version: str) -> str:
    members = "\n".join(f"        <members>Event.{name}</members>" for name in REQUIRED_EVENT_FIELDS)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
{members}
        <name>CustomField</name>
    </types>
    <version>{api_version}</version>
</Package>
"""


README = """Bookbridge fields for the Salesforce Event object
================================================

This metadata package creates the two custom Event fields the Bookbridge connector writes:
Booking_Status__c (Text 255) and Cancel_Reschedule_Reason__c (Long Text Area).

Deploy it with the Salesforce CLI:

    sf project deploy start --metadata-dir . --target-org <your org alias>

or with Workbench (Migration → Deploy, zip file, "Single Package"). Then give the API user
read/edit access to both fields (field-level security) and add them to the Event page layout,
and press "Check again" in the Installation step.
"""


def package_zip(api_version: str) -> bytes:
    """A metadata-API deployable zip: package.xml + objects/Event.object."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("package.xml", package_xml(api_version))
        archive.writestr("objects/Event.object", EVENT_FIELDS_XML)
        archive.writestr("README.txt", README)
    return buffer.getvalue()
