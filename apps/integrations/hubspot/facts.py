"""The booking, as plain values the planner reads (pure: no database, cache or CRM).

The planning reads the booking's latest data (``apps.connectors.contract.latest_booking_data``);
``booking_values`` flattens it to the booking fields a property mapping names
(``BOOKING_FIELDS``, ``question:<name>``); ``personalized_contact_id`` reads the HubSpot record
id a personalized link passed on (``sohsContactId``); ``company_key`` says which company the
booking names; ``meeting_outcome`` is ``hs_meeting_outcome`` of a lifecycle action.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.directory import questions as form_questions
from apps.intake.lifecycle import LifecycleAction

#: The booking fields a property mapping may write (key, label).
BOOKING_FIELDS: tuple[tuple[str, str], ...] = (
    ("email", "Customer email"),
    ("first_name", "Customer first name"),
    ("last_name", "Customer last name"),
    ("name", "Customer name"),
    ("phone", "Customer phone"),
    ("mobile_phone", "Customer mobile phone"),
    ("company", "Customer company"),
    ("note", "Customer note"),
    ("subject", "Subject"),
    ("booking_id", "Booking ID"),
    ("starting_time", "Start time"),
    ("ending_time", "End time"),
    ("location", "Location or join link"),
    ("customer_timezone", "Customer time zone"),
    ("cancel_reschedule_reason", "Cancel or reschedule reason"),
)
#: Where a personalized link's HubSpot record id travels (OnceHub passes the link's parameter
#: on in either case: ``sohsContactId``).
PERSONALIZED_NAMES = ("sohscontactid",)
#: Free-mail domains: a contact's email there names no company (reference §5, as Cal.com does).
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk",
    "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com",
    "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "yandex.ru",
    "zoho.com", "fastmail.com", "hey.com",
})
#: ``hs_meeting_outcome`` of each lifecycle action (reference §6: SCHEDULED, RESCHEDULED,
#: CANCELED, COMPLETED, NO_SHOW; a reassigned booking keeps the outcome of its status).
OUTCOMES = {
    LifecycleAction.SCHEDULED: "SCHEDULED",
    LifecycleAction.RESCHEDULED_BY_CUSTOMER: "RESCHEDULED",
    LifecycleAction.RESCHEDULED_BY_OWNER: "RESCHEDULED",
    LifecycleAction.CANCELED_RESCHEDULE_REQUESTED: "CANCELED",
    LifecycleAction.COMPLETED: "COMPLETED",
    LifecycleAction.CANCELED_BY_CUSTOMER: "CANCELED",
    LifecycleAction.CANCELED_BY_OWNER: "CANCELED",
    LifecycleAction.NO_SHOW: "NO_SHOW",
    LifecycleAction.SCHEDULED_REASSIGNED: "SCHEDULED",
    LifecycleAction.RESCHEDULED_REASSIGNED: "RESCHEDULED",
}
DEFAULT_DURATION = 30


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _form(data: dict[str, Any]) -> dict[str, Any]:
    form = data.get("form_submission")
    return form if isinstance(form, dict) else {}


def _named_values(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) of the custom fields and link parameters a booking carries."""
    found: list[tuple[str, str]] = []
    for source in (_form(data).get("custom_fields"), data.get("custom_fields")):
        for item in source or []:
            if isinstance(item, dict):
                found.append((str(item.get("name") or item.get("label") or ""), str(item.get("value") or "")))
    for key in ("url_parameters", "query_parameters", "personalization"):
        if isinstance(data.get(key), dict):
            found += [(str(k), str(v)) for k, v in data[key].items()]
    return found


def iso(moment: datetime | None) -> str:
    """UTC ISO 8601 with a Z (what HubSpot takes for datetime properties, reference §6)."""
    if moment is None:
        return ""
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def booking_values(data: dict[str, Any], booking) -> dict[str, str]:
    """Booking field → text (``BOOKING_FIELDS`` keys and ``question:<name>``)."""
    form = _form(data)
    name = _text(form.get("name"))
    first, last = _text(form.get("first_name")), _text(form.get("last_name"))
    if not (first or last) and name:
        first, _, last = name.partition(" ")
    start = parse_datetime(_text(data.get("starting_time"))) if _text(data.get("starting_time")) else None
    duration = data.get("duration_minutes") if isinstance(data.get("duration_minutes"), int) else None
    duration = duration or getattr(booking, "duration_minutes", None) or DEFAULT_DURATION
    conferencing = data.get("virtual_conferencing")
    join_url = _text(conferencing.get("join_url")) if isinstance(conferencing, dict) else ""
    info = data.get("cancel_reschedule_information")
    info = info if isinstance(info, dict) else {}
    return {
        "email": (_text(form.get("email")) or getattr(booking, "customer_email", "") or "").lower(),
        "first_name": first,
        "last_name": last.strip(),
        "name": name,
        "phone": _text(form.get("phone")),
        "mobile_phone": _text(form.get("mobile_phone")),
        "company": _text(form.get("company")),
        "note": _text(form.get("note")),
        "subject": _text(data.get("subject")),
        "booking_id": _text(data.get("id")) or getattr(booking, "booking_id", ""),
        "starting_time": iso(start),
        "ending_time": iso(start + timedelta(minutes=duration)) if start else "",
        "location": _text(data.get("location_description")) or join_url,
        "customer_timezone": _text(data.get("customer_timezone")),
        "cancel_reschedule_reason": _text(info.get("reason")),
        # the booking form's own questions, answered (mapping sources ``question:<name>``)
        **{form_questions.source_key(q): text for q, value in form_questions.form_answers(data).items()
           if (text := form_questions.answer_text(value))},
    }


def personalized_contact_id(data: dict[str, Any]) -> str | None:
    """The HubSpot contact id a personalized link passed on (``sohsContactId``), if it looks like
    one: ASCII digits only, at most 18 of them (HubSpot record ids are 64-bit numbers)."""
    for name, value in _named_values(data):
        if name.replace("_", "").lower() in PERSONALIZED_NAMES:
            raw = value.strip()
            if raw.isascii() and raw.isdigit() and len(raw) <= 18:
                return raw
    return None


def email_domain(email: str) -> str:
    """The email's domain, lower case, without ``www.``; "" for a free-mail address."""
    domain = email.rpartition("@")[2].strip().lower().removeprefix("www.")
    return "" if not domain or "." not in domain or domain in FREE_MAIL else domain


def company_key(values: dict[str, str]) -> tuple[str, str]:
    """(property, value) the booking's company is found by: its ``name`` when the booking form
    names one, else the ``domain`` of the customer's email (reference §5); ("", "") for none."""
    if values.get("company"):
        return "name", values["company"][:200]
    domain = email_domain(values.get("email", ""))
    return ("domain", domain) if domain else ("", "")


def meeting_outcome(action: str) -> str:
    return OUTCOMES.get(action, "SCHEDULED")
