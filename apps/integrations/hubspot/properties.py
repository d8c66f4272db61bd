"""Booking fields (and the booking forms' own questions) and the checks a property mapping
passes against HubSpot's property definitions (pure).

A definition is what ``GET /crm/v3/properties/{objectType}`` answers (hubspot-api.md §8.2):
``name``, ``label``, ``type``, ``fieldType``, ``options``, ``calculated``,
``externalOptions``, ``modificationMetadata.readOnlyValue``. A definition names no length: a
string property keeps up to 65,536 characters (HubSpot's properties guide), more than any
booking value, so the type and the options are what is checked. The Mapping step
(``forms.MappingForm``) and the settings file refuse what HubSpot would refuse at sync time,
in words, on the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.directory.models import AnswerType
from apps.directory.questions import in_words, question_name
from apps.directory.questions import label as question_label

from . import facts
from .models import MEETING_PROPERTIES, ObjectType


@dataclass(frozen=True)
class BookingField:
    key: str
    label: str
    kind: str  # text, textarea, email, phone, datetime, number, date, boolean


#: What the values of each booking field (``facts.BOOKING_FIELDS``, the keys
#: ``PropertyMapping.booking_field`` holds and ``facts.booking_values`` fills) look like.
KINDS = {"email": "email", "phone": "phone", "mobile_phone": "phone", "note": "textarea",
         "starting_time": "datetime", "ending_time": "datetime", "cancel_reschedule_reason": "textarea"}
BOOKING_FIELDS: tuple[BookingField, ...] = tuple(
    BookingField(key, label, KINDS.get(key, "text")) for key, label in facts.BOOKING_FIELDS)
BOOKING_FIELD_MAP = {f.key: f for f in BOOKING_FIELDS}

#: Booking field kinds → the HubSpot property types they may be written to (§8.2: every value
#: travels as a string; an enumeration takes only its options' values).
COMPATIBLE = {
    "text": {"string"},
    "textarea": {"string"},
    "email": {"string"},
    "phone": {"string", "phone_number"},
    "number": {"number", "string"},
    "datetime": {"datetime", "date", "string"},
    "date": {"date", "string"},
    "boolean": {"bool", "string"},
}
#: Field types whose values are not text a booking has (a file id, a formula).
REFUSED_FIELD_TYPES = {"file": "a file", "calculation_equation": "a calculated value"}
#: Set by the connector itself on every write (Creation, Classification and Meeting steps).
CONNECTOR_OWNED = {
    ObjectType.CONTACTS: {"email", "hubspot_owner_id", "lifecyclestage", "hs_lead_status"},
    ObjectType.COMPANIES: {"hubspot_owner_id", "name", "domain"},
    ObjectType.MEETINGS: {"hs_timestamp", "hs_meeting_start_time", "hs_meeting_end_time",
                          "hs_meeting_outcome", "hs_activity_type", "hubspot_owner_id",
                          *MEETING_PROPERTIES},
}
#: A question's answers as a booking field kind.
QUESTION_KINDS = {AnswerType.TEXT: "text", AnswerType.NUMBER: "number", AnswerType.BOOLEAN: "boolean",
                  AnswerType.DATE: "date"}


def booking_field(key: str, questions: dict[str, str] | None = None) -> BookingField | None:
    """The booking field, or the form question (``question:<name>``), a mapping names."""
    if key in BOOKING_FIELD_MAP:
        return BOOKING_FIELD_MAP[key]
    name = question_name(key)
    if name is None or name not in (questions or {}):
        return None
    return BookingField(key, question_label(name), QUESTION_KINDS.get(questions[name], "text"))


def by_name(definitions: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((d for d in definitions if d.get("name") == name), None)


def option_values(definition: dict[str, Any]) -> list[str]:
    return [str(option.get("value")) for option in definition.get("options") or []]


def mappable(object_type: str, definition: dict[str, Any]) -> bool:
    """Whether the property picker offers ``definition`` at all (writable, not the connector's)."""
    return check_target(object_type, definition) is None


def check_target(object_type: str, definition: dict[str, Any] | None) -> str | None:
    """Why no booking value may be written to the property (plain words), or None."""
    if definition is None:
        return "HubSpot has no such property: choose another or re-read the properties from HubSpot."
    name = definition.get("label") or definition["name"]
    label = f"The {ObjectType(object_type).label.lower()} property “{name}”"
    if definition["name"] in CONNECTOR_OWNED.get(object_type, set()):
        return f"{label} is set by Bookbridge itself (Creation, Classification and Meeting steps)."
    if (definition.get("modificationMetadata") or {}).get("readOnlyValue") or definition.get("calculated"):
        return f"{label} is read-only in HubSpot."
    if definition.get("externalOptions"):
        return f"{label} takes HubSpot records (such as users), not booking values."
    if definition.get("fieldType") in REFUSED_FIELD_TYPES:
        what = REFUSED_FIELD_TYPES[definition["fieldType"]]
        return f"{label} holds {what}; it cannot take a booking value."
    return None


def check_mapping(object_type: str, definition: dict[str, Any] | None, booking_key: str,
                  questions: dict[str, str] | None = None) -> tuple[str, str] | None:
    """Why ``booking_key`` cannot be written to the property: ("source" or "property", the
    problem in plain words) — which of the row's fields the problem belongs to — or None."""
    name = question_name(booking_key)
    if name is not None and name not in (questions or {}):
        return "source", (f"“{name}” is not a question of this account's booking forms: no booking "
                          "has answered it yet.")
    problem = check_target(object_type, definition)
    if problem:
        return "property", problem
    booking = booking_field(booking_key, questions)
    if booking is None:
        return "source", "That is not one of the booking fields: choose one from the list."
    label = f"“{definition.get('label') or definition['name']}”"
    kind = definition.get("type", "")
    if kind == "enumeration":
        return _option_problem(definition, booking, label)
    if kind not in COMPATIBLE[booking.kind]:
        what = in_words(booking.kind) if name is not None else "its values"
        return "property", (f"{booking.label} cannot be written to {label}: HubSpot keeps "
                            f"{_type_words(kind)} there, and {booking.label} has {what}.")
    return None


#: The option values a yes/no answer is written as (hubspot-api.md §8.2: "true"/"false").
YES_NO = {"true", "false"}
#: Options a message lists before it says "…".
LISTED_OPTIONS = 5


def _option_problem(definition: dict[str, Any], booking: BookingField, label: str) -> tuple[str, str] | None:
    """An enumeration takes only its options' values (§8.2): a yes/no answer fits one whose
    options are true and false; free text, numbers and dates never do."""
    values = option_values(definition)
    if booking.kind == "boolean" and set(values) >= YES_NO:
        return None
    shown = ", ".join(values[:LISTED_OPTIONS]) + (", …" if len(values) > LISTED_OPTIONS else "")
    return "property", (f"{booking.label} cannot be written to {label}: HubSpot keeps one of its options "
                        f"there ({shown or 'none yet'}), which a booking's value would not be. Choose a "
                        "text property.")


def _type_words(kind: str) -> str:
    return {"number": "numbers", "date": "dates", "datetime": "dates and times", "bool": "yes/no values",
            "phone_number": "phone numbers",
            "string": "text"}.get(kind, kind or "another type of value")
