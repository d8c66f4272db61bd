"""Field mapping (wizard step 4): booking form fields → Keap fields. Pure functions.

Sources are the fixed booking fields (``SOURCES``, all text) and the questions of the account's
booking forms (``question:<name>``, ``apps.directory.questions``), whose answers seen so far
are text, numbers, yes/no or dates. Keap targets are the standard contact fields below, the
appointment's description/notes, and the app's custom fields (``custom:<id>``), whose
``field_type`` decides compatibility (SPEC §5, ``ACCEPTS``): text may go to Text, TextArea,
Name, Email, Phone, Website, Date, DateTime; number answers also to whole/decimal number,
currency and percent fields, yes/no answers to Yes/No fields; nothing goes to dropdown, list
box, radio, drilldown, state, day-of-week/month/year, SSN or user fields.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from apps.core.text import shown_value
from apps.directory import questions as form_questions
from apps.directory.models import AnswerType

SOURCES: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "subject": "Subject",
    "description": "Description / note",
    "company": "Company",
    "phone": "Phone",
    "mobile_phone": "Mobile phone",
    "state": "State",
    "country": "Country",
    "booking_id": "Booking ID",
    "starting_time": "Meeting date",
    "location": "Location",
}
REQUIRED = {"email": "Email", "subject": "appointment.description"}

# target -> (label, Keap type)
STANDARD_TARGETS: dict[str, tuple[str, str]] = {
    "Email": ("Email", "Email"),
    "FirstName": ("First name", "Name"),
    "LastName": ("Last name", "Name"),
    "Phone1": ("Phone 1", "PhoneNumber"),
    "Phone2": ("Phone 2", "PhoneNumber"),
    "State": ("State (billing address)", "Text"),
    "Country": ("Country (billing address)", "Text"),
    "Company": ("Company", "Text"),
    "JobTitle": ("Job title", "Text"),
    "Website": ("Website", "Website"),
    "appointment.description": ("Appointment description", "Text"),
    "appointment.notes": ("Appointment notes", "TextArea"),
}
TEXT_FIELDS = {"Text", "TextArea", "Name", "Email", "PhoneNumber", "Phone", "Website"}
DATE_FIELDS = {"Date", "DateTime"}
NUMBER_FIELDS = {"WholeNumber", "DecimalNumber", "Currency", "Percent"}
TEXT_COMPATIBLE = TEXT_FIELDS | DATE_FIELDS
#: What a source's answers are (booking fields: text; a question not answered yet: text too)
#: → the Keap field types they may be written to. Anything goes to a text field.
ACCEPTS: dict[str, set[str]] = {
    AnswerType.TEXT: TEXT_COMPATIBLE,
    AnswerType.DATE: TEXT_COMPATIBLE,
    AnswerType.NUMBER: TEXT_FIELDS | NUMBER_FIELDS,
    AnswerType.BOOLEAN: TEXT_FIELDS | {"YesNo"},
}

COUNTRY_CODES = {
    "united states": "USA",
    "united states of america": "USA",
    "usa": "USA",
    "us": "USA",
    "canada": "CAN",
    "united kingdom": "GBR",
    "uk": "GBR",
    "great britain": "GBR",
    "germany": "DEU",
    "france": "FRA",
    "australia": "AUS",
    "israel": "ISR",
    "india": "IND",
    "spain": "ESP",
    "italy": "ITA",
    "netherlands": "NLD",
    "ireland": "IRL",
    "mexico": "MEX",
    "brazil": "BRA",
    "new zealand": "NZL",
    "south africa": "ZAF",
    "japan": "JPN",
}


def targets(custom_fields: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    out = dict(STANDARD_TARGETS)
    for meta in custom_fields:
        out[f"custom:{meta['id']}"] = (f"{meta.get('label')} (custom field)", str(meta.get("field_type")))
    return out


def compatible_targets(source: str, custom_fields: list[dict[str, Any]],
                       questions: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The targets ``source``'s answers may be written to (``ACCEPTS``), without the targets
    the fixed mappings (``REQUIRED``) hold."""
    accepted = ACCEPTS[answers_of(source, questions)]
    fixed = set(REQUIRED.values())
    return {key: (label, kind) for key, (label, kind) in targets(custom_fields).items()
            if kind in accepted and key not in fixed}


