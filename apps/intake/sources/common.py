"""Pieces the sources whose payloads are not OnceHub's share (pure)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from apps.intake.lifecycle import utc_moment
from apps.intake.schema import booking_problems, column_length

from ..models import BookingEvent

#: Derived envelope ids: a prefix naming the source, then a digest (fits ``envelope_id``).
_DIGEST_LENGTH = column_length(BookingEvent, "envelope_id") - 8


def content_id(prefix: str, *parts: str, document: Any) -> str:
    """An envelope id for a source that sends none: the same event delivered again (a retry
    carries the same body) gets the same id, so ``accept_delivery`` stores it once."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256("\n".join([*parts, canonical]).encode()).hexdigest()
    return f"{prefix}-{digest[:_DIGEST_LENGTH]}"


def last_segment(uri: Any) -> str:
    """``…/invitees/AAAA`` → ``AAAA`` (Calendly's resources are named by URIs)."""
    return uri.rstrip("/").rsplit("/", 1)[-1] if isinstance(uri, str) else ""


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def minutes_between(start: Any, end: Any) -> int | None:
    begins, ends = utc_moment(start), utc_moment(end)
    if begins is None or ends is None:
        return None
    return int((ends - begins).total_seconds() // 60)


def split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def merged_fields(own: list[dict[str, Any]], earlier: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's own form answers, then those folded earlier that it does not repeat (a
    Calendly routing form's answers arrive in an event of their own)."""
    form = earlier.get("form_submission") if isinstance(earlier.get("form_submission"), dict) else {}
    names = {item["name"] for item in own}
    kept = [item for item in form.get("custom_fields") or []
            if isinstance(item, dict) and item.get("name") not in names]
    return [*own, *kept]


#: Salesforce record id prefixes → the personalized-link parameter OnceHub would pass
#: (``apps/integrations/salesforce/facts.py`` reads ``sosfLeadId`` / ``sosfContactId`` / ``sosfCaseId``).
SALESFORCE_ID_PARAMETERS = {"00Q": "sosfLeadId", "003": "sosfContactId", "500": "sosfCaseId"}


def personalized_fields(salesforce_id: str) -> list[dict[str, Any]]:
    parameter = SALESFORCE_ID_PARAMETERS.get(salesforce_id[:3])
    return [{"name": parameter, "value": salesforce_id}] if parameter else []


def normalized_problems(booking: dict[str, Any] | None) -> list[str]:
    """The OnceHub booking rules (``schema.BOOKING``) over a normalised booking: whatever the
    source's own rules let through must still fit the columns and rules the fold relies on."""
    if booking is None:
        return []
    return [f"as read into the booking, {problem}" for problem in booking_problems(booking)]
