"""Cal.com's triggers → lifecycle actions (SPEC §4); the table is in the package docstring."""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import LifecycleAction

from ..contract import History
from .envelope import BOOKING_TRIGGERS, FLAT_TRIGGERS, NO_SHOW
from .normalize import booker_no_show

EVENT_TYPES = BOOKING_TRIGGERS | FLAT_TRIGGERS | {NO_SHOW}


def _rescheduled(history: History) -> LifecycleAction:
    if history.rescheduled_booking_action() == LifecycleAction.CANCELED_RESCHEDULE_REQUESTED:
        return LifecycleAction.RESCHEDULED_BY_OWNER
    return LifecycleAction.RESCHEDULED_BY_CUSTOMER


def _active(booking: dict[str, Any], history: History) -> LifecycleAction:
    return _rescheduled(history) if booking.get("rescheduled_booking_id") else LifecycleAction.SCHEDULED


def action_of(document: dict[str, Any], booking: dict[str, Any], *,
              history: History) -> LifecycleAction | None:
    trigger = document["triggerEvent"]
    if trigger in ("BOOKING_CREATED", "BOOKING_RESCHEDULED"):
        return _active(booking, history)
    if trigger == "BOOKING_CANCELLED":
        if document["payload"].get("requestReschedule") is True:
            return LifecycleAction.CANCELED_RESCHEDULE_REQUESTED
        if booking["cancel_reschedule_information"]["actioned_by"] == "user":
            return LifecycleAction.CANCELED_BY_OWNER
        return LifecycleAction.CANCELED_BY_CUSTOMER
    if trigger == NO_SHOW:
        marked = booker_no_show(document, booking)  # its customer is the one folded so far
        if marked is None:
            return None
        if marked:
            return LifecycleAction.NO_SHOW
        before = history.action_before_no_show()
        return LifecycleAction(before) if before else _active(booking, history)
    if trigger == "MEETING_ENDED":
        return LifecycleAction.COMPLETED
    return None  # requested and rejected bookings are not synced until accepted
