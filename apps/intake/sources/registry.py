"""The booking sources, by key: every source is registered here, once."""

from __future__ import annotations

from typing import Any

from apps.intake.lifecycle import ONCEHUB_EVENT_TYPES

from ..models import BookingEvent, BookingSourceKey
from .calcom.source import CalCom
from .calendly.source import Calendly
from .contract import BookingSource
from .oncehub.source import OnceHub

SOURCES: dict[str, BookingSource] = {source.key: source for source in (OnceHub(), Calendly(), CalCom())}


#: Every source's event types that are folded into bookings (the inbox's filter lists them).
BOOKING_EVENT_TYPES = frozenset().union(*(source.event_types for source in SOURCES.values()))
#: Every source's rebooking event types (``BookingSource.rebooking_event_types``).
REBOOKING_EVENT_TYPES = frozenset().union(*(source.rebooking_event_types for source in SOURCES.values()))


def get(key: str) -> BookingSource:
    """The source of this key (a ``BookingSourceKey``); KeyError for one that is not registered."""
    return SOURCES[key]


def source_of(event: BookingEvent) -> BookingSource:
    return SOURCES[event.source]


def concerns_booking(event: BookingEvent) -> bool:
    """The event is folded into a booking (it names one and its type concerns bookings)."""
    return bool(event.booking_id) and source_of(event).concerns_booking(event.event_type)


def oncehub_envelope(event: BookingEvent, action: str) -> dict[str, Any]:
    """The event as OnceHub would have sent it, for what reads OnceHub envelopes (the
    connectors' preview of a recent booking): another source's booking in OnceHub's shape,
    under the OnceHub event of the booking's lifecycle ``action``."""
    if event.source == BookingSourceKey.ONCEHUB:
        return event.payload
    return {"id": event.envelope_id, "object": "event", "api_version": "v2",
            "creation_time": event.event_created_at.isoformat(),
            "type": ONCEHUB_EVENT_TYPES.get(action, "booking.scheduled"), "data": event.booking_data}


__all__ = ["BOOKING_EVENT_TYPES", "REBOOKING_EVENT_TYPES", "SOURCES", "BookingSourceKey",
           "concerns_booking", "get", "oncehub_envelope", "source_of"]
