"""OnceHub's events → lifecycle actions: the table of SPEC §4, in ``apps.intake.lifecycle``."""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import LifecycleAction, derive_action, is_booking_event

from ..contract import History

__all__ = ["action_of", "is_booking_event"]


def action_of(document: dict[str, Any], booking: dict[str, Any], *,
              history: History) -> LifecycleAction | None:
    previous = history.rescheduled_booking_action() if booking.get("rescheduled_booking_id") else None
    return derive_action(document["type"], booking, previous_booking_action=previous)
