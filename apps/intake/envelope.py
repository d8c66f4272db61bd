"""Shape checks of the OnceHub v2 event envelope (pure; no database)."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime

from .lifecycle import is_booking_event


class EnvelopeError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return parse_datetime(value) is not None
    except ValueError:
        return False


def validate_envelope(document: Any) -> dict[str, Any]:
    """Return the envelope if it is a usable v2 event, else raise EnvelopeError listing why."""
    if not isinstance(document, dict):
        raise EnvelopeError(["The body must be a JSON object (the event envelope)."])
    problems = []
    for field in ("id", "object", "type", "api_version", "creation_time"):
        if not isinstance(document.get(field), str) or not document.get(field):
            problems.append(f"'{field}' is required and must be a non-empty string.")
    if problems:
        raise EnvelopeError(problems)
    if len(document["id"]) > 64:
        problems.append("'id' is longer than 64 characters.")
    if document["object"] != "event":
        problems.append("'object' must be \"event\".")
    if document["api_version"] != "v2":
        problems.append("'api_version' must be \"v2\" (only v2 webhooks are signed).")
    if not _is_datetime(document["creation_time"]):
        problems.append("'creation_time' must be an ISO 8601 date-time.")
    if is_booking_event(document["type"]):
        problems.extend(_booking_problems(document.get("data")))
    if problems:
        raise EnvelopeError(problems)
    return document


def _booking_problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["'data' must be the booking object."]
    problems = []
    if data.get("object") not in (None, "booking"):
        problems.append("'data.object' must be \"booking\".")
    booking_id = data.get("id")
    if not isinstance(booking_id, str) or not booking_id:
        problems.append("'data.id' (the booking id) is required.")
    elif len(booking_id) > 64:
        problems.append("'data.id' is longer than 64 characters.")
    for field in ("starting_time", "last_updated_time", "creation_time"):
        value = data.get(field)
        if value not in (None, "") and not _is_datetime(value):
            problems.append(f"'data.{field}' must be an ISO 8601 date-time.")
    form = data.get("form_submission")
    if form not in (None, "") and not isinstance(form, dict):
        problems.append("'data.form_submission' must be an object.")
    return problems
