"""Whether a pasted (or stored) webhook payload has the shape the planners read (pure).

The preview (``apps.connectors.preview``) runs a kind's planner on a payload an administrator
pasted. The planners read the OnceHub v2 booking (``reference/oncehub/openapi/components/
schemas/booking.yaml``) with the types the schema gives — ids and times as text, the duration
as a whole number, the form submission as an object — so a payload with another shape is
refused here, in plain words naming the field, instead of failing inside a planner.

``payload_problems`` is the one entry point: when the intake gets a schema validator of its own
(``apps.intake``), this function should call it and keep only its messages.
"""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime

from apps.intake.lifecycle import BOOKING_EVENT_TYPES, is_booking_event

#: Deeper than any OnceHub booking (its custom fields are two levels under ``data``).
MAX_PAYLOAD_DEPTH = 16
ID_MAX_LENGTH = 64
TEXT_FIELDS = ("subject", "status", "description", "location_description", "customer_timezone",
               "rescheduled_booking_id", "object")
TIME_FIELDS = ("starting_time", "creation_time", "last_updated_time")
REFERENCE_FIELDS = ("owner", "booking_page", "master_page", "event_type", "booking_calendar")
FORM_TEXT_FIELDS = ("name", "first_name", "last_name", "email", "phone", "mobile_phone", "note", "company")
CANCEL_TEXT_FIELDS = ("reason", "actioned_by", "user_id")


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return parse_datetime(value) is not None
    except ValueError:  # well-formed but impossible, such as 2024-02-30
        return False


def _optional_text(container: dict[str, Any], name: str, path: str, problems: list[str]) -> None:
    value = container.get(name)
    if value is not None and not isinstance(value, str):
        problems.append(f"“{path}{name}” must be text.")


def _custom_field_problems(items: Any, path: str) -> list[str]:
    if items in (None, ""):
        return []
    if not isinstance(items, list):
        return [f"“{path}” must be a list of {{name, value}} objects."]
    for item in items:
        if not isinstance(item, dict):
            return [f"“{path}” must be a list of {{name, value}} objects."]
        for key in ("name", "label"):
            if item.get(key) is not None and not isinstance(item[key], str):
                return [f"Each of “{path}” has its {key} as text."]
        if isinstance(item.get("value"), dict | list):
            return [f"Each of “{path}” has a single value (text, a number or true/false)."]
    return []


def _reference_problems(data: dict[str, Any], name: str) -> list[str]:
    """An id field: the id as text, or an expanded object whose id and names are text."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return []
    if not isinstance(value, dict):
        return [f"“data.{name}” must be an id (text) or an object with its id."]
    problems: list[str] = []
    for key in ("id", "name", "email", "first_name", "last_name"):
        _optional_text(value, key, f"data.{name}.", problems)
    return problems


def _data_problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ['The payload has no "data" object with the booking.']
    problems: list[str] = []
    booking_id = data.get("id")
    if booking_id is not None and not isinstance(booking_id, str):
        problems.append("“data.id” (the booking id) must be text.")
    elif isinstance(booking_id, str) and len(booking_id) > ID_MAX_LENGTH:
        problems.append(f"“data.id” is longer than {ID_MAX_LENGTH} characters.")
    for name in TEXT_FIELDS:
        _optional_text(data, name, "data.", problems)
    for name in TIME_FIELDS:
        value = data.get(name)
        if value not in (None, "") and not _is_time(value):
            problems.append(f"“data.{name}” must be a date and time such as 2024-05-01T15:00:00Z "
                            "(a real day of the calendar, written as text).")
    duration = data.get("duration_minutes")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                 or not 0 <= duration <= 100_000):
        problems.append("“data.duration_minutes” must be a whole number of minutes.")
    for name in REFERENCE_FIELDS:
        problems += _reference_problems(data, name)
    for name in ("cancel_reschedule_information", "virtual_conferencing"):
        value = data.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, dict):
            problems.append(f"“data.{name}” must be an object.")
            continue
        for key in (CANCEL_TEXT_FIELDS if name.startswith("cancel") else ("join_url",)):
            _optional_text(value, key, f"data.{name}.", problems)
    form = data.get("form_submission")
    if form not in (None, ""):
        if not isinstance(form, dict):
            problems.append("“data.form_submission” must be an object.")
        else:
            for name in FORM_TEXT_FIELDS:
                _optional_text(form, name, "data.form_submission.", problems)
            problems += _custom_field_problems(form.get("custom_fields"),
                                               "data.form_submission.custom_fields")
            if form.get("guests") not in (None, "") and not isinstance(form["guests"], list):
                problems.append("“data.form_submission.guests” must be a list.")
    problems += _custom_field_problems(data.get("custom_fields"), "data.custom_fields")
    for name in ("url_parameters", "query_parameters", "personalization", "crm_record_ids"):
        if data.get(name) not in (None, "") and not isinstance(data[name], dict):
            problems.append(f"“data.{name}” must be an object.")
    return problems


def payload_problems(envelope: dict[str, Any]) -> list[str]:
    """Every problem of a webhook envelope, in plain words ([] when the planners can read it)."""
    event_type = envelope.get("type")
    if not isinstance(event_type, str) or not is_booking_event(event_type):
        known = ", ".join(sorted(BOOKING_EVENT_TYPES))
        if isinstance(event_type, str) and len(event_type) <= 60:
            return [f"“{event_type}” is not a booking event ({known}); nothing would be synced."]
        return [f"The payload's “type” must be a booking event ({known})."]
    problems: list[str] = []
    for name in ("id", "object", "api_version"):
        _optional_text(envelope, name, "", problems)
    if isinstance(envelope.get("id"), str) and len(envelope["id"]) > ID_MAX_LENGTH:
        problems.append(f"“id” is longer than {ID_MAX_LENGTH} characters.")
    created = envelope.get("creation_time")
    if created not in (None, "") and not _is_time(created):
        problems.append("“creation_time” must be a date and time such as 2024-05-01T15:00:00Z.")
    return problems + _data_problems(envelope.get("data"))