def source_label(source: str) -> str:
    name = form_questions.question_name(source)
    return form_questions.label(name) if name is not None else SOURCES.get(source, source)


def answers_of(source: str, questions: dict[str, str]) -> str:
    """What a known source's answers are (an ``AnswerType`` value)."""
    name = form_questions.question_name(source)
    return (questions.get(name) if name is not None else "") or AnswerType.TEXT.value


def is_source(source: Any, questions: dict[str, str]) -> bool:
    return source in SOURCES or form_questions.question_name(source) in questions


def problems_by_source(mapping: Any, custom_fields: list[dict[str, Any]],
                       questions: dict[str, str] | None = None) -> list[tuple[str | None, str]]:
    """[(the source a problem is about, or None; the problem in plain words)] of a mapping.

    ``mapping`` may come from pasted JSON: anything but an object of text → text is a problem,
    never an exception. ``questions``: {question: answer type} of the account's booking forms.
    """
    if not isinstance(mapping, dict):
        return [(None, "The mapping must be an object of booking field → Keap field.")]
    questions = questions or {}
    problems: list[tuple[str | None, str]] = []
    known = targets(custom_fields)
    for source, target in REQUIRED.items():
        if mapping.get(source) != target:
            problems.append((source, f"{SOURCES[source]} must stay mapped to {known[target][0]}."))
    seen: dict[str, str] = {}
    for source, target in mapping.items():
        if not target:
            continue
        name = form_questions.question_name(source)
        if name is not None and name not in questions:
            problems.append((source, f"“{name}” is not a question of this account's booking forms: "
                                     "no booking has answered it yet."))
            continue
        if not is_source(source, questions):
            problems.append((source, f"Unknown booking field “{shown_value(source)}”."))
            continue
        label = source_label(source)
        if not isinstance(target, str):
            problems.append((source, f"{label}: the Keap field must be given by its name, as text."))
            continue
        if target not in known:
            problems.append((source, f"{label}: Keap has no field “{shown_value(target)}”."))
            continue
        kind = known[target][1]
        answers = answers_of(source, questions)
        if kind not in ACCEPTS[answers]:
            what = "is text" if name is None else f"has {form_questions.in_words(answers)}"
            problems.append((source, f"{label} {what} and cannot go to {known[target][0]}, a {kind} field."))
        if target in seen:
            problems.append((source,
                f"{known[target][0]} is mapped twice ({source_label(seen[target])} and {label}); "
                "each Keap field takes one booking field."
            ))
        seen[target] = source
    return problems


def validate(mapping: Any, custom_fields: list[dict[str, Any]],
             questions: dict[str, str] | None = None) -> list[str]:
    """Problems in plain words (empty when the mapping is fine); see ``problems_by_source``."""
    return [problem for _source, problem in problems_by_source(mapping, custom_fields, questions)]


