"""Calendly's events → lifecycle actions (SPEC §4, ``calendly-webhooks.md`` §5).

- ``invitee.created``: Scheduled; with ``old_invitee`` (the new half of a reschedule)
  Rescheduled by Customer.
- ``invitee.canceled``: Canceled by Owner when ``canceler_type`` is ``host``, else by Customer;
  with ``rescheduled: true`` (the old half of a reschedule) none: never a cancel.
- ``invitee_no_show.created``: No-show; ``invitee_no_show.deleted``: the booking's action
  before the no-show (else Scheduled, or Rescheduled by Customer).
- ``routing_form_submission.created`` and the rest: none (stored; a submission's answers are folded).
"""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import LifecycleAction

from ..contract import History
from .envelope import INVITEE_EVENTS, ROUTING_EVENT

EVENT_TYPES = INVITEE_EVENTS | {ROUTING_EVENT}


def _active(booking: dict[str, Any]) -> LifecycleAction:
    if booking.get("rescheduled_booking_id"):
        return LifecycleAction.RESCHEDULED_BY_CUSTOMER
    return LifecycleAction.SCHEDULED


def action_of(document: dict[str, Any], booking: dict[str, Any], *,
              history: History) -> LifecycleAction | None:
    event_type, payload = document["event"], document["payload"]
    if event_type == "invitee.created":
        return _active(booking)
    if event_type == "invitee.canceled":
        if payload.get("rescheduled") is True:
            return None
        if booking["cancel_reschedule_information"]["actioned_by"] == "user":
            return LifecycleAction.CANCELED_BY_OWNER
        return LifecycleAction.CANCELED_BY_CUSTOMER
    if event_type == "invitee_no_show.created":
        return LifecycleAction.NO_SHOW
    if event_type == "invitee_no_show.deleted":
        before = history.action_before_no_show()
        return LifecycleAction(before) if before else _active(booking)
    return None
