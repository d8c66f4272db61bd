"""Booking fields (and the booking form's own questions), Salesforce field types, typed
fallbacks and describe-based checks (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from simple_salesforce.format import format_soql

from apps.connectors.errors import PermanentCrmError
from apps.directory.models import AnswerType
from apps.directory.questions import in_words, parse_iso_date, parse_number, question_name
from apps.directory.questions import label as question_label
from apps.intake.lifecycle import LifecycleAction

RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_suffix(id15: str) -> str:
    """The 3-character case-safe suffix Salesforce appends to a 15-character id."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def valid_record_id(value: Any, prefix: str | None = None) -> str | None:
    """A well-formed record id as 18 characters (checksum verified), else None."""
    text = str(value or "").strip()
    if not RECORD_ID.match(text):
        return None
    if prefix and not text.startswith(prefix):
        return None
    full = text[:15] + id_suffix(text[:15])
    if len(text) == 18 and text[15:].upper() != full[15:]:
        return None
    return full


def soql(template: str, *args: Any, **kwargs: Any) -> str:
    """SOQL with every value quoted and escaped by simple-salesforce (never pasted raw)."""
    return format_soql(template, *args, **kwargs)


@dataclass(frozen=True)
class BookingField:
    key: str
    label: str
    kind: str  # text, textarea, email, phone, url, number, datetime, date, status
    max_length: int = 255


BOOKING_FIELDS: tuple[BookingField, ...] = (
    BookingField("customer_first_name", "Customer first name", "text", 40),
    BookingField("customer_last_name", "Customer last name", "text", 80),
    BookingField("customer_name", "Customer full name", "text", 121),
    BookingField("customer_email", "Customer email", "email", 80),
    BookingField("customer_phone", "Customer phone", "phone", 40),
    BookingField("customer_mobile_phone", "Customer mobile phone", "phone", 40),
    BookingField("customer_company", "Customer company", "text", 255),
    BookingField("customer_note", "Customer note", "textarea", 32000),
    BookingField("customer_timezone", "Customer time zone", "text", 80),
    BookingField("subject", "Booking subject", "text", 255),
    BookingField("booking_id", "Booking ID", "text", 64),
    BookingField("status", "Booking status (lifecycle action)", "status", 64),
    BookingField("starting_time", "Start date and time (UTC)", "datetime"),
    BookingField("creation_time", "Creation date and time (UTC)", "datetime"),
    BookingField("duration_minutes", "Duration (minutes)", "number"),
    BookingField("location", "Location", "text", 255),
    BookingField("web_conferencing_link", "Web conferencing link", "url", 2000),
    BookingField("cancel_reschedule_reason", "Cancel/reschedule reason", "textarea", 32000),
    BookingField("booking_page", "Booking page", "text", 200),
    BookingField("owner_name", "Booking owner name", "text", 300),
    BookingField("owner_email", "Booking owner email", "email", 80),
)
BOOKING_FIELD_MAP = {f.key: f for f in BOOKING_FIELDS}

#: Booking field kinds → the Salesforce field types they may be written to (anything goes to
#: a text or text area field). A form question's kind is what its answers are (``question_field``).
COMPATIBLE = {
    "text": {"string", "textarea", "picklist", "combobox"},
    "textarea": {"textarea", "string"},
    "email": {"email", "string", "textarea"},
    "phone": {"phone", "string"},
    "url": {"url", "string", "textarea"},
    "number": {"double", "int", "currency", "percent", "string", "textarea"},
    "datetime": {"datetime", "date", "string", "textarea"},
    "date": {"date", "string", "textarea"},
    "boolean": {"string", "textarea"},  # checkboxes are never mapped (REFUSED_TYPES)
    "status": {"string", "picklist", "combobox", "textarea"},
}
NUMBER_TYPES = {"double", "int", "currency", "percent"}
SUPPORTED_TYPES = {"currency", "date", "datetime", "email", "double", "int", "percent", "phone",
                   "picklist", "combobox", "string", "textarea", "url"}
REFUSED_TYPES = {"reference": "a lookup relationship", "boolean": "a checkbox",
                 "multipicklist": "a multi-select picklist", "encryptedstring": "encrypted text",
                 "id": "a record id", "address": "a compound address",
                 "location": "a geolocation", "base64": "a file"}
NOT_MAPPABLE = {("Event", "StartDateTime"), ("Event", "EndDateTime"),
                ("Event", "ActivityDateTime"), ("Event", "ActivityDate"),
                ("Event", "DurationInMinutes"), ("Event", "IsAllDayEvent")}
