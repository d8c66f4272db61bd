"""Lifecycle actions (SPEC §4): a pure mapping from a webhook event to what happened.

Nothing here touches the database. ``derive_action`` needs one fact of history: the action of
the booking named by ``rescheduled_booking_id`` (an owner's reschedule request turns the
customer's rebooking into "Rescheduled by Owner").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils.dateparse import parse_datetime


class LifecycleAction(models.TextChoices):
    SCHEDULED = "Scheduled"
    RESCHEDULED_BY_CUSTOMER = "Rescheduled by Customer"
    RESCHEDULED_BY_OWNER = "Rescheduled by Owner"
    CANCELED_RESCHEDULE_REQUESTED = "Canceled (reschedule requested by Owner)"
    COMPLETED = "Completed"
    CANCELED_BY_CUSTOMER = "Canceled by Customer"
    CANCELED_BY_OWNER = "Canceled by Owner"
    NO_SHOW = "No-show"
    SCHEDULED_REASSIGNED = "Scheduled (Reassigned by User)"
    RESCHEDULED_REASSIGNED = "Rescheduled (Reassigned by User)"


BOOKING_EVENT_TYPES = frozenset(
    {
        "booking.scheduled",
        "booking.rescheduled",
        "booking.reassigned",
        "booking.canceled_then_rescheduled",
        "booking.canceled_reschedule_requested",
        "booking.canceled",
        "booking.completed",
        "booking.no_show",
    }
)


#: The OnceHub event that reports each action (``derive_action`` of it gives the action back,
#: but for the owner's reschedule, which needs the booking it rescheduled).
ONCEHUB_EVENT_TYPES: dict[str, str] = {
    LifecycleAction.SCHEDULED: "booking.scheduled",
    LifecycleAction.RESCHEDULED_BY_CUSTOMER: "booking.rescheduled",
    LifecycleAction.RESCHEDULED_BY_OWNER: "booking.rescheduled",
    LifecycleAction.CANCELED_RESCHEDULE_REQUESTED: "booking.canceled_reschedule_requested",
    LifecycleAction.COMPLETED: "booking.completed",
    LifecycleAction.CANCELED_BY_CUSTOMER: "booking.canceled",
    LifecycleAction.CANCELED_BY_OWNER: "booking.canceled",
    LifecycleAction.NO_SHOW: "booking.no_show",
    LifecycleAction.SCHEDULED_REASSIGNED: "booking.reassigned",
    LifecycleAction.RESCHEDULED_REASSIGNED: "booking.reassigned",
}


def is_booking_event(event_type: str) -> bool:
    return event_type in BOOKING_EVENT_TYPES


def _actioned_by_owner(booking: dict[str, Any]) -> bool:
    info = booking.get("cancel_reschedule_information") or {}
    if not isinstance(info, dict):
        return False
    actioned_by = (info.get("actioned_by") or "").lower()
    if actioned_by:
        return actioned_by == "user"
    # Cancellations through the API name a user but may leave actioned_by empty.
    return bool(info.get("user_id"))


def derive_action(
    event_type: str,
    booking: dict[str, Any],
    *,
    previous_booking_action: str | None = None,
) -> LifecycleAction | None:
    """The lifecycle action of one event, or None for events that are not synced."""
    if event_type == "booking.scheduled":
        return LifecycleAction.SCHEDULED
    if event_type == "booking.rescheduled":
        if previous_booking_action == LifecycleAction.CANCELED_RESCHEDULE_REQUESTED:
            return LifecycleAction.RESCHEDULED_BY_OWNER
        return LifecycleAction.RESCHEDULED_BY_CUSTOMER
    if event_type == "booking.canceled_then_rescheduled":
        return LifecycleAction.RESCHEDULED_BY_CUSTOMER
    if event_type == "booking.canceled_reschedule_requested":
        return LifecycleAction.CANCELED_RESCHEDULE_REQUESTED
    if event_type == "booking.canceled":
        if _actioned_by_owner(booking):
            return LifecycleAction.CANCELED_BY_OWNER
        return LifecycleAction.CANCELED_BY_CUSTOMER
    if event_type == "booking.completed":
        return LifecycleAction.COMPLETED
    if event_type == "booking.no_show":
        return LifecycleAction.NO_SHOW
    if event_type == "booking.reassigned":
        status = (booking.get("status") or "").lower()
        if status == "rescheduled" or (status != "scheduled" and booking.get("rescheduled_booking_id")):
            return LifecycleAction.RESCHEDULED_REASSIGNED
        return LifecycleAction.SCHEDULED_REASSIGNED
    return None


def utc_moment(value: Any) -> datetime | None:
    """A payload's date-time as the same instant in UTC (None when empty or not a date-time).

    Stored in UTC because PostgreSQL refuses offsets beyond ±15:59, which RFC 3339 allows (up
    to ±23:59); the boundary (``schema.Moment``) keeps the year within 1970-2200, so the
    conversion cannot overflow."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ordering_key(booking: dict[str, Any], event_creation_time: str) -> tuple[datetime, datetime]:
    """Events of one booking are ordered by ``last_updated_time``, then ``creation_time``.

    The latest event by this key decides the booking's state, whatever order they arrive in.
    """
    return (
        utc_moment(booking.get("last_updated_time")) or _EPOCH,
        utc_moment(event_creation_time) or _EPOCH,
    )
