"""The OnceHub v2 envelope: its rules are ``apps.intake.schema``; ``read`` picks the columns."""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import is_booking_event
from apps.intake.schema import envelope_problems

from ..contract import Envelope

__all__ = ["envelope_problems", "read"]


def customer_email(booking: dict[str, Any]) -> str:
    """The customer's email of a booking in OnceHub's shape (every source's, normalised)."""
    form = booking.get("form_submission")
    email = form.get("email") if isinstance(form, dict) else ""
    return email if isinstance(email, str) else ""


def read(document: dict[str, Any]) -> Envelope:
    data = document.get("data") if isinstance(document.get("data"), dict) else {}
    return Envelope(
        envelope_id=document["id"],
        event_type=document["type"],
        created_at=document["creation_time"],
        booking_id=data.get("id", "") if is_booking_event(document["type"]) else "",
        customer_email=customer_email(data),
        booking=None,
    )
