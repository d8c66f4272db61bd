"""The booking sources, by key: every source is registered here, once."""

from __future__ import annotations

from ..models import BookingEvent, BookingSourceKey
from .calcom.source import CalCom
from .calendly.source import Calendly
from .contract import BookingSource
from .oncehub.source import OnceHub

SOURCES: dict[str, BookingSource] = {source.key: source for source in (OnceHub(), Calendly(), CalCom())}


def get(key: str) -> BookingSource:
    """The source of this key (a ``BookingSourceKey``); KeyError for one that is not registered."""
    return SOURCES[key]


def source_of(event: BookingEvent) -> BookingSource:
    return SOURCES[event.source]


def concerns_booking(event: BookingEvent) -> bool:
    """The event is folded into a booking (it names one and its type concerns bookings)."""
    return bool(event.booking_id) and source_of(event).concerns_booking(event.event_type)


__all__ = ["SOURCES", "BookingSourceKey", "concerns_booking", "get", "source_of"]
