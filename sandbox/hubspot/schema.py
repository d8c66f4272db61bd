"""Object types, property definitions and the checks HubSpot applies to property values.

Property values travel as strings (reference §3); the checks below are the ones the reference
names: unknown property → ``PROPERTY_DOESNT_EXIST``, an enumeration value outside the options →
``INVALID_OPTION``, a read-only property → ``READ_ONLY_VALUE``, a bad number or date. Errors
are collected per property like HubSpot's ``Property values were not valid: [...]`` message.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sandbox.hubspot import errors

# name → (objectTypeId, singular, group of the seeded properties)
OBJECT_TYPES = {
    "contacts": ("0-1", "contact", "contactinformation"),
    "companies": ("0-2", "company", "companyinformation"),
    "meetings": ("0-47", "meeting", "meetinginformation"),
}
PROPERTIES = "properties"
GROUPS = "property_groups"
MEETING_OUTCOMES = ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
TYPES = ("string", "number", "date", "datetime", "enumeration", "bool", "phone_number")
FIELD_TYPES = (
    "textarea",
    "text",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "html",
    "phonenumber",
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def object_type(name: str) -> str:
    """``contacts`` for ``contacts``, ``contact`` or ``0-1``; 404 for anything else."""
    for plural, (type_id, singular, _) in OBJECT_TYPES.items():
        if name.lower() in (plural, singular, type_id):
            return plural
    raise errors.HubSpotError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")


def property_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def group_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def definition(
    kind: str,
    name: str,
    label: str,
    prop_type: str = "string",
    field_type: str = "text",
    *,
    options: tuple[str, ...] | list[dict[str, Any]] = (),
    read_only: bool = False,
    unique: bool = False,
    external_options: bool = False,
    group: str | None = None,
    hubspot_defined: bool = True,
    now: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    """A ``Property`` as the properties API answers it (reference §8.2)."""
    option_list = [
        item
        if isinstance(item, dict)
        else {"label": item.replace("_", " ").title(), "value": item, "displayOrder": index, "hidden": False}
        for index, item in enumerate(options)
    ]
    return {
        "id": property_key(kind, name),
        "objectType": kind,
        "name": name,
        "label": label,
        "type": prop_type,
        "fieldType": field_type,
        "description": "",
        "groupName": group or OBJECT_TYPES[kind][2],
        "options": option_list,
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": external_options,
        "hasUniqueValue": unique,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "archived": False,
        "createdAt": now,
        "updatedAt": now,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "dataSensitivity": "non_sensitive",
    }


def seed_properties() -> list[dict[str, Any]]:
    """The standard properties the connector reads, writes or checks."""
    d = definition
    owner = {"prop_type": "enumeration", "field_type": "select", "external_options": True}
    return [
        d("contacts", "email", "Email", unique=True),
        d("contacts", "firstname", "First Name"),
        d("contacts", "lastname", "Last Name"),
        d("contacts", "phone", "Phone Number", "string", "phonenumber"),
        d("contacts", "company", "Company Name"),
        d("contacts", "jobtitle", "Job Title"),
        d("contacts", "website", "Website URL"),
        d("contacts", "city", "City"),
        d("contacts", "country", "Country/Region"),
        d("contacts", "lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
        d("contacts", "hs_lead_status", "Lead Status", "enumeration", "radio", options=LEAD_STATUSES),
        d("contacts", "hubspot_owner_id", "Contact owner", **owner),
        d("contacts", "hs_object_id", "Record ID", "number", "number", read_only=True, unique=True),
        d("contacts", "createdate", "Create Date", "datetime", "date", read_only=True),
        d("contacts", "lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        d("companies", "name", "Company name"),
        d("companies", "domain", "Company Domain Name"),
        d("companies", "website", "Website URL"),
        d("companies", "phone", "Phone Number", "string", "phonenumber"),
        d("companies", "city", "City"),
        d("companies", "hubspot_owner_id", "Company owner", **owner),
        d("companies", "hs_object_id", "Record ID", "number", "number", read_only=True, unique=True),
        d("companies", "createdate", "Create Date", "datetime", "date", read_only=True),
        d("companies", "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        d("meetings", "hs_timestamp", "Activity date", "datetime", "date"),
        d("meetings", "hs_meeting_title", "Meeting name"),
        d("meetings", "hs_meeting_body", "Meeting description", "string", "html"),
        d("meetings", "hs_internal_meeting_notes", "Internal meeting notes", "string", "html"),
        d("meetings", "hs_meeting_external_url", "External URL"),
        d("meetings", "hs_meeting_location", "Location"),
        d(
            "meetings",
            "hs_meeting_location_type",
            "Location type",
            "enumeration",
            "select",
            options=("ADDRESS", "CUSTOM", "PHONE", "MEETING_URL"),
        ),
        d("meetings", "hs_meeting_start_time", "Meeting start time", "datetime", "date"),
        d("meetings", "hs_meeting_end_time", "Meeting end time", "datetime", "date"),
        d(
            "meetings",
            "hs_meeting_outcome",
            "Meeting outcome",
            "enumeration",
            "select",
            options=MEETING_OUTCOMES,
        ),
        d(
            "meetings",
            "hs_activity_type",
            "Call and meeting type",
            "enumeration",
            "select",
            options=("Discovery call", "Demo", "Follow up"),
        ),
        d("meetings", "hubspot_owner_id", "Activity assigned to", **owner),
        d("meetings", "hs_object_id", "Record ID", "number", "number", read_only=True, unique=True),
        d("meetings", "hs_createdate", "Create Date", "datetime", "date", read_only=True),
        d("meetings", "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    ]


def seed_groups() -> list[dict[str, Any]]:
    labels = {
        "contacts": "Contact information",
        "companies": "Company information",
        "meetings": "Meeting information",
    }
    return [
        {
            "id": group_key(kind, group),
            "objectType": kind,
            "name": group,
            "label": labels[kind],
            "displayOrder": -1,
            "archived": False,
        }
        for kind, (_, _, group) in OBJECT_TYPES.items()
    ]


# --------------------------------------------------------------------- values
def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_text(value: Any) -> str | None:
    """JSON values become the strings HubSpot stores (``true`` → ``"true"``, 17 → ``"17"``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def parse_moment(text: str) -> datetime | None:
    """Epoch milliseconds or an ISO 8601 string (both accepted, reference §6)."""
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_values(definitions: dict[str, dict[str, Any]], values: dict[str, Any]) -> dict[str, str | None]:
    """The values to store, normalised; raise HubSpot's 400 listing every invalid property."""
    problems: list[dict[str, Any]] = []
    clean: dict[str, str | None] = {}
    for name, raw in values.items():
        text = to_text(raw)
        prop = definitions.get(name)
        problem = _problem(name, prop, text)
        if problem is not None:
            problems.append(problem)
        elif prop is not None:
            clean[name] = _normalise(prop, text)
    if problems:
        raise _invalid(problems)
    return clean


def _problem(name: str, prop: dict[str, Any] | None, text: str | None) -> dict[str, Any] | None:
    if prop is None:
        return _entry(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
    if prop["modificationMetadata"]["readOnlyValue"]:
        return _entry(
            name, f'Property "{name}" is a read only property; its value cannot be set.', "READ_ONLY_VALUE"
        )
    if not text:
        return None  # an empty string (or null) clears the value (reference §3)
    kind = prop["type"]
    if kind == "enumeration" and not prop["externalOptions"]:
        allowed = [option["value"] for option in prop["options"]]
        chosen = text.split(";") if prop["fieldType"] == "checkbox" else [text]
        bad = [value for value in chosen if value not in allowed]
        if bad:
            return _entry(name, f"{bad[0]} was not one of the allowed options: {allowed}", "INVALID_OPTION")
    if kind == "number" and not _NUMBER.match(text):
        return _entry(name, f"{text} is not a valid number", "INVALID_DECIMAL")
    if kind == "bool" and text not in ("true", "false"):
        return _entry(name, f"{text} is not a valid boolean value", "INVALID_BOOLEAN")
    if kind in ("date", "datetime") and parse_moment(text) is None:
        return _entry(name, f"{text} was not a valid long or a valid ISO 8601 date", "INVALID_DATE")
    return None


def _normalise(prop: dict[str, Any], text: str | None) -> str | None:
    if text and prop["type"] == "datetime":
        moment = parse_moment(text)
        return iso(moment) if moment else text
    if text and prop["name"] == "email":
        return text.strip().lower()  # HubSpot keeps e-mail addresses in lower case
    return text


def _entry(name: str, message: str, code: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def _invalid(problems: list[dict[str, Any]]) -> errors.HubSpotError:
    message = "Property values were not valid: " + json.dumps(problems)
    details = [
        {
            "message": problem["message"],
            "code": problem["error"],
            "context": {"propertyName": [problem["name"]]},
        }
        for problem in problems
    ]
    return errors.validation(message, errors=details)
