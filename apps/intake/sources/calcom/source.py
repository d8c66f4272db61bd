"""Cal.com as a ``BookingSource``: thin, it delegates to the package's modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.intake.lifecycle import LifecycleAction

from ...models import BookingSourceKey
from ..common import normalized_problems
from ..contract import BookingSource, Envelope, History
from . import envelope, lifecycle, normalize, signature


class CalCom(BookingSource):
    key = BookingSourceKey.CALCOM
    label = "Cal.com"
    signature_header = signature.HEADER
    event_types = lifecycle.EVENT_TYPES
    rebooking_event_types = frozenset({"BOOKING_RESCHEDULED"})

    def verify(self, header: str | None, body: bytes, secrets: Iterable[str]) -> int | None:
        return signature.verify(header, body, secrets)

    def envelope_problems(self, document: Any) -> list[str]:
        return (envelope.envelope_problems(document)
                or normalized_problems(normalize.booking(document, earlier={})))

    def read(self, document: dict[str, Any]) -> Envelope:
        return envelope.read(document, normalize.booking(document, earlier={}))

    def normalize(self, document: dict[str, Any], *, earlier: dict[str, Any]) -> dict[str, Any] | None:
        return normalize.booking(document, earlier=earlier)

    def derive_action(self, document: dict[str, Any], booking: dict[str, Any], *,
                      history: History) -> LifecycleAction | None:
        return lifecycle.action_of(document, booking, history=history)
