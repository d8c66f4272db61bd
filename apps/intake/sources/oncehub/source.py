"""OnceHub as a ``BookingSource``: thin, it delegates to the package's modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.intake.lifecycle import LifecycleAction

from ...models import BookingSourceKey
from ..contract import BookingSource, Envelope, History
from . import envelope, lifecycle, normalize, signature


class OnceHub(BookingSource):
    key = BookingSourceKey.ONCEHUB
    label = "OnceHub"
    signature_header = signature.HEADER
    event_types = lifecycle.BOOKING_EVENT_TYPES
    rebooking_event_types = frozenset({"booking.rescheduled"})

    def verify(self, header: str | None, body: bytes, secrets: Iterable[str]) -> int | None:
        return signature.verify_delivery(header, body, secrets).timestamp

    def envelope_problems(self, document: Any) -> list[str]:
        return envelope.envelope_problems(document)

    def read(self, document: dict[str, Any]) -> Envelope:
        return envelope.read(document)

    def normalize(self, document: dict[str, Any], *, earlier: dict[str, Any]) -> dict[str, Any] | None:
        return normalize.booking(document, earlier=earlier)

    def derive_action(self, document: dict[str, Any], booking: dict[str, Any], *,
                      history: History) -> LifecycleAction | None:
        return lifecycle.action_of(document, booking, history=history)
