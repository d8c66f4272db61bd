"""OnceHub's events → lifecycle actions: the table of SPEC §4, in ``apps.intake.lifecycle``."""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import BOOKING_EVENT_TYPES, LifecycleAction, derive_action

from ..contract import History

__all__ = ["BOOKING_EVENT_TYPES", "action_of"]


def action_of(document: dict[str, Any], booking: dict[str, Any], *,
              history: History) -> LifecycleAction | None:
    previous = history.rescheduled_booking_action() if booking.get("rescheduled_booking_id") else None
    return derive_action(document["type"], booking, previous_booking_action=previous)