#: Set by the connector itself on every write.
CONNECTOR_OWNED = {"OwnerId", "WhoId", "WhatId", "AccountId", "ContactId"}
TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "combobox"}
STATUS_VALUES = [action.value for action in LifecycleAction]


#: Where an administrator maps a required field (the wizard step's number and title).
VALIDATION_STEP = "Step 3, Field validation"
LOOKUP_TYPE = "reference"


def fallback_value(field_type: str, *, today: date, now: datetime) -> Any:
    """SPEC §6: what an unmapped required field gets, by its type.

    A lookup has none (None): any text in a reference field is refused with ``MALFORMED_ID``,
    and an id made up by the connector would point at the wrong record; only a record id the
    administrator chose in Step 3 will do (``RequiredFieldUnmapped`` otherwise)."""
    if field_type == LOOKUP_TYPE:
        return None
    return {
        "currency": 0, "double": 0, "int": 0, "percent": 0,
        "date": today.isoformat(),
        "datetime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "email": "email@example.com",
        "phone": "1234567890",
        "url": "http://NA",
    }.get(field_type, "Unspecified")


def needs_record_id(field: dict[str, Any]) -> bool:
    """A lookup the administrator must give a record id for in Step 3 (the connector sets the
    ones it owns itself: ``CONNECTOR_OWNED``)."""
    return field.get("type") == LOOKUP_TYPE and field.get("name") not in CONNECTOR_OWNED


def _quoted(fields: list[dict[str, Any]]) -> str:
    named = [f"“{f.get('label') or f['name']}” ({f['name']})" for f in fields]
    return " and ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)


def required_field_message(object_name: str, fields: list[dict[str, Any]], *, now: bool = True) -> str:
    """What a sync failing on required fields tells the administrator: which fields, and where
    to map them. ``fields``: describe entries (``name``, ``label``, ``type``, ``referenceTo``)."""
    plural = len(fields) > 1
    lookups = [f for f in fields if f.get("type") == LOOKUP_TYPE]
    subject = f"Salesforce {'now ' if now else ''}requires {object_name} field{'s' if plural else ''} "
    text = subject + _quoted(fields)
    if lookups and not plural:
        targets = " or ".join(lookups[0].get("referenceTo") or []) or "another object"
        text += f", a lookup to {targets}"
        where = f"Enter the id of the {targets} record to use in {VALIDATION_STEP}, of this connector"
    else:
        where = f"Map {'them' if plural else 'it'} in {VALIDATION_STEP}, of this connector"
    return f"{text}. {where}, then retry."


class RequiredFieldUnmapped(PermanentCrmError):
    """A field the org requires on create has no value the connector may send (a lookup without
    a record id): the booking is not sent, the job fails saying where to map the field."""

    def __init__(self, object_name: str, field: dict[str, Any], *, now: bool = True) -> None:
        super().__init__(required_field_message(object_name, [field], now=now),
                         code="REQUIRED_FIELD_MISSING", fields=(field["name"],))
        self.object_name = object_name


def required_on_create(describe: dict[str, Any]) -> list[dict[str, Any]]:
    """Fields the org requires on insert: createable, not nillable, not defaulted on create."""
    return [
        f for f in describe.get("fields", [])
        if f.get("createable") and not f.get("nillable") and not f.get("defaultedOnCreate")
        and f.get("type") != "boolean"
    ]


def field_by_name(describe: dict[str, Any], name: str) -> dict[str, Any] | None:
    lowered = name.lower()
    return next((f for f in describe.get("fields", []) if f["name"].lower() == lowered), None)


def active_picklist_values(field: dict[str, Any]) -> list[str]:
    return [p["value"] for p in field.get("picklistValues") or [] if p.get("active", True)]


def check_static_value(field: dict[str, Any], value: str) -> str | None:
    """A problem (plain words) with sending ``value`` to ``field``, or None."""
    kind = field.get("type")
    length = field.get("length") or 0
    if kind in TEXT_TYPES and length and len(value) > length:
        return (f"“{value[:40]}…” is {len(value)} characters long; {field['label']} accepts at "
                f"most {length}.")
    if kind == "picklist" and field.get("restrictedPicklist") and value not in active_picklist_values(field):
        return (f"“{value}” is not a value of the {field['label']} picklist "
                f"({', '.join(active_picklist_values(field))}).")
    if kind in ("double", "int", "currency", "percent"):
        try:
            float(value)
        except ValueError:
            return f"{field['label']} needs a number."
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"{field['label']} needs a date (YYYY-MM-DD)."
    if kind == "datetime" and parse_datetime(value) is None:
        return f"{field['label']} needs a date and time (YYYY-MM-DDTHH:MM:SSZ)."
    if kind == "email" and "@" not in value:
        return f"{field['label']} needs an email address."
    return None