def parse_date(text: str, date_format: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    fmt = "%d/%m/%Y" if date_format == "dd/mm/yyyy" else "%m/%d/%Y"
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def format_date(value: date, date_format: str) -> str:
    return value.strftime("%d/%m/%Y" if date_format == "dd/mm/yyyy" else "%m/%d/%Y")


#: Mapping targets written as one contact field, cut to Keap's length: target → (key, length).
_PLAIN_TARGETS = {"FirstName": ("given_name", 40), "LastName": ("family_name", 40),
                  "JobTitle": ("job_title", 255), "Website": ("website", 100)}


def _custom_content(source: str, value: str, kind: str, label: str, date_format: str) -> tuple[Any, str]:
    """(the content of a Keap custom field, "") or (None, the note why it is not written)."""
    if kind in ("Date", "DateTime"):
        parsed = parse_date(value, date_format)
        if parsed is None:
            return None, f"{source_label(source)} “{value}” is not a {date_format} date; not written."
        return parsed.isoformat(), ""
    if kind in NUMBER_FIELDS or kind == "YesNo":
        content = typed_content(kind, value)
        if content is None:
            return None, f"{source_label(source)} “{value}” is not {_EXPECTED[kind]}; not written."
        return content, ""
    if kind in TEXT_COMPATIBLE:
        if source == "starting_time":
            parsed = parse_date(value, date_format)
            return (format_date(parsed, date_format) if parsed else value), ""
        return value, ""
    return None, f"{label} is a {kind} field; skipped."


def _country(value: str, address: dict[str, str], notes: list[str]) -> None:
    code = value.upper() if len(value) == 3 and value.isalpha() else COUNTRY_CODES.get(value.lower())
    if code:
        address["country_code"] = code
    else:
        notes.append(f"Country “{value}” is not a known country; not written.")


def _contact_field(body: dict[str, Any], address: dict[str, str], notes: list[str], target: str,
                   value: str) -> None:
    """One mapped value on the contact body (or its address)."""
    if target == "Email":
        body["email_addresses"] = [{"email": value, "field": "EMAIL1"}]
    elif target in _PLAIN_TARGETS:
        key, length = _PLAIN_TARGETS[target]
        body[key] = value[:length]
    elif target in ("Phone1", "Phone2"):
        body.setdefault("phone_numbers", []).append(
            {"number": value[:40], "field": "PHONE1" if target == "Phone1" else "PHONE2"}
        )
    elif target == "Company":
        # REST v1 links a contact to a company record by id: the applier finds or creates the
        # company by name (cached), like a lead source.
        body["company"] = {"$company": value[:100]}
    elif target == "State":
        address["region"] = value
    elif target == "Country":
        _country(value, address, notes)


_APPOINTMENT_TARGETS = {"appointment.description": "ActionDescription", "appointment.notes": "CreationNotes"}


def contact_body(
    values: dict[str, str], mapping: dict[str, str], custom_fields: list[dict[str, Any]], date_format: str
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(REST v1 contact body, appointment texts, notes) from booking values and a mapping."""
    known = targets(custom_fields)
    body: dict[str, Any] = {}
    appointment: dict[str, str] = {}
    notes: list[str] = []
    address: dict[str, str] = {}
    customs: list[dict[str, Any]] = []
    for source, target in mapping.items():
        value = (values.get(source) or "").strip()
        if not target or not value or target not in known:
            continue
        if target in _APPOINTMENT_TARGETS:
            appointment[_APPOINTMENT_TARGETS[target]] = value
        elif target.startswith("custom:"):
            label, kind = known[target]
            content, note = _custom_content(source, value, kind, label, date_format)
            if note:
                notes.append(note)
            else:
                customs.append({"id": int(target.split(":", 1)[1]), "content": content})
        else:
            _contact_field(body, address, notes, target, value)
    if address:
        if "region" in address and "country_code" not in address:
            notes.append("State needs a country; the address was not written.")
        else:
            body["addresses"] = [{"field": "BILLING", **address}]
    if customs:
        body["custom_fields"] = customs
    return body, appointment, notes


_EXPECTED = {"WholeNumber": "a whole number", "DecimalNumber": "a number", "Currency": "a number",
             "Percent": "a number", "YesNo": "yes or no"}


def typed_content(kind: str, text: str) -> Any:
    """An answer as the content of a Keap number or Yes/No field, or None when it is none."""
    if kind == "YesNo":
        return form_questions.parse_yes_no(text)
    number = form_questions.parse_number(text)
    if number is None:
        return None
    if kind == "WholeNumber":
        return int(number) if float(number).is_integer() else None
    return number


def only_empty(body: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """Keep only what fills an empty field of the existing contact (fill-empty update mode)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "email_addresses":
            if not existing.get("email_addresses"):
                out[key] = value
        elif key in ("phone_numbers", "addresses"):
            slot = "field"
            taken = {
                e.get(slot)
                for e in existing.get(key) or []
                if e.get("number") or e.get("line1") or e.get("region") or e.get("country_code")
            }
            kept = [e for e in value if e.get(slot) not in taken]
            if kept:
                out[key] = kept
        elif key == "company":
            if not (existing.get("company") or {}).get("id"):
                out[key] = value
        elif key == "custom_fields":
            filled = {
                str(c.get("id"))
                for c in existing.get("custom_fields") or []
                if c.get("content") not in (None, "")
            }
            kept = [c for c in value if str(c["id"]) not in filled]
            if kept:
                out[key] = kept
        elif existing.get(key) in (None, "", [], 0):
            out[key] = value
    return out
