"""OnceHub's booking is the canonical shape: nothing to translate (``BookingEvent.booking_data``
reads the payload's ``data`` as it came)."""

from __future__ import annotations

from typing import Any


def booking(document: dict[str, Any], *, earlier: dict[str, Any]) -> None:
    return None