def check_mapping(object_name: str, field: dict[str, Any] | None, booking_key: str,
                  questions: dict[str, str] | None = None) -> str | None:
    """Why ``booking_key`` cannot be mapped to ``field`` (plain words), or None.

    ``questions``: {question: answer type} of the account's booking forms, for the
    ``question:<name>`` keys."""
    name = question_name(booking_key)
    if name is not None and name not in (questions or {}):
        return f"“{name}” is not a question of this account's booking forms: no booking has answered it yet."
    if field is None:
        return f"{object_name} has no such field."
    label = f"{object_name} {field['label']}"
    if (object_name, field["name"]) in NOT_MAPPABLE:
        return f"{label} is set by the connector from the booking times and cannot be mapped."
    if field["name"] in CONNECTOR_OWNED:
        return f"{label} is set by the connector's creation rules and cannot be mapped."
    kind = field.get("type", "")
    if kind in REFUSED_TYPES:
        return f"{label} is {REFUSED_TYPES[kind]}; that field type is not supported."
    if kind not in SUPPORTED_TYPES:
        return f"{label} has the unsupported type {kind}."
    if not (field.get("createable") or field.get("updateable")):
        return f"{label} is read-only for the API user."
    booking = booking_field(booking_key, questions)
    if booking is None:
        return f"Unknown booking field {booking_key}."
    if kind not in COMPATIBLE[booking.kind]:
        if name is not None:
            return (f"{booking.label} has {in_words(booking.kind)} and cannot be written to {label} "
                    f"({kind}).")
        return f"{booking.label} cannot be written to {label} ({kind})."
    length = field.get("length") or 0
    if (kind in TEXT_TYPES and length and booking.max_length > length and kind != "picklist"
            and (booking.kind in ("textarea", "url", "email") or kind in ("email", "url"))):
        # cutting notes, links or addresses would make them wrong; short text is cut to fit
        return (f"{booking.label} can be up to {booking.max_length} characters; {label} holds "
                f"only {length}. Choose a longer field.")
    if kind == "picklist" and field.get("restrictedPicklist"):
        allowed = set(active_picklist_values(field))
        if booking.kind != "status":
            return (f"{label} is a restricted picklist; free text from {booking.label} would be "
                    "refused by Salesforce. Map it with a picklist value in Field validation.")
        missing = [v for v in STATUS_VALUES if v not in allowed]
        if missing:
            return f"The {label} picklist lacks the values: {', '.join(missing)}."
    return None


#: A question's answers as a booking field kind; long text answers are cut to fit, as short
#: booking fields are (``check_mapping``).
QUESTION_KINDS = {AnswerType.TEXT: "text", AnswerType.NUMBER: "number", AnswerType.BOOLEAN: "boolean",
                  AnswerType.DATE: "date"}


def booking_field(key: str, questions: dict[str, str] | None = None) -> BookingField | None:
    """The booking field, or the form question (``question:<name>``), a mapping key names."""
    return BOOKING_FIELD_MAP.get(key) or question_field(key, questions or {})


def question_field(key: str, questions: dict[str, str]) -> BookingField | None:
    name = question_name(key)
    if name is None or name not in questions:
        return None
    return BookingField(key, question_label(name), QUESTION_KINDS.get(questions[name], "text"), 255)


def question_value(field: dict[str, Any] | None, text: Any) -> Any:
    """A form question's answer (text) as the Salesforce field takes it, or None when it does
    not fit the field's type (then nothing is written): numbers for number fields, an ISO date
    for date fields, the text for the others."""
    if field is None or text in (None, ""):
        return None
    text = str(text)
    kind = field.get("type")
    if kind in NUMBER_TYPES:
        number = parse_number(text)
        if number is None or (kind == "int" and not float(number).is_integer()):
            return None
        return int(number) if kind == "int" else number
    if kind == "date":
        parsed = parse_iso_date(text)
        return parsed.isoformat() if parsed else None
    if kind == "datetime":
        return text if parse_datetime(text) is not None else None
    return coerce_for(field, text)


def coerce_for(field: dict[str, Any] | None, value: Any) -> Any:
    """A booking value shaped for a Salesforce field: text truncated to the describe length."""
    if value is None or field is None:
        return value
    kind = field.get("type")
    if kind == "date" and isinstance(value, str) and "T" in value:
        return value[:10]
    if kind in TEXT_TYPES and not isinstance(value, str):
        value = str(value)
    length = field.get("length") or 0
    if isinstance(value, str) and kind in TEXT_TYPES and length and len(value) > length:
        return value[:length]
    return value
