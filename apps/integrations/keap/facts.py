"""The booking, as plain values the planner reads (pure: no database, cache or CRM).

The planning reads the booking's latest data (``apps.connectors.contract.latest_booking_data``);
``booking_values`` flattens it to the booking fields the mapping sources name;
``personalized_contact_id`` reads the Keap id a personalized link passed on; the lead source
name and the extra tags are made from the booking's directory entries and the Tagging step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apps.directory import questions as form_questions
from apps.directory.models import BookingPage, EventType, MasterPage

#: The directory entries a lead source name is made of: (booking attribute, model), in order.
LEAD_SOURCE_PARTS = (("master_page_id", MasterPage), ("event_type_id", EventType),
                     ("booking_page_id", BookingPage))


def _form(data: dict[str, Any]) -> dict[str, Any]:
    form = data.get("form_submission")
    return form if isinstance(form, dict) else {}


def custom_value(data: dict[str, Any], *names: str) -> str:
    """A custom field's answer (by name or label, any case), else the form's own key."""
    wanted = {n.lower() for n in names}
    form = _form(data)
    for source in (form.get("custom_fields"), data.get("custom_fields")):
        for item in source or []:
            if isinstance(item, dict) and str(item.get("name") or item.get("label") or "").lower() in wanted:
                return str(item.get("value") or "")
    for key in names:
        if form.get(key):
            return str(form[key])
    return ""


def booking_values(data: dict[str, Any], booking) -> dict[str, str]:
    """Booking field → text: the mapping's sources (``mapping.SOURCES``, ``question:<name>``)."""
    form = _form(data)
    name = str(form.get("name") or "").strip()
    first = str(form.get("first_name") or "").strip()
    last = str(form.get("last_name") or "").strip()
    if not (first or last) and name:
        first, _, last = name.partition(" ")
    return {
        "email": str(form.get("email") or getattr(booking, "customer_email", "") or ""),
        "first_name": first,
        "last_name": last.strip(),
        "subject": str(data.get("subject") or ""),
        "description": str(data.get("description") or form.get("note") or ""),
        "company": str(form.get("company") or ""),
        "phone": str(form.get("phone") or ""),
        "mobile_phone": str(form.get("mobile_phone") or ""),
        "state": custom_value(data, "state"),
        "country": custom_value(data, "country"),
        "booking_id": str(data.get("id") or ""),
        "starting_time": str(data.get("starting_time") or ""),
        "location": str(data.get("location_description") or ""),
        # the booking form's own questions, answered (mapping sources ``question:<name>``)
        **{form_questions.source_key(name): text for name, value in form_questions.form_answers(data).items()
           if (text := form_questions.answer_text(value))},
    }


def personalized_contact_id(data: dict[str, Any]) -> int | None:
    """The Keap contact id a personalized link passed on, if it looks like one: ASCII digits only
    (``str.isdigit`` also accepts "²", which ``int`` refuses) and at most 18 of them (Keap ids
    are 64-bit; ``int`` refuses strings of over 4,300 digits)."""
    raw = custom_value(data, "soisContactID", "Infusionsoft ID", "Keap contact ID", "contact_id").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def pages_named(booking) -> tuple[str, ...]:
    """The booking attributes of ``LEAD_SOURCE_PARTS`` the booking has a value for."""
    return tuple(attribute for attribute, _ in LEAD_SOURCE_PARTS if getattr(booking, attribute))


def lead_source_name(booking, entries: dict[str, Any]) -> str:
    """"Master page > Event type > Booking page" from the booking's directory entries
    (``entries``: booking attribute → the entry read, or missing when unknown)."""
    parts = []
    if booking.master_page_id:
        page = entries.get("master_page_id")
        parts.append(page.display_name if page else "")
    if booking.event_type_id:
        event_type = entries.get("event_type_id")
        parts.append(event_type.display_name if event_type else "")
    if booking.booking_page_id:
        booking_page = entries.get("booking_page_id")
        parts.append((booking_page.display_name if booking_page else "") or booking.booking_page_id)
    return " > ".join(p for p in parts if p)[:255]


def extra_tags(rules: list[Any] | None, booking, action: str) -> list[str]:
    """The Tagging step's extra tags (``TaggingSettings.extra_tags``) this booking and action get."""
    ids = {
        "booking_page": booking.booking_page_id,
        "event_type": booking.event_type_id,
        "master_page": booking.master_page_id,
    }
    names: list[str] = []
    for rule in rules or []:
        if not isinstance(rule, dict):
            continue
        if ids.get(rule.get("scope")) != rule.get("id") or rule.get("action", "*") not in ("*", action):
            continue
        names.extend(str(t) for t in rule.get("tags") or [] if str(t).strip())
    return names


def mapping_for(mapping: dict[str, Any] | None, overrides: dict[str, Any] | None, event_type_id: str) -> dict:
    """The field mapping of the booking: its event type's override, else the account's."""
    if event_type_id and event_type_id in (overrides or {}):
        return dict(overrides[event_type_id])
    return dict(mapping or {})


def naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)
