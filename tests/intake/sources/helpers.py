"""Deliveries of the other booking sources: over HTTP to their endpoints, or straight into the
inbox and the fold (``accept_delivery`` + ``apply_event``, what a worker does first)."""

from __future__ import annotations

import json
from typing import Any

from apps.intake.models import Booking, BookingEvent, SourceConnection
from apps.intake.services import accept_delivery, apply_event

CALENDLY_KEY = "calendly-signing-key-0123456789"
CALCOM_SECRET = "calcom-webhook-secret-0123456789"


def connect(account, source: str, secret: str) -> SourceConnection:
    return SourceConnection.objects.create(account=account, source=source, signing_secret=secret)


def post(client, source: str, slug: str, body: bytes, headers: dict[str, str]):
    headers = dict(headers)
    content_type = headers.pop("Content-Type", "application/json")
    return client.post(f"/webhooks/{source}/{slug}/", data=body, content_type=content_type, headers=headers)


def fold(account, source: str, document: dict[str, Any]) -> BookingEvent:
    """Store the document as the endpoint does and fold it into its booking."""
    delivery = accept_delivery(account=account, raw_body=json.dumps(document), envelope=document,
                               signature_timestamp=None, source=source)
    apply_event(event=delivery.event)
    delivery.event.refresh_from_db()
    return delivery.event


def booking(account, booking_id: str) -> Booking:
    return Booking.objects.get(account=account, booking_id=booking_id)
