"""Caches of Salesforce metadata (describe results, active users) and the metadata package.

Describe results and the user list change rarely; they are kept in the Django cache (Redis in
production, shared by every worker) so that a booking's steady-state sync costs no metadata
calls. The wizard's re-check buttons read them fresh. Steps 2 and 3 read the org through them
(``check_installation``, ``required_fields``; ``services`` stores what they found). A staged
connector (an import being checked, ``apps.connectors.staging``) keeps what it read to itself:
the stored connector of the same id may point at another org.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from apps.connectors import staging
from apps.connectors.models import Connector
from apps.connectors.staging import cache_for

from . import services
from .fields import required_on_create
from .models import REQUIRED_EVENT_FIELDS, SETUP_OBJECTS, RequiredFieldRule, SalesforceInstallation
from .services import RequiredRulesChange

if TYPE_CHECKING:
    from .client import SalesforceClient

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
        "recordTypes": sorted(r.get("name") or "" for r in describe.get("recordTypeInfos") or []
                              if r.get("active", True) and not r.get("master")),
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


#: The objects whose describe is cached.
DESCRIBED = ("Lead", "Contact", "Account", "Event", "Case")


def cached_users(client: SalesforceClient) -> list[dict[str, Any]] | None:
    return cache_for(client.connector).get(_key(client, "users"))


def forget(client: SalesforceClient) -> None:
    store = cache_for(client.connector)
    for name in DESCRIBED:
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


def crm_users(client: SalesforceClient) -> list[dict[str, str]]:
    """``users`` as the connectors' owner mapping wants them: ``[{"id", "email", "name"}]``."""
    return [{"id": u["Id"], "email": u.get("Email") or "", "name": u.get("Name") or ""}
            for u in users(client)]


# ------------------------------------------------------- what the org has and requires
def check_installation(client: SalesforceClient) -> SalesforceInstallation:
    """Step 2: are the two custom Event fields there? (fresh describe; kept in memory for a
    staged connector until the import saves the step)."""
    described = describe(client, "Event", fresh=True)
    names = {f["name"] for f in described.get("fields", [])}
    check = staging.row_for(SalesforceInstallation, client.connector)
    check.present_fields = [n for n in REQUIRED_EVENT_FIELDS if n in names]
    check.missing_fields = [n for n in REQUIRED_EVENT_FIELDS if n not in names]
    check.checked_at = timezone.now()
    if not staging.is_staged(client.connector):
        services.save_installation_check(check=check)
    return check


def required_fields(client: SalesforceClient, *, fresh: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Step 3: the fields each object requires on create, from describe."""
    return {name: required_on_create(describe(client, name, fresh=fresh)) for name in SETUP_OBJECTS}


def sync_required_rules(client: SalesforceClient, *, fresh: bool = False) -> list[RequiredFieldRule]:
    """One RequiredFieldRule row per required field (defaults for the well-known ones), ordered
    like the rows. For a staged connector the rows are only made in memory
    (``services.save_required_rules`` stores them when the import is saved)."""
    return refresh_required_rules(client, fresh=fresh).rows


def reread_required_rules(client: SalesforceClient) -> RequiredRulesChange:
    """The wizard's "Re-read from Salesforce": forget the cached describes (fields added,
    changed or deleted in the org since they were read), read them again, re-sync the rules."""
    forget(client)
    return refresh_required_rules(client, fresh=True)


def refresh_required_rules(client: SalesforceClient, *, fresh: bool = False) -> RequiredRulesChange:
    """Read the required fields (describe calls, before any transaction), then store the rules."""
    connector = client.connector
    required = required_fields(client, fresh=fresh)
    if staging.is_staged(connector):
        return _staged_rules(connector, required)
    return services.store_required_rules(connector=connector, required=required)


def _staged_rules(connector: Connector, required: dict[str, list[dict[str, Any]]]) -> RequiredRulesChange:
    stored = RequiredFieldRule.objects.filter(connector_id=connector.pk) if connector.pk else []
    existing = {(row.object_name, row.field_name): row for row in stored}
    rows = []
    for obj, fields in required.items():
        for described in fields:
            initial = services.initial_rule(obj, described)
            row = existing.get((obj, described["name"])) or RequiredFieldRule(
                connector=connector, object_name=obj, field_name=described["name"], **initial)
            row.field_type, row.field_label = initial["field_type"], initial["field_label"]
            rows.append(row)
    return RequiredRulesChange(rows=sorted(rows, key=services.rule_order))


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
