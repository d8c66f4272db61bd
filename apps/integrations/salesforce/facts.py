"""A booking's facts as the planner reads them: a flat, JSON-serialisable dict (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.directory import questions as form_questions
from apps.directory.services import reference_id

#: Personalized-link parameters (OnceHub writes them in either case).
PERSONALIZED = {"sosfleadid": "lead", "sosfcontactid": "contact", "sosfcaseid": "case"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    if len(parts) <= 1:
        return "", name
    return " ".join(parts[:-1]), parts[-1]


def personalized_ids(data: dict[str, Any]) -> dict[str, str]:
    """``sosfLeadId`` / ``sosfContactId`` / ``sosfCaseId`` from wherever the payload carries them.

    OnceHub passes personalized-link parameters through to the booking; we accept them in the
    booking form's custom fields, the booking's custom fields, or a parameters object.
    """
    found: dict[str, str] = {}
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    sources: list[Any] = [form.get("custom_fields"), data.get("custom_fields")]
    for key in ("url_parameters", "query_parameters", "personalization", "crm_record_ids"):
        if isinstance(data.get(key), dict):
            sources.append([{"name": k, "value": v} for k, v in data[key].items()])
    for source in sources:
        for item in source or []:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "").replace("_", "").lower()
            if name in PERSONALIZED and _text(item.get("value")):
                found.setdefault(PERSONALIZED[name], _text(item["value"]))
    return found


def booking_facts(data: dict[str, Any], *, lifecycle_action: str, booking_id: str,
                  owner_email: str = "", owner_name: str = "", booking_page_name: str = "") -> dict[str, Any]:
    """Everything the planner needs from the booking's latest event payload."""
    form = data.get("form_submission") if isinstance(data.get("form_submission"), dict) else {}
    name = _text(form.get("name"))
    first, last = split_name(name)
    start = parse_datetime(data["starting_time"]) if _text(data.get("starting_time")) else None
    duration = data.get("duration_minutes") if isinstance(data.get("duration_minutes"), int) else 30
    end = start + timedelta(minutes=duration) if start else None
    info = data.get("cancel_reschedule_information")
    info = info if isinstance(info, dict) else {}
    conferencing = data.get("virtual_conferencing")
    join_url = _text(conferencing.get("join_url")) if isinstance(conferencing, dict) else ""
    owner = data.get("owner") if isinstance(data.get("owner"), dict) else {}
    owner_email = owner_email or _text(owner.get("email"))
    owner_name = owner_name or " ".join(
        p for p in (_text(owner.get("first_name")), _text(owner.get("last_name"))) if p)
    page = data.get("booking_page") or data.get("booking_calendar")
    # the booking form's own questions, answered (mapping keys ``question:<name>``), as text
    answers = {form_questions.source_key(name): form_questions.answer_text(value)
               for name, value in form_questions.form_answers(data).items()}
    facts = {
        "booking_id": booking_id,
        "status": lifecycle_action,
        "lifecycle_action": lifecycle_action,
        "subject": _text(data.get("subject")) or (f"Meeting with {name}" if name else "Meeting"),
        "customer_name": name,
        "customer_first_name": first,
        "customer_last_name": last or name,
        "customer_email": _text(form.get("email")),
        "customer_phone": _text(form.get("phone")),
        "customer_mobile_phone": _text(form.get("mobile_phone")),
        "customer_company": _text(form.get("company")),
        "customer_note": _text(form.get("note")),
        "customer_timezone": _text(data.get("customer_timezone")),
        "starting_time": _iso(start),
        "ending_time": _iso(end),
        "creation_time": _text(data.get("creation_time")),
        "duration_minutes": duration,
        "location": _text(data.get("location_description")) or join_url,
        "web_conferencing_link": join_url,
        "cancel_reschedule_reason": _text(info.get("reason")),
        "booking_page_id": reference_id(page),
        "booking_page": booking_page_name or (page.get("name", "") if isinstance(page, dict) else ""),
        "owner_id": reference_id(data.get("owner")),
        "owner_name": owner_name,
        "owner_email": owner_email,
        "rescheduled_booking_id": _text(data.get("rescheduled_booking_id")),
        "personalized": personalized_ids(data),
        **{key: text for key, text in answers.items() if text},
    }
    return facts


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
